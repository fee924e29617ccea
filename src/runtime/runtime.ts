import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import type { ImageStore } from '../image/store/store';
import { native, spawnContainer, type NativeExit, type NativeSpawned, type NativeSpawnPlan } from '../native';
import { NetworkManager } from '../network/attachments';
import type { CreateNetworkOptions, EndpointInfo, NetworkInfo } from '../network/types';
import { processInfo, processStartTime, type ProcessInfo } from '../util/proc';
import { quote } from '../util/quote';
import { safely } from '../util/safely';
import { detectCgroups, type CgroupManager } from './cgroups';
import { cgroupsBelow } from './cgroup-parent';
import { asFlagError } from './resource-options';
import { containerConfig } from './container-config';
import { createWithVolumes, removeAnonymousVolumes, removeAnonymousVolumesOf, volumeUsers } from './container-volumes';
import { withVolumesFrom } from './volumes-from';
import { attachNetworks, connectNetwork, disconnectNetwork } from './container-networks';
import { isRunning, onCniNetwork } from './container-predicates';
import { startError } from './errors';
import { etcOptions, writeEtcFiles } from './etc-files';
import { Lifecycle } from './lifecycle';
import { namespaceJoins, resolveJoinedContainers, type NamespaceJoins } from './namespace-options';
import { readHealth, startHealthMonitor } from './health/monitor';
import type { LogEntry, ReadLogOptions } from './logs';
import { type ContainerOptions, type ExecOptions } from './options';
import { containerOciSpec, spawnPlan, type StdioPlan } from './plan';
import { mountShareableShm, releaseShmStart, sharesShm, shmStartInProgress, unmountShareableShm } from './ipc-shm';
import { startExec } from './container-exec';
import type { Spec } from '../oci/spec';
import { VolumeStore } from '../volume/store';
import type { AttachConnection, AttachStart } from './attach-socket';
import { ContainerStore, isShim, reconcile } from './store';
import { deviceCgroup } from './device-options';
import type { ContainerConfig, ContainerInfo, ContainerState, ContainerStats } from './types';
import { linkTargetFinder } from './container-links';
import { EventJournal } from './events-journal';
import { refuseIfPaused, withPaused } from './container-pause';

export interface ExitStatus {
  /** The container's exit code; 128 + signal when a signal killed it, as shells report it. */
  exitCode: number;
  signal?: number;
  oomKilled: boolean;
}

export interface Started {
  info: ContainerInfo;
  pid: number;
  pidfd: number;
  ptyMaster: number;
  /** Resolves after the process exited and its cgroup (and with --rm the container) is gone. */
  exited: Promise<ExitStatus>;
}

/** Containers: create from an image, start, watch the exit, clean up, remove. */
export class Runtime {
  readonly store: ContainerStore;
  /** Named and anonymous volumes (src/volume/): in use while any container's config mounts one. */
  readonly volumes: VolumeStore;
  /** docker's events, appended where each operation happens (src/runtime/events-journal.ts). */
  readonly events: EventJournal;
  private readonly lifecycle: Lifecycle;
  private cgroupManager?: CgroupManager;
  private networkManager?: NetworkManager;

  constructor(
    readonly root: string,
    readonly runRoot: string,
    private readonly images: ImageStore,
    private readonly defaults: {
      storageDriver?: string;
      cgroupParent?: string;
      detachedCleanup?: boolean;
      cniPath?: string[];
      defaultNetwork?: string;
      events?: EventJournal;
    } = {},
  ) {
    this.store = new ContainerStore(root, runRoot);
    this.events = defaults.events ?? new EventJournal(runRoot);
    this.volumes = new VolumeStore(
      root,
      (name) => volumeUsers(this.store.list(), name),
      (action, name, attributes) => this.events.record('volume', action, name, attributes),
    );
    this.lifecycle = new Lifecycle(this);
  }

  get cgroups(): CgroupManager {
    this.cgroupManager ??= detectCgroups(undefined, this.defaults.cgroupParent ?? 'berth');
    return this.cgroupManager;
  }

  /** The cgroups of one container: below its own --cgroup-parent, else the runtime's parent. */
  cgroupsOf(config: Pick<ContainerConfig, 'cgroupParent'>): CgroupManager {
    return config.cgroupParent === undefined ? this.cgroups : cgroupsBelow(config.cgroupParent);
  }

  /** Networks and attachments (made on first use: a container without a network touches nothing of them). */
  get networks(): NetworkManager {
    this.networkManager ??= new NetworkManager(this.root, this.runRoot, this.defaults.cniPath, (id) => this.liveShim(id));
    return this.networkManager;
  }

  /** Validates everything and records the container; nothing is mounted or started yet. */
  create(o: ContainerOptions): ContainerInfo {
    const from = withVolumesFrom(o, (ref) => this.store.resolve(ref));
    const defaults = { ...this.defaults, findContainer: linkTargetFinder((ref) => this.resolve(ref)) };
    const config = resolveJoinedContainers(
      containerConfig(ContainerStore.newId(), from, this.images, defaults, (n) => this.networks.store.exists(n)),
      (ref) => this.resolve(ref),
    );
    // what this host's cgroups cannot do (swappiness on v2, a weight without CFQ or BFQ) is
    // refused now, naming the flag, rather than at every start
    try {
      this.cgroupsOf(config).plan(config.id, config.limits, deviceCgroup(config));
    } catch (e) {
      throw asFlagError(e);
    }
    const created = createWithVolumes(this.volumes, this.store, config);
    this.events.container('create', created.config);
    return created;
  }

  /** docker run in the foreground: create, then start with the given stdio. */
  run(o: ContainerOptions, stdio: StdioPlan): Started {
    return this.createAndStart(o, (info) => this.start(info, stdio));
  }

  /** docker run -d: create, then start under a shim; resolves once the container runs. */
  runDetached(o: ContainerOptions, attach?: AttachStart): Promise<ContainerInfo> {
    return this.createAndStart(o, (info) => this.lifecycle.startDetached(info, attach));
  }

  /**
   * create, then `start`; when the start fails (at once, or later for a start that returns a
   * promise) the container is removed again: one that never ran leaves nothing behind, not even
   * its record. What the start itself made (cgroup, network namespace) its own failure path undoes.
   */
  private createAndStart<T extends Started | Promise<ContainerInfo>>(o: ContainerOptions, start: (info: ContainerInfo) => T): T {
    const info = this.create(o);
    const discard = (e: unknown): never => {
      safely(() => this.store.remove(info.config.id, { name: info.config.name }));
      removeAnonymousVolumes(this.volumes, info.config);
      throw e;
    };
    let started: T;
    try {
      started = start(info);
    } catch (e) {
      return discard(e);
    }
    return started instanceof Promise ? (started.catch(discard) as T) : started;
  }

  /** What every start of a container (foreground or under a shim) does first: refuses a running
   *  one, makes its rootfs directories and writes its /etc files. Returns the container's dir. */
  prepareStart(info: ContainerInfo): string {
    const { config } = info;
    if (isRunning(info.state)) throw new BerthError('INVALID_STATE', `Container ${quote(config.name)} is already running`);
    const dir = this.store.containerDir(config.id);
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
    writeEtcFiles(dir, config.hostname, etcOptions(config));
    mountShareableShm(config, dir);
    for (const v of config.volumes) {
      if (v.volume === undefined) continue;
      this.events.record('volume', 'mount', v.volume, {
        container: config.id,
        destination: v.containerPath,
        driver: 'local',
        propagation: '',
        'read/write': String(!v.readonly),
      });
    }
    return dir;
  }

  /** Starts a created or exited container. On failure everything this start made is undone. */
  start(info: ContainerInfo, stdio: StdioPlan): Started {
    const { config } = info;
    const dir = this.prepareStart(info);

    const cgroups = this.cgroupsOf(config);
    let plan: NativeSpawnPlan | undefined;
    let spawned: NativeSpawned;
    let netns: string | undefined;
    try {
      const joins = this.namespaceJoins(config);
      netns = this.attachNetworks(config, dir);
      plan = this.startPlan(config, dir, stdio, netns, joins);
      spawned = spawnContainer(plan);
    } catch (e) {
      if (netns) safely(() => this.networks.release(config.id));
      safely(() => cgroups.remove(config.id));
      safely(() => unmountShareableShm(config, dir));
      throw plan && !(e instanceof BerthError) ? startError(e, config, plan) : e;
    }
    // the network lives as long as the container's process from now on
    if (netns) safely(() => this.networks.setOwner(config.id, spawned.pid));
    const state: ContainerState = {
      status: 'running',
      pid: spawned.pid,
      pidStartTime: processStartTime(spawned.pid),
      startedAt: new Date().toISOString(),
    };
    this.store.writeState(config.id, state);
    this.events.container('start', config);
    releaseShmStart(config, dir);
    if (config.healthcheck) safely(() => startHealthMonitor(config, state, dir, cgroups.joinFiles(config.id)));
    const exited = new Promise<ExitStatus>((resolve) => {
      native().watchExit(spawned.pidfd, (exit) => resolve(this.finish(info, state, exit, spawned.pidfd)));
    });
    return { info: { config, state }, pid: spawned.pid, pidfd: spawned.pidfd, ptyMaster: spawned.ptyMaster, exited };
  }

  /** The spawn plan of a start, in the foreground or under the shim: its cgroup with its device
   *  rules, its network namespace, the namespaces of other containers it joins. */
  startPlan(
    config: ContainerConfig,
    dir: string,
    stdio: StdioPlan,
    netns: string | undefined,
    joins = this.namespaceJoins(config),
  ): NativeSpawnPlan {
    return spawnPlan(config, dir, this.cgroupsOf(config).plan(config.id, config.limits, deviceCgroup(config)), stdio, netns, joins);
  }

  /** The namespaces of running containers a start of this one joins (--pid/--ipc/--network container:X). */
  namespaceJoins(config: ContainerConfig): NamespaceJoins | undefined {
    return namespaceJoins(
      config,
      (ref) => this.resolve(ref),
      (id) => this.store.containerDir(id),
    );
  }

  /** docker start: a created or exited container again, detached, with the same write layer. */
  startDetached(ref: string, attach?: AttachStart): Promise<ContainerInfo> {
    return this.lifecycle.startDetached(this.resolve(ref), attach);
  }

  /** docker attach of a running detached container. */
  attach(ref: string): Promise<AttachConnection> {
    return this.lifecycle.attach(ref);
  }

  /** docker stop: SIGTERM, then SIGKILL after timeoutSeconds; the restart policy no longer applies. */
  stop(ref: string, timeoutSeconds?: number): Promise<ContainerInfo> {
    return this.lifecycle.stop(ref, timeoutSeconds);
  }

  /** docker kill: a signal number to the container's init process. */
  kill(ref: string, signal: number): ContainerInfo {
    return this.lifecycle.kill(ref, signal);
  }

  /** docker wait: the state once the container has stopped for good. */
  wait(ref: string): Promise<ContainerState> {
    return this.lifecycle.wait(ref);
  }

  /** docker logs of a detached container. */
  logs(ref: string, opts: Omit<ReadLogOptions, 'done'> = {}): AsyncGenerator<LogEntry> {
    return this.lifecycle.logs(ref, opts);
  }

  /** docker top: the processes of a running container (host PIDs). */
  top(ref: string): ProcessInfo[] {
    const { config } = this.running(ref);
    return this.cgroupsOf(config)
      .pids(config.id)
      .flatMap((pid) => processInfo(pid) ?? []);
  }

  /** docker stats --no-stream: memory, CPU time and process count from the container's cgroup. */
  stats(ref: string): ContainerStats {
    const { config } = this.running(ref);
    return { id: config.id, name: config.name, ...this.cgroupsOf(config).stats(config.id) };
  }

  private running(ref: string): ContainerInfo {
    const info = this.resolve(ref);
    if (!isRunning(info.state)) throw new BerthError('INVALID_STATE', `Container ${quote(info.config.name)} is not running`);
    return info;
  }

  /** The namespace of a container's networks, attached (see container-networks.ts). */
  attachNetworks(config: ContainerConfig, dir: string): string | undefined {
    return attachNetworks(() => this.networks, config, dir);
  }

  /** network connect: one more user network for a container, at once if it runs, and on every start. */
  connect(network: string, ref: string, opts: { ip?: string; aliases?: readonly string[] } = {}): ContainerInfo {
    const info = this.resolve(ref);
    const config = connectNetwork(() => this.networks, info, network, opts);
    this.store.writeConfig(config);
    this.networkEvent('connect', network, { container: config.id });
    return { config, state: info.state };
  }

  /** network disconnect: the reverse of connect (the network a container was created on stays). */
  disconnect(network: string, ref: string): ContainerInfo {
    const info = this.resolve(ref);
    const config = disconnectNetwork(() => this.networks, info, network);
    this.store.writeConfig(config);
    this.networkEvent('disconnect', network, { container: config.id });
    return { config, state: info.state };
  }

  /** The running container's address and published ports on its primary network. */
  endpoint(info: ContainerInfo): EndpointInfo | undefined {
    if (!onCniNetwork(info.config) || !isRunning(info.state)) return undefined;
    return this.networks.endpoint(info.config.id);
  }

  /** Every network the running container is on, the primary first. */
  endpoints(info: ContainerInfo): EndpointInfo[] {
    if (!onCniNetwork(info.config) || !isRunning(info.state)) return [];
    return this.networks.endpoints(info.config.id);
  }

  createNetwork(opts: CreateNetworkOptions): NetworkInfo {
    const created = this.networks.createNetwork(opts);
    this.events.record('network', 'create', created.id, { name: created.name, type: created.driver });
    return created;
  }

  /** A network event with docker's attributes (name, type), the network found by name or ID. */
  private networkEvent(action: string, network: string, extra: Record<string, string>): void {
    const n = safely(() => this.listNetworks().find((x) => x.name === network || x.id === network || x.id.startsWith(network)));
    this.events.record('network', action, n?.id ?? network, { name: n?.name ?? network, type: n?.driver ?? 'bridge', ...extra });
  }

  listNetworks(): NetworkInfo[] {
    return this.networks.store.list();
  }

  /** The network and the running containers on it. */
  inspectNetwork(name: string): ReturnType<NetworkManager['networkInfo']> {
    return this.networks.networkInfo(name);
  }

  /** Refused while a running container uses it. */
  removeNetwork(name: string): NetworkInfo {
    const removed = this.networks.removeNetwork(name);
    this.events.record('network', 'destroy', removed.id, { name: removed.name, type: removed.driver });
    return removed;
  }

  private finish(info: ContainerInfo, running: ContainerState, exit: NativeExit, pidfd: number): ExitStatus {
    fs.closeSync(pidfd);
    const id = info.config.id;
    if (onCniNetwork(info.config)) safely(() => this.networks.release(id));
    const oomKilled = safely(() => this.cgroupsOf(info.config).oomKilled(id)) ?? false;
    safely(() => this.cgroupsOf(info.config).remove(id));
    safely(() => unmountShareableShm(info.config, this.store.containerDir(id)));
    const status: ExitStatus = {
      exitCode: exit.signal ? 128 + exit.signal : exit.code,
      ...(exit.signal ? { signal: exit.signal } : {}),
      oomKilled,
    };
    this.events.container('die', info.config, { exitCode: String(status.exitCode) });
    if (oomKilled) this.events.container('oom', info.config);
    if (info.config.autoRemove) {
      this.store.remove(id, { detached: this.defaults.detachedCleanup, background: true, name: info.config.name });
      this.events.container('destroy', info.config);
      removeAnonymousVolumes(this.volumes, info.config);
    } else {
      this.store.writeState(id, {
        ...running,
        status: 'exited',
        exitCode: status.exitCode,
        oomKilled,
        finishedAt: new Date().toISOString(),
      });
    }
    return status;
  }

  /** Starts a process inside a running container: its namespaces, cgroup, user and environment
   *  unless overridden. Resolves `exited` when that process ends (the container keeps running). */
  exec(ref: string, o: ExecOptions, stdio: StdioPlan): Started {
    const info = this.resolve(ref);
    refuseIfPaused(info);
    const started = startExec(
      info,
      o,
      stdio,
      this.store.containerDir(info.config.id),
      this.cgroupsOf(info.config).joinFiles(info.config.id),
    );
    // docker's exec events name the command and an exec ID; berth's execs have none but their pid
    const execID = `${started.pid}`;
    const command = o.cmd.join(' ');
    this.events.container(`exec_create: ${command}`, info.config, { execID });
    this.events.container(`exec_start: ${command}`, info.config, { execID });
    void started.exited.then((exit) => this.events.container('exec_die', info.config, { execID, exitCode: String(exit.exitCode) }));
    return started;
  }

  /** The OCI config the container's starts run (its network namespace named only while it runs). */
  ociConfig(info: ContainerInfo): Spec {
    // where the network manager pins it (src/network/attachments.ts)
    const netns = isRunning(info.state) && onCniNetwork(info.config) ? path.join(this.runRoot, 'netns', info.config.id) : undefined;
    // the namespaces of the containers it joins, named while both run (inspect of a stopped one
    // shows namespaces of its own where the next start joins X's)
    const joins = isRunning(info.state) ? safely(() => this.namespaceJoins(info.config)) : undefined;
    return containerOciSpec(info.config, this.store.containerDir(info.config.id), netns, joins);
  }

  /** All containers, repairing the ones whose process vanished while nobody watched. */
  list(): ContainerInfo[] {
    this.store.sweep();
    // attachments of containers that vanished unwatched (an --rm one whose shim removed it)
    if (this.networkManager || fs.existsSync(path.join(this.runRoot, 'cni', 'attachments'))) safely(() => this.networks.sweep());
    return this.store.list().map((c) => withPaused(this.cgroupsOf(c.config), this.withHealth(this.repair(c))));
  }

  /** docker's State.Health of a container with a health check, as its monitor last wrote it. */
  private withHealth(c: ContainerInfo): ContainerInfo {
    const health = readHealth(c.config, this.store.containerDir(c.config.id));
    return health ? { config: c.config, state: { ...c.state, health } } : c;
  }

  /** IDs of the images containers are made from: what rmi and image prune must keep. */
  imagesInUse(): Set<string> {
    return new Set(this.list().map((c) => c.config.imageId));
  }

  resolve(ref: string): ContainerInfo {
    const c = this.withHealth(this.repair(this.store.resolve(ref)));
    return withPaused(this.cgroupsOf(c.config), c);
  }

  /** A container recorded as running whose process is gone: record the exit and drop its cgroup. */
  private repair(c: ContainerInfo): ContainerInfo {
    const state = reconcile(c.state);
    // a detached container's shim records the exit; its network is released by whoever sees it next
    if (onCniNetwork(c.config) && !isRunning(state)) this.releaseNetwork(c.config.id);
    // and its /dev/shm mount on the host (--ipc shareable) unmounted, unless a shim lives that
    // restarts the container (its exit command repairs again)
    const dir = this.store.containerDir(c.config.id);
    if (sharesShm(c.config) && !isRunning(state) && !(state?.shimPid !== undefined && isShim(state.shimPid)) && !shmStartInProgress(dir))
      safely(() => unmountShareableShm(c.config, dir));
    if (state === c.state) return c;
    // A shim writes the exit before it ends: if it has ended since we read, its record is on disk
    // now and is the truth, not our guess.
    const fresh = this.store.read(c.config.id);
    if (fresh && JSON.stringify(fresh.state) !== JSON.stringify(c.state)) return this.repair(fresh);
    safely(() => this.cgroupsOf(c.config).remove(c.config.id));
    this.store.writeState(c.config.id, state);
    return { config: c.config, state };
  }

  /** `container cleanup`, the exit command of a detached container's shim: once that shim is gone
   *  (bounded wait), releases the networks it owned, even if the container itself was removed (--rm). */
  async cleanup(id: string, shimPid?: number): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new BerthError('INVALID_ARGUMENT', `Expected a full container ID but received ${quote(id)}`);
    const startTime = shimPid !== undefined ? processStartTime(shimPid) : undefined;
    for (let i = 0; i < 500 && startTime !== undefined && processStartTime(shimPid!) === startTime; i++)
      await new Promise((r) => setTimeout(r, 10));
    this.releaseNetwork(id);
    if (this.store.read(id))
      this.resolve(id); // repairs the state if the shim could not write it
    else removeAnonymousVolumesOf(this.volumes, id); // an --rm container the shim removed
  }

  /** The live shim of a detached container recorded as running, if it has one. */
  private liveShim(id: string): number | undefined {
    const state = this.store.read(id)?.state;
    if (!isRunning(state) || state.shimPid === undefined || state.pid === undefined) return undefined;
    return isShim(state.shimPid) && processStartTime(state.pid) === state.pidStartTime ? state.shimPid : undefined;
  }

  /** CNI DEL of a container whose process (or shim) is gone, if it is still attached. */
  private releaseNetwork(id: string): void {
    if (!this.networkManager && !fs.existsSync(path.join(this.runRoot, 'cni', 'attachments', `${id}.json`))) return;
    const rec = this.networks.read(id);
    if (rec && processStartTime(rec.pid) !== rec.pidStartTime) safely(() => this.networks.release(id, { ifOwnerGone: true }));
  }

  /** container prune: removes every container that is not running; returns their IDs. */
  async prune(): Promise<string[]> {
    const removed: string[] = [];
    for (const c of this.list()) {
      if (isRunning(c.state)) continue;
      await this.remove(c.config.id);
      removed.push(c.config.id);
    }
    return removed;
  }

  /** docker rm: refuses a running container unless force, which kills it first (and keeps a
   *  restart policy from bringing it back). */
  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<ContainerInfo> {
    const c = this.resolve(ref);
    if (isRunning(c.state)) {
      if (!opts.force) {
        throw new BerthError('INVALID_STATE', `You cannot remove running container ${quote(c.config.name)}; stop it first or use rm -f`);
      }
      await this.lifecycle.killForRemoval(c);
    }
    // the pinned namespace outlives the process: DEL still finds its interfaces
    if (onCniNetwork(c.config)) safely(() => this.networks.release(c.config.id, { ifOwnerGone: true }));
    safely(() => this.cgroupsOf(c.config).remove(c.config.id));
    unmountShareableShm(c.config, this.store.containerDir(c.config.id));
    this.store.remove(c.config.id, { name: c.config.name });
    this.events.container('destroy', c.config);
    if (opts.volumes) removeAnonymousVolumes(this.volumes, c.config);
    return c;
  }
}
