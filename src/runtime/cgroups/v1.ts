import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResourceLimits } from '../limits';
import { readKeyValues, readNumber, readPids, readTrimmed, removeCgroupDirs } from './common';
import type { MountInfoEntry } from './mountinfo';
import type { CgroupManager, CgroupPlan, CgroupStats } from './types';

/** The v1 controllers berth uses; others (net_cls, perf_event, ...) are left alone. freezer and blkio
 *  come with pause and IO limits. */
const JOINED = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices'];
/** Joined by every container: memory and pids for limits, OOM detection and stats, cpuacct for CPU
 *  stats, devices for security. cpu and cpuset only when a limit needs them: each hierarchy costs a
 *  mkdir, writes, a join and an rmdir on every start. */
const ALWAYS = ['cpuacct', 'memory', 'pids', 'devices'];

/** Device access a container gets by default (docker's list): everything else is denied, so that
 *  CAP_MKNOD cannot be turned into access to the host's disks. */
export const DEFAULT_DEVICE_RULES = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm',
  'c 1:5 rwm',
  'c 1:7 rwm',
  'c 1:8 rwm',
  'c 1:9 rwm', // null zero full random urandom
  'c 5:0 rwm',
  'c 5:1 rwm',
  'c 5:2 rwm',
  'c 136:* rwm', // tty console ptmx pts
  'c 10:200 rwm', // tun
];

export class CgroupV1 implements CgroupManager {
  readonly version = 1 as const;
  /** controller -> mount point of its hierarchy */
  readonly controllers: Map<string, string>;

  constructor(
    mounts: MountInfoEntry[],
    private readonly parent = 'berth',
  ) {
    this.controllers = new Map();
    for (const m of mounts) {
      if (m.fstype !== 'cgroup') continue;
      for (const opt of m.superOptions) if (JOINED.includes(opt)) this.controllers.set(opt, m.mountPoint);
    }
  }

  private hierarchies(): string[] {
    return [...new Set(this.controllers.values())];
  }

  private dir(controller: string, id?: string): string | undefined {
    const mp = this.controllers.get(controller);
    if (!mp) return undefined;
    return id === undefined ? path.join(mp, this.parent) : path.join(mp, this.parent, id);
  }

  /** Every directory the container may have (removal tolerates the ones it did not get). */
  dirs(id: string): string[] {
    return this.hierarchies().map((mp) => path.join(mp, this.parent, id));
  }

  /** The hierarchies this container joins, given its limits. */
  private joined(limits: ResourceLimits): string[] {
    const wanted = new Set(ALWAYS);
    if (limits.cpus !== undefined || limits.cpuShares !== undefined) wanted.add('cpu');
    if (limits.cpusetCpus !== undefined) wanted.add('cpuset');
    const mps = new Set<string>();
    for (const [controller, mp] of this.controllers) if (wanted.has(controller)) mps.add(mp);
    return [...mps];
  }

  plan(id: string, limits: ResourceLimits, opts: { allDevices?: boolean } = {}): CgroupPlan {
    const dirs: string[] = [];
    const writes: Array<[string, string]> = [];
    const joined = this.joined(limits);
    for (const mp of joined) dirs.push(path.join(mp, this.parent), path.join(mp, this.parent, id));
    const has = (controller: string) => joined.includes(this.controllers.get(controller) ?? '');

    const cpuset = has('cpuset') ? this.dir('cpuset', id) : undefined;
    if (cpuset) {
      // A new v1 cpuset starts with no CPUs and no memory nodes, and a task cannot join it like that.
      const mp = this.controllers.get('cpuset')!;
      const cpus = readTrimmed(path.join(mp, 'cpuset.cpus'));
      const mems = readTrimmed(path.join(mp, 'cpuset.mems'));
      const parent = this.dir('cpuset')!;
      writes.push([path.join(parent, 'cpuset.cpus'), cpus], [path.join(parent, 'cpuset.mems'), mems]);
      writes.push([path.join(cpuset, 'cpuset.cpus'), limits.cpusetCpus ?? cpus], [path.join(cpuset, 'cpuset.mems'), mems]);
    }
    const memory = this.dir('memory', id);
    if (memory && limits.memory !== undefined) {
      writes.push([path.join(memory, 'memory.limit_in_bytes'), String(limits.memory)]);
      const swap = limits.memorySwap ?? limits.memory * 2;
      const memsw = path.join(memory, 'memory.memsw.limit_in_bytes');
      // Without swap accounting there is no memsw file; docker then ignores the swap limit too.
      if (this.hasFile('memory', 'memory.memsw.limit_in_bytes')) writes.push([memsw, String(swap)]);
    }
    const cpu = has('cpu') ? this.dir('cpu', id) : undefined;
    if (cpu && limits.cpus !== undefined) {
      writes.push([path.join(cpu, 'cpu.cfs_period_us'), '100000']);
      writes.push([path.join(cpu, 'cpu.cfs_quota_us'), String(Math.round(limits.cpus * 100000))]);
    }
    if (cpu && limits.cpuShares !== undefined) writes.push([path.join(cpu, 'cpu.shares'), String(limits.cpuShares)]);
    const pids = this.dir('pids', id);
    if (pids && limits.pidsLimit !== undefined)
      writes.push([path.join(pids, 'pids.max'), limits.pidsLimit < 0 ? 'max' : String(limits.pidsLimit)]);
    const devices = this.dir('devices', id);
    if (devices && opts.allDevices) {
      writes.push([path.join(devices, 'devices.allow'), 'a']);
    } else if (devices) {
      writes.push([path.join(devices, 'devices.deny'), 'a']);
      for (const rule of DEFAULT_DEVICE_RULES) writes.push([path.join(devices, 'devices.allow'), rule]);
    }
    // The child writes "0" (itself) into `tasks`: moving only the calling thread skips the global
    // threadgroup lock, whose RCU grace period otherwise costs ~10 ms per start. The child has a
    // single thread, so this moves the whole process.
    const procs = joined.map((mp) => path.join(mp, this.parent, id, 'tasks'));
    return { dirs, writes, procs };
  }

  private hasFile(controller: string, file: string): boolean {
    const mp = this.controllers.get(controller);
    return mp !== undefined && fs.existsSync(path.join(mp, file));
  }

  stats(id: string): CgroupStats {
    const f = (controller: string, file: string) => path.join(this.dir(controller, id) ?? '/nonexistent', file);
    const limit = readNumber(f('memory', 'memory.limit_in_bytes'));
    return {
      memoryBytes: readNumber(f('memory', 'memory.usage_in_bytes')),
      // v1 reports "no limit" as a huge page-rounded number
      memoryLimit: limit !== undefined && limit < 2 ** 60 ? limit : undefined,
      cpuNanos: readNumber(f('cpuacct', 'cpuacct.usage')),
      pids: readNumber(f('pids', 'pids.current')),
    };
  }

  pids(id: string): number[] {
    return readPids(path.join(this.dir('pids', id) ?? this.dirs(id)[0], 'cgroup.procs'));
  }

  joinFiles(id: string): string[] {
    return this.dirs(id)
      .filter((d) => fs.existsSync(d))
      .map((d) => path.join(d, 'tasks'));
  }

  oomKilled(id: string): boolean {
    const memory = this.dir('memory', id);
    if (!memory) return false;
    return (readKeyValues(path.join(memory, 'memory.oom_control')).get('oom_kill') ?? 0) > 0;
  }

  remove(id: string): void {
    removeCgroupDirs(this.dirs(id));
  }
}
