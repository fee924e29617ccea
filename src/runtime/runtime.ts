import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import type { ImageStore } from '../image/store';
import { native, spawnContainer, type NativeExit, type NativeSpawnPlan } from '../native';
import { detectCgroups, type CgroupManager } from './cgroups';
import { startError } from './errors';
import { buildEnv, mergeEnv, parseLimits, parseLogOpts, parseRestart, parseVolume, resolveUser, type ContainerOptions, type ExecOptions } from './options';
import { execPlan, spawnPlan, type StdioPlan } from './plan';
import { processStartTime } from './proc';
import { parseStorageDriver } from './rootfs';
import { writeEtcFiles } from './etc-files';
import { containerFiles, Lifecycle } from './lifecycle';
import { ContainerStore, reconcile } from './store';
import type { ContainerInfo, ContainerState } from './types';

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

  constructor(
    readonly root: string,
    readonly runRoot: string,
    private readonly images: ImageStore,
    private readonly defaults: { storageDriver?: string; cgroupParent?: string; detachedCleanup?: boolean } = {},
  ) {
    this.store = new ContainerStore(root, runRoot);
    this.lifecycle = new Lifecycle(this);
  }

  get cgroups(): CgroupManager {
    this.cgroupManager ??= detectCgroups(undefined, this.defaults.cgroupParent ?? 'berth');
    return this.cgroupManager;
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
    const layers = this.images.layerDirs(image);
    const ic = image.config.config ?? {};
    const argv = [...(ic.Entrypoint ?? []), ...(o.cmd && o.cmd.length > 0 ? o.cmd : (ic.Cmd ?? []))];
    if (argv.length === 0) {
      throw new BerthError('INVALID_ARGUMENT', `No command given and image ${o.image} has no default command; add one after the image name`);
    }
    const workdir = o.workdir ?? (ic.WorkingDir || '/');
    if (!path.posix.isAbsolute(workdir)) throw new BerthError('INVALID_ARGUMENT', `Expected an absolute path for --workdir but received "${workdir}"`);
    const user = resolveUser(o.user ?? (ic.User || undefined), layers);
    if (o.hostname !== undefined && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(o.hostname)) {
      throw new BerthError('INVALID_ARGUMENT', `Expected a hostname of letters, digits, dots and dashes (at most 63) for --hostname but received "${o.hostname}"`);
    }
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
      restart: parseRestart(o.restart),
      log: parseLogOpts(o.logOpts),
    });
  }

  /** Starts a created or exited container. On failure everything this start made is undone. */
  start(info: ContainerInfo, stdio: StdioPlan): Started {
    const { config } = info;
    if (info.state.status === 'running') throw new BerthError('INVALID_STATE', `Container ${config.name} is already running`);
    const dir = this.store.containerDir(config.id);
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
    writeEtcFiles(dir, config.hostname);

    const cgroups = this.cgroups;
    let plan: NativeSpawnPlan | undefined;
    let spawned;
    try {
      plan = spawnPlan(config, dir, cgroups.plan(config.id, config.limits), stdio);
      spawned = spawnContainer(plan);
    } catch (e) {
      safely(() => cgroups.remove(config.id));
      throw plan ? startError(e, config, plan) : e;
    }
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

  private finish(info: ContainerInfo, running: ContainerState, exit: NativeExit, pidfd: number): ExitStatus {
    fs.closeSync(pidfd);
    const id = info.config.id;
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
    if (state.status !== 'running' || state.pid === undefined) {
      throw new BerthError('INVALID_STATE', `Container ${config.name} is not running; start it first (berth start ${config.name})`);
    }
    if (o.cmd.length === 0) throw new BerthError('INVALID_ARGUMENT', '"berth exec" requires a command to run in the container');
    const upper = path.join(this.store.containerDir(config.id), 'upper');
    const user = o.user !== undefined ? resolveUser(o.user, [upper, ...config.layers]) : { uid: config.uid, gid: config.gid, groups: config.groups };
    const env = o.env ? mergeEnv(config.env, o.env) : config.env;
    const workdir = o.workdir ?? config.workdir;
    if (!path.posix.isAbsolute(workdir)) throw new BerthError('INVALID_ARGUMENT', `Expected an absolute path for --workdir but received "${workdir}"`);
    const plan = execPlan(state.pid, { argv: o.cmd, env, cwd: workdir, ...user }, this.cgroups.joinFiles(config.id), stdio);
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
    return this.store.list().map((c) => this.repair(c));
  }

  resolve(ref: string): ContainerInfo {
    return this.repair(this.store.resolve(ref));
  }

  /** A container recorded as running whose process is gone: record the exit and drop its cgroup. */
  private repair(c: ContainerInfo): ContainerInfo {
    const state = reconcile(c.state);
    if (state === c.state) return c;
    safely(() => this.cgroups.remove(c.config.id));
    this.store.writeState(c.config.id, state);
    return { config: c.config, state };
  }

  /** docker rm: refuses a running container unless force, which kills it first (and keeps a
   *  restart policy from bringing it back). */
  async remove(ref: string, opts: { force?: boolean } = {}): Promise<ContainerInfo> {
    const c = this.resolve(ref);
    if (c.state.status === 'running') {
      if (!opts.force) {
        throw new BerthError('INVALID_STATE', `You cannot remove running container ${c.config.name}; stop it first or use rm -f`);
      }
      fs.writeFileSync(containerFiles(this.store.containerDir(c.config.id)).stopMarker, '');
      await killAndWait(c.state.pid!, c.state.pidStartTime);
      await this.lifecycle.settled(c.config.id);
    }
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

function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
