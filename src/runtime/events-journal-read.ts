/**
 * Reading the events journal: the past (the previous file, then the current one), then what is
 * appended while the reader waits. Waiting is inotify on the journal's directory (fs.watch), not
 * a poll loop; the directory rather than the file, so that a rotation (the current file renamed
 * away, a new one created) is seen and the reader moves on to the new file.
 */
import * as fs from 'node:fs';
import { journalFiles, type JournalEvent } from './events-journal';
import { eventMatches, type EventFilters } from './events-journal-filter';

export interface ReadEventsOptions {
  /** Nanoseconds since the epoch: past events from then on are replayed. None: live ones only. */
  since?: bigint;
  /** Nanoseconds: the stream ends once this time has come (with no `since` and a past `until`,
   *  at once). None: it follows until `signal` aborts. */
  until?: bigint;
  filters?: EventFilters;
  signal?: AbortSignal;
  /** Only the past, without following (the end is now). */
  pastOnly?: boolean;
}

/** Splits complete lines off `buffered`; what follows the last newline stays for the next read. */
function parseLines(text: string): { events: JournalEvent[]; rest: string } {
  const cut = text.lastIndexOf('\n');
  const events: JournalEvent[] = [];
  for (const line of text.slice(0, cut + 1).split('\n')) {
    if (!line) continue;
    try {
      events.push(JSON.parse(line) as JournalEvent);
    } catch {
      // a line torn by a crash mid-write (never by concurrency): skipped
    }
  }
  return { events, rest: text.slice(cut + 1) };
}

/** An open journal file read from an offset onwards. */
class JournalCursor {
  private rest = '';
  constructor(
    readonly fd: number,
    readonly ino: number,
    private offset: number,
  ) {}

  static open(file: string, atEnd: boolean): JournalCursor | undefined {
    try {
      const fd = fs.openSync(file, fs.constants.O_RDONLY);
      const st = fs.fstatSync(fd);
      return new JournalCursor(fd, st.ino, atEnd ? st.size : 0);
    } catch {
      return undefined;
    }
  }

  /** Everything complete appended since the last read. */
  drain(): JournalEvent[] {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = fs.readSync(this.fd, buf, 0, buf.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    const { events, rest } = parseLines(this.rest + Buffer.concat(chunks).toString('utf8'));
    this.rest = rest;
    return events;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function inode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

/** The journal's events of a run root as an async iterable, oldest first, filtered. */
export async function* readEvents(runRoot: string, opts: ReadEventsOptions = {}): AsyncGenerator<JournalEvent> {
  const files = journalFiles(runRoot);
  const { since, until, filters = {}, signal } = opts;
  const wanted = (e: JournalEvent) =>
    (since === undefined || BigInt(e.timeNano) >= since) &&
    (until === undefined || BigInt(e.timeNano) <= until) &&
    eventMatches(e, filters);
  // the watch first, then the files: nothing appended in between is missed
  fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  const follow = !opts.pastOnly && (until === undefined || until > BigInt(Date.now()) * 1_000_000n);
  let wake: (() => void) | undefined;
  let changed = true;
  const notify = () => {
    changed = true;
    wake?.();
  };
  const watcher = follow ? fs.watch(files.dir, { persistent: true }, notify) : undefined;
  watcher?.on('error', notify);
  const timer = follow && until !== undefined ? setTimeout(notify, Number(until / 1_000_000n) - Date.now() + 1) : undefined;
  signal?.addEventListener('abort', notify);
  let cursor = JournalCursor.open(files.current, since === undefined);
  // the file before the last rotation: a writer that opened it just before the rename appends
  // there still, so it is read on until the next rotation
  let retired: JournalCursor | undefined;
  try {
    if (since !== undefined) {
      const previous = cursor && inode(files.previous) !== cursor.ino ? JournalCursor.open(files.previous, false) : undefined;
      if (previous) {
        try {
          for (const e of previous.drain()) if (wanted(e)) yield e;
        } finally {
          previous.close();
        }
      }
    }
    for (;;) {
      if (signal?.aborted) return;
      if (changed) {
        changed = false;
        if (retired) for (const e of retired.drain()) if (wanted(e)) yield e;
        if (cursor) for (const e of cursor.drain()) if (wanted(e)) yield e;
        // rotated (or created): what was appended to the old file is read above, now the new one
        const now = inode(files.current);
        if (now !== undefined && now !== cursor?.ino) {
          if (cursor) for (const e of cursor.drain()) if (wanted(e)) yield e;
          retired?.close();
          retired = cursor;
          cursor = JournalCursor.open(files.current, false);
          changed = true;
          continue;
        }
      }
      if (!follow || (until !== undefined && BigInt(Date.now()) * 1_000_000n > until)) return;
      if (!changed) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    watcher?.close();
    clearTimeout(timer);
    signal?.removeEventListener('abort', notify);
    cursor?.close();
    retired?.close();
  }
}
