/**
 * berth's programmatic API: the same entry point the CLI uses.
 *
 *   const berth = new Berth({ root: '/tmp/berth' });
 *   await berth.importImage('busybox.tar', 'busybox');
 *   const { exitCode, stdout } = await berth.run({ image: 'busybox', cmd: ['echo', 'hi'] });
 */
import { BerthError } from './errors';
import { ImageStore } from './image/store/store';
import type { PullOptions, PullResult } from './image/registry/pull';
import type { ImageRecord } from './image/types';
import * as imageApi from './image/berth-api';
import * as volumeApi from './volume/berth-api';
import type { CreateNetworkOptions, EndpointInfo, NetworkInfo, PortMapping } from './network/types';
import { ContainerProcess, startAttached, type StdioOptions } from './runtime/container-process';
import { ForegroundLog } from './runtime/foreground-log';
import { containerFiles } from './runtime/lifecycle';
import { isRunning } from './runtime/container-predicates';
import {
  filterContainers,
  filtersNeedAll,
  FILTERS_CHECK,
  parseContainerFilters,
  type ContainerFilterInput,
} from './runtime/container-filters';
import { ensureImage } from './runtime/pull-policy';
import { watchContainers, type ContainerEvent } from './runtime/events';
import { EventJournal, type JournalEvent } from './runtime/events-journal';
import * as systemApi from './system/berth-api';
import type { LogEntry, ReadLogOptions } from './runtime/logs';
import type { AttachConnection, AttachStart } from './runtime/attach-socket';
import { checkContainerOptions, checkExecOptions } from './runtime/option-checks';
import { checkUpdateOptions, updateContainer, type UpdateOptions } from './runtime/container-update';
import type { ContainerOptions, ExecOptions } from './runtime/options';
import { Runtime, type ExitStatus } from './runtime/runtime';
import { mountsOf } from './runtime/container-volumes';
import { renameContainer } from './runtime/container-rename';
import { pause as pauseContainer, unpause as unpauseContainer } from './runtime/container-pause';
import type { ContainerInfo, ContainerState, ContainerStats } from './runtime/types';
import { BERTH_OPTIONS, checkArgs, CREDENTIALS, FORCE, LOG_OPTIONS, NETWORK_OPTIONS, PULL_OPTIONS, TIMEOUT } from './util/api-options';
import type { ProcessInfo } from './util/proc';
import type { Readable } from 'node:stream';
import type { CopyToOptions, PathStat } from './runtime/copy/container-copy';
// cp's modules (and node-tar) load on first use: no other command needs them
const containerCopy = (): typeof import('./runtime/copy/container-copy') => require('./runtime/copy/container-copy');
import { parseSignal } from './util/signals';
import { bool, checkOptions, checkRootDirectory, str, strings } from './util/validate';

export { BerthError } from './errors';
export type { BerthErrorCode, SystemError } from './errors';
export type { ImageRecord, ImageConfig } from './image/types';
export type { Change, ChangeKind } from './image/archive/changes';
export type { HistoryEntry } from './image/store/history';
export type { ContainerOptions, ExecOptions } from './runtime/options';
export type { ExitStatus } from './runtime/runtime';
export type { ContainerInfo, ContainerConfig, ContainerState, MountInfo, VolumeSpec } from './runtime/types';
export type { StdioOption } from './runtime/stdio';
export type { LogEntry, ReadLogOptions } from './runtime/logs';
export type { AttachConnection, AttachExit, AttachStart } from './runtime/attach-socket';
export type { CgroupStats } from './runtime/cgroups/types';
export type { CreateNetworkOptions, EndpointInfo, NetworkInfo, PortMapping } from './network/types';
export type { CreateVolumeOptions, ListVolumesOptions, PruneVolumesOptions, VolumeInfo, VolumePruneResult } from './volume/berth-api';
export type { CommitOptions, Credentials, ImageInspect, LoadResult, PruneResult } from './image/berth-api';
export type { PushEvent, PushOptions, PushResult } from './image/berth-api';
export { ContainerProcess } from './runtime/container-process';
export type { ContainerEvent } from './runtime/events';
export type { JournalEvent, EventType } from './runtime/events-journal';
export type { EventsOptions } from './system/berth-api';
export type { DiskUsage } from './system/disk-usage';
export type { SystemPruneOptions, SystemPruneResult } from './system/prune';
export type { ContainerStats } from './runtime/types';
export type { UpdateOptions } from './runtime/container-update';
export type { CopyToOptions, PathStat } from './runtime/copy/container-copy';
export type { ContainerFilterInput } from './runtime/container-filters';
export type { HealthState } from './runtime/health/monitor';
export type { HealthConfig, HealthOptions } from './runtime/health/options';
/** What `top` shows for each process of a container. */
export type ContainerProcessInfo = ProcessInfo;

export interface BerthOptions {
  /** The largest a layer may inflate to, in bytes (pull, import, load). Default: $BERTH_MAX_LAYER_SIZE or 64 GiB. */
  maxLayerSize?: number;
  /** Registry request timeouts in seconds. Default: $BERTH_REGISTRY_CONNECT_TIMEOUT (30) and $BERTH_REGISTRY_TIMEOUT (60). */
  registryTimeouts?: { connect?: number; idle?: number };
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

export interface SpawnOptions extends ContainerOptions, StdioOptions {}

export interface ExecSpawnOptions extends ExecOptions, StdioOptions {}

export interface RunResult extends ExitStatus {
  id: string;
  name: string;
  /** What the container wrote, when stdout/stderr were 'pipe' (the default). */
  stdout: string;
  stderr: string;
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
    // one journal for every operation of this Berth, whichever of its parts does it
    const events = new EventJournal(this.runRoot);
    this.images = new ImageStore(this.root, {
      onEvent: (action, id, attributes) => events.record('image', action, id, attributes),
      ...(options.maxLayerSize !== undefined ? { maxLayerSize: options.maxLayerSize } : {}),
      ...(options.registryTimeouts ? { registryTimeouts: options.registryTimeouts } : {}),
    });
    this.runtime = new Runtime(this.root, this.runRoot, this.images, {
      ...options,
      events,
      defaultNetwork: options.defaultNetwork ?? (process.env.BERTH_DEFAULT_NETWORK || 'bridge'),
    });
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

  /**
   * `docker push`: the image a name (registry/repository:tag) points at, to that registry: layers the
   * registry lacks, the config, then the stored manifest, so the digest stays the image's own.
   */
  pushImage(ref: string, opts: imageApi.PushOptions = {}): Promise<imageApi.PushResult> {
    requireRoot();
    checkArgs({ ref });
    return imageApi.push(this, ref, opts);
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
    requireRoot();
    checkArgs({ ref });
    checkOptions(opts, FORCE, 'the options of removeImage()');
    const used = this.runtime.imagesInUse();
    return this.images.remove(ref, { force: opts.force, inUse: (id: string) => used.has(id) });
  }

  /** docker's --pull: `missing` pulls only when the store lacks the image, `always` checks the
   *  registry every time, `never` only looks in the store. */
  async ensureImage(ref: string, policy: ContainerOptions['pull'] = 'missing', platform?: string): Promise<void> {
    requireRoot();
    checkArgs({ ref });
    return ensureImage(this.images, ref, policy, (r) => this.pullImage(r, platform === undefined ? {} : { platform }));
  }

  /** Creates and starts a container; returns at once with its streams. The image must be in the
   *  store (run() and runDetached() pull it when missing). */
  spawn(options: SpawnOptions): ContainerProcess {
    requireRoot();
    checkContainerOptions(options, 'spawn()', true);
    return startAttached(options, (stdio) => this.runtime.run(options, stdio));
  }

  /** Runs a container to its end. Resolves to its exit status and, by default, its output. */
  async run(options: SpawnOptions): Promise<RunResult> {
    requireRoot();
    checkContainerOptions(options, 'run()', true);
    await this.ensureImage(options.image, options.pull, options.platform);
    const proc = this.spawn(options);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // docker's logs works on a container that ran in the foreground: what run() collects goes to
    // its json-file log too (an --rm container's log would go with it)
    const log =
      options.rm || options.logDriver === 'none'
        ? undefined
        : new ForegroundLog(containerFiles(this.runtime.store.containerDir(proc.id)).log);
    proc.stdout?.on('data', (b: Buffer) => (out.push(b), log?.write('stdout', b)));
    proc.stderr?.on('data', (b: Buffer) => (err.push(b), log?.write('stderr', b)));
    proc.stdin?.end();
    const status = await proc.wait().finally(() => log?.close());
    return { id: proc.id, name: proc.name, ...status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
  }

  /** `docker exec`: starts a command inside a running container (its namespaces, cgroup, user and
   *  environment unless overridden). The returned process's wait() resolves with the command's exit. */
  exec(ref: string, options: ExecSpawnOptions): ContainerProcess {
    requireRoot();
    checkArgs({ ref });
    checkExecOptions(options);
    return startAttached(options, (stdio) => this.runtime.exec(ref, options, stdio));
  }

  /** `docker run -d`: starts the container under a berth-shim that outlives this process, which
   *  keeps its log, records its exit and applies its restart policy. Resolves once it runs. */
  async runDetached(options: ContainerOptions, attach?: AttachStart): Promise<ContainerInfo> {
    requireRoot();
    checkContainerOptions(options, 'runDetached()', false);
    await this.ensureImage(options.image, options.pull, options.platform);
    return this.runtime.runDetached(options, attach);
  }

  /** `docker create`: validates the options and records the container (pulling its image when
   *  missing) without starting it; `start` runs it. */
  async create(options: ContainerOptions): Promise<ContainerInfo> {
    requireRoot();
    checkContainerOptions(options, 'create()', false);
    await this.ensureImage(options.image, options.pull, options.platform);
    return this.runtime.create(options);
  }

  /** `docker start`: runs a created or exited container again, detached, with the same write layer. */
  async start(ref: string, attach?: AttachStart): Promise<ContainerInfo> {
    requireRoot();
    checkArgs({ ref });
    return this.runtime.startDetached(ref, attach);
  }

  /** `docker attach`: a connection to a running container's output and stdin, through its shim
   *  ('stdout', 'stderr', 'exit' events; write(), endStdin(), resize(); close() detaches). With
   *  `attach` on runDetached() or start(), the connection exists before the container starts. */
  attach(ref: string): Promise<AttachConnection> {
    requireRoot();
    checkArgs({ ref });
    return this.runtime.attach(ref);
  }

  /** `docker stop`: SIGTERM (or the container's --stop-signal, its image's STOPSIGNAL), then SIGKILL
   *  after `timeout` seconds (default its --stop-timeout, else 10). */
  stop(ref: string, opts: { timeout?: number } = {}): Promise<ContainerInfo> {
    requireRoot();
    checkArgs({ ref });
    checkOptions(opts, TIMEOUT, 'the options of stop()');
    return this.runtime.stop(ref, opts.timeout);
  }

  /** `docker kill`: a signal (default SIGKILL) to the container's init process. */
  kill(ref: string, signal: string | number = 'SIGKILL'): ContainerInfo {
    requireRoot();
    checkArgs({ ref });
    // checked before the container is looked up: a bad signal is the caller's error, whatever the state
    return this.runtime.kill(ref, parseSignal(signal));
  }

  async restart(ref: string, opts: { timeout?: number } = {}): Promise<ContainerInfo> {
    requireRoot();
    checkOptions(opts, TIMEOUT, 'the options of restart()');
    await this.stop(ref, opts);
    const started = await this.start(ref);
    this.runtime.events.container('restart', started.config);
    return started;
  }

  /** `docker update`: new resource limits (and restart policy) for a container, written to its
   *  cgroup at once if it runs and kept for every later start. Options as run's: memory, cpus, ... */
  update(ref: string, options: UpdateOptions): ContainerInfo {
    requireRoot();
    checkArgs({ ref });
    checkUpdateOptions(options);
    const updated = updateContainer(this.runtime, ref, options);
    this.runtime.events.container('update', updated.config);
    return updated;
  }

  /** `docker rename`: the container answers to newName (by name, in ps, on its user networks);
   *  the old name is free. Its hostname does not change. */
  rename(ref: string, newName: string): ContainerInfo {
    requireRoot();
    checkArgs({ ref, newName });
    return renameContainer(this.runtime, ref, newName);
  }

  /** `docker pause`: freezes every process of a running container (the cgroup freezer). */
  async pause(ref: string): Promise<ContainerInfo> {
    requireRoot();
    checkArgs({ ref });
    const c = this.runtime.resolve(ref);
    await pauseContainer(this.runtime.cgroupsOf(c.config), c);
    this.runtime.events.container('pause', c.config);
    return this.runtime.resolve(c.config.id);
  }

  /** `docker unpause`: thaws a paused container. */
  unpause(ref: string): ContainerInfo {
    requireRoot();
    checkArgs({ ref });
    const c = this.runtime.resolve(ref);
    unpauseContainer(this.runtime.cgroupsOf(c.config), c);
    this.runtime.events.container('unpause', c.config);
    return this.runtime.resolve(c.config.id);
  }

  /** `docker wait`: the state once the container has stopped for good. */
  wait(ref: string): Promise<ContainerState> {
    checkArgs({ ref });
    return this.runtime.wait(ref);
  }

  /** `docker logs` of a detached container; with follow, until it stops for good. */
  logs(ref: string, opts: Omit<ReadLogOptions, 'done'> = {}): AsyncGenerator<LogEntry> {
    checkArgs({ ref });
    checkOptions(opts, LOG_OPTIONS, 'the options of logs()');
    return this.runtime.logs(ref, opts);
  }

  /** `docker top`: the container's processes, host PIDs. */
  top(ref: string): ContainerProcessInfo[] {
    checkArgs({ ref });
    return this.runtime.top(ref);
  }

  /** `docker stats --no-stream`: memory, CPU time and process count from the container's cgroup. */
  stats(ref: string): ContainerStats {
    checkArgs({ ref });
    return this.runtime.stats(ref);
  }

  /** `docker container prune`: removes every container that is not running. */
  prune(): Promise<string[]> {
    requireRoot();
    return this.runtime.prune();
  }

  /**
   * Container events for programs that watch containers, from any process (detached containers
   * change state in their shims): start, die, oom, exit. Polls the state files; call the returned
   * function to stop.
   */
  watch(onEvent: (e: ContainerEvent) => void, opts: { intervalMs?: number } = {}): () => void {
    return watchContainers(() => this.runtime.list(), onEvent, opts.intervalMs ?? 200);
  }

  /**
   * `docker events`: what every berth process of this run root did (CLI, this API, the Engine API
   * service, the shims of detached containers), in docker's event shape, oldest first. `since`:
   * past events from then on (a Date, Unix seconds, or docker's text: RFC 3339, 10m); `until`: the
   * iteration ends then, else it follows live events until `signal` aborts or the loop breaks.
   */
  events(opts: systemApi.EventsOptions = {}): AsyncGenerator<JournalEvent> {
    return systemApi.events(this, opts);
  }

  /** `docker info`: this root's containers and images and the host, in the Engine API's shape. */
  info(): Record<string, unknown> {
    return systemApi.info(this);
  }

  /** `docker version`'s server half, in the Engine API's shape. */
  version(): Record<string, unknown> {
    return systemApi.version();
  }

  /** `docker system df`: bytes taken by images (shared layers once), write layers and volumes. */
  systemDf(): ReturnType<typeof systemApi.systemDf> {
    return systemApi.systemDf(this);
  }

  /** `docker system prune`: stopped containers, unused networks, dangling images (every unused one
   *  with all), unused anonymous volumes with volumes. */
  systemPrune(opts: systemApi.SystemPruneOptions = {}): ReturnType<typeof systemApi.systemPrune> {
    requireRoot();
    return systemApi.systemPrune(this, opts);
  }

  /** Containers, newest first; running ones only unless all (or a status/exited filter).
   *  `filters`: docker's ps filters, ['status=exited', 'label=env=prod'] or { status: ['exited'] }. */
  ps(opts: { all?: boolean; filters?: ContainerFilterInput } = {}): ContainerInfo[] {
    checkOptions(opts, { all: bool, filters: FILTERS_CHECK }, 'the options of ps()');
    const filters = parseContainerFilters(opts.filters);
    const list = this.runtime.list();
    const shown = opts.all || filtersNeedAll(filters) ? list : list.filter((c) => isRunning(c.state));
    return filterContainers(shown, filters, { imageId: (ref) => this.images.resolve(ref).id }, list);
  }

  inspect(ref: string): ContainerInfo {
    checkArgs({ ref });
    const info = this.runtime.resolve(ref);
    const networks = this.runtime.endpoints(info);
    const withConfig = { ...info, ociConfig: this.runtime.ociConfig(info), mounts: mountsOf(info.config) };
    return networks.length > 0 ? { ...withConfig, network: networks[0], networks } : withConfig;
  }

  /** `docker rm`: removes the container with its write layer and cgroup; `volumes` (rm -v) its anonymous volumes too. */
  remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<ContainerInfo> {
    requireRoot();
    checkArgs({ ref });
    checkOptions(opts, { ...FORCE, volumes: bool }, 'the options of remove()');
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

  /** `docker diff`: what the container's write layer changed against its image, sorted by path. */
  diff(container: string): Promise<imageApi.Change[]> {
    checkArgs({ container });
    return imageApi.changes(this, container);
  }

  /** `docker cp` (container path stat): the X-Docker-Container-Path-Stat docker's API answers, of `path`
   *  resolved inside the container (its symlinks as the container sees them). */
  statPath(container: string, path: string): PathStat {
    checkArgs({ container, path });
    const info = this.runtime.resolve(container);
    return containerCopy().statPath(info, this.runtime.store.containerDir(info.config.id), path);
  }

  /** `docker cp CONTAINER:PATH -`: a tar of `path` in the container (running or stopped), named from its
   *  base name down, with its stat; the archive is read from the container as it is consumed. */
  copyFrom(container: string, path: string): { stat: PathStat; archive: Readable } {
    checkArgs({ container, path });
    const info = this.runtime.resolve(container);
    return containerCopy().archivePath(info, this.runtime.store.containerDir(info.config.id), path);
  }

  /** `docker cp - CONTAINER:DIR`: extracts a tar into the directory `path` of the container (running:
   *  its filesystem; stopped: its write layer), never outside it. */
  copyTo(container: string, path: string, archive: Readable, opts: CopyToOptions = {}): Promise<void> {
    checkArgs({ container, path });
    const info = this.runtime.resolve(container);
    return containerCopy().extractTo(info, this.runtime.store.containerDir(info.config.id), path, archive, opts);
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

  /** `docker history`: the steps that made an image, newest first, with the size of each step's layer. */
  imageHistory(ref: string): imageApi.HistoryEntry[] {
    checkArgs({ ref });
    return imageApi.history(this, ref);
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

  /** `docker volume create`: a local volume under root/volumes (the existing one if the name has one). */
  createVolume(opts: volumeApi.CreateVolumeOptions = {}): volumeApi.VolumeInfo {
    requireRoot();
    return volumeApi.createVolume(this.runtime, opts);
  }

  /** `docker volume ls`, with its filters. */
  listVolumes(opts: volumeApi.ListVolumesOptions = {}): volumeApi.VolumeInfo[] {
    return volumeApi.listVolumes(this.runtime, opts);
  }

  /** `docker volume inspect`. */
  inspectVolume(name: string): volumeApi.VolumeInfo {
    checkArgs({ name });
    return volumeApi.inspectVolume(this.runtime, name);
  }

  /** `docker volume rm`: refused while a container, running or not, mounts it; force: a missing one is no error. */
  removeVolume(name: string, opts: { force?: boolean } = {}): volumeApi.VolumeInfo | undefined {
    requireRoot();
    checkArgs({ name });
    return volumeApi.removeVolume(this.runtime, name, opts);
  }

  /** `docker volume prune`: unused anonymous volumes (every unused one with all). */
  pruneVolumes(opts: volumeApi.PruneVolumesOptions = {}): volumeApi.VolumePruneResult {
    requireRoot();
    return volumeApi.pruneVolumes(this.runtime, opts);
  }

  /** `docker network create`: a bridge network (CNI bridge + host-local + portmap) stored as a
   *  conflist under root/networks. Without a subnet, the first free /24 of berth's pool. */
  createNetwork(opts: CreateNetworkOptions): NetworkInfo {
    requireRoot();
    checkOptions(opts, NETWORK_OPTIONS, 'the options of createNetwork()', { required: ['name'] });
    return this.runtime.createNetwork(opts);
  }

  /** `docker network ls`: the networks of this root (the default `berth` once first used). */
  listNetworks(): NetworkInfo[] {
    return this.runtime.listNetworks();
  }

  /** `docker network inspect`: the network and the running containers on it. */
  inspectNetwork(name: string): NetworkInfo & { containers: Array<{ id: string; name: string } & EndpointInfo> } {
    checkArgs({ name });
    return this.runtime.inspectNetwork(name);
  }

  /** `docker network rm`: refused while a running container uses it; deletes its bridge. */
  removeNetwork(name: string): NetworkInfo {
    requireRoot();
    checkArgs({ name });
    return this.runtime.removeNetwork(name);
  }

  /** Every network of this root removed, the default `berth` included, with their bridges and
   *  leases (what a root that is thrown away must not leave on the host); dead containers'
   *  attachments are released first. Refused, after the others are gone, for networks in use. */
  removeAllNetworks(): NetworkInfo[] {
    requireRoot();
    return this.runtime.networks.removeAllNetworks();
  }

  /** `docker network connect`: joins a container to one more network (an interface eth1, eth2, ...
   *  in it at once if it runs, and on every later start); `ip` on a user network. */
  connectNetwork(network: string, container: string, opts: { ip?: string; aliases?: string[] } = {}): ContainerInfo {
    requireRoot();
    checkArgs({ network, container });
    checkOptions(opts, { ip: str(), aliases: strings() }, 'the options of connectNetwork()');
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

/** The one root check of every call that changes something (containers, images, networks,
 *  credentials): berth does not run rootless yet. Calls that only read state skip it. */
function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new BerthError('NOT_ROOT', 'berth needs root: run it with sudo (rootless containers are not supported yet)');
  }
}
