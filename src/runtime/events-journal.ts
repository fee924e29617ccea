/**
 * The events journal: one file under the run root that every berth process (CLI, Node API, the
 * Engine API service, a detached container's shim) appends docker-shaped events to, one JSON line
 * per event. A single write(2) with O_APPEND puts each line at the end whole, whoever else writes
 * at the same time, so readers never see interleaved halves (as podman's file backend relies on).
 * Events are a report, never a step of the operation: every failure to write is swallowed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type EventType = 'container' | 'image' | 'network' | 'volume';

/** An event as docker's /events reports it (without the pre-1.22 status/id/from fields). */
export interface JournalEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

/** Where the journal lives below a run root: the current file and the one rotation kept. */
export function journalFiles(runRoot: string): { dir: string; current: string; previous: string } {
  const dir = path.join(runRoot, 'events');
  return { dir, current: path.join(dir, 'events.log'), previous: path.join(dir, 'events.log.1') };
}

/** Default size of the current file before it becomes the previous one. Two files of this size
 *  hold some ten thousand events: what `--since` can reach back to. */
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

/** Above this a line drops the container's labels: small lines keep the append one cheap write,
 *  atomic even on filesystems that only promise it up to PIPE_BUF. */
const MAX_LINE = 4000;

/** JSON text in which no `%` appears outside the shim's placeholders (`%` in a string becomes
 *  \u0025, which JSON readers take as the same character). */
function json(value: unknown): string {
  return JSON.stringify(value).replace(/%/g, '\\u0025');
}

/** The line's text up to its time fields. */
function linePrefix(type: EventType, action: string, id: string, attributesJson: string): string {
  return `{"Type":${json(type)},"Action":${json(action)},"Actor":{"ID":${json(id)},"Attributes":${attributesJson}},"scope":"local",`;
}

/** One journal line for an event at `nanos` (ns since the epoch). */
export function eventLine(type: EventType, action: string, id: string, attributes: Record<string, string>, nanos: bigint): string {
  const tail = `"time":${nanos / 1_000_000_000n},"timeNano":${nanos}}\n`;
  return linePrefix(type, action, id, json(attributes)) + tail;
}

/**
 * A line for the shim to complete at a container's exit: `%EXIT%` (the exit code), `%TIME%`
 * (seconds) and `%NANO%` (nanoseconds) are the only `%` in it. With `exitCode`, the attributes
 * end with docker's exitCode.
 */
export function shimEventTemplate(action: string, id: string, attributes: Record<string, string>, exitCode: boolean): string {
  const attrs = json(attributes);
  const withExit = exitCode ? `${attrs.slice(0, -1)}${attrs === '{}' ? '' : ','}"exitCode":"%EXIT%"}` : attrs;
  return `${linePrefix('container', action, id, withExit)}"time":%TIME%,"timeNano":%NANO%}`;
}

// hrtime is monotonic, not wall time: anchored to the clock once, the events of one process keep
// their order with nanosecond times even when the wall clock is stepped
const EPOCH_OFFSET = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
function nowNanos(): bigint {
  return EPOCH_OFFSET + process.hrtime.bigint();
}

/** Appends events of this process to the journal of a run root. */
export class EventJournal {
  readonly file: string;
  private readonly previous: string;
  private readonly maxBytes: number;

  constructor(runRoot: string, opts: { maxBytes?: number } = {}) {
    const files = journalFiles(runRoot);
    this.file = files.current;
    this.previous = files.previous;
    const fromEnv = Number(process.env.BERTH_EVENTS_MAX_SIZE);
    this.maxBytes = opts.maxBytes ?? (fromEnv > 0 ? fromEnv : DEFAULT_MAX_BYTES);
  }

  /** Records one event now; never throws. */
  record(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): void {
    try {
      let line = eventLine(type, action, id, attributes, nowNanos());
      if (line.length > MAX_LINE) line = eventLine(type, action, id, essentials(attributes), nowNanos());
      this.append(line);
    } catch {
      // a full or read-only run root costs the event, never the operation
    }
  }

  /** A container event with docker's attributes (image, name, its labels) and `extra`. */
  container(
    action: string,
    config: { id: string; name: string; image: string; labels?: Record<string, string> },
    extra: Record<string, string> = {},
  ): void {
    this.record('container', action, config.id, containerAttributes(config, extra));
  }

  private append(line: string): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
    }
    try {
      fs.writeSync(fd, line);
      const st = fs.fstatSync(fd);
      if (st.size > this.maxBytes) this.rotate(st.ino);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The current file becomes the previous one (replacing the older), unless another writer
   *  rotated it first: the inode check keeps two writers from rotating twice and losing a file. */
  private rotate(ino: number): void {
    try {
      if (fs.statSync(this.file).ino === ino) fs.renameSync(this.file, this.previous);
    } catch {
      // rotated meanwhile
    }
  }
}

/** docker's container attributes: image and name, the labels, then what the action adds. */
export function containerAttributes(
  config: { name: string; image: string; labels?: Record<string, string> },
  extra: Record<string, string> = {},
): Record<string, string> {
  return { ...(config.labels ?? {}), image: config.image, name: config.name, ...extra };
}

/** The attributes a line cannot do without when its labels make it too long. */
function essentials(attributes: Record<string, string>): Record<string, string> {
  const keep = ['image', 'name', 'exitCode', 'signal', 'execID', 'container', 'type', 'driver', 'destination'];
  return Object.fromEntries(Object.entries(attributes).filter(([k, v]) => keep.includes(k) && v.length < 1000));
}
