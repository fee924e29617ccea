/**
 * berth-oci's runtime: runc's commands over the one model (config.json -> specToPlan -> the
 * native spawn). The container's init is started by berth-nsenter, so no process berth-oci leaves
 * behind (the waiting init included) shares Node's memory or has a host binary as its exe.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { native, spawnContainer, type NativeSpawnPlan } from '../native';
import { detectCgroups, type CgroupManager, type CgroupPlan } from '../runtime/cgroups';
import { readMountInfo } from '../runtime/cgroups/mountinfo';
import { NSENTER_PATH } from '../runtime/shim';
import { processStartTime } from '../util/proc';
import { hookStateTemplate, runHooks } from './hooks';
import { checkLsmLabels } from './lsm';
import { runStartContainerHooks } from './container-hooks';
import { compileSeccomp } from './seccomp-cache';
import { createError } from './create-error';
import { readConfig } from './read-config';
import { cgroupLocation, specLimits } from './resources';
import type { CreateOptions, ExecOptions, OciRuntimeApi } from './runtime-api';
import { OCI_VERSION, type Resources, type State } from './spec';
import { OciStateStore, type ContainerRecord } from './state-store';
import { freezer } from './freezer';
import { execToPlan } from './exec-plan';
import { writeNativeState } from './native-state';
import { listEntryOf } from './list-entry';
import { specToPlan } from './to-plan';
import { applyLimits } from '../runtime/cgroups/update-limits';

const DEFAULT_CGROUP_PARENT = 'berth-oci';

function removeEmptyParents(dirs: string[], freezerDir: string | undefined): void {
  for (const d of [...dirs, ...(freezerDir ? [freezerDir] : [])]) {
    try {
      fs.rmdirSync(path.dirname(d));
    } catch {
      // not empty (another container) or gone
    }
  }
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export class OciRuntime implements OciRuntimeApi {
  readonly store: OciStateStore;
  private readonly managers = new Map<string, CgroupManager>();
  /** pidfds of the inits this process created (its children). */
  private readonly children = new Map<string, number>();

  constructor(
    root: string,
    private readonly warn: (line: string) => void = () => {},
    private readonly debug: (line: string) => void = () => {},
  ) {
    this.store = new OciStateStore(path.resolve(root));
  }

  private cgroups(parent: string): CgroupManager {
    let m = this.managers.get(parent);
    if (!m) {
      m = detectCgroups(readMountInfo(), parent);
      this.managers.set(parent, m);
    }
    return m;
  }

  async create(id: string, o: CreateOptions): Promise<void> {
    const bundle = path.resolve(o.bundle);
    const spec = readConfig(bundle);
    for (const line of checkLsmLabels(spec)) this.debug(line);
    if (spec.process?.terminal && !o.consoleSocket && !o.onPty) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        'cannot allocate tty if berth-oci will detach without setting console socket; pass --console-socket',
      );
    }
    const dir = this.store.claim(id);
    const cgroup = cgroupLocation(spec, id);
    const manager = this.cgroups(cgroup.parent);
    let pid: number | undefined;
    try {
      const { limits, allDevices, deviceRules } = specLimits(spec.linux?.resources);
      const plan = this.withFreezer(manager.plan(cgroup.name, limits, { allDevices, deviceRules }), cgroup);
      const seccompFilter = spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp, this.warn) : undefined;
      const nativePlan: NativeSpawnPlan = specToPlan(spec, {
        bundle,
        cgroup: plan,
        // the hierarchies this container joins (cpu and cpuset only when limited)
        cgroupDirs: plan.dirs.filter((d) => path.basename(d) === cgroup.name),
        helperPath: NSENTER_PATH,
        execFifoPath: this.store.fifo(id),
        ...(o.consoleSocket ? { consoleSocket: path.resolve(o.consoleSocket) } : {}),
        noPivot: o.noPivot,
        // (only a config with createContainer hooks needs the state they read)
        ...(spec.hooks?.createContainer?.length
          ? {
              hookState: hookStateTemplate({
                ociVersion: OCI_VERSION,
                id,
                status: 'creating',
                pid: 0,
                bundle,
                annotations: spec.annotations ?? {},
              }),
            }
          : {}),
        ...(o.preserveFds ? { preserveFds: o.preserveFds } : {}),
        ...(seccompFilter ? { seccompFilter } : {}),
      });
      const spawned = spawnContainer(nativePlan);
      pid = spawned.pid;
      if (spawned.ptyMaster >= 0) {
        if (o.onPty) o.onPty(spawned.ptyMaster);
        else fs.closeSync(spawned.ptyMaster);
      }
      // The init is our child (CLONE_PARENT): `run` waits for it through this pidfd; after a plain
      // create berth-oci exits and leaves it to its caller (conmon, containerd's shim) to reap.
      this.children.set(id, spawned.pidfd);
      const record: ContainerRecord = {
        id,
        bundle,
        pid,
        pidStartTime: processStartTime(pid) ?? 0,
        created: new Date().toISOString(),
        cgroup,
        config: spec,
        owner: process.getuid?.() ?? 0,
      };
      this.store.write(record);
      const state = this.store.state(record, false);
      const cgroupDirs = this.cgroupDirs(manager, cgroup);
      writeNativeState(dir, {
        pid,
        startTime: record.pidStartTime,
        state,
        fifo: this.store.fifo(id),
        freezer: freezer.location(cgroup),
        cgroupDirs,
        emptyParents: cgroup.parent === DEFAULT_CGROUP_PARENT ? cgroupDirs.map((d) => path.dirname(d)) : [],
        hooks: Object.keys(spec.hooks ?? {}).filter((k) => (spec.hooks as Record<string, unknown[]>)[k]?.length),
        listEntry: listEntryOf(this.store.root, state),
      });
      runHooks(spec.hooks, 'prestart', state);
      runHooks(spec.hooks, 'createRuntime', state);
      if (o.pidFile) fs.writeFileSync(path.resolve(o.pidFile), String(pid));
    } catch (e) {
      if (pid !== undefined) killQuietly(pid);
      safely(() => manager.remove(cgroup.name));
      safely(() => freezer.remove(cgroup));
      fs.rmSync(dir, { recursive: true, force: true });
      throw createError(e, id);
    }
  }

  /** What delete removes: the container's cgroup in every hierarchy, the v1 freezer's last. */
  private cgroupDirs(manager: CgroupManager, cgroup: { parent: string; name: string }): string[] {
    const f = freezer.dir(cgroup);
    const dirs = manager.dirs(cgroup.name);
    // berth's v1 manager joins the freezer itself now: listed once
    return [...dirs, ...(f && !dirs.includes(f) ? [f] : [])];
  }

  /** v1 has no freezer among berth's controllers: the OCI runtime adds it for pause/resume. */
  private withFreezer(plan: CgroupPlan, cgroup: { parent: string; name: string }): CgroupPlan {
    const dir = freezer.dir(cgroup);
    if (!dir || plan.procs.includes(path.join(dir, 'tasks'))) return plan;
    return { dirs: [...plan.dirs, path.dirname(dir), dir], writes: plan.writes, procs: [...plan.procs, path.join(dir, 'tasks')] };
  }

  async start(id: string): Promise<void> {
    const r = this.store.read(id);
    const state = this.store.state(r, false);
    if (state.status !== 'created')
      throw new BerthError(
        'INVALID_STATE',
        `cannot start a container that has ${state.status === 'stopped' ? 'stopped' : 'already started'}: ${id}`,
      );
    const inside = r.config.hooks?.startContainer ?? [];
    if (inside.length > 0) {
      const manager = this.cgroups(r.cgroup.parent);
      await runStartContainerHooks(inside, state, {
        initPid: r.pid,
        config: r.config,
        joinFiles: [...new Set([...manager.joinFiles(r.cgroup.name), ...freezer.joinFiles(r.cgroup)])],
        helperPath: NSENTER_PATH,
        dir: this.store.dir(id),
      });
    }
    const fifo = this.store.fifo(id);
    const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const byte = Buffer.alloc(1);
      const took = (): boolean => {
        try {
          return fs.readSync(fd, byte, 0, 1, null) === 1;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
          return false;
        }
      };
      // The init's open(O_WRONLY) completes now that a reader is here; its one byte follows.
      for (let waited = 0; !took(); waited += 2) {
        // A short command may write its byte, run and exit between the read and this check: the
        // byte it left in the fifo says it started.
        if (processStartTime(r.pid) !== r.pidStartTime) {
          if (took()) break;
          throw new BerthError('START_FAILED', `the init of ${id} ended before it could start`);
        }
        if (waited > 10_000) throw new BerthError('START_FAILED', `the init of ${id} did not take the start signal within 10 s`);
        sleep(2);
      }
    } finally {
      fs.closeSync(fd);
      fs.rmSync(fifo, { force: true });
    }
    runHooks(r.config.hooks, 'poststart', this.store.state(r, false), this.warn);
  }

  /** The exit status of an init this process created (`berth-oci run`): 128+N for a signal. */
  wait(id: string): Promise<number> {
    const pidfd = this.children.get(id);
    if (pidfd === undefined)
      return Promise.reject(
        new BerthError('INVALID_STATE', `container ${id} was not created by this process; only its parent can wait for it`),
      );
    this.children.delete(id);
    return new Promise((resolve) => {
      native().watchExit(pidfd, (exit) => {
        fs.closeSync(pidfd);
        resolve(exit.signal ? 128 + exit.signal : exit.code);
      });
    });
  }

  state(id: string): State {
    const r = this.store.read(id);
    return this.store.state(r, freezer.isFrozen(r.cgroup));
  }

  list(): State[] {
    return this.store.ids().flatMap((id) => {
      try {
        return [this.state(id)];
      } catch {
        return [];
      }
    });
  }

  kill(id: string, signal: number, all: boolean): void {
    const r = this.store.read(id);
    const state = this.store.state(r, false);
    if (state.status === 'stopped') throw new BerthError('INVALID_STATE', `container not running: ${id}`);
    const pids = all ? this.pids(id) : [r.pid];
    for (const pid of pids) killQuietly(pid, signal);
  }

  async delete(id: string, force: boolean): Promise<void> {
    let r: ContainerRecord;
    try {
      r = this.store.read(id);
    } catch (e) {
      // runc: deleting what is half-made (a dir without state) still cleans it
      if (fs.existsSync(this.store.dir(id))) return this.store.remove(id);
      throw e;
    }
    const state = this.store.state(r, false);
    if (state.status !== 'stopped') {
      if (!force) throw new BerthError('INVALID_STATE', `cannot delete container ${id} that is not stopped: ${state.status}`);
      if (freezer.isFrozen(r.cgroup)) freezer.thaw(r.cgroup);
      for (const pid of [r.pid, ...safeList(() => this.pids(id))]) killQuietly(pid, 9);
      for (let i = 0; i < 500 && processStartTime(r.pid) === r.pidStartTime; i++) sleep(10);
    }
    const manager = this.cgroups(r.cgroup.parent);
    for (let i = 0; i < 100 && safeList(() => manager.pids(r.cgroup.name)).length > 0; i++) sleep(10);
    safely(() => manager.remove(r.cgroup.name));
    safely(() => freezer.remove(r.cgroup));
    // berth-oci's own default parent goes with its last container (a caller's parent is theirs)
    if (r.cgroup.parent === DEFAULT_CGROUP_PARENT) safely(() => removeEmptyParents(manager.dirs(r.cgroup.name), freezer.dir(r.cgroup)));
    runHooks(r.config.hooks, 'poststop', { ...this.store.state(r, false), status: 'stopped' }, this.warn);
    this.store.remove(id);
  }

  async exec(id: string, o: ExecOptions): Promise<number> {
    const r = this.store.read(id);
    const state = this.store.state(r, false);
    if (state.status !== 'running') throw new BerthError('INVALID_STATE', `cannot exec in a ${state.status} container: ${id}`);
    if (o.process.terminal && !o.consoleSocket && o.detach) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        'cannot allocate tty if berth-oci will detach without setting console socket; pass --console-socket',
      );
    }
    for (const line of checkLsmLabels({ process: o.process })) this.debug(line);
    const manager = this.cgroups(r.cgroup.parent);
    const joinFiles = [...new Set([...manager.joinFiles(r.cgroup.name), ...freezer.joinFiles(r.cgroup)])];
    const seccompFilter = r.config.linux?.seccomp ? compileSeccomp(r.config.linux.seccomp, this.warn) : undefined;
    const plan = execToPlan(r.pid, o.process, r.config, {
      joinFiles,
      helperPath: NSENTER_PATH,
      ...(o.preserveFds ? { preserveFds: o.preserveFds } : {}),
      ...(o.consoleSocket ? { consoleSocket: path.resolve(o.consoleSocket) } : {}),
      ...(seccompFilter ? { seccompFilter } : {}),
    });
    const spawned = spawnContainer(plan);
    if (o.pidFile) fs.writeFileSync(path.resolve(o.pidFile), String(spawned.pid));
    if (spawned.ptyMaster >= 0) {
      if (o.onPty && !o.detach) o.onPty(spawned.ptyMaster);
      else fs.closeSync(spawned.ptyMaster);
    }
    if (o.detach) {
      fs.closeSync(spawned.pidfd);
      return 0;
    }
    return new Promise((resolve) => {
      native().watchExit(spawned.pidfd, (exit) => {
        fs.closeSync(spawned.pidfd);
        resolve(exit.signal ? 128 + exit.signal : exit.code);
      });
    });
  }

  pause(id: string): void {
    const r = this.store.read(id);
    if (this.store.state(r, false).status !== 'running') throw new BerthError('INVALID_STATE', `container not running: ${id}`);
    freezer.freeze(r.cgroup);
  }

  resume(id: string): void {
    const r = this.store.read(id);
    if (!freezer.isFrozen(r.cgroup)) throw new BerthError('INVALID_STATE', `container not paused: ${id}`);
    freezer.thaw(r.cgroup);
  }

  pids(id: string): number[] {
    const r = this.store.read(id);
    return this.cgroups(r.cgroup.parent).pids(r.cgroup.name);
  }

  update(id: string, resources: Resources): void {
    const r = this.store.read(id);
    const { limits } = specLimits(resources);
    // cpu, cpuset, blkio, hugetlb... are joined only when create had a limit for them: a first
    // limit of such a kind makes the container's cgroup there and moves its processes in; only the
    // limit files are written, the device rules stay as create wrote them (as berth update)
    applyLimits(this.cgroups(r.cgroup.parent), r.cgroup.name, limits);
  }

  stats(id: string): Record<string, unknown> {
    const r = this.store.read(id);
    const s = this.cgroups(r.cgroup.parent).stats(r.cgroup.name);
    return {
      cpu: { usage: { total: s.cpuNanos ?? 0 } },
      memory: { usage: { usage: s.memoryBytes ?? 0, limit: s.memoryLimit ?? 0 } },
      pids: { current: s.pids ?? 0 },
    };
  }
}

function killQuietly(pid: number, signal = 9): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // best effort: the next delete sweeps what is left
  }
}

function safeList(fn: () => number[]): number[] {
  try {
    return fn();
  } catch {
    return [];
  }
}
