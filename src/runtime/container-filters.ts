/**
 * `ps --filter` as docker reads it: KEY=VALUE filters, the same key given twice ORed (but label,
 * whose values must all hold, as docker's MatchKVList: compose selects by project AND service), different
 * keys ANDed (docker's filters.Args). Shared by the CLI and Berth.ps({ filters }). Pure: the
 * containers and, for ancestor=, a way to find an image's ID are passed in.
 */
import { BerthError, invalid } from '../errors';
import { parseReference } from '../image/reference';
import { DEFAULT_NETWORK } from '../network/networks';
import { quote } from '../util/quote';
import { either, isPlainObject, str, strings, type Check } from '../util/validate';
import { hasExited, isRunning } from './container-predicates';
import type { ContainerInfo } from './types';

/** docker's keys (health= is the health checks' own). */
const KEYS = ['label', 'ancestor', 'exited', 'status', 'name', 'id', 'volume', 'network', 'before', 'since', 'health'] as const;
type Key = (typeof KEYS)[number];

/** docker's states; berth's containers are only ever created, running or exited. */
const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** docker's health= values: a health check's status, or none for a container without one. */
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

/** Every value of each key given, as the API's `filters` or the CLI's repeated --filter make them. */
export type ContainerFilters = Partial<Record<Key, string[]>>;

/** The forms callers give: 'KEY=VALUE' strings (the CLI's --filter) or { key: value | values }. */
export type ContainerFilterInput = readonly string[] | Readonly<Record<string, string | readonly string[]>>;

export interface FilterContext {
  /** The ID of the image a reference names in the store, if it names one. */
  imageId?: (ref: string) => string | undefined;
}

/** The filters checked: a key docker does not know, or a value of the wrong form, is one line. */
export function parseContainerFilters(input: ContainerFilterInput | undefined): ContainerFilters {
  const out: ContainerFilters = {};
  const pairs: Array<[string, string]> = Array.isArray(input)
    ? (input as readonly string[]).map((f) => {
        const eq = f.indexOf('=');
        if (eq <= 0) throw invalid('--filter', 'KEY=VALUE, like status=exited or label=env=prod', f);
        return [f.slice(0, eq), f.slice(eq + 1)];
      })
    : Object.entries(input ?? {}).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : v.map((x): [string, string] => [k, x])));
  for (const [key, value] of pairs) {
    if (!(KEYS as readonly string[]).includes(key))
      throw new BerthError('INVALID_ARGUMENT', `Invalid filter ${quote(key)}; the filters of ps are ${KEYS.join(', ')}`);
    if (key === 'status' && !STATES.includes(value)) throw invalid('--filter status', STATES.join(', '), value);
    if (key === 'exited' && !/^-?\d+$/.test(value)) throw invalid('--filter exited', 'an exit code (an integer)', value);
    if (key === 'health' && !HEALTH.includes(value)) throw invalid('--filter health', HEALTH.join(', '), value);
    if (value === '' && key !== 'name') throw invalid(`--filter ${key}`, 'a value', value);
    (out[key as Key] ??= []).push(value);
  }
  return out;
}

/** docker: a status or exited filter looks at every container, not only the running ones. */
export function filtersNeedAll(f: ContainerFilters): boolean {
  return f.status !== undefined || f.exited !== undefined;
}

/** The containers of `list` (newest first, as the store lists them) that pass every filter;
 *  before=/since= name containers of `everyone` (ps without -a lists running ones only). */
export function filterContainers(
  list: ContainerInfo[],
  f: ContainerFilters,
  ctx: FilterContext = {},
  everyone: ContainerInfo[] = list,
): ContainerInfo[] {
  // before=/since= are relative to another container, looked up among all of them
  const created = (key: 'before' | 'since') =>
    f[key]?.map((ref) => {
      const c = findContainer(everyone, ref);
      if (!c) throw new BerthError('CONTAINER_NOT_FOUND', `No such container: ${ref} (the ${key} filter names a container)`);
      return c.config.created;
    });
  const before = created('before');
  const since = created('since');
  const ancestors = f.ancestor?.map((ref) => ancestorMatcher(ref, ctx));
  return list.filter((c) => {
    const any = <T>(values: T[] | undefined, ok: (v: T) => boolean) => values === undefined || values.some(ok);
    return (
      (f.label ?? []).every((v) => labelMatches(c, v)) &&
      any(ancestors, (m) => m(c)) &&
      any(f.exited, (v) => hasExited(c.state) && (c.state.exitCode ?? 255) === Number(v)) &&
      any(f.status, (v) => stateOf(c) === v) &&
      any(f.name, (v) => nameMatches(c.config.name, v)) &&
      any(f.id, (v) => c.config.id.startsWith(v)) &&
      any(f.volume, (v) =>
        c.config.volumes.some((m) => m.volume === v || m.containerPath === v || (m.hostPath !== '' && m.hostPath === v)),
      ) &&
      any(f.network, (v) => networksOf(c).includes(v === 'bridge' ? DEFAULT_NETWORK : v)) &&
      any(f.health, (v) => (c.state.health?.Status ?? 'none') === v) &&
      any(before, (t) => c.config.created < t) &&
      any(since, (t) => c.config.created > t)
    );
  });
}

function stateOf(c: ContainerInfo): string {
  if (c.state.paused) return 'paused';
  return isRunning(c.state) ? 'running' : c.state.status;
}

/** label=KEY: the label is set; label=KEY=VALUE: set to that value. */
function labelMatches(c: ContainerInfo, v: string): boolean {
  const labels = c.config.labels ?? {};
  const eq = v.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, v);
  const key = v.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === v.slice(eq + 1);
}

/** docker matches names as a regular expression (a plain name: a substring); one that does not
 *  compile is taken literally. */
function nameMatches(name: string, v: string): boolean {
  try {
    return new RegExp(v).test(name);
  } catch {
    return name.includes(v);
  }
}

function networksOf(c: ContainerInfo): string[] {
  const n = c.config.network;
  const primary = n === undefined ? ['none'] : n.mode === 'bridge' ? [n.name ?? DEFAULT_NETWORK] : [n.mode];
  return [...primary, ...(c.config.connected ?? []).map((x) => x.name)];
}

/**
 * ancestor=IMAGE: the container's image is that image. IMAGE is a name (busybox: its latest tag),
 * name:tag, or an image ID or a prefix of one. The image is compared by ID when the store knows
 * the reference (a container made from another name of the same image matches), by name otherwise
 * (an image removed since).
 */
function ancestorMatcher(ref: string, ctx: FilterContext): (c: ContainerInfo) => boolean {
  const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
  const idPrefix = /^[0-9a-f]{1,64}$/.test(hex) ? `sha256:${hex}` : undefined;
  let id: string | undefined;
  try {
    id = ctx.imageId?.(ref);
  } catch {
    id = undefined; // not in the store: compared by name
  }
  const name = normalized(ref);
  return (c) =>
    (idPrefix !== undefined && c.config.imageId.startsWith(idPrefix)) ||
    (id !== undefined && c.config.imageId === id) ||
    (name !== undefined && normalized(c.config.image) === name);
}

function normalized(ref: string): string | undefined {
  try {
    const r = parseReference(ref);
    return `${r.registry}/${r.repository}:${r.tag ?? ''}@${r.digest ?? ''}`;
  } catch {
    return undefined;
  }
}

/** A container by full name, full ID, or ID prefix, as the store resolves references. */
function findContainer(list: ContainerInfo[], ref: string): ContainerInfo | undefined {
  return (
    list.find((c) => c.config.name === ref || c.config.id === ref) ??
    (/^[0-9a-f]+$/.test(ref) ? list.find((c) => c.config.id.startsWith(ref)) : undefined)
  );
}

/** The API's `filters` option: ['KEY=VALUE', ...] or { KEY: VALUE or [VALUE, ...] }. */
export const FILTERS_CHECK: Check = either(
  "an array of 'KEY=VALUE' strings or an object of strings or arrays of strings",
  [Array.isArray, strings()],
  [
    isPlainObject,
    (v, field) => {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) (typeof x === 'string' ? str() : strings())(x, `${field}.${k}`);
    },
  ],
);
