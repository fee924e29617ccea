/**
 * docker's run flags that set the container's process and kernel state, parsed into the OCI
 * config's terms: --ulimit (process.rlimits), --sysctl (linux.sysctl), --oom-score-adj
 * (process.oomScoreAdj), --domainname. Pure functions of their values: the API boundary and
 * containerConfig both call them, so a bad value is refused before anything is made.
 */
import { BerthError, invalid } from '../errors';
import type { Rlimit } from '../oci/spec';
import { quote } from '../util/quote';

/** docker's --ulimit names (go-units) and the kernel's resource each sets. */
const ULIMIT_NAMES: Record<string, string> = {
  as: 'RLIMIT_AS',
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE',
  nice: 'RLIMIT_NICE',
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING',
  stack: 'RLIMIT_STACK',
};

/** RLIM_INFINITY as the OCI config's uint64 holds it (a double: specToPlan reads >= 2^63 as -1). */
export const RLIM_INFINITY = 2 ** 64 - 1;

const ULIMIT_FORM = 'NAME=SOFT[:HARD] (NAME one of nofile, nproc, core, memlock, stack, ...; -1 for unlimited)';

/** One --ulimit NAME=SOFT[:HARD]; HARD defaults to SOFT, -1 is unlimited (docker's memlock=-1:-1). */
export function parseUlimit(value: string): Rlimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
  const type = m ? ULIMIT_NAMES[m[1]] : undefined;
  if (!m || !type) throw invalid('--ulimit', ULIMIT_FORM, value);
  const limit = (s: string) => {
    const n = Number(s);
    if (n === -1) return RLIM_INFINITY;
    if (n < 0 || !Number.isSafeInteger(n)) throw invalid('--ulimit', ULIMIT_FORM, value);
    return n;
  };
  const soft = limit(m[2]);
  const hard = m[3] === undefined ? soft : limit(m[3]);
  if (soft > hard) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `The soft limit of --ulimit ${quote(value)} is above its hard limit; give SOFT at most HARD, like ${m[1]}=${m[3]}:${m[3]}`,
    );
  }
  return { type, soft, hard };
}

/** Every --ulimit, the last of each name winning (docker keeps one per name). */
export function parseUlimits(values: readonly string[] | undefined): Rlimit[] {
  const byType = new Map<string, Rlimit>();
  for (const v of values ?? []) {
    const l = parseUlimit(v);
    byType.delete(l.type);
    byType.set(l.type, l);
  }
  return [...byType.values()];
}

/** The sysctls a container's own namespaces hold (moby's ValidateSysctl): IPC's, mqueue's, and the
 *  network namespace's. Anything else would change the host: refused. */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);
const SYSCTL_KEY = /^[a-z0-9_]+(\.[a-zA-Z0-9_-]+)+$/;
const SYSCTL_FORM =
  'a namespaced sysctl KEY=VALUE (kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)';

/** --sysctl KEY=VALUE entries (or an object). `hostNetwork`: net.* would be the host's. */
export function parseSysctls(
  values: readonly string[] | Readonly<Record<string, string>> | undefined,
  hostNetwork: boolean,
): Record<string, string> {
  const entries = Array.isArray(values)
    ? values.map((v): [string, string, string] => {
        const eq = v.indexOf('=');
        return eq < 0 ? [v, '', v] : [v.slice(0, eq), v.slice(eq + 1), v];
      })
    : Object.entries(values ?? {}).map(([k, v]): [string, string, string] => [k, v, `${k}=${v}`]);
  const out: Record<string, string> = {};
  for (const [key, value, given] of entries) {
    const namespaced = IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.') || key.startsWith('net.');
    if (!SYSCTL_KEY.test(key) || !namespaced || !given.includes('=') || /[\n\r\0]/.test(value))
      throw invalid('--sysctl', SYSCTL_FORM, given);
    if (hostNetwork && key.startsWith('net.')) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `--sysctl ${quote(given)} cannot be set with --network host: the network namespace would be the host's; drop one of them`,
      );
    }
    out[key] = value;
  }
  return out;
}

/** --oom-score-adj: the kernel's range, -1000 (never killed) to 1000 (killed first). */
export function parseOomScoreAdj(value: string | number): number {
  const s = String(value);
  const n = Number(s);
  if (!/^[ \t]*-?\d+[ \t]*$/.test(s) || n < -1000 || n > 1000) throw invalid('--oom-score-adj', 'an integer from -1000 to 1000', value);
  return n;
}

/** --domainname (the NIS domain of the container's UTS namespace), as --hostname is checked. */
export function parseDomainname(value: string): string {
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(value))
    throw invalid('--domainname', 'a domain name of letters, digits, dots and dashes (at most 63)', value);
  return value;
}
