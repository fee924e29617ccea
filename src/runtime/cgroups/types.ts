import type { ResourceLimits } from '../limits';

/** What the native addon performs for one container: mkdir, then writes in order, then the child
 *  writes itself into each procs file. */
export interface CgroupPlan {
  dirs: string[];
  writes: Array<[string, string]>;
  procs: string[];
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
  /** `opts.allDevices`: --privileged, every device allowed (v1's devices controller). */
  plan(id: string, limits: ResourceLimits, opts?: { allDevices?: boolean }): CgroupPlan;
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
