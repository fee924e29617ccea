import * as fs from 'node:fs';

/** A line longer than this is split into entries, as the shim does (native/shim/log.cc). */
const MAX_LINE = 16 * 1024;

/** RFC 3339 with nanoseconds, as the shim writes and docker prints with --timestamps. */
function nanoTime(): string {
  const now = process.hrtime.bigint();
  const wall = BigInt(Date.now()) * 1_000_000n;
  // Date has milliseconds only: the sub-millisecond digits come from the monotonic clock, so
  // that entries written within one millisecond keep their order when compared as strings.
  const ns = wall + (now % 1_000_000n);
  const iso = new Date(Number(ns / 1_000_000n)).toISOString();
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/**
 * The json-file log of a container that runs in the foreground through the Node API (Berth.run):
 * CLI and detached containers run under the shim, which keeps their log; here Node holds the
 * output already, so it writes the same entries (a line each, docker's format) as they arrive, and
 * `logs` works on the container afterwards. Write failures lose log lines, never the run.
 */
export class ForegroundLog {
  private fd: number | undefined;
  private readonly partial = { stdout: '', stderr: '' };

  constructor(file: string) {
    try {
      this.fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW, 0o640);
    } catch {
      this.fd = undefined;
    }
  }

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (this.fd === undefined) return;
    const text = this.partial[stream] + chunk.toString('utf8');
    const lines = text.split(/(?<=\n)/);
    const last = lines[lines.length - 1];
    this.partial[stream] = last.endsWith('\n') ? '' : (lines.pop() ?? '');
    while (this.partial[stream].length > MAX_LINE) {
      lines.push(this.partial[stream].slice(0, MAX_LINE));
      this.partial[stream] = this.partial[stream].slice(MAX_LINE);
    }
    this.append(stream, lines);
  }

  /** The unfinished last lines, then the file closed. */
  close(): void {
    if (this.fd === undefined) return;
    for (const s of ['stdout', 'stderr'] as const) if (this.partial[s]) this.append(s, [this.partial[s]]);
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private append(stream: 'stdout' | 'stderr', lines: string[]): void {
    if (lines.length === 0 || this.fd === undefined) return;
    const time = nanoTime();
    const out = lines.map((log) => JSON.stringify({ log, stream, time }) + '\n').join('');
    try {
      fs.writeSync(this.fd, out);
    } catch {
      // a full disk loses log lines, not the container's output to the caller
    }
  }
}
