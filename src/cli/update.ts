/** `berth update`: docker's update of running (or stopped) containers' resource limits. */
import { checkUpdateOptions, type UpdateOptions } from '../runtime/container-update';
import { command } from './command';
import { forEach } from './lifecycle-commands';

const update = command({
  name: 'update',
  operands: 'CONTAINER [CONTAINER...]',
  summary: "Update containers' resource limits, at once if they run, and for every later start.",
  flags: [
    { name: '--cpus', kind: 'string', value: 'N', help: 'Number of CPUs, like 0.5' },
    { name: '--cpu-shares', short: 'c', kind: 'string', value: 'N', help: 'CPU shares (relative weight)' },
    { name: '--cpuset-cpus', kind: 'string', value: 'LIST', help: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: '--cpuset-mems', kind: 'string', value: 'LIST', help: 'MEMs in which to allow execution (0-3, 0,1)' },
    { name: '--cpu-period', kind: 'string', value: 'US', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { name: '--cpu-quota', kind: 'string', value: 'US', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { name: '--memory', short: 'm', kind: 'string', value: 'SIZE', help: 'Memory limit, like 64m' },
    { name: '--memory-swap', kind: 'string', value: 'SIZE', help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
    { name: '--memory-reservation', kind: 'string', value: 'SIZE', help: 'Memory soft limit' },
    { name: '--pids-limit', kind: 'string', value: 'N', help: 'Tune container pids limit (set -1 for unlimited)' },
    { name: '--blkio-weight', kind: 'string', value: 'N', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable' },
    {
      name: '--restart',
      kind: 'string',
      value: 'POLICY',
      help: "Restart policy to apply when a container exits (a running detached container's shim takes it at its next start)",
    },
  ],
  run(args, global): Promise<number> {
    const o: UpdateOptions = {
      cpus: args.cpus,
      cpuShares: args.cpuShares,
      cpusetCpus: args.cpusetCpus,
      cpusetMems: args.cpusetMems,
      cpuPeriod: args.cpuPeriod,
      cpuQuota: args.cpuQuota,
      memory: args.memory,
      memorySwap: args.memorySwap,
      memoryReservation: args.memoryReservation,
      pidsLimit: args.pidsLimit,
      blkioWeight: args.blkioWeight,
      restart: args.restart,
    };
    const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as UpdateOptions;
    checkUpdateOptions(given, 'berth update'); // a bad flag is a usage error, not each container's failure
    return forEach(update, args, global, (b, ref) => b.update(ref, given));
  },
});

export default update;
