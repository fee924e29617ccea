import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { BerthError } from '../errors';

/**
 * The attach socket a detached container's shim serves (native/shim/attach.h, conmon's attach
 * socket): every client gets the container's output, and what a client sends goes to its stdin.
 * Frames both ways: 1 byte type, 4 bytes big-endian length, payload.
 */
export const FRAME = { stdin: 0, stdout: 1, stderr: 2, exit: 3, stdinEof: 4, resize: 5, claimExit: 6, outputClosed: 7 } as const;

/** Under the run root, not the container's directory: a unix socket path has at most 107 bytes. */
export function attachSocketPath(runRoot: string, id: string): string {
  return path.join(runRoot, 'attach', id);
}

/** How a start attaches before the container's process runs (start -a, a foreground run). */
export interface AttachStart {
  /** Called once the shim runs, with the connection it has had since before the container started. */
  onAttach(connection: AttachConnection): void;
  /** docker's StdinOnce: the container's stdin closes when this client's input ends. */
  stdinOnce?: boolean;
  /** The terminal's size for a tty, [rows, cols]. */
  ttySize?: [number, number];
}

export interface AttachExit {
  exitCode: number;
  oomKilled: boolean;
}

function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/**
 * One attach connection. Emits 'stdout' and 'stderr' (Buffer), 'exit' (AttachExit: the container's
 * final exit, sent last) and 'close'. Closing it detaches: the container goes on.
 */
export class AttachConnection extends EventEmitter {
  /** Resolves when the connection closes: with the exit when the shim sent one, else undefined. */
  readonly closed: Promise<AttachExit | undefined>;
  private exit: AttachExit | undefined;
  private pending = Buffer.alloc(0);
  // Frames received before resume(): Node resumes (and so drains) a child's stdio stream that
  // nobody reads once that child exits, so the socket is read from the start and kept here.
  private held: Array<[string, unknown]> | undefined = [];
  private ended = false;
  private endNow: () => void = () => {};

  constructor(private readonly socket: Duplex) {
    super();
    this.closed = new Promise((resolve) => {
      this.endNow = () => {
        this.emit('close');
        resolve(this.exit);
      };
    });
    socket.on('error', () => {}); // a shim that went away: 'close' follows
    socket.on('data', (b: Buffer) => this.receive(b));
    socket.on('close', () => {
      this.ended = true;
      if (!this.held) this.endNow();
    });
  }

  /** Starts delivering the output: call it once the 'stdout'/'stderr'/'exit' listeners are on. */
  resume(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const [event, arg] of held) this.emit(event, arg);
    if (this.ended) this.endNow();
  }

  private deliver(event: string, arg: unknown): void {
    if (this.held) this.held.push([event, arg]);
    else this.emit(event, arg);
  }

  private receive(b: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, b]) : b;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      const type = buf[0];
      const payload = Buffer.from(buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
      if (type === FRAME.stdout) this.deliver('stdout', payload);
      else if (type === FRAME.stderr) this.deliver('stderr', payload);
      else if (type === FRAME.exit) {
        const [code, oom] = payload.toString().split(' ');
        this.exit = { exitCode: Number(code), oomKilled: oom === '1' };
        this.deliver('exit', this.exit);
      }
    }
    this.pending = Buffer.from(buf);
  }

  /** Input for the container's stdin (dropped by the shim when it was started without -i). */
  write(data: Buffer | string): void {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    // frames of at most 64 KiB: the shim refuses larger ones
    for (let at = 0; at < b.length; at += 65536) this.socket.write(frame(FRAME.stdin, b.subarray(at, at + 65536)));
  }

  /** This client's input has ended; with StdinOnce the container's stdin closes. */
  endStdin(): void {
    this.socket.write(frame(FRAME.stdinEof, Buffer.alloc(0)));
  }

  /** The terminal's new size (tty only). */
  resize(rows: number, cols: number): void {
    if (rows > 0 && cols > 0) this.socket.write(frame(FRAME.resize, Buffer.from(`${rows} ${cols}`)));
  }

  /** Tells the shim that this client does its exit command's work (runtime.cleanup) once it has
   *  the exit: if the exit reaches it, the shim starts no `berth container cleanup` of its own. */
  claimExit(): void {
    this.socket.write(frame(FRAME.claimExit, Buffer.alloc(0)));
  }

  /** This client's stdout (1) or stderr (2) is closed: the shim closes the container's pipe, whose
   *  writes then fail as on the pipe a process had (only the client a start was attached with). */
  outputClosed(stream: 1 | 2): void {
    this.socket.write(frame(FRAME.outputClosed, Buffer.from(String(stream))));
  }

  /** Detaches. */
  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

/** Connects to a running container's attach socket. */
export function connectAttach(file: string, name: string): Promise<AttachConnection> {
  const net = require('node:net') as typeof import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.connect(file);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(new AttachConnection(s));
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
          ? new BerthError('INVALID_STATE', `Container ${name} has no attach socket; it was started before berth could attach (restart it)`)
          : e,
      );
    });
  });
}
