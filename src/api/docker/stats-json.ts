/** GET /containers/{id}/stats in docker's shape, from the cgroup figures berth reads. docker's
 *  clients compute CPU percent from the change of cpu_stats against precpu_stats: each sample
 *  carries the previous one's figures. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { ContainerInfo, ContainerStats } from '../../runtime/types';

/** The host's CPU time in nanoseconds, from /proc/stat's first line (docker's system_cpu_usage). */
function systemCpuNanos(): number {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const ticks = line
      .split(/\s+/)
      .slice(1, 8)
      .reduce((a, b) => a + Number(b || 0), 0);
    return (ticks * 1e9) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

export interface StatsJson {
  read: string;
  preread: string;
  cpu_stats: Record<string, unknown>;
  precpu_stats: Record<string, unknown>;
  [key: string]: unknown;
}

export function statsJson(c: ContainerInfo, s: ContainerStats | undefined, previous: StatsJson | undefined): StatsJson {
  const cpus = os.cpus().length;
  const cpu = {
    cpu_usage: { total_usage: s?.cpuNanos ?? 0, usage_in_kernelmode: 0, usage_in_usermode: s?.cpuNanos ?? 0 },
    system_cpu_usage: systemCpuNanos(),
    online_cpus: cpus,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
  return {
    read: new Date().toISOString(),
    preread: previous?.read ?? '0001-01-01T00:00:00Z',
    pids_stats: { current: s?.pids ?? 0 },
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpu,
    precpu_stats: previous?.cpu_stats ?? { cpu_usage: { total_usage: 0 }, throttling_data: {} },
    memory_stats: s ? { usage: s.memoryBytes ?? 0, limit: s.memoryLimit ?? os.totalmem(), stats: {} } : {},
    name: `/${c.config.name}`,
    id: c.config.id,
  };
}
