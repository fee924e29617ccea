/**
 * `berth-oci update`: new resource limits for a container, from `--resources FILE|-` (a runtime
 * spec linux.resources object, what containerd's shim sends on stdin) or from runc's per-limit
 * flags. Only what is given changes: the runtime gets a Resources with just those fields, checked
 * and converted as create's (src/oci/resources.ts): block I/O, huge pages, unified, ... included.
 */
import * as fs from 'node:fs';
import type { Resources } from '../oci/spec';
import { command } from './command';
import { errorMessage, OciCliError } from './errors';
import type { Parsed } from './flags';

const FLAGS = [
  {
    name: 'resources',
    short: 'r',
    kind: 'string',
    usage: "path to the file containing the resources to update or '-' to read from the standard input",
  },
  { name: 'blkio-weight', kind: 'uint', default: '0', usage: 'Specifies per cgroup weight, range is from 10 to 1000' },
  { name: 'cpu-period', kind: 'string', usage: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
  { name: 'cpu-quota', kind: 'string', usage: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
  { name: 'cpu-share', kind: 'string', usage: 'CPU shares (relative weight vs. other containers)' },
  { name: 'cpu-shares', kind: 'string', usage: 'CPU shares', hidden: true },
  { name: 'cpu-burst', kind: 'string', usage: 'CPU CFS burst limit (in usecs), on top of the quota' },
  { name: 'cpu-idle', kind: 'string', usage: 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE' },
  { name: 'cpu-rt-period', kind: 'string', usage: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
  { name: 'cpu-rt-runtime', kind: 'string', usage: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
  { name: 'cpuset-cpus', kind: 'string', usage: 'CPU(s) to use' },
  { name: 'cpuset-mems', kind: 'string', usage: 'Memory node(s) to use' },
  { name: 'memory', kind: 'string', usage: 'Memory limit (in bytes, or with a unit: 64m)' },
  { name: 'memory-reservation', kind: 'string', usage: 'Memory reservation or soft_limit (in bytes)' },
  { name: 'memory-swap', kind: 'string', usage: "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
  { name: 'kernel-memory', kind: 'string', usage: 'Kernel memory limit (ignored, as by runc)', hidden: true },
  { name: 'kernel-memory-tcp', kind: 'string', usage: 'Kernel memory limit (in bytes) for tcp buffer (cgroup v1 only)' },
  { name: 'pids-limit', kind: 'int', default: '0', usage: 'Maximum number of pids allowed in the container' },
  { name: 'l3-cache-schema', kind: 'string', usage: 'The string of Intel RDT/CAT L3 cache schema (not supported)' },
  { name: 'mem-bw-schema', kind: 'string', usage: 'The string of Intel RDT/MBA memory bandwidth schema (not supported)' },
] as const;

type UpdateArgs = Parsed<typeof FLAGS>;

export const update = command({
  name: 'update',
  summary: 'update container resource constraints',
  args: '<container-id>',
  description: 'With --resources, the other options are ignored (as by runc).',
  flags: FLAGS,
  minArgs: 1,
  maxArgs: 1,
  run(a, ctx) {
    const resources = a.resources ? readResources(a.resources, ctx.io.stdin) : resourcesFromFlags(a);
    ctx.runtime().update(a._[0], resources);
    return 0;
  },
});

function readResources(source: string, stdin: () => string): Resources {
  let text: string;
  try {
    text = source === '-' ? stdin() : fs.readFileSync(source, 'utf8');
  } catch (e) {
    throw new OciCliError(`open ${source}: ${errorMessage(e)}`);
  }
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new OciCliError(`resources from ${source === '-' ? 'stdin' : source}: ${errorMessage(e)}`);
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r))
    throw new OciCliError(`resources from ${source === '-' ? 'stdin' : source}: expected a JSON object`);
  return r as Resources;
}

export function resourcesFromFlags(a: UpdateArgs): Resources {
  if (a['l3-cache-schema'] || a['mem-bw-schema']) throw new OciCliError('Intel RDT is not supported by berth-oci');
  const r: Resources = {};
  const memory: NonNullable<Resources['memory']> = {};
  const cpu: NonNullable<Resources['cpu']> = {};
  const mem = (flag: 'memory' | 'memory-swap' | 'memory-reservation' | 'kernel-memory-tcp') =>
    a[flag] ? ramInBytes(a[flag], flag) : undefined;
  const limit = mem('memory');
  if (limit !== undefined) memory.limit = limit;
  const swap = mem('memory-swap');
  if (swap !== undefined) memory.swap = swap;
  const reservation = mem('memory-reservation');
  if (reservation !== undefined) memory.reservation = reservation;
  const kernelTCP = mem('kernel-memory-tcp');
  if (kernelTCP !== undefined) memory.kernelTCP = kernelTCP;
  const shares = a['cpu-share'] || a['cpu-shares'];
  if (shares) cpu.shares = integer(shares, 'cpu-share', false);
  if (a['cpu-period']) cpu.period = integer(a['cpu-period'], 'cpu-period', false);
  if (a['cpu-quota']) cpu.quota = integer(a['cpu-quota'], 'cpu-quota', true);
  if (a['cpu-burst']) cpu.burst = integer(a['cpu-burst'], 'cpu-burst', false);
  if (a['cpu-idle']) cpu.idle = integer(a['cpu-idle'], 'cpu-idle', false);
  if (a['cpu-rt-period']) cpu.realtimePeriod = integer(a['cpu-rt-period'], 'cpu-rt-period', false);
  if (a['cpu-rt-runtime']) cpu.realtimeRuntime = integer(a['cpu-rt-runtime'], 'cpu-rt-runtime', true);
  if (a['cpuset-cpus']) cpu.cpus = a['cpuset-cpus'];
  if (a['cpuset-mems']) cpu.mems = a['cpuset-mems'];
  if (Object.keys(memory).length > 0) r.memory = memory;
  if (Object.keys(cpu).length > 0) r.cpu = cpu;
  // As runc: 0 means "not given" for both.
  if (a['pids-limit'] !== 0) r.pids = { limit: a['pids-limit'] };
  if (a['blkio-weight'] !== 0) r.blockIO = { weight: a['blkio-weight'] };
  return r;
}

function integer(s: string, flag: string, signed: boolean): number {
  const n = Number(s);
  if (!(signed ? /^-?\d+$/ : /^\d+$/).test(s) || !Number.isSafeInteger(n)) {
    throw new OciCliError(`invalid value for ${flag}: ${JSON.stringify(s)} is not ${signed ? 'an integer' : 'a non-negative integer'}`);
  }
  return n;
}

const RAM_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker's units.RAMInBytes, as runc reads its memory flags: 1024-based units, an optional i
 *  and b ("64m", "1.5GiB", "512 kb"); -1 for unlimited. */
export function ramInBytes(s: string, flag: string): number {
  if (s === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(s);
  const n = m ? Math.floor(Number(m[1]) * RAM_UNITS[(m[2] ?? '').toLowerCase()]) : NaN;
  if (!m || !Number.isSafeInteger(n)) throw new OciCliError(`invalid value for ${flag}: invalid size: ${JSON.stringify(s)}`);
  return n;
}
