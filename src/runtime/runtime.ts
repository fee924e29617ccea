import * as fs from 'node:fs';
import { containerCapabilities } from './capabilities';
import * as path from 'node:path';
import { BerthError, invalid } from '../errors';
import type { ImageStore } from '../image/store';
import { native, spawnContainer, type NativeExit, type NativeSpawned, type NativeSpawnPlan } from '../native';
import { NetworkManager } from '../network/attachments';
import { DEFAULT_NETWORK } from '../network/networks';
import { parseIPv4 } from '../network/subnet';
import { parseNetworkOptions } from '../network/options';
import type { EndpointInfo } from '../network/types';
import { detectCgroups, type CgroupManager } from './cgroups';
import { startError } from './errors';
import { buildEnv, mergeEnv, parseLimits, parseLogOpts, parseRestart, parseSecurityOpts, parseVolume, resolveUser, type ContainerOptions, type ExecOptions, type SecurityOptions } from './options';
import { execPlan, spawnPlan, type StdioPlan } from './plan';
import { processStartTime } from './proc';
import { parseStorageDriver } from './rootfs';
import { etcOptions, writeEtcFiles } from './etc-files';
import { containerFiles, Lifecycle } from './lifecycle';
import { safely } from '../util/safely';
import { ContainerStore, isShim, reconcile } from './store';
import type { ContainerConfig, ContainerInfo, ContainerState } from './types';
import { isRunning, onCniNetwork } from './container-predicates';

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
  readonly lifecycle: Lifecycle;
  private cgroupManager?: CgroupManager;
  private networkManager?: NetworkManager;

  constructor(
    readonly root: string,
    readonly runRoot: string,
    private readonly images: ImageStore,
    private readonly defaults: { storageDriver?: string; cgroupParent?: string; detachedCleanup?: boolean; cniPath?: string[]; defaultNetwork?: string } = {},
  ) {
    this.store = new ContainerStore(root, runRoot);
    this.lifecycle = new Lifecycle(this);
  }

  get cgroups(): CgroupManager {
    this.cgroupManager ??= detectCgroups(undefined, this.defaults.cgroupParent ?? 'berth');
    return this.cgroupManager;
  }

  /** Networks and attachments (made on first use: a container without a network touches nothing of them). */
  get networks(): NetworkManager {
    this.networkManager ??= new NetworkManager(this.root, this.runRoot, this.defaults.cniPath, (id) => this.liveShim(id));
    return this.networkManager;
  }

  /** Validates everything and records the container; nothing is mounted or started yet. */
  create(o: ContainerOptions): ContainerInfo {
    const limits = parseLimits(o);
    if (o.restart !== undefined && o.restart !== 'no' && o.rm) {
      throw new BerthError('INVALID_ARGUMENT', 'Conflicting options: --restart and --rm; a container removed when it exits cannot be restarted');
    }
    const volumes = (o.volumes ?? []).map(parseVolume);
    const storageDriver = parseStorageDriver(o.storageDriver ?? this.defaults.storageDriver ?? 'overlay');
    const image = this.images.resolve(o.image);
    let layers = this.images.layerDirs(image);
    // mount(2) takes one page of options: deep images go through the store's short layer links.
    if (layers.reduce((n, l) => n + l.length + 1, 0) > 3500) layers = this.images.shortLayerDirs(image);
    const ic = image.config.config ?? {};
    const argv = commandLine(ic.Entrypoint ?? [], ic.Cmd ?? [], o.entrypoint, o.cmd);
    if (argv.length === 0) {
      throw new BerthError('INVALID_ARGUMENT', `No command given and image ${o.image} has no default command; add one after the image name`);
    }
    const workdir = o.workdir ?? (ic.WorkingDir || '/');
    if (!path.posix.isAbsolute(workdir)) throw new BerthError('INVALID_ARGUMENT', `Expected an absolute path for --workdir but received "${workdir}"`);
    const user = resolveUser(o.user ?? (ic.User || undefined), layers);
    if (o.hostname !== undefined && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(o.hostname)) {
      throw new BerthError('INVALID_ARGUMENT', `Expected a hostname of letters, digits, dots and dashes (at most 63) for --hostname but received "${o.hostname}"`);
    }
    const defaultNetwork = this.defaults.defaultNetwork ?? 'bridge';
    // loopback only needs nothing of the network code (nor its files): the fast path
    const net = hasNetworkOptions(o) || defaultNetwork !== 'none'
      ? parseNetworkOptions(o, ic.ExposedPorts, (n) => this.networks.store.exists(n), defaultNetwork)
      : undefined;
    for (const v of volumes) fs.mkdirSync(v.hostPath, { recursive: true });
    const id = ContainerStore.newId();
    const hostname = o.hostname ?? id.slice(0, 12);
    const tty = !!o.tty;
    return this.store.create({
      id,
      name: o.name,
      image: o.image,
      imageId: image.id,
      argv,
      env: buildEnv(ic.Env ?? [], o.env, hostname, tty, user.home),
      workdir: path.posix.normalize(workdir),
      uid: user.uid,
      gid: user.gid,
      groups: user.groups,
      hostname,
      tty,
      interactive: !!o.interactive,
      autoRemove: !!o.rm,
      volumes,
      limits,
      storageDriver,
      layers,
      init: !!o.init,
      capabilities: containerCapabilities(o),
      ...(o.privileged ? { privileged: true } : {}),
      ...securityConfig(parseSecurityOpts(o.securityOpt)),
      restart: parseRestart(o.restart),
      log: parseLogOpts(o.logOpts),
      ...net,
    });
  }

  /** What every start of a container (foreground or under a shim) does first: refuses a running
   *  one, makes its rootfs directories and writes its /etc files. Returns the container's dir. */
  prepareStart(info: ContainerInfo): string {
    const { config } = info;
    if (isRunning(info.state)) throw new BerthError('INVALID_STATE', `Container ${config.name} is already running`);
    const dir = this.store.containerDir(config.id);
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
    writeEtcFiles(dir, config.hostname, etcOptions(config));
    return dir;
  }

  /** Starts a created or exited container. On failure everything this start made is undone. */
  start(info: ContainerInfo, stdio: StdioPlan): Started {
    const { config } = info;
    const dir = this.prepareStart(info);

    const cgroups = this.cgroups;
    let plan: NativeSpawnPlan | undefined;
    let spawned: NativeSpawned;
    let netns: string | undefined;
    try {
      netns = this.attachNetworks(config, dir);
      plan = spawnPlan(config, dir, cgroups.plan(config.id, config.limits, { allDevices: !!config.privileged }), stdio, netns);
      spawned = spawnContainer(plan);
    } catch (e) {
      if (netns) safely(() => this.networks.release(config.id));
      safely(() => cgroups.remove(config.id));
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
    const exited = new Promise<ExitStatus>((resolve) => {
      native().watchExit(spawned.pidfd, (exit) => resolve(this.finish(info, state, exit, spawned.pidfd)));
    });
    return { info: { config, state }, pid: spawned.pid, pidfd: spawned.pidfd, ptyMaster: spawned.ptyMaster, exited };
  }

  /**
   * A container on CNI networks: its network namespace is made and pinned, and CNI ADD of each of
   * its networks runs in it (its /etc/hosts getting its address) before its process exists; the
   * process joins the namespace. Returns the namespace's path, or undefined without networks.
   * Owned by this process until the caller hands it on (NetworkManager.setOwner).
   */
  attachNetworks(config: ContainerConfig, dir: string): string | undefined {
    if (!onCniNetwork(config)) return undefined;
    return this.networks.attach({
      containerId: config.id,
      name: config.name,
      hostname: config.hostname,
      containerDir: dir,
      networks: [config.network, ...(config.connected ?? []).map((c) => ({ mode: 'bridge' as const, name: c.name, ip: c.ip }))],
      addHosts: config.addHosts ?? [],
    });
  }

  /** network connect: one more user network for a container, at once if it runs, and on every start. */
  connect(network: string, ref: string, opts: { ip?: string } = {}): ContainerInfo {
    const info = this.resolve(ref);
    const { config } = info;
    const name = network === 'bridge' ? DEFAULT_NETWORK : network;
    if (!onCniNetwork(config)) {
      throw new BerthError('INVALID_STATE', `Container ${config.name} runs with --network ${config.network?.mode ?? 'none'}: only a container created on a bridge network can be connected to others`);
    }
    this.networks.store.get(name); // exists, or the error says how to create it
    if (opts.ip !== undefined) {
      if (parseIPv4(opts.ip) === undefined) throw invalid('--ip', 'an IPv4 address', opts.ip);
      if (name === DEFAULT_NETWORK) throw new BerthError('INVALID_ARGUMENT', 'A fixed --ip is supported on user-defined networks only; create one with berth network create');
    }
    if ((config.network.name ?? DEFAULT_NETWORK) === name || config.connected?.some((c) => c.name === name)) {
      throw new BerthError('INVALID_STATE', `Container ${config.name} is already connected to network ${network}`);
    }
    const entry = { name, ...(opts.ip !== undefined ? { ip: opts.ip } : {}) };
    if (isRunning(info.state)) this.networks.connect(config.id, { mode: 'bridge', ...entry });
    const updated = { ...config, connected: [...(config.connected ?? []), entry] };
    this.store.writeConfig(updated);
    return { config: updated, state: info.state };
  }

  /** network disconnect: the reverse of connect (the network a container was created on stays). */
  disconnect(network: string, ref: string): ContainerInfo {
    const info = this.resolve(ref);
    const { config } = info;
    const name = network === 'bridge' ? DEFAULT_NETWORK : network;
    if (onCniNetwork(config) && (config.network.name ?? DEFAULT_NETWORK) === name) {
      throw new BerthError('UNSUPPORTED', `Container ${config.name} was created on network ${network}, which carries its eth0 and published ports: berth keeps it there; remove the container and run it again with another --network`);
    }
    if (!config.connected?.some((c) => c.name === name)) {
      throw new BerthError('INVALID_STATE', `Container ${config.name} is not connected to network ${network}`);
    }
    if (isRunning(info.state) && this.networks.endpoints(config.id).some((e) => e.network === name)) this.networks.disconnect(config.id, name);
    const updated = { ...config, connected: config.connected.filter((c) => c.name !== name) };
    this.store.writeConfig(updated);
    return { config: updated, state: info.state };
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

  private finish(info: ContainerInfo, running: ContainerState, exit: NativeExit, pidfd: number): ExitStatus {
    fs.closeSync(pidfd);
    const id = info.config.id;
    if (onCniNetwork(info.config)) safely(() => this.networks.release(id));
    const oomKilled = safely(() => this.cgroups.oomKilled(id)) ?? false;
    safely(() => this.cgroups.remove(id));
    const status: ExitStatus = {
      exitCode: exit.signal ? 128 + exit.signal : exit.code,
      ...(exit.signal ? { signal: exit.signal } : {}),
      oomKilled,
    };
    if (info.config.autoRemove) {
      this.store.remove(id, { detached: this.defaults.detachedCleanup, background: true, name: info.config.name });
    } else {
      this.store.writeState(id, { ...running, status: 'exited', exitCode: status.exitCode, oomKilled, finishedAt: new Date().toISOString() });
    }
    return status;
  }

  /** Starts a process inside a running container: its namespaces, cgroup, user and environment
   *  unless overridden. Resolves `exited` when that process ends (the container keeps running). */
  exec(ref: string, o: ExecOptions, stdio: StdioPlan): { info: ContainerInfo; pid: number; pidfd: number; ptyMaster: number; exited: Promise<ExitStatus> } {
    const info = this.resolve(ref);
    const { config, state } = info;
    if (!isRunning(state) || state.pid === undefined) {
      throw new BerthError('INVALID_STATE', `Container ${config.name} is not running; start it first (berth start ${config.name})`);
    }
    if (o.cmd.length === 0) throw new BerthError('INVALID_ARGUMENT', '"berth exec" requires a command to run in the container');
    const upper = path.join(this.store.containerDir(config.id), 'upper');
    const user = o.user !== undefined ? resolveUser(o.user, [upper, ...config.layers]) : { uid: config.uid, gid: config.gid, groups: config.groups };
    const env = o.env ? mergeEnv(config.env, o.env) : config.env;
    const workdir = o.workdir ?? config.workdir;
    if (!path.posix.isAbsolute(workdir)) throw new BerthError('INVALID_ARGUMENT', `Expected an absolute path for --workdir but received "${workdir}"`);
    const plan = execPlan(state.pid, { argv: o.cmd, env, cwd: workdir, ...user, seccomp: config.seccomp !== false && !config.privileged, noNewPrivileges: !!config.noNewPrivileges, capabilities: config.capabilities }, this.cgroups.joinFiles(config.id), stdio);
    let spawned;
    try {
      spawned = spawnContainer(plan);
    } catch (e) {
      throw startError(e, { ...config, argv: o.cmd, workdir }, plan, 'exec in');
    }
    const exited = new Promise<ExitStatus>((resolve) => {
      native().watchExit(spawned.pidfd, (exit) => {
        fs.closeSync(spawned.pidfd);
        resolve({ exitCode: exit.signal ? 128 + exit.signal : exit.code, ...(exit.signal ? { signal: exit.signal } : {}), oomKilled: false });
      });
    });
    return { info, pid: spawned.pid, pidfd: spawned.pidfd, ptyMaster: spawned.ptyMaster, exited };
  }

  /** All containers, repairing the ones whose process vanished while nobody watched. */
  list(): ContainerInfo[] {
    this.store.sweep();
    // attachments of containers that vanished unwatched (an --rm one whose shim removed it)
    if (this.networkManager || fs.existsSync(path.join(this.runRoot, 'cni', 'attachments'))) safely(() => this.networks.sweep());
    return this.store.list().map((c) => this.repair(c));
  }

  resolve(ref: string): ContainerInfo {
    return this.repair(this.store.resolve(ref));
  }

  /** A container recorded as running whose process is gone: record the exit and drop its cgroup. */
  private repair(c: ContainerInfo): ContainerInfo {
    const state = reconcile(c.state);
    // a detached container's shim records the exit; its network is released by whoever sees it next
    if (onCniNetwork(c.config) && !isRunning(state)) this.releaseNetwork(c.config.id);
    if (state === c.state) return c;
    // A shim writes the exit before it ends: if it has ended since we read, its record is on disk
    // now and is the truth, not our guess.
    const fresh = this.store.read(c.config.id);
    if (fresh && JSON.stringify(fresh.state) !== JSON.stringify(c.state)) return this.repair(fresh);
    safely(() => this.cgroups.remove(c.config.id));
    this.store.writeState(c.config.id, state);
    return { config: c.config, state };
  }

  /** `container cleanup`, the exit command of a detached container's shim: once that shim is gone
   *  (bounded wait), releases the networks it owned, even if the container itself was removed (--rm). */
  async cleanup(id: string, shimPid?: number): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new BerthError('INVALID_ARGUMENT', `Expected a full container ID but received "${id}"`);
    const startTime = shimPid !== undefined ? processStartTime(shimPid) : undefined;
    for (let i = 0; i < 500 && startTime !== undefined && processStartTime(shimPid!) === startTime; i++) await new Promise((r) => setTimeout(r, 10));
    this.releaseNetwork(id);
    if (this.store.read(id)) this.resolve(id); // repairs the state if the shim could not write it
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

  /** docker rm: refuses a running container unless force, which kills it first (and keeps a
   *  restart policy from bringing it back). */
  async remove(ref: string, opts: { force?: boolean } = {}): Promise<ContainerInfo> {
    const c = this.resolve(ref);
    if (isRunning(c.state)) {
      if (!opts.force) {
        throw new BerthError('INVALID_STATE', `You cannot remove running container ${c.config.name}; stop it first or use rm -f`);
      }
      fs.writeFileSync(containerFiles(this.store.containerDir(c.config.id)).stopMarker, '');
      await killAndWait(c.state.pid!, c.state.pidStartTime);
      await this.lifecycle.settled(c.config.id);
    }
    // the pinned namespace outlives the process: DEL still finds its interfaces
    if (onCniNetwork(c.config)) safely(() => this.networks.release(c.config.id, { ifOwnerGone: true }));
    safely(() => this.cgroups.remove(c.config.id));
    this.store.remove(c.config.id, { name: c.config.name });
    return c;
  }
}

async function killAndWait(pid: number, startTime: number | undefined): Promise<void> {
  if (processStartTime(pid) !== startTime) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 500 && processStartTime(pid) === startTime; i++) await new Promise((r) => setTimeout(r, 10));
}

/** Only what differs from the defaults goes into config.json. */
function securityConfig(s: SecurityOptions): Pick<ContainerConfig, 'seccomp' | 'noNewPrivileges'> {
  return { ...(s.seccomp ? {} : { seccomp: false }), ...(s.noNewPrivileges ? { noNewPrivileges: true } : {}) };
}

function hasNetworkOptions(o: ContainerOptions): boolean {
  return o.network !== undefined || o.ip !== undefined || o.mac !== undefined || o.dns !== undefined || o.addHosts !== undefined
    || (o.publish?.length ?? 0) > 0 || !!o.publishAll;
}


/** docker's rules: --entrypoint replaces the image's entrypoint and drops its Cmd; a command given
 *  replaces Cmd; an empty --entrypoint ("") means none. */
export function commandLine(imageEntrypoint: string[], imageCmd: string[], entrypoint: string | string[] | undefined, cmd: string[] | undefined): string[] {
  const ep = entrypoint === undefined ? imageEntrypoint : (typeof entrypoint === 'string' ? [entrypoint] : entrypoint).filter((a) => a !== '');
  const args = cmd && cmd.length > 0 ? cmd : entrypoint === undefined ? imageCmd : [];
  return [...ep, ...args];
}
