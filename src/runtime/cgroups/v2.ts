import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasBlockIO, v2IOWrites } from './block-io';
import { rdmaWrites, readKeyValues, readNumber, readPids, removeCgroupDirs, resourceError } from './common';
import { checkPageSizes, hugetlbWrites } from './hugetlb';
import type { CgroupHostOptions, CgroupLimits, CgroupManager, CgroupPlan, CgroupStats, DevicePlanOptions } from './types';

const WANTED = ['cpuset', 'cpu', 'memory', 'pids'];
/** Controllers whose files a unified key may name; they are enabled when a key needs them. */
const CONTROLLERS = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'];

/** cgroup v2: one tree; controllers are enabled top-down through cgroup.subtree_control. */
export class CgroupV2 implements CgroupManager {
  readonly version = 2 as const;

  constructor(
    readonly mountPoint: string,
    private readonly parent = 'berth',
    private readonly host: CgroupHostOptions = {},
  ) {}

  dirs(id: string): string[] {
    return [path.join(this.mountPoint, this.parent, id)];
  }

  /** What the root's cgroup.controllers offers. */
  private offered(): string[] {
    if (this.host.controllersOf) return this.host.controllersOf(this.mountPoint);
    try {
      return fs.readFileSync(path.join(this.mountPoint, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    } catch {
      return [];
    }
  }

  /** The controllers to enable down to the container: berth's usual ones where offered, and every
   *  one a limit needs, which must be offered. */
  private controllers(limits: CgroupLimits): string[] {
    const have = this.offered();
    const out = WANTED.filter((c) => have.includes(c));
    const need = (controller: string, field: string) => {
      if (!have.includes(controller))
        throw resourceError(
          field,
          `the ${controller} controller is not available in ${this.mountPoint} (its cgroup.controllers does not list it)`,
        );
      if (!out.includes(controller)) out.push(controller);
    };
    if (hasBlockIO(limits.blockIO)) need('io', 'blockIO');
    if (limits.hugepages?.length) need('hugetlb', 'hugepageLimits');
    if (Object.keys(limits.rdma ?? {}).length) need('rdma', 'rdma');
    for (const key of Object.keys(limits.unified ?? {})) {
      const controller = key.split('.')[0];
      if (CONTROLLERS.includes(controller)) need(controller, `unified[${JSON.stringify(key)}]`);
    }
    return out;
  }

  plan(id: string, limits: CgroupLimits, opts: DevicePlanOptions = {}): CgroupPlan {
    refuseV1Only(limits);
    refusePartialDeviceRules(opts);
    const parent = path.join(this.mountPoint, this.parent);
    const dir = path.join(parent, id);
    const writes: Array<[string, string]> = [];
    const enable = this.controllers(limits)
      .map((c) => `+${c}`)
      .join(' ');
    if (enable) {
      writes.push([path.join(this.mountPoint, 'cgroup.subtree_control'), enable]);
      writes.push([path.join(parent, 'cgroup.subtree_control'), enable]);
    }
    writes.push(...v2LimitWrites(dir, limits));
    // BFQ's io.bfq.weight is on no root: an existing parent shows whether the kernel has it.
    if (limits.blockIO)
      writes.push(...v2IOWrites(dir, limits.blockIO, fs.existsSync(path.join(parent, 'io.bfq.weight')), this.host.sysDevBlock));
    if (limits.hugepages?.length) {
      checkPageSizes(limits.hugepages, this.host.hugepagesDir);
      writes.push(...hugetlbWrites(dir, limits.hugepages, 2));
    }
    writes.push(...rdmaWrites(dir, limits.rdma));
    // Last, so that a caller's own file wins over berth's conversion of the same limit (as runc).
    for (const [key, value] of Object.entries(limits.unified ?? {})) writes.push([path.join(dir, key), value]);
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

/** v2's device control is an eBPF program attached to the cgroup, which berth does not load: no
 *  device access is refused by the cgroup here, so an allow rule holds as it is, but a rule that
 *  gives less than rwm (--device /dev/x:r) cannot be enforced and is refused, never dropped. */
function refusePartialDeviceRules(opts: DevicePlanOptions): void {
  const partial = (opts.deviceRules ?? []).find((r) => !r.endsWith(' rwm'));
  if (partial !== undefined)
    throw resourceError(
      'devices',
      `the device rule ${JSON.stringify(partial)} allows less than rwm, and cgroup v2 device control needs an eBPF program berth does not load yet; give rwm or use a cgroup v1 host`,
    );
}

/** v1 knobs cgroup v2 has no file for: refused rather than dropped. */
function refuseV1Only(limits: CgroupLimits): void {
  const none = (field: string, why: string) => {
    throw resourceError(field, `cgroup v2 has no such file (${why}); leave it out`);
  };
  if (limits.memorySwappiness !== undefined) none('memory.swappiness', 'v2 has only the global vm.swappiness');
  if (limits.disableOOMKiller) none('memory.disableOOMKiller', 'v2 cannot turn the OOM killer off for a cgroup');
  if (limits.kernelTcp !== undefined) none('memory.kernelTCP', 'v2 charges TCP buffers to memory.max');
  if (limits.cpuRtRuntime !== undefined || limits.cpuRtPeriod !== undefined)
    none(limits.cpuRtRuntime !== undefined ? 'cpu.realtimeRuntime' : 'cpu.realtimePeriod', 'v2 has no real-time group bandwidth');
  if (limits.netClassId !== undefined) none('network.classID', 'net_cls is a v1 controller');
  if (limits.netPriorities?.length) none('network.priorities', 'net_prio is a v1 controller');
}

/** The v2 spellings of docker's limits and of the OCI ones that need no host facts (the same
 *  conversions runc uses). */
export function v2LimitWrites(dir: string, limits: CgroupLimits): Array<[string, string]> {
  const w: Array<[string, string]> = [];
  const f = (name: string) => path.join(dir, name);
  if (limits.memory !== undefined) {
    w.push([f('memory.max'), String(limits.memory)]);
    const swap = limits.memorySwap ?? limits.memory * 2;
    w.push([f('memory.swap.max'), swap < 0 ? 'max' : String(swap - limits.memory)]);
  }
  if (limits.cpus !== undefined || limits.cpuPeriod !== undefined) {
    const period = limits.cpuPeriod ?? 100000;
    w.push([f('cpu.max'), `${limits.cpus !== undefined ? Math.round(limits.cpus * period) : 'max'} ${period}`]);
  }
  if (limits.cpuShares !== undefined) w.push([f('cpu.weight'), String(sharesToWeight(limits.cpuShares))]);
  if (limits.cpusetCpus !== undefined) w.push([f('cpuset.cpus'), limits.cpusetCpus]);
  if (limits.pidsLimit !== undefined) w.push([f('pids.max'), limits.pidsLimit < 0 ? 'max' : String(limits.pidsLimit)]);
  if (limits.cpusetMems !== undefined) w.push([f('cpuset.mems'), limits.cpusetMems]);
  // memory.low: protected below this, v2's nearest to v1's soft limit (runc's choice too)
  if (limits.memoryReservation !== undefined)
    w.push([f('memory.low'), limits.memoryReservation < 0 ? 'max' : String(limits.memoryReservation)]);
  if (limits.cpuIdle !== undefined) w.push([f('cpu.idle'), String(limits.cpuIdle)]);
  if (limits.cpuBurst !== undefined) w.push([f('cpu.max.burst'), String(limits.cpuBurst)]);
  return w;
}

/** cpu.shares (2..262144) to cpu.weight (1..10000), as runc converts. */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}
