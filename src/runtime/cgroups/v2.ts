import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResourceLimits } from '../limits';
import { readKeyValues, readNumber, readPids, removeCgroupDirs } from './common';
import type { CgroupManager, CgroupPlan, CgroupStats } from './types';

const WANTED = ['cpuset', 'cpu', 'memory', 'pids'];

/** cgroup v2: one tree; controllers are enabled top-down through cgroup.subtree_control. */
export class CgroupV2 implements CgroupManager {
  readonly version = 2 as const;

  constructor(
    readonly mountPoint: string,
    private readonly parent = 'berth',
  ) {}

  dirs(id: string): string[] {
    return [path.join(this.mountPoint, this.parent, id)];
  }

  private available(): string[] {
    let text = '';
    try {
      text = fs.readFileSync(path.join(this.mountPoint, 'cgroup.controllers'), 'utf8');
    } catch {
      return [];
    }
    const have = text.trim().split(/\s+/);
    return WANTED.filter((c) => have.includes(c));
  }

  plan(id: string, limits: ResourceLimits): CgroupPlan {
    const parent = path.join(this.mountPoint, this.parent);
    const dir = path.join(parent, id);
    const writes: Array<[string, string]> = [];
    const enable = this.available()
      .map((c) => `+${c}`)
      .join(' ');
    if (enable) {
      writes.push([path.join(this.mountPoint, 'cgroup.subtree_control'), enable]);
      writes.push([path.join(parent, 'cgroup.subtree_control'), enable]);
    }
    writes.push(...v2LimitWrites(dir, limits));
    return { dirs: [parent, dir], writes, procs: [path.join(dir, 'cgroup.procs')] };
  }

  stats(id: string): CgroupStats {
    const dir = this.dirs(id)[0];
    const usec = readKeyValues(path.join(dir, 'cpu.stat')).get('usage_usec');
    return {
      memoryBytes: readNumber(path.join(dir, 'memory.current')),
      memoryLimit: readNumber(path.join(dir, 'memory.max')),
      cpuNanos: usec === undefined ? undefined : usec * 1000,
      pids: readNumber(path.join(dir, 'pids.current')),
    };
  }

  pids(id: string): number[] {
    return readPids(path.join(this.dirs(id)[0], 'cgroup.procs'));
  }

  joinFiles(id: string): string[] {
    return this.dirs(id)
      .filter((d) => fs.existsSync(d))
      .map((d) => path.join(d, 'cgroup.procs'));
  }

  oomKilled(id: string): boolean {
    return (readKeyValues(path.join(this.dirs(id)[0], 'memory.events')).get('oom_kill') ?? 0) > 0;
  }

  remove(id: string): void {
    removeCgroupDirs(this.dirs(id));
  }
}

/** The v2 spellings of docker's limits (the same conversions runc uses). */
export function v2LimitWrites(dir: string, limits: ResourceLimits): Array<[string, string]> {
  const w: Array<[string, string]> = [];
  const f = (name: string) => path.join(dir, name);
  if (limits.memory !== undefined) {
    w.push([f('memory.max'), String(limits.memory)]);
    const swap = limits.memorySwap ?? limits.memory * 2;
    w.push([f('memory.swap.max'), swap < 0 ? 'max' : String(swap - limits.memory)]);
  }
  if (limits.cpus !== undefined) w.push([f('cpu.max'), `${Math.round(limits.cpus * 100000)} 100000`]);
  if (limits.cpuShares !== undefined) w.push([f('cpu.weight'), String(sharesToWeight(limits.cpuShares))]);
  if (limits.cpusetCpus !== undefined) w.push([f('cpuset.cpus'), limits.cpusetCpus]);
  if (limits.pidsLimit !== undefined) w.push([f('pids.max'), limits.pidsLimit < 0 ? 'max' : String(limits.pidsLimit)]);
  return w;
}

/** cpu.shares (2..262144) to cpu.weight (1..10000), as runc converts. */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}
