/**
 * berth's programmatic API: the same entry point the CLI uses.
 *
 *   const berth = new Berth({ root: '/tmp/berth' });
 *   await berth.importImage('busybox.tar', 'busybox');
 *   const { exitCode, stdout } = await berth.run({ image: 'busybox', cmd: ['echo', 'hi'] });
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { BerthError } from './errors';
import { ImageStore } from './image/store';
import type { ImageRecord } from './image/types';
import { native } from './native';
import type { ContainerOptions, ExecOptions } from './runtime/options';
import { Runtime, type ExitStatus } from './runtime/runtime';
import { StdioSetup, type StdioOption } from './runtime/stdio';
import type { ContainerInfo } from './runtime/types';

export { BerthError } from './errors';
export type { BerthErrorCode, SystemError } from './errors';
export type { ImageRecord, ImageConfig } from './image/types';
export type { ContainerOptions, ExecOptions } from './runtime/options';
export type { ExitStatus } from './runtime/runtime';
export type { ContainerInfo, ContainerConfig, ContainerState, VolumeSpec } from './runtime/types';
export type { StdioOption } from './runtime/stdio';

export interface BerthOptions {
  /** Images, layers and containers. Default: $BERTH_ROOT or /var/lib/berth. */
  root?: string;
  /** Locks and other runtime state. Default: $BERTH_RUNROOT or /run/berth. */
  runRoot?: string;
  /** overlay (default) or aufs. */
  storageDriver?: string;
  /** Name of the parent cgroup containers are created under. Default: berth. */
  cgroupParent?: string;
  /** Let a background `rm -rf` delete the write layer of an --rm container, so that this process
   *  can exit at once (the CLI does). Default false: removal finishes before the exit is reported. */
  detachedCleanup?: boolean;
}

export interface SpawnOptions extends ContainerOptions {
  /** Default: 'pipe' when interactive, else 'ignore'. */
  stdin?: StdioOption;
  /** Default: 'pipe'. */
  stdout?: StdioOption;
  /** Default: 'pipe'. With tty, stdout carries both. */
  stderr?: StdioOption;
  /** Initial terminal size [rows, cols] with tty. */
  ttySize?: [number, number];
}

export interface ExecSpawnOptions extends ExecOptions {
  stdin?: StdioOption;
  stdout?: StdioOption;
  stderr?: StdioOption;
  ttySize?: [number, number];
}

export interface RunResult extends ExitStatus {
  id: string;
  name: string;
  /** What the container wrote, when stdout/stderr were 'pipe' (the default). */
  stdout: string;
  stderr: string;
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
  constructor(info: ContainerInfo, pid: number, private readonly pidfd: number, private readonly ptyMaster: number,
              streams: { stdin: Writable | null; stdout: Readable | null; stderr: Readable | null }, exited: Promise<ExitStatus>) {
    super();
    this.id = info.config.id;
    this.name = info.config.name;
    this.pid = pid;
    this.stdin = streams.stdin;
    this.stdout = streams.stdout;
    this.stderr = streams.stderr;
    const drained = [this.stdout, this.stderr].filter((s): s is Readable => s !== null).map(
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
    const n = typeof signal === 'number' ? signal : require('node:os').constants.signals[signal];
    if (typeof n !== 'number') throw new BerthError('INVALID_ARGUMENT', `Expected a signal name like SIGTERM but received "${String(signal)}"`);
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

export class Berth {
  readonly root: string;
  readonly runRoot: string;
  readonly images: ImageStore;
  readonly runtime: Runtime;

  constructor(options: BerthOptions = {}) {
    this.root = options.root ?? process.env.BERTH_ROOT ?? '/var/lib/berth';
    this.runRoot = options.runRoot ?? process.env.BERTH_RUNROOT ?? '/run/berth';
    this.images = new ImageStore(this.root);
    this.runtime = new Runtime(this.root, this.runRoot, this.images, options);
  }

  /** `docker import`: a flat rootfs tarball becomes a one-layer image. */
  importImage(tarPath: string, ref: string): Promise<ImageRecord> {
    requireRoot();
    return this.images.import(tarPath, ref);
  }



  listImages(): ImageRecord[] {
    return this.images.list();
  }

  /** `docker rmi`; refuses an image a container uses unless force. */
  removeImage(ref: string, opts: { force?: boolean } = {}) {
    const used = new Set(this.runtime.list().map((c) => c.config.imageId));
    return this.images.remove(ref, { force: opts.force, inUse: (id: string) => used.has(id) });
  }

  /** Creates and starts a container; returns at once with its streams. */
  spawn(options: SpawnOptions): ContainerProcess {
    requireRoot();
    const info = this.runtime.create(options);
    const stdio = new StdioSetup(
      [options.stdin ?? (options.interactive ? 'pipe' : 'ignore'), options.stdout ?? 'pipe', options.stderr ?? 'pipe'],
      !!options.tty,
      options.ttySize,
    );
    let started;
    try {
      started = this.runtime.start(info, stdio.plan);
    } catch (e) {
      stdio.abort();
      // A container that never ran leaves nothing behind, not even a record.
      try {
        this.runtime.store.remove(info.config.id);
      } catch {
        /* already gone */
      }
      throw e;
    }
    return new ContainerProcess(started.info, started.pid, started.pidfd, started.ptyMaster, stdio.attach(started.ptyMaster), started.exited);
  }

  /** Runs a container to its end. Resolves to its exit status and, by default, its output. */
  async run(options: SpawnOptions): Promise<RunResult> {
    const proc = this.spawn(options);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    proc.stdout?.on('data', (b: Buffer) => out.push(b));
    proc.stderr?.on('data', (b: Buffer) => err.push(b));
    proc.stdin?.end();
    const status = await proc.wait();
    return { id: proc.id, name: proc.name, ...status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
  }

  /** `docker exec`: starts a command inside a running container (its namespaces, cgroup, user and
   *  environment unless overridden). The returned process's wait() resolves with the command's exit. */
  exec(ref: string, options: ExecSpawnOptions): ContainerProcess {
    requireRoot();
    const stdio = new StdioSetup(
      [options.stdin ?? (options.interactive ? 'pipe' : 'ignore'), options.stdout ?? 'pipe', options.stderr ?? 'pipe'],
      !!options.tty,
      options.ttySize,
    );
    let started;
    try {
      started = this.runtime.exec(ref, options, stdio.plan);
    } catch (e) {
      stdio.abort();
      throw e;
    }
    return new ContainerProcess(started.info, started.pid, started.pidfd, started.ptyMaster, stdio.attach(started.ptyMaster), started.exited);
  }

  /** Containers, newest first; running ones only unless all. */
  ps(opts: { all?: boolean } = {}): ContainerInfo[] {
    const all = this.runtime.list();
    return opts.all ? all : all.filter((c) => c.state.status === 'running');
  }

  inspect(ref: string): ContainerInfo {
    return this.runtime.resolve(ref);
  }

  /** `docker rm`: removes the container with its write layer and cgroup. */
  remove(ref: string, opts: { force?: boolean } = {}): Promise<ContainerInfo> {
    requireRoot();
    return this.runtime.remove(ref, opts);
  }
}

function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new BerthError('NOT_ROOT', 'berth needs root: run it with sudo (rootless containers are not supported yet)');
  }
  void fs;
}
