import type { ResourceLimits } from '../limits';

/** What the native addon performs for one container: mkdir, then writes in order, then the child
 *  writes itself into each procs file. */
export interface CgroupPlan {
  dirs: string[];
  writes: Array<[string, string]>;
  procs: string[];
}

/** One block device, by its device numbers, with a rate (bytes or operations per second). */
export interface DeviceRate {
  major: number;
  minor: number;
  rate: number;
}

export interface DeviceWeight {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

/** linux.resources.blockIO in v1's terms (weights 10..1000); v2 converts. */
export interface BlockIOLimits {
  weight?: number;
  leafWeight?: number;
  weightDevices?: DeviceWeight[];
  readBps?: DeviceRate[];
  writeBps?: DeviceRate[];
  readIops?: DeviceRate[];
  writeIops?: DeviceRate[];
}

/** Everything a cgroup manager can apply: docker's limits plus the rest of an OCI
 *  linux.resources, validated (src/oci/resources.ts). Fields a cgroup version has no file for are
 *  refused by that version's manager, never dropped. */
export interface CgroupLimits extends ResourceLimits {
  /** The CFS period in microseconds that cpus' quota is a share of (default 100000). */
  cpuPeriod?: number;
  cpusetMems?: string;
  memoryReservation?: number;
  memorySwappiness?: number;
  disableOOMKiller?: boolean;
  kernelTcp?: number;
  cpuRtRuntime?: number;
  cpuRtPeriod?: number;
  cpuIdle?: number;
  cpuBurst?: number;
  blockIO?: BlockIOLimits;
  /** pageSize as the kernel names it in hugetlb.<pageSize>.* ("2MB", "1GB"); limit in bytes. */
  hugepages?: Array<{ pageSize: string; limit: number }>;
  /** cgroup v2 file name -> value, written as given (v2 only). */
  unified?: Record<string, string>;
  netClassId?: number;
  netPriorities?: Array<{ name: string; priority: number }>;
  /** device name -> limits (rdma.max) */
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
}

/** The devices controller's part of a plan. */
export interface DevicePlanOptions {
  allDevices?: boolean;
  deviceRules?: readonly string[];
}

/** Where the host's kernel facts are read; tests point these at temp files. */
export interface CgroupHostOptions {
  /** /sys/kernel/mm/hugepages: the huge page sizes the kernel offers. */
  hugepagesDir?: string;
  /** /sys/dev/block: block devices by major:minor, with their I/O schedulers. */
  sysDevBlock?: string;
  /** The controllers a cgroup2 tree's root offers (its cgroup.controllers). */
  controllersOf?: (mountPoint: string) => string[];
}

export interface CgroupStats {
  memoryBytes?: number;
  /** undefined when unlimited */
  memoryLimit?: number;
  /** CPU time used, nanoseconds. */
  cpuNanos?: number;
  pids?: number;
}

/** One interface for cgroup v1 and v2 (and later systemd): policy in, file operations out. */
export interface CgroupManager {
  readonly version: 1 | 2;
  /** The container's cgroup directories, one per hierarchy (v2: one). */
  dirs(id: string): string[];
  /** `opts.allDevices`: --privileged, every device allowed (v1's devices controller);
   *  `opts.deviceRules`: allow rules after docker's defaults ("c 1:3 rwm": --device and
   *  --device-cgroup-rule; src/runtime/device-options.ts). */
  plan(id: string, limits: CgroupLimits, opts?: DevicePlanOptions): CgroupPlan;
  /** The files a process writes itself into to join the running container's cgroup (exec). */
  joinFiles(id: string): string[];
  /** True when the kernel's OOM killer killed a process of this container. Read before remove. */
  oomKilled(id: string): boolean;
  /** Current usage, read from the container's cgroup files. */
  stats(id: string): CgroupStats;
  /** PIDs (host view) of every process in the container. */
  pids(id: string): number[];
  /** Remove the container's cgroup directories; missing ones are fine. */
  remove(id: string): void;
}
