/** The process part of an OCI config (create's process and exec's process.json alike) in the
 *  plan's terms: capability sets and rlimits. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { CAPS, DEFAULT_CAPS } from '../native/constants';
import { quote } from '../util/quote';
import type { Process } from './spec';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where execve looks for argv[0]: as given when it has a slash, else each $PATH entry in turn. */
export function execCandidates(cmd: string, env: string[]): string[] {
  if (cmd.includes('/')) return [cmd];
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const dirs = pathVar.split(':').map((d) => d || '.');
  return dirs.map((d) => path.posix.join(d, cmd));
}

let lastCap: number | undefined;
function capLastCap(): number {
  if (lastCap === undefined) {
    try {
      lastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    } catch {
      lastCap = 40;
    }
  }
  return lastCap;
}

export function capabilityPlan(keep: readonly string[] = DEFAULT_CAPS): { drop: number[]; mask: [number, number] } {
  const keepNums = new Set(
    keep.map((c) => {
      if (CAPS[c] === undefined)
        throw new BerthError('INVALID_ARGUMENT', `Unknown capability ${quote(c)}; expected a name like CAP_NET_ADMIN`);
      return CAPS[c];
    }),
  );
  const drop: number[] = [];
  for (let c = 0; c <= capLastCap(); c++) if (!keepNums.has(c)) drop.push(c);
  const mask: [number, number] = [0, 0];
  for (const c of keepNums) mask[c >> 5] = (mask[c >> 5] | (1 << (c & 31))) >>> 0;
  return { drop, mask };
}

const fail = (field: string, why: string): never => {
  throw new BerthError('INVALID_ARGUMENT', `config.json ${field}: ${why}`);
};

const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};
// 2^64-1 (RLIM_INFINITY) does not survive a double; the plan says -1.
const rlimitValue = (v: number) => (v >= 2 ** 63 ? -1 : v);

export interface ProcessCapabilities {
  drop: number[];
  mask: [number, number];
  inheritable: [number, number];
  ambient: number[];
}

/** process.capabilities: the bounding set by what it lacks, effective ∪ permitted as one mask
 *  (the child sets both alike: no common config tells them apart), inheritable and ambient. */
export function capabilitiesOf(p: Process): ProcessCapabilities {
  const caps = p.capabilities ?? {};
  const check = (list: string[] | undefined, set: string) =>
    (list ?? []).forEach((c) => CAPS[c] === undefined && fail(`process.capabilities.${set}`, `unknown capability ${quote(c)}`));
  for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) check(caps[set], set);
  const bounding = new Set(caps.bounding ?? []);
  const kept = [...new Set([...(caps.effective ?? []), ...(caps.permitted ?? [])])].filter((c) => bounding.has(c));
  const inheritable = (caps.inheritable ?? []).filter((c) => bounding.has(c));
  // the kernel raises an ambient capability only if it is permitted and inheritable
  const ambient = (caps.ambient ?? []).filter((c) => kept.includes(c) && inheritable.includes(c));
  return {
    drop: capabilityPlan([...bounding]).drop,
    mask: capabilityPlan(kept).mask,
    inheritable: capabilityPlan(inheritable).mask,
    ambient: ambient.map((c) => CAPS[c]),
  };
}

/** process.rlimits as [RLIMIT_* number, soft, hard]. */
export function rlimitsOf(p: Process): Array<[number, number, number]> {
  return (p.rlimits ?? []).map((l, i): [number, number, number] => {
    const resource = RLIMITS[l.type] ?? fail(`process.rlimits[${i}].type`, `unknown rlimit ${quote(l.type)}`);
    return [resource, rlimitValue(l.soft), rlimitValue(l.hard)];
  });
}

/** --preserve-fds' count, checked (the native side trusts it). */
export function preservedFds(n: number | undefined): number {
  if (n === undefined) return 0;
  if (!Number.isInteger(n) || n < 0 || n > 1024)
    throw new BerthError('INVALID_ARGUMENT', `--preserve-fds: expected a number of descriptors from 0 to 1024 but received ${quote(n)}`);
  return n;
}
