import * as fs from 'node:fs';
import { invalid } from '../errors';

/** docker's --log-driver: json-file (the default, the shim's log) or none. Other drivers of
 *  docker's (local, journald, syslog...) are refused. */
export function parseLogDriver(driver: string | undefined): { driver?: 'none' } {
  if (driver === undefined || driver === 'json-file') return {};
  if (driver === 'none') return { driver: 'none' };
  throw invalid('--log-driver', 'json-file or none', driver);
}

/** One line of a container's log, as the shim wrote it (docker's json-file format). */
export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, as docker prints with --timestamps. */
  time: string;
  /** The text, with its trailing newline when the container wrote one. */
  log: string;
}

export interface ReadLogOptions {
  /** Only the last N entries (of what exists when reading starts). */
  tail?: number;
  /** Only entries at or after this time. */
  since?: Date;
  /** Keep reading new entries until `done()` says the container has stopped for good. */
  follow?: boolean;
  /** For follow: true once no more output can come. Checked after the file is drained. */
  done?: () => boolean;
  pollMs?: number;
}

function parseLine(line: string): LogEntry | undefined {
  if (!line) return undefined;
  try {
    const e = JSON.parse(line) as LogEntry;
    return typeof e.log === 'string' ? e : undefined;
  } catch {
    return undefined; // a line cut by a crash mid-write
  }
}

/** Log files oldest first: rotated ones (log.N ... log.1), then the current one. */
function logFiles(file: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; fs.existsSync(`${file}.${i}`); i++) rotated.unshift(`${file}.${i}`);
  return [...rotated, file];
}

/**
 * Reads a container's log. Rotated files come first, so `tail` and `since` see everything kept;
 * with `follow`, the current file is polled (and reopened when the shim rotates it) until the
 * container has stopped and every byte it wrote has been read.
 */
export async function* readLogs(file: string, o: ReadLogOptions = {}): AsyncGenerator<LogEntry> {
  const since = o.since?.toISOString();
  const keep = (e: LogEntry) => since === undefined || e.time >= since;
  const initial: LogEntry[] = [];
  for (const f of logFiles(file).slice(0, -1)) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      const e = parseLine(line);
      if (e && keep(e)) initial.push(e);
    }
  }
  let fd: number | undefined;
  let ino = -1;
  let offset = 0;
  let partial = '';
  const open = () => {
    try {
      fd = fs.openSync(file, 'r');
      ino = fs.fstatSync(fd).ino;
      offset = 0;
      partial = '';
    } catch {
      fd = undefined;
    }
  };
  const drain = (): LogEntry[] => {
    if (fd === undefined) open();
    if (fd === undefined) return [];
    const out: LogEntry[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) break;
      offset += n;
      const lines = (partial + buf.subarray(0, n).toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        const e = parseLine(l);
        if (e && keep(e)) out.push(e);
      }
    }
    return out;
  };
  try {
    initial.push(...drain());
    yield* o.tail !== undefined ? initial.slice(Math.max(0, initial.length - o.tail)) : initial;
    if (!o.follow) return;
    for (;;) {
      const finished = o.done?.() ?? true;
      yield* drain();
      // The shim rotated: finish the old file (done above), continue with the new one.
      const st = fs.statSync(file, { throwIfNoEntry: false });
      if (st && st.ino !== ino) {
        if (fd !== undefined) fs.closeSync(fd);
        fd = undefined;
        continue;
      }
      if (finished) return;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
    }
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
