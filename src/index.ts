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
import type { PullOptions, PullResult } from './image/pull';
import type { ImageRecord } from './image/types';
import { native } from './native';
import { checkContainerOptions, checkExecOptions, type ContainerOptions, type ExecOptions } from './runtime/options';
import { quote } from './util/quote';
import { parseSignal } from './util/signals';
import { BERTH_OPTIONS, checkArgs, CREDENTIALS, FORCE, LOG_OPTIONS, NETWORK_OPTIONS, PULL_OPTIONS, TIMEOUT } from './util/api-options';
import { bool, checkOptions, checkRootDirectory, str, strings } from './util/validate';
import { Runtime, type ExitStatus } from './runtime/runtime';
import { StdioSetup, type StdioOption } from './runtime/stdio';
import type { CgroupStats } from './runtime/cgroups/types';
import { containerFiles } from './runtime/lifecycle';
import { readLogs, type LogEntry, type ReadLogOptions } from './runtime/logs';
import type { ContainerInfo, ContainerState } from './runtime/types';
import type { CreateNetworkOptions, EndpointInfo, NetworkInfo, PortMapping } from './network/types';
import * as imageApi from './image/berth-api';
import { isRunning, hasExited } from './runtime/container-predicates';

export { BerthError } from './errors';
export type { BerthErrorCode, SystemError } from './errors';
export type { ImageRecord, ImageConfig } from './image/types';
export type { ContainerOptions, ExecOptions } from './runtime/options';
export type { ExitStatus } from './runtime/runtime';
export type { ContainerInfo, ContainerConfig, ContainerState, VolumeSpec } from './runtime/types';
export type { StdioOption } from './runtime/stdio';
export type { LogEntry, ReadLogOptions } from './runtime/logs';
export type { CgroupStats } from './runtime/cgroups/types';
export type { CreateNetworkOptions, EndpointInfo, NetworkInfo, PortMapping } from './network/types';
export type { CommitOptions, Credentials, ImageInspect, LoadResult, PruneResult } from './image/berth-api';

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
  /** Directories searched for CNI plugins. Default: $BERTH_CNI_PATH, else /usr/lib/cni and /opt/cni/bin. */
  cniPath?: string[];
  /** The network of containers started without one: $BERTH_DEFAULT_NETWORK, else 'bridge' (berth's
   *  default network `berth`, as docker's). 'none' for loopback only, or a user network's name. */
  defaultNetwork?: string;
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

/** What `top` shows for each process of a container. */
export interface ContainerProcessInfo {
  pid: number;
  ppid: number;
  uid: number;
  command: string;
}

export interface ContainerStats extends CgroupStats {
  id: string;
  name: string;
}

/** Container events, as `watch()` reports them: start (also on restarts), die (the process
 *  ended), oom (it died of the OOM killer), exit (it stopped for good, restart policy included). */
export interface ContainerEvent {
  type: 'start' | 'die' | 'oom' | 'exit';
  id: string;
  name: string;
  exitCode?: number;
  time: string;
}

export class Berth {
  readonly root: string;
  readonly runRoot: string;
  readonly images: ImageStore;
  readonly runtime: Runtime;

  constructor(options: BerthOptions = {}) {
    checkOptions(options, BERTH_OPTIONS, 'the options of new Berth()');
    this.root = options.root ?? process.env.BERTH_ROOT ?? '/var/lib/berth';
    this.runRoot = options.runRoot ?? process.env.BERTH_RUNROOT ?? '/run/berth';
    // once, here: every command of the CLI and every API call goes through a Berth
    checkRootDirectory(this.root, 'state root', '--root');
    checkRootDirectory(this.runRoot, 'run root', '--runroot');
    this.images = new ImageStore(this.root);
    this.runtime = new Runtime(this.root, this.runRoot, this.images, { ...options, defaultNetwork: options.defaultNetwork ?? (process.env.BERTH_DEFAULT_NETWORK || 'bridge') });
  }

  /** `docker import`: a flat rootfs tarball becomes a one-layer image. */
  importImage(tarPath: string, ref: string): Promise<ImageRecord> {
    requireRoot();
    checkArgs({ tarPath, ref });
    return this.images.import(tarPath, ref);
  }

  /**
   * `docker pull`: fetch an image from its registry (OCI distribution v2; anonymous bearer tokens, or
   * `credentials`) into the store. Multi-platform images resolve to the host's platform unless `platform`.
   */
  pullImage(ref: string, opts: PullOptions = {}): Promise<PullResult> {
    requireRoot();
    checkArgs({ ref });
    checkOptions(opts, PULL_OPTIONS, 'the options of pullImage()');
    return this.images.pull(ref, opts);
  }

  /** `docker tag`: give the image `ref` names another name. */
  tagImage(ref: string, newRef: string): void {
    requireRoot();
    checkArgs({ ref, newRef });
    this.images.tag(ref, newRef);
  }

  listImages(): ImageRecord[] {
    return this.images.list();
  }

  /** `docker rmi`; refuses an image a container uses unless force. */
  removeImage(ref: string, opts: { force?: boolean } = {}) {
    checkArgs({ ref });
    checkOptions(opts, FORCE, 'the options of removeImage()');
    const used = new Set(this.runtime.list().map((c) => c.config.imageId));
    return this.images.remove(ref, { force: opts.force, inUse: (id: string) => used.has(id) });
  }

  /** docker's --pull: `missing` pulls only when the store lacks the image, `always` checks the
   *  registry every time, `never` only looks in the store. */
  async ensureImage(ref: string, policy: ContainerOptions['pull'] = 'missing'): Promise<void> {
    requireRoot();
    checkArgs({ ref });
    if (policy !== 'missing' && policy !== 'always' && policy !== 'never') {
      throw new BerthError('INVALID_ARGUMENT', `Expected missing, always or never for --pull but received ${quote(policy)}`);
    }
    if (policy === 'never') return;
    if (policy === 'missing') {
      try {
        this.images.resolve(ref);
        return;
      } catch (e) {
        if (!(e instanceof BerthError) || e.code !== 'IMAGE_NOT_FOUND') throw e;
      }
    }
    try {
      await this.pullImage(ref);
    } catch (e) {
      throw new BerthError('IMAGE_NOT_FOUND', `Unable to find image ${ref} locally, and pulling it failed; import it with \`berth import\` or check the reference`, { cause: e });
    }
  }

  /** Creates and starts a container; returns at once with its streams. The image must be in the
   *  store (run() and runDetached() pull it when missing). */
  spawn(options: SpawnOptions): ContainerProcess {
    requireRoot();
    checkContainerOptions(options, 'spawn()', true);
    const info = this.runtime.create(options);
    const stdio = stdioSetup(options);
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
    checkContainerOptions(options, 'run()', true);
    await this.ensureImage(options.image, options.pull);
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
    checkArgs({ ref });
    checkExecOptions(options);
    const stdio = stdioSetup(options);
    let started;
    try {
      started = this.runtime.exec(ref, options, stdio.plan);
    } catch (e) {
      stdio.abort();
      throw e;
    }
    return new ContainerProcess(started.info, started.pid, started.pidfd, started.ptyMaster, stdio.attach(started.ptyMaster), started.exited);
  }

  /** `docker run -d`: starts the container under a berth-shim that outlives this process, which
   *  keeps its log, records its exit and applies its restart policy. Resolves once it runs. */
  async runDetached(options: ContainerOptions): Promise<ContainerInfo> {
    requireRoot();
    checkContainerOptions(options, 'runDetached()', false);
    await this.ensureImage(options.image, options.pull);
    const info = this.runtime.create(options);
    try {
      return await this.runtime.lifecycle.startDetached(info);
    } catch (e) {
      try {
        this.runtime.store.remove(info.config.id, { name: info.config.name });
      } catch {
        /* already gone */
      }
      throw e;
    }
  }

  /** `docker start`: runs a created or exited container again, detached, with the same write layer. */
  async start(ref: string): Promise<ContainerInfo> {
    requireRoot();
    checkArgs({ ref });
    return this.runtime.lifecycle.startDetached(this.runtime.resolve(ref));
  }

  /** `docker stop`: SIGTERM, then SIGKILL after `timeout` seconds (default 10). */
  stop(ref: string, opts: { timeout?: number } = {}): Promise<ContainerInfo> {
    requireRoot();
    checkArgs({ ref });
    checkOptions(opts, TIMEOUT, 'the options of stop()');
    return this.runtime.lifecycle.stop(ref, opts.timeout ?? 10);
  }

  /** `docker kill`: a signal (default SIGKILL) to the container's init process. */
  kill(ref: string, signal: string | number = 'SIGKILL'): ContainerInfo {
    requireRoot();
    checkArgs({ ref });
    // checked before the container is looked up: a bad signal is the caller's error, whatever the state
    return this.runtime.lifecycle.kill(ref, parseSignal(signal));
  }

  async restart(ref: string, opts: { timeout?: number } = {}): Promise<ContainerInfo> {
    checkOptions(opts, TIMEOUT, 'the options of restart()');
    await this.stop(ref, opts);
    return this.start(ref);
  }

  /** `docker wait`: the state once the container has stopped for good. */
  wait(ref: string): Promise<ContainerState> {
    checkArgs({ ref });
    return this.runtime.lifecycle.wait(ref);
  }

  /** `docker logs` of a detached container; with follow, until it stops for good. */
  logs(ref: string, opts: Omit<ReadLogOptions, 'done'> = {}): AsyncGenerator<LogEntry> {
    checkArgs({ ref });
    checkOptions(opts, LOG_OPTIONS, 'the options of logs()');
    const info = this.runtime.resolve(ref);
    const file = containerFiles(this.runtime.store.containerDir(info.config.id)).log;
    const done = () => {
      try {
        return !isRunning(this.runtime.resolve(info.config.id).state);
      } catch {
        return true;
      }
    };
    return readLogs(file, { ...opts, done });
  }

  /** `docker top`: the container's processes, host PIDs. */
  top(ref: string): ContainerProcessInfo[] {
    checkArgs({ ref });
    const info = this.runtime.resolve(ref);
    if (!isRunning(info.state)) throw new BerthError('INVALID_STATE', `Container ${info.config.name} is not running`);
    return this.runtime.cgroups.pids(info.config.id).flatMap((pid) => {
      const p = processInfo(pid);
      return p ? [p] : [];
    });
  }

  /** `docker stats --no-stream`: memory, CPU time and process count from the container's cgroup. */
  stats(ref: string): ContainerStats {
    checkArgs({ ref });
    const info = this.runtime.resolve(ref);
    if (!isRunning(info.state)) throw new BerthError('INVALID_STATE', `Container ${info.config.name} is not running`);
    return { id: info.config.id, name: info.config.name, ...this.runtime.cgroups.stats(info.config.id) };
  }

  /** `docker container prune`: removes every container that is not running. */
  async prune(): Promise<string[]> {
    const removed: string[] = [];
    for (const c of this.ps({ all: true })) {
      if (isRunning(c.state)) continue;
      await this.remove(c.config.id);
      removed.push(c.config.id);
    }
    return removed;
  }

  /**
   * Container events for programs that watch containers, from any process (detached containers
   * change state in their shims): start, die, oom, exit. Polls the state files; call the returned
   * function to stop.
   */
  watch(onEvent: (e: ContainerEvent) => void, opts: { intervalMs?: number } = {}): () => void {
    const seen = new Map<string, ContainerState>();
    for (const c of this.ps({ all: true })) seen.set(c.config.id, c.state);
    const tick = () => {
      for (const c of this.ps({ all: true })) {
        const before = seen.get(c.config.id);
        const now = c.state;
        seen.set(c.config.id, now);
        const ev = (type: ContainerEvent['type'], exitCode?: number) =>
          onEvent({ type, id: c.config.id, name: c.config.name, time: new Date().toISOString(), ...(exitCode === undefined ? {} : { exitCode }) });
        const restarted = isRunning(now) && (!isRunning(before) || before.pid !== now.pid);
        if (restarted && isRunning(before)) ev('die');
        if (restarted) ev('start');
        if (hasExited(now) && isRunning(before)) {
          ev('die', now.exitCode);
          if (now.oomKilled) ev('oom', now.exitCode);
          ev('exit', now.exitCode);
        }
      }
    };
    const timer = setInterval(tick, opts.intervalMs ?? 200);
    return () => clearInterval(timer);
  }

  /** Containers, newest first; running ones only unless all. */
  ps(opts: { all?: boolean } = {}): ContainerInfo[] {
    checkOptions(opts, { all: bool }, 'the options of ps()');
    const all = this.runtime.list();
    return opts.all ? all : all.filter((c) => isRunning(c.state));
  }

  inspect(ref: string): ContainerInfo {
    checkArgs({ ref });
    const info = this.runtime.resolve(ref);
    const networks = this.runtime.endpoints(info);
    return networks.length > 0 ? { ...info, network: networks[0], networks } : info;
  }

  /** `docker rm`: removes the container with its write layer and cgroup. */
  remove(ref: string, opts: { force?: boolean } = {}): Promise<ContainerInfo> {
    requireRoot();
    checkArgs({ ref });
    checkOptions(opts, FORCE, 'the options of remove()');
    return this.runtime.remove(ref, opts);
  }

  /** `docker commit`: the container's changes (its write layer) as a new image on top of its image. */
  commit(container: string, ref?: string, opts: imageApi.CommitOptions = {}): Promise<ImageRecord> {
    requireRoot();
    checkArgs(ref === undefined ? { container } : { container, ref });
    checkOptions(opts, { changes: strings(), message: str(), author: str() }, 'the options of commit()');
    return imageApi.commit(this, container, ref, opts);
  }

  /** `docker export`: the container's merged filesystem as a flat tar, to a file path or an open fd. */
  exportContainer(container: string, out: string | number): Promise<void> {
    checkArgs(typeof out === 'number' ? { container } : { container, out });
    return imageApi.exportTo(this, container, out);
  }

  /** `docker save`: images as one OCI image layout tar (with docker's manifest.json), to a path or an fd. */
  saveImages(refs: string[], out: string | number): Promise<void> {
    strings({ nonEmpty: true })(refs, 'refs');
    if (typeof out !== 'number') checkArgs({ out });
    return imageApi.save(this, refs, out);
  }

  /** `docker load`: the images of an OCI image layout tar or a docker-archive tar. */
  loadImages(file: string): Promise<imageApi.LoadResult> {
    requireRoot();
    checkArgs({ file });
    return imageApi.load(this, file);
  }

  /** `docker image inspect`: the record, config and layers of one image. */
  inspectImage(ref: string): imageApi.ImageInspect {
    checkArgs({ ref });
    return imageApi.inspect(this, ref);
  }

  /** `docker image prune`: unnamed images no container uses, and layers and blobs no image references. */
  pruneImages(): imageApi.PruneResult {
    requireRoot();
    return imageApi.prune(this);
  }

  /** `docker login`: checks the credentials with the registry and stores them (root/auth.json, 0600) for pulls. */
  login(registry: string, credentials: imageApi.Credentials, opts: { insecureRegistries?: string[] } = {}): Promise<string> {
    requireRoot();
    checkArgs({ registry });
    checkOptions(credentials, CREDENTIALS, 'credentials', { required: ['username', 'password'], prefix: 'credentials' });
    checkOptions(opts, { insecureRegistries: strings() }, 'the options of login()');
    return imageApi.login(this, registry, credentials, opts);
  }

  /** `docker logout`: forgets the stored credentials of a registry; false when there were none. */
  logout(registry: string): boolean {
    requireRoot();
    checkArgs({ registry });
    return imageApi.logout(this, registry);
  }

  /** `docker network create`: a bridge network (CNI bridge + host-local + portmap) stored as a
   *  conflist under root/networks. Without a subnet, the first free /24 of berth's pool. */
  createNetwork(opts: CreateNetworkOptions): NetworkInfo {
    requireRoot();
    checkOptions(opts, NETWORK_OPTIONS, 'the options of createNetwork()', { required: ['name'] });
    return this.runtime.networks.store.create(opts);
  }

  /** `docker network ls`: the networks of this root (the default `berth` once first used). */
  listNetworks(): NetworkInfo[] {
    return this.runtime.networks.store.list();
  }

  /** `docker network inspect`: the network and the running containers on it. */
  inspectNetwork(name: string): NetworkInfo & { containers: Array<{ id: string; name: string } & EndpointInfo> } {
    checkArgs({ name });
    return this.runtime.networks.networkInfo(name);
  }

  /** `docker network rm`: refused while a running container uses it; deletes its bridge. */
  removeNetwork(name: string): NetworkInfo {
    requireRoot();
    checkArgs({ name });
    return this.runtime.networks.removeNetwork(name);
  }

  /** `docker network connect`: joins a container to one more network (an interface eth1, eth2, ...
   *  in it at once if it runs, and on every later start); `ip` on a user network. */
  connectNetwork(network: string, container: string, opts: { ip?: string } = {}): ContainerInfo {
    requireRoot();
    checkArgs({ network, container });
    checkOptions(opts, { ip: str() }, 'the options of connectNetwork()');
    return this.runtime.connect(network, container, opts);
  }

  /** `docker network disconnect`: leaves a network joined with connectNetwork. */
  disconnectNetwork(network: string, container: string): ContainerInfo {
    requireRoot();
    checkArgs({ network, container });
    return this.runtime.disconnect(network, container);
  }

  /** `docker port`: the published ports of a running container. */
  port(ref: string): PortMapping[] {
    checkArgs({ ref });
    return this.runtime.endpoint(this.runtime.resolve(ref))?.ports ?? [];
  }
}

/** The host ends of a container process's stdio: pipes by default, stdin only when interactive. */
function stdioSetup(o: { stdin?: StdioOption; stdout?: StdioOption; stderr?: StdioOption; interactive?: boolean; tty?: boolean; ttySize?: [number, number] }): StdioSetup {
  return new StdioSetup([o.stdin ?? (o.interactive ? 'pipe' : 'ignore'), o.stdout ?? 'pipe', o.stderr ?? 'pipe'], !!o.tty, o.ttySize);
}

function processInfo(pid: number): ContainerProcessInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    // A process in the middle of execve has no argv yet (for a few microseconds): asked again, it does.
    let cmdline = '';
    for (let i = 0; i < 3 && !cmdline && rest[0] !== 'Z'; i++) {
      if (i > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    }
    return { pid, ppid: Number(rest[1]), uid, command: cmdline || stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) };
  } catch {
    return undefined; // exited meanwhile
  }
}

function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new BerthError('NOT_ROOT', 'berth needs root: run it with sudo (rootless containers are not supported yet)');
  }
  void fs;
}
