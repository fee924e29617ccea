/**
 * linux.namespaces' user namespace and linux.uidMappings/gidMappings in the plan's terms, checked
 * as runc checks them: mappings need a user namespace, a new user namespace needs both mappings,
 * and the ids the container starts with must be mapped. The maps become the text the process that
 * clones the init writes to its /proc/PID/uid_map and gid_map.
 */
import * as fs from 'node:fs';
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import type { IdMapping, Linux, User } from './spec';

/** What a config's user namespace is: none, a new one, or one joined by path. */
export type UserNamespaceUse = { kind: 'none' } | { kind: 'new'; field: string } | { kind: 'join'; field: string; path: string };

export interface UserNamespacePlan {
  uidMap?: string;
  gidMap?: string;
}

const fail = (field: string, why: string): never => {
  throw new BerthError('INVALID_ARGUMENT', `config.json ${field}: ${why}`);
};

// The kernel's limit of lines in one uid_map (since 4.15)
const MAX_MAP_LINES = 340;
const U32 = 2 ** 32;

function checkMappings(list: unknown, field: string): IdMapping[] {
  if (!Array.isArray(list)) return fail(field, 'expected an array of {containerID, hostID, size}');
  if (list.length > MAX_MAP_LINES) fail(field, `at most ${MAX_MAP_LINES} mappings are possible, received ${list.length}`);
  list.forEach((m: Partial<IdMapping>, i) => {
    for (const key of ['containerID', 'hostID'] as const) {
      const v = m?.[key];
      if (!Number.isInteger(v) || v! < 0 || v! >= U32)
        fail(`${field}[${i}].${key}`, `expected an integer from 0 to ${U32 - 1} but received ${quote(v)}`);
    }
    if (!Number.isInteger(m.size) || m.size! < 1) fail(`${field}[${i}].size`, `expected a positive integer but received ${quote(m.size)}`);
    if (m.containerID! + m.size! > U32 || m.hostID! + m.size! > U32) fail(`${field}[${i}]`, 'the range goes past id 4294967295');
  });
  // the kernel refuses overlapping ranges with a bare EINVAL: name the pair here
  const ranges = (list as IdMapping[]).map((m, i) => ({ i, m }));
  for (const side of ['containerID', 'hostID'] as const) {
    const sorted = [...ranges].sort((a, b) => a.m[side] - b.m[side]);
    for (let k = 1; k < sorted.length; k++) {
      const [a, b] = [sorted[k - 1], sorted[k]];
      if (a.m[side] + a.m.size > b.m[side]) fail(field, `mappings ${a.i} and ${b.i} overlap in their ${side} ranges`);
    }
  }
  return list as IdMapping[];
}

const maps = (list: IdMapping[], id: number) => list.some((m) => id >= m.containerID && id < m.containerID + m.size);
const mapText = (list: IdMapping[]) => list.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');

/** /proc/N/uid_map of a namespace joined as /proc/N/ns/user, normalized; undefined when the path
 *  is another kind (a bind-mounted namespace) or the process is gone. */
function joinedMap(nsPath: string, file: 'uid_map' | 'gid_map'): string | undefined {
  const pid = /^\/proc\/(\d+)\/ns\/user$/.exec(nsPath)?.[1];
  if (!pid) return undefined;
  try {
    return normalize(fs.readFileSync(`/proc/${pid}/${file}`, 'utf8'));
  } catch {
    return undefined;
  }
}
const normalize = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '))
    .filter(Boolean)
    .join('\n');

/** The maps of a new user namespace, after every check; none for a joined one or none at all. */
export function userNamespacePlan(linux: Linux | undefined, use: UserNamespaceUse, user: User): UserNamespacePlan {
  const given = { uid: linux?.uidMappings, gid: linux?.gidMappings };
  if (use.kind === 'none') {
    for (const kind of ['uid', 'gid'] as const)
      if (given[kind] !== undefined && !(Array.isArray(given[kind]) && given[kind]!.length === 0))
        fail(
          `linux.${kind}Mappings`,
          'user namespace mappings are given, but linux.namespaces has no user namespace; add {"type": "user"}',
        );
    return {};
  }
  if (use.kind === 'join') {
    // As runc: mappings may come along (containerd's pods send them), but must be the namespace's.
    for (const kind of ['uid', 'gid'] as const) {
      if (given[kind] === undefined) continue;
      const want = joinedMap(use.path, `${kind}_map`);
      const list = checkMappings(given[kind], `linux.${kind}Mappings`);
      if (want !== undefined && want !== normalize(mapText(list)))
        fail(`linux.${kind}Mappings`, `differ from the mappings of the user namespace joined by path (${use.path})`);
    }
    return {};
  }
  for (const kind of ['uid', 'gid'] as const)
    if (given[kind] === undefined || given[kind]!.length === 0)
      fail(
        `linux.${kind}Mappings`,
        `a new user namespace (${use.field}) needs ${kind} mappings; give linux.${kind}Mappings or a namespace path to join`,
      );
  const uids = checkMappings(given.uid, 'linux.uidMappings');
  const gids = checkMappings(given.gid, 'linux.gidMappings');
  // the init is its namespace's root until it takes process.user's ids, as runc's is
  if (!maps(uids, 0)) fail('linux.uidMappings', "container uid 0 is not mapped; the init starts as the namespace's root");
  if (!maps(gids, 0)) fail('linux.gidMappings', "container gid 0 is not mapped; the init starts as the namespace's root");
  if (!maps(uids, user.uid)) fail('process.user.uid', `${user.uid} is not mapped by linux.uidMappings`);
  if (!maps(gids, user.gid)) fail('process.user.gid', `${user.gid} is not mapped by linux.gidMappings`);
  for (const g of user.additionalGids ?? [])
    if (!maps(gids, g)) fail('process.user.additionalGids', `${g} is not mapped by linux.gidMappings`);
  return { uidMap: mapText(uids), gidMap: mapText(gids) };
}
