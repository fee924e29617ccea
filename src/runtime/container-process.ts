import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { native } from '../native';
import { parseSignal } from '../util/signals';
import type { ExitStatus, Started } from './runtime';
import type { StdioPlan } from './plan';
import { StdioSetup, type StdioOption, type StdioStreams } from './stdio';
import type { ContainerInfo } from './types';

/** Where a started process's stdio goes (spawn's and exec's options). */
export interface StdioOptions {
  /** Default: 'pipe' when interactive, else 'ignore'. */
  stdin?: StdioOption;
  /** Default: 'pipe'. */
  stdout?: StdioOption;
  /** Default: 'pipe'. With tty, stdout carries both. */
  stderr?: StdioOption;
  /** Initial terminal size [rows, cols] with tty. */
  ttySize?: [number, number];
}

/** A started container, like a ChildProcess: streams, a pid, kill() and wait(). Emits 'exit'. */
export class ContainerProcess extends EventEmitter {
  readonly id: string;
  readonly name: string;
  readonly pid: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  private readonly done: Promise<ExitStatus>;

  /** @internal */
  constructor(
    info: ContainerInfo,
    pid: number,
    private readonly pidfd: number,
    private readonly ptyMaster: number,
    streams: StdioStreams,
    exited: Promise<ExitStatus>,
  ) {
    super();
    this.id = info.config.id;
    this.name = info.config.name;
    this.pid = pid;
    this.stdin = streams.stdin;
    this.stdout = streams.stdout;
    this.stderr = streams.stderr;
    const drained = [this.stdout, this.stderr]
      .filter((s): s is Readable => s !== null)
      .map(
        (s) => new Promise<void>((r) => (s.readableEnded || s.destroyed ? r() : (s.once('close', () => r()), s.once('end', () => r())))),
      );
    this.done = exited.then(async (status) => {
      await Promise.all(drained);
      this.emit('exit', status);
      return status;
    });
  }

  /** Resolves once the container exited and its output was read to the end. */
  wait(): Promise<ExitStatus> {
    return this.done;
  }

  /** Sends a signal to the container's init process (through its pidfd: never a reused PID). */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): void {
    const n = parseSignal(signal, 'kill()');
    try {
      native().pidfdSignal(this.pidfd, n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH' && (e as NodeJS.ErrnoException).code !== 'EBADF') throw e;
    }
  }

  /** Resizes the container's terminal (tty only). */
  resize(rows: number, cols: number): void {
    if (this.ptyMaster >= 0) native().setWinsize(this.ptyMaster, rows, cols);
  }
}

/**
 * Opens the host ends of a process's stdio (pipes by default, stdin only when interactive), runs
 * `start` with them and wraps what it started; when `start` throws, the ends are closed again.
 * Foreground runs and exec start processes this way alike.
 */
export function startAttached(
  o: StdioOptions & { interactive?: boolean; tty?: boolean },
  start: (stdio: StdioPlan) => Started,
): ContainerProcess {
  const stdio = new StdioSetup(
    [o.stdin ?? (o.interactive ? 'pipe' : 'ignore'), o.stdout ?? 'pipe', o.stderr ?? 'pipe'],
    !!o.tty,
    o.ttySize,
  );
  let started: Started;
  try {
    started = start(stdio.plan);
  } catch (e) {
    stdio.abort();
    throw e;
  }
  return new ContainerProcess(started.info, started.pid, started.pidfd, started.ptyMaster, stdio.attach(started.ptyMaster), started.exited);
}
