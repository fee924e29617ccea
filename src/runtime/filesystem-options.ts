/**
 * docker's run flags for the container's filesystems: --tmpfs PATH[:OPTS] (a tmpfs mount of the
 * OCI config) and --shm-size (the size of /dev/shm). --read-only is root.readonly and needs no
 * parsing. Pure functions: refused values leave nothing behind.
 */
import * as path from 'node:path';
import { BerthError, invalid } from '../errors';
import { quote } from '../util/quote';
import { parseBytes } from './limits';

export interface TmpfsSpec {
  containerPath: string;
  /** mount(2) flags and tmpfs data, as an OCI mount's options. */
  options: string[];
  /** From --mount type=tmpfs: inspect lists it among the Mounts (docker does; not --tmpfs's). */
  mount?: boolean;
}

/** moby's defaults for --tmpfs (daemon/oci_linux.go): no programs, no setuid, no devices. */
const TMPFS_DEFAULTS = ['noexec', 'nosuid', 'nodev'];

/** A flag and its opposite share a key, so that the last one given wins (moby's MergeTmpfsOptions). */
const FLAG_KEYS: Record<string, string> = {};
for (const [on, off] of [
  ['ro', 'rw'],
  ['exec', 'noexec'],
  ['suid', 'nosuid'],
  ['dev', 'nodev'],
  ['sync', 'async'],
  ['atime', 'noatime'],
  ['diratime', 'nodiratime'],
  ['relatime', 'norelatime'],
  ['strictatime', 'nostrictatime'],
])
  FLAG_KEYS[on] = FLAG_KEYS[off] = on;
for (const p of ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']) FLAG_KEYS[p] = 'propagation';
FLAG_KEYS.dirsync = 'dirsync';

/** What tmpfs itself parses, with the shape the kernel takes. */
const DATA: Record<string, RegExp> = {
  size: /^\d+[kmg%]?$/i,
  nr_blocks: /^\d+[kmg]?$/i,
  nr_inodes: /^\d+[kmg]?$/i,
  mode: /^[0-7]{3,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
  huge: /^(never|always|within_size|advise)$/,
};

const TMPFS_FORM = 'PATH[:OPTIONS] with an absolute PATH and options like rw,exec,size=64m,mode=1777';

/** One --tmpfs PATH[:OPTS], docker's defaults first and the options given over them. */
export function parseTmpfs(value: string): TmpfsSpec {
  const colon = value.indexOf(':');
  const dest = colon < 0 ? value : value.slice(0, colon);
  const given = colon < 0 ? [] : value.slice(colon + 1).split(',');
  if (!path.posix.isAbsolute(dest) || /[\n\r\0]/.test(dest)) throw invalid('--tmpfs', TMPFS_FORM, value);
  const containerPath = path.posix.normalize(dest).replace(/(.)\/$/, '$1');
  if (containerPath === '/')
    throw new BerthError(
      'INVALID_ARGUMENT',
      'A --tmpfs cannot be mounted on the container\'s root "/"; use --read-only with a tmpfs below it',
    );
  const merged = new Map<string, string>();
  for (const o of [...TMPFS_DEFAULTS, ...given]) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? FLAG_KEYS[o] : DATA[o.slice(0, eq)] && DATA[o.slice(0, eq)].test(o.slice(eq + 1)) ? o.slice(0, eq) : undefined;
    if (key === undefined) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Expected tmpfs options like rw,exec,size=64m,mode=1777 for --tmpfs but received ${quote(o)} in ${quote(value)}`,
      );
    }
    merged.delete(key);
    merged.set(key, o);
  }
  return { containerPath, options: [...merged.values()] };
}

/** Every --tmpfs, one per path (docker: a duplicate mount point), none where a volume is. */
export function parseTmpfsList(values: readonly string[] | undefined, volumeTargets: readonly string[]): TmpfsSpec[] {
  const out: TmpfsSpec[] = [];
  for (const v of values ?? []) {
    const t = parseTmpfs(v);
    if (out.some((o) => o.containerPath === t.containerPath) || volumeTargets.includes(t.containerPath)) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Duplicate mount point ${quote(t.containerPath)}: --tmpfs and another --tmpfs or --volume both mount there; keep one`,
      );
    }
    out.push(t);
  }
  return out;
}

/** --shm-size: bytes (k, m, g suffixes), above 0. */
export function parseShmSize(value: string | number): number {
  const bytes = parseBytes(String(value), '--shm-size');
  if (bytes <= 0) throw invalid('--shm-size', 'a size above 0, like 64m', value);
  return bytes;
}
