import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasBlockIO, v1BlockIOWrites, v1WeightFiles } from './block-io';
import { readKeyValues, readNumber, readPids, rdmaWrites, readTrimmed, removeCgroupDirs, resourceError } from './common';
import { checkPageSizes, hugetlbWrites, hybridHugetlbTree } from './hugetlb';
import type { MountInfoEntry } from './mountinfo';
import type { CgroupHostOptions, CgroupLimits, CgroupManager, CgroupPlan, CgroupStats, DevicePlanOptions } from './types';

/** The v1 controllers berth uses; others (perf_event, ...) are left alone. */
const JOINED = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'freezer', 'blkio', 'hugetlb', 'net_cls', 'net_prio', 'rdma'];
/** Joined by every container: memory and pids for limits, OOM detection and stats, cpuacct for CPU
 *  stats, devices for security, freezer for pause (src/oci/freezer.ts freezes it; a container
 *  cannot join it later). cpu and cpuset only when a limit needs them: each hierarchy costs a
 *  mkdir, writes, a join and an rmdir on every start (the freezer needs no write). */
const ALWAYS = ['cpuacct', 'memory', 'pids', 'devices', 'freezer'];

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

  private hybridTree: string | undefined | null = null;

  constructor(
    private readonly mounts: MountInfoEntry[],
    private readonly parent = 'berth',
    private readonly host: CgroupHostOptions = {},
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

  /** A hybrid host's cgroup2 tree when hugetlb lives there rather than in a v1 hierarchy (read
   *  once: cgroup.controllers of its root). Its cgroups take v2 file names and cgroup.procs. */
  hugetlbTree(): string | undefined {
    if (this.controllers.has('hugetlb')) return undefined;
    if (this.hybridTree === null) this.hybridTree = hybridHugetlbTree(this.mounts, this.host.controllersOf);
    return this.hybridTree;
  }

  private dir(controller: string, id?: string): string | undefined {
    const mp = this.controllers.get(controller);
    if (!mp) return undefined;
    return id === undefined ? path.join(mp, this.parent) : path.join(mp, this.parent, id);
  }

  /** Every directory the container may have (removal tolerates the ones it did not get). */
  dirs(id: string): string[] {
    const tree = this.hugetlbTree();
    return [...this.hierarchies(), ...(tree ? [tree] : [])].map((mp) => path.join(mp, this.parent, id));
  }

  /** The hierarchies this container joins, given its limits. A limit whose controller is not
   *  mounted is refused (the base ones keep their old leniency: docker's limits on a host without
   *  that hierarchy are skipped). */
  private joined(limits: CgroupLimits): string[] {
    const wanted = new Set(ALWAYS);
    const cpuExtras = [limits.cpuRtRuntime, limits.cpuRtPeriod, limits.cpuIdle, limits.cpuBurst];
    if (
      limits.cpus !== undefined ||
      limits.cpuPeriod !== undefined ||
      limits.cpuShares !== undefined ||
      cpuExtras.some((v) => v !== undefined)
    )
      wanted.add('cpu');
    if (limits.cpusetCpus !== undefined || limits.cpusetMems !== undefined) wanted.add('cpuset');
    const need = (controller: string, field: string, asked: boolean, elsewhere = false) => {
      if (!asked) return;
      if (!this.controllers.has(controller) && !elsewhere)
        throw resourceError(field, `the ${controller} cgroup controller is not mounted on this host (no v1 hierarchy has it)`);
      wanted.add(controller);
    };
    need('blkio', 'blockIO', hasBlockIO(limits.blockIO));
    need('hugetlb', 'hugepageLimits', (limits.hugepages?.length ?? 0) > 0, this.hugetlbTree() !== undefined);
    need('net_cls', 'network.classID', limits.netClassId !== undefined);
    need('net_prio', 'network.priorities', (limits.netPriorities?.length ?? 0) > 0);
    need('rdma', 'rdma', Object.keys(limits.rdma ?? {}).length > 0);
    need(
      'cpu',
      'cpu',
      cpuExtras.some((v) => v !== undefined),
    );
    const mps = new Set<string>();
    for (const [controller, mp] of this.controllers) if (wanted.has(controller)) mps.add(mp);
    return [...mps];
  }

  plan(id: string, limits: CgroupLimits, opts: DevicePlanOptions = {}): CgroupPlan {
    if (limits.unified && Object.keys(limits.unified).length > 0)
      throw resourceError('unified', 'cgroup v2 files cannot be written on this cgroup v1 host; leave it out');
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
      writes.push(
        [path.join(cpuset, 'cpuset.cpus'), limits.cpusetCpus ?? cpus],
        [path.join(cpuset, 'cpuset.mems'), limits.cpusetMems ?? mems],
      );
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
    if (cpu && (limits.cpus !== undefined || limits.cpuPeriod !== undefined)) {
      const period = limits.cpuPeriod ?? 100000;
      writes.push([path.join(cpu, 'cpu.cfs_period_us'), String(period)]);
      if (limits.cpus !== undefined) writes.push([path.join(cpu, 'cpu.cfs_quota_us'), String(Math.round(limits.cpus * period))]);
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
      for (const rule of opts.deviceRules ?? []) writes.push([path.join(devices, 'devices.allow'), rule]);
    }
    if (memory) writes.push(...memoryExtraWrites(memory, limits));
    if (cpu) writes.push(...this.cpuExtraWrites(cpu, limits));
    const blkio = has('blkio') ? this.dir('blkio', id) : undefined;
    if (blkio && limits.blockIO) {
      const mp = this.controllers.get('blkio')!;
      writes.push(...v1BlockIOWrites(blkio, limits.blockIO, v1WeightFiles(mp, this.dir('blkio')!), mp, this.host.sysDevBlock));
    }
    const netCls = has('net_cls') ? this.dir('net_cls', id) : undefined;
    if (netCls && limits.netClassId !== undefined) writes.push([path.join(netCls, 'net_cls.classid'), String(limits.netClassId)]);
    const netPrio = has('net_prio') ? this.dir('net_prio', id) : undefined;
    // ifpriomap takes one "interface priority" a write
    for (const p of netPrio ? (limits.netPriorities ?? []) : [])
      writes.push([path.join(netPrio!, 'net_prio.ifpriomap'), `${p.name} ${p.priority}`]);
    const rdma = has('rdma') ? this.dir('rdma', id) : undefined;
    if (rdma) writes.push(...rdmaWrites(rdma, limits.rdma));
    const hugetlb = has('hugetlb') ? this.dir('hugetlb', id) : undefined;
    if (limits.hugepages?.length) checkPageSizes(limits.hugepages, this.host.hugepagesDir);
    if (hugetlb && limits.hugepages) writes.push(...hugetlbWrites(hugetlb, limits.hugepages, 1));
    // The child writes "0" (itself) into `tasks`: moving only the calling thread skips the global
    // threadgroup lock, whose RCU grace period otherwise costs ~10 ms per start. The child has a
    // single thread, so this moves the whole process.
    const procs = joined.map((mp) => path.join(mp, this.parent, id, 'tasks'));
    const tree = this.hugetlbTree();
    if (tree && !hugetlb && limits.hugepages?.length) {
      // Hybrid: the container gets a cgroup in the v2 tree too, hugetlb enabled down to it.
      const parent = path.join(tree, this.parent);
      const own = path.join(parent, id);
      dirs.push(parent, own);
      writes.push([path.join(tree, 'cgroup.subtree_control'), '+hugetlb'], [path.join(parent, 'cgroup.subtree_control'), '+hugetlb']);
      writes.push(...hugetlbWrites(own, limits.hugepages, 2));
      procs.push(path.join(own, 'cgroup.procs'));
    }
    return { dirs, writes, procs };
  }

  /** Real-time bandwidth (period before runtime, as the kernel checks runtime against it), the
   *  SCHED_IDLE flag and the CFS burst. */
  private cpuExtraWrites(cpu: string, limits: CgroupLimits): Array<[string, string]> {
    const w: Array<[string, string]> = [];
    if (limits.cpuRtPeriod !== undefined) w.push([path.join(cpu, 'cpu.rt_period_us'), String(limits.cpuRtPeriod)]);
    if (limits.cpuRtRuntime !== undefined) {
      // A new cgroup has no real-time runtime, and a child may never have more than its parent: the
      // kernel's EINVAL would not say why.
      const parent = this.dir('cpu')!;
      const budget = readNumber(path.join(parent, 'cpu.rt_runtime_us')) ?? 0;
      if (limits.cpuRtRuntime > 0 && budget === 0) {
        throw resourceError(
          'cpu.realtimeRuntime',
          `the parent cgroup ${parent} has no real-time budget (its cpu.rt_runtime_us is 0), so its children can have none; give it one first or leave realtimeRuntime out`,
        );
      }
      w.push([path.join(cpu, 'cpu.rt_runtime_us'), String(limits.cpuRtRuntime)]);
    }
    if (limits.cpuIdle !== undefined) w.push([path.join(cpu, 'cpu.idle'), String(limits.cpuIdle)]);
    if (limits.cpuBurst !== undefined) w.push([path.join(cpu, 'cpu.cfs_burst_us'), String(limits.cpuBurst)]);
    return w;
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
    const tree = this.hugetlbTree();
    return this.dirs(id)
      .filter((d) => fs.existsSync(d))
      .map((d) => path.join(d, tree && d.startsWith(`${tree}/`) ? 'cgroup.procs' : 'tasks'));
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

/** v1's memory files beyond the limit: the soft limit, swappiness, the OOM killer switch and the
 *  TCP buffer limit. (linux.resources.memory.kernel never reaches here: see src/oci/resources.ts.) */
function memoryExtraWrites(memory: string, limits: CgroupLimits): Array<[string, string]> {
  const w: Array<[string, string]> = [];
  const f = (name: string) => path.join(memory, name);
  if (limits.memoryReservation !== undefined) w.push([f('memory.soft_limit_in_bytes'), String(limits.memoryReservation)]);
  if (limits.memorySwappiness !== undefined) w.push([f('memory.swappiness'), String(limits.memorySwappiness)]);
  if (limits.disableOOMKiller) w.push([f('memory.oom_control'), '1']);
  if (limits.kernelTcp !== undefined) w.push([f('memory.kmem.tcp.limit_in_bytes'), String(limits.kernelTcp)]);
  return w;
}
