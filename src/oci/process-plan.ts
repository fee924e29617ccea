/** The process part of an OCI config (create's process and exec's process.json alike) in the
 *  plan's terms: capability sets and rlimits. */
import { BerthError } from '../errors';
import { CAPS } from '../native/constants';
import { capabilityPlan } from '../runtime/plan';
import { quote } from '../util/quote';
import type { Process } from './spec';

const fail = (field: string, why: string): never => {
  throw new BerthError('INVALID_ARGUMENT', `config.json ${field}: ${why}`);
};

const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};
// 2^64-1 (RLIM_INFINITY) does not survive a double; the plan says -1.
const rlimitValue = (v: number) => (v >= 2 ** 63 ? -1 : v);

export function capabilitiesOf(p: Process): { drop: number[]; mask: [number, number] } {
  const caps = p.capabilities ?? {};
  const check = (list: string[] | undefined, set: string) =>
    (list ?? []).forEach((c) => CAPS[c] === undefined && fail(`process.capabilities.${set}`, `unknown capability ${quote(c)}`));
  for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) check(caps[set], set);
  if ((caps.ambient ?? []).length > 0 && p.user.uid !== 0) fail('process.capabilities.ambient', 'ambient capabilities for a non-root user are not supported by berth-oci yet');
  const bounding = new Set(caps.bounding ?? []);
  // The child sets effective and permitted alike: to the union (a capability in only one of them
  // is granted in both; no common config tells them apart).
  const kept = new Set([...(caps.effective ?? []), ...(caps.permitted ?? [])].filter((c) => bounding.has(c)));
  const { drop } = capabilityPlan([...bounding]);
  const { mask } = capabilityPlan([...kept]);
  return { drop, mask };
}


/** process.rlimits as [RLIMIT_* number, soft, hard]. */
export function rlimitsOf(p: Process): Array<[number, number, number]> {
  return (p.rlimits ?? []).map((l, i): [number, number, number] => {
    const resource = RLIMITS[l.type] ?? fail(`process.rlimits[${i}].type`, `unknown rlimit ${quote(l.type)}`);
    return [resource, rlimitValue(l.soft), rlimitValue(l.hard)];
  });
}
