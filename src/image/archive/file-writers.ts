import * as os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { BerthError } from '../../errors';
import { quote } from '../../util/quote';

/*
 * Regular files of a layer are written by worker threads: creating, filling and closing thousands of
 * small files is almost all kernel time, and one thread doing all of it (as GNU tar does) leaves the
 * other cores idle while the main thread parses the tar, hashes and decompresses. A worker only ever
 * creates a new file (O_CREAT|O_EXCL|O_NOFOLLOW) at a path whose every directory the LayerWriter has
 * already made or checked, and writes, chowns, chmods, timestamps and closes that file. Everything that
 * looks up or changes names in a way a later entry could depend on (directories, symlinks, hardlinks,
 * removal of a name that is replaced) stays on the main thread, in archive order; the LayerWriter
 * drains the workers first whenever such a change could touch a file still in their queue.
 */

const OPEN = 0;
const DATA = 1;
const CLOSE = 2;
const ABORT = 3;

type Op =
  | [typeof OPEN, number, string, number] // id, path, creation mode
  | [typeof DATA, number, number, number] // id, offset and length in the batch's data
  | [typeof CLOSE, number, number, number, number, number, number] // id, uid, gid (-1: keep), mode (-1: keep), atime, mtime (s)
  | [typeof ABORT];

interface Batch {
  session: number;
  seq: number;
  ops: Op[];
  /** The sink's ring for this worker: DATA ops give offsets into it. */
  data: SharedArrayBuffer;
}

interface Ack {
  session: number;
  seq: number;
  error?: { message: string; code?: string; path: string };
}

/** The worker's whole program, as source: the CLI is one bundled file, so there is no module path to load. */
function workerMain(): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  // The op codes again: this function's source is all the worker gets.
  const [OPEN, DATA, ABORT] = [0, 1, 3] as const;
  const open = new Map<number, { fd: number; path: string; session: number }>();
  const failed = new Set<number>();
  const closeAll = (session: number): void => {
    for (const [id, f] of open) {
      if (f.session !== session) continue;
      open.delete(id);
      try {
        fs.closeSync(f.fd);
      } catch {
        // closing is all that is left to do
      }
    }
  };
  parentPort!.on('message', (batch: Batch) => {
    const { session, seq, ops } = batch;
    const data = Buffer.from(batch.data);
    let path = '';
    let error: Ack['error'];
    if (failed.has(session)) {
      if (ops.some((op) => op[0] === ABORT)) failed.delete(session);
      parentPort!.postMessage({ session, seq });
      return;
    }
    try {
      for (const op of ops) {
        if (op[0] === OPEN) {
          path = op[2];
          open.set(op[1], { fd: fs.openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, op[3]), path, session });
          continue;
        }
        if (op[0] === ABORT) {
          closeAll(session);
          continue;
        }
        const f = open.get(op[1])!;
        path = f.path;
        if (op[0] === DATA) {
          const end = op[2] + op[3];
          for (let off = op[2]; off < end;) off += fs.writeSync(f.fd, data, off, end - off);
          continue;
        }
        const [, id, uid, gid, mode, atime, mtime] = op;
        open.delete(id);
        try {
          if (uid >= 0) fs.fchownSync(f.fd, uid, gid);
          // after chown, which clears setuid/setgid
          if (mode >= 0) fs.fchmodSync(f.fd, mode);
          fs.futimesSync(f.fd, atime, mtime);
        } finally {
          fs.closeSync(f.fd);
        }
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      error = { message: err.message, code: err.code, path };
      failed.add(session);
      closeAll(session);
    }
    parentPort!.postMessage({ session, seq, error });
  });
}

interface PoolWorker {
  worker: Worker;
  /** Batches sent and not yet acknowledged, by all sessions: the worker keeps the process alive while > 0. */
  outstanding: number;
}

/** The process's file-writing workers, started on first use and kept (unref'd) for the next layer. */
class WriterPool {
  private static shared: WriterPool | undefined;
  readonly workers: PoolWorker[] = [];
  private readonly sessions = new Map<number, FileSink>();
  private nextSession = 1;

  static get(): WriterPool {
    WriterPool.shared ??= new WriterPool(writerCount());
    return WriterPool.shared;
  }

  private constructor(n: number) {
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    for (let i = 0; i < n; i++) {
      const worker = new Worker(`(${workerMain.toString()})()`, { eval: true, name: `berth-unpack-${i}` });
      const w: PoolWorker = { worker, outstanding: 0 };
      worker.unref();
      worker.on('message', (ack: Ack) => {
        if (--w.outstanding === 0) worker.unref();
        this.sessions.get(ack.session)?.acked(i, ack);
      });
      const broken = (e: Error): void => {
        if (WriterPool.shared === this) WriterPool.shared = undefined;
        for (const s of this.sessions.values()) s.broken(e);
      };
      worker.on('error', broken);
      worker.on('exit', (code) => broken(new Error(`the unpack worker exited (code ${code})`)));
      this.workers.push(w);
    }
  }

  open(sink: FileSink): number {
    const id = this.nextSession++;
    this.sessions.set(id, sink);
    return id;
  }

  close(session: number): void {
    this.sessions.delete(session);
  }

  send(i: number, batch: Batch): void {
    const w = this.workers[i];
    if (w.outstanding++ === 0) w.worker.ref();
    w.worker.postMessage(batch);
  }
}

function writerCount(): number {
  const n = Number(process.env.BERTH_UNPACK_WORKERS);
  if (Number.isInteger(n) && n > 0) return Math.min(n, 16);
  // The main thread parses, hashes and dispatches; the other cores write. On 2 cores a second writer
  // made the unpack slower (both contend with the main thread and the thread pool's decompression).
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

/** A batch is sent once it holds this much data or this many ops, or when its worker runs short of work. */
const BATCH_BYTES = 1 << 20;
const BATCH_OPS = 256;
/** Each sink's data buffer per worker, shared with it: file data waits there until written. */
const RING_BYTES = 8 << 20;

/** Attributes a worker applies when it closes a file. */
interface CloseAttributes {
  /** -1 to keep the creator's. */
  uid: number;
  gid: number;
  /** -1 to keep the creation mode. */
  mode: number;
  atime: Date;
  mtime: Date;
}

/**
 * One sink's traffic with one worker. File data is copied into a SharedArrayBuffer used as a ring (a
 * fresh buffer per batch costs a page fault per 4 kB, more than the copy); `head` and `tail` count bytes
 * ever allocated and released, and a batch releases its bytes when the worker acknowledges it.
 */
class Lane {
  readonly ring = new SharedArrayBuffer(RING_BYTES);
  readonly view = Buffer.from(this.ring);
  head = 0;
  tail = 0;
  ops: Op[] = [];
  bytes = 0;
  /** Sequence number the batch being built will get. */
  seq = 1;
  acked = 0;
  /** `head` at the end of each sent, unacknowledged batch. */
  readonly ends: number[] = [];
}

/** File ids are unique in the process: a worker serves several sinks (layers) at once. */
let nextFileId = 1;

/** Rings of finished sinks, for the next layer: their pages are already faulted in. */
const spareLanes: Lane[] = [];

/** One LayerWriter's use of the pool: files opened here are written, in order per file, by one worker each. */
export class FileSink {
  private readonly pool = WriterPool.get();
  private readonly session = this.pool.open(this);
  private readonly lanes: Lane[] = this.pool.workers.map(() => spareLanes.pop() ?? new Lane());
  private unacked = 0;
  private readonly waiters: Array<() => void> = [];
  private failure: Error | undefined;
  /** A worker died: nothing more will be acknowledged. */
  private isBroken = false;
  private flushScheduled = false;
  /** Which worker each open file went to. */
  private readonly files = new Map<number, number>();
  /** Worker and batch of the last file created at each path, until drained (see pending). */
  private readonly latest = new Map<string, { worker: number; seq: number }>();
  private rr = 0;

  /** @param root  the layer directory, for error messages that name the entry */
  constructor(private readonly root: string) {}

  /** Create `path` (it must not exist) and keep its id for data() and close(). */
  open(path: string, mode: number): number {
    this.check();
    const worker = this.pickWorker();
    const id = nextFileId++;
    this.files.set(id, worker);
    this.latest.set(path, { worker, seq: this.lanes[worker].seq });
    this.push(worker, [OPEN, id, path, mode]);
    return id;
  }

  /** Queue a piece of the file's content; waits while its worker's ring is full. */
  async data(id: number, chunk: Buffer): Promise<void> {
    const worker = this.files.get(id)!;
    const lane = this.lanes[worker];
    for (let off = 0; off < chunk.length;) {
      const n = Math.min(chunk.length - off, RING_BYTES / 4);
      let pos = lane.head % RING_BYTES;
      // A piece is contiguous in the ring: the bytes left before its end are skipped.
      const skip = pos + n > RING_BYTES ? RING_BYTES - pos : 0;
      while (lane.head + skip + n - lane.tail > RING_BYTES) {
        if (lane.ops.length > 0) this.send(worker);
        await this.wait();
        this.check();
      }
      lane.head += skip;
      pos = lane.head % RING_BYTES;
      chunk.copy(lane.view, pos, off, off + n);
      lane.head += n;
      lane.bytes += n;
      this.push(worker, [DATA, id, pos, n]);
      off += n;
    }
  }

  close(id: number, a: CloseAttributes): void {
    const worker = this.files.get(id)!;
    this.files.delete(id);
    this.push(worker, [CLOSE, id, a.uid, a.gid, a.mode, a.atime.getTime() / 1000, a.mtime.getTime() / 1000]);
  }

  /** Whether a file created at `path` may not be complete on disk yet. */
  pending(path: string): boolean {
    const at = this.latest.get(path);
    return at !== undefined && this.lanes[at.worker].acked < at.seq;
  }

  /** Everything handed over so far is on disk (or the first failure is thrown). */
  async drain(): Promise<void> {
    this.flush(Infinity);
    while (this.unacked > 0 && this.failure === undefined) await this.wait();
    this.check();
    this.latest.clear();
  }

  /**
   * After a failure: drop what was not sent, close the workers' open files and wait until they are
   * done with this layer, so that its directory can be removed without a worker still writing into it.
   */
  async abandon(): Promise<void> {
    this.failure ??= new Error('unpack abandoned');
    this.lanes.forEach((lane, i) => {
      lane.ops = [[ABORT]];
      this.send(i);
    });
    while (this.unacked > 0 && !this.isBroken) await new Promise<void>((r) => this.waiters.push(r));
    this.release();
  }

  /** Done with the pool, after drain() or abandon(). */
  release(): void {
    this.pool.close(this.session);
    if (this.unacked === 0 && !this.isBroken) {
      for (const lane of this.lanes)
        spareLanes.push(Object.assign(lane, { head: 0, tail: 0, ops: [], bytes: 0, seq: 1, acked: 0, ends: [] }));
      this.lanes.length = 0;
    }
  }

  /** Called by the pool. */
  acked(worker: number, ack: Ack): void {
    const lane = this.lanes[worker];
    lane.acked = ack.seq;
    lane.tail = lane.ends.shift() ?? lane.tail;
    this.unacked--;
    if (ack.error && this.failure === undefined) {
      const cause = Object.assign(new Error(ack.error.message), { code: ack.error.code });
      const entry = ack.error.path.startsWith(`${this.root}/`) ? ack.error.path.slice(this.root.length + 1) : ack.error.path;
      this.failure = new BerthError('INTERNAL', `Cannot unpack layer entry ${quote(entry)}: ${ack.error.message}`, { cause });
    }
    // Keep the worker busy: what piled up while it wrote goes now if it is worth a message.
    if (lane.ends.length === 0 && (lane.ops.length >= BATCH_OPS / 4 || lane.bytes >= BATCH_BYTES / 4) && this.failure === undefined)
      this.send(worker);
    this.wake();
  }

  /** Called by the pool when a worker died: nothing more will be acknowledged. */
  broken(e: Error): void {
    this.isBroken = true;
    this.failure ??= new BerthError('INTERNAL', `Unpacking failed: ${e.message}`, { cause: e });
    this.unacked = 0;
    this.wake();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private pickWorker(): number {
    // The least loaded worker; round robin among equals keeps all of them busy on a run of small files.
    const start = this.rr++ % this.lanes.length;
    let best = start;
    const load = (l: Lane): number => l.head - l.tail + l.ops.length * 4096;
    for (let i = 0; i < this.lanes.length; i++) if (load(this.lanes[i]) < load(this.lanes[best])) best = i;
    return best;
  }

  private push(worker: number, op: Op): void {
    const lane = this.lanes[worker];
    lane.ops.push(op);
    if (lane.bytes >= BATCH_BYTES || lane.ops.length >= BATCH_OPS) this.send(worker);
    else if (!this.flushScheduled) {
      // A little later, an idle worker gets what there is. Not sooner: during a pull the main thread
      // waits for the thread pool between every chunk, and a message per few files (and a wake-up of
      // the worker) would cost more than their writes.
      this.flushScheduled = true;
      setTimeout(() => {
        this.flushScheduled = false;
        if (this.failure === undefined) this.flush(1);
      }, 1);
    }
  }

  /** Send the batches being built to workers with fewer than `limit` batches in flight. */
  private flush(limit: number): void {
    this.lanes.forEach((lane, i) => {
      if (lane.ops.length > 0 && lane.ends.length < limit) this.send(i);
    });
  }

  private send(worker: number): void {
    const lane = this.lanes[worker];
    const batch: Batch = { session: this.session, seq: lane.seq++, ops: lane.ops, data: lane.ring };
    lane.ends.push(lane.head);
    lane.ops = [];
    lane.bytes = 0;
    this.unacked++;
    this.pool.send(worker, batch);
  }

  private wait(): Promise<void> {
    return new Promise<void>((r) => this.waiters.push(r));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
