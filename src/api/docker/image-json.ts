/**
 * berth's images in docker's JSON: the entries of /images/json and /system/df, the ImageInspect
 * document, history rows, and the filters of /images/json and /images/prune. Pure: everything is
 * read from what Berth.listImages(), inspectImage() and imageHistory() return.
 */
import type { HistoryEntry, ImageConfig, ImageInspect, ImageRecord } from '../../index';
import { familiar } from '../../image/reference';
import { badRequest } from '../http/errors';

/** docker's zero time, for the dates berth has no value for. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A stored name (docker.io/library/busybox:latest) as docker prints it (busybox:latest). */
export function familiarName(name: string): string {
  try {
    return familiar(name);
  } catch {
    return name;
  }
}

/** Seconds since the epoch of an RFC 3339 time; 0 when it is missing or unreadable. */
export function unixSeconds(time: string | undefined): number {
  const ms = time ? Date.parse(time) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** What the image says it was created at (its config), else when berth stored it. */
function createdTime(image: Pick<ImageRecord, 'config' | 'created'>): string {
  return image.config.created ?? image.created;
}

export interface SummaryExtras {
  /** Containers using the image: counted by /system/df, -1 (not counted) in /images/json. */
  containers?: number;
  /** Bytes of layers the image shares with other images: /system/df only, else -1. */
  sharedSize?: number;
}

/** One entry of GET /images/json (docker's ImageSummary). */
export function imageSummary(image: ImageRecord, extras: SummaryExtras = {}): Record<string, unknown> {
  return {
    Id: image.id,
    ParentId: '',
    RepoTags: image.names.map(familiarName),
    RepoDigests: (image.repoDigests ?? []).map(familiarName),
    Created: unixSeconds(createdTime(image)),
    Size: image.size,
    SharedSize: extras.sharedSize ?? -1,
    VirtualSize: image.size,
    Labels: image.config.config?.Labels ?? {},
    Containers: extras.containers ?? -1,
  };
}

/**
 * Per image, the bytes of its layers that other images use too (docker's SharedSize), and the
 * bytes of every layer counted once (LayersSize).
 */
export function layerUsage(
  images: ImageRecord[],
  layerSize: (chainId: string) => number | undefined,
): { shared: Map<string, number>; layersSize: number } {
  const users = new Map<string, number>();
  for (const i of images) for (const c of new Set(i.chainIds)) users.set(c, (users.get(c) ?? 0) + 1);
  const sizes = new Map([...users.keys()].map((c) => [c, layerSize(c) ?? 0]));
  const shared = new Map(
    images.map((i) => [i.id, [...new Set(i.chainIds)].reduce((sum, c) => sum + ((users.get(c) ?? 0) > 1 ? (sizes.get(c) ?? 0) : 0), 0)]),
  );
  return { shared, layersSize: [...sizes.values()].reduce((a, b) => a + b, 0) };
}

/** The fields of a docker-built config berth's ImageConfig type leaves out but may carry. */
interface DockerConfigExtras {
  comment?: string;
  container?: string;
  container_config?: Record<string, unknown>;
  docker_version?: string;
  variant?: string;
  'os.version'?: string;
}

/** An image's runtime defaults in docker's container-config shape (ImageInspect.Config). */
export function imageConfigJson(c: ImageConfig['config']): Record<string, unknown> {
  const config = c ?? {};
  return {
    Hostname: '',
    Domainname: '',
    User: config.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(config.ExposedPorts ? { ExposedPorts: config.ExposedPorts } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: config.Env ?? null,
    Cmd: config.Cmd ?? null,
    ...(config.Healthcheck ? { Healthcheck: config.Healthcheck } : {}),
    Image: '',
    Volumes: null,
    WorkingDir: config.WorkingDir ?? '',
    Entrypoint: config.Entrypoint ?? null,
    OnBuild: null,
    Labels: config.Labels ?? null,
    ...(config.StopSignal ? { StopSignal: config.StopSignal } : {}),
    ...(config.Shell ? { Shell: config.Shell } : {}),
  };
}

/**
 * GET /images/{name}/json (docker's ImageInspect). `layerDirs` are the image's unpacked layers, top
 * first, shown as overlay2's GraphDriver data the way docker shows an image's: the top layer as
 * UpperDir, the ones below as LowerDir.
 */
export function imageInspectJson(image: ImageInspect, layerDirs: string[] = []): Record<string, unknown> {
  const extra = image.config as ImageInspect['config'] & DockerConfigExtras;
  const [upper, ...lower] = layerDirs;
  return {
    Id: image.id,
    RepoTags: image.names.map(familiarName),
    RepoDigests: image.repoDigests.map(familiarName),
    Parent: '',
    Comment: extra.comment ?? image.config.history?.at(-1)?.comment ?? '',
    Created: createdTime(image),
    Container: extra.container ?? '',
    ContainerConfig: extra.container_config ?? imageConfigJson(undefined),
    DockerVersion: extra.docker_version ?? '',
    Author: image.config.author ?? '',
    Config: imageConfigJson(image.config.config),
    Architecture: image.config.architecture,
    ...(extra.variant ? { Variant: extra.variant } : {}),
    Os: image.config.os,
    ...(extra['os.version'] ? { OsVersion: extra['os.version'] } : {}),
    Size: image.size,
    VirtualSize: image.size,
    GraphDriver: {
      Name: 'overlay2',
      Data: upper === undefined ? null : { ...(lower.length ? { LowerDir: lower.join(':') } : {}), UpperDir: upper },
    },
    RootFS: { Type: 'layers', Layers: image.config.rootfs.diff_ids },
    Metadata: { LastTagTime: ZERO_TIME },
  };
}

/** GET /images/{name}/history: berth's rows are docker's already, but with familiar tags. */
export function historyJson(rows: HistoryEntry[]): HistoryEntry[] {
  return rows.map((r) => ({ ...r, Tags: r.Tags.map(familiarName) }));
}

// ---------------------------------------------------------------------------
// Filters of /images/json and /images/prune
// ---------------------------------------------------------------------------

/** The filters a list accepts: docker answers any other key with `invalid filter 'KEY'`. */
export const LIST_FILTERS = ['before', 'dangling', 'label', 'reference', 'since', 'until'];
export const PRUNE_FILTERS = ['dangling', 'label', 'label!', 'until'];

export interface ImageFilters {
  dangling?: boolean;
  /** KEY or KEY=VALUE, all of which must match. */
  labels: string[];
  /** KEY or KEY=VALUE, none of which may match (prune's label!). */
  notLabels: string[];
  /** Glob patterns (path.Match's syntax) on the familiar name; any of them may match. */
  references: string[];
  /** Created strictly before / after these many seconds since the epoch. */
  createdBefore?: number;
  createdAfter?: number;
}

/**
 * docker's image filters from the `filters` query (already split into lists). `resolveTime` turns a
 * before/since image reference into its creation time and an until value into seconds, so that this
 * stays pure.
 */
export function parseImageFilters(
  raw: Record<string, string[]>,
  accepted: string[],
  resolve: { imageCreated(ref: string): number; time(value: string): number },
): ImageFilters {
  for (const key of Object.keys(raw)) if (!accepted.includes(key)) throw badRequest(`invalid filter '${key}'`);
  const filters: ImageFilters = { labels: raw.label ?? [], notLabels: raw['label!'] ?? [], references: raw.reference ?? [] };
  const dangling = raw.dangling ?? [];
  if (dangling.length > 0) {
    const values = new Set(dangling.map((v) => v.toLowerCase()));
    for (const v of values) if (!['true', 'false', '1', '0'].includes(v)) throw badRequest(`invalid filter 'dangling=${v}'`);
    if (values.size > 1) throw badRequest(`invalid filter 'dangling=${dangling.join(',')}': give true or false, not both`);
    filters.dangling = values.has('true') || values.has('1');
  }
  const earliest = (list: number[]) => (list.length ? Math.min(...list) : undefined);
  const latest = (list: number[]) => (list.length ? Math.max(...list) : undefined);
  const before = [...(raw.before ?? []).map((r) => resolve.imageCreated(r)), ...(raw.until ?? []).map((t) => resolve.time(t))];
  const since = (raw.since ?? []).map((r) => resolve.imageCreated(r));
  const b = earliest(before);
  const a = latest(since);
  if (b !== undefined) filters.createdBefore = b;
  if (a !== undefined) filters.createdAfter = a;
  return filters;
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  return eq < 0 ? filter in labels : labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** path.Match's pattern syntax (*, ?, [...], \ escapes), where * and ? do not cross a slash. */
export function globRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) out += `\\${pattern[++i]}`;
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw badRequest(`invalid reference filter ${JSON.stringify(pattern)}: an unclosed [`);
      const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      out += body.startsWith('^') ? `[^/${body.slice(1)}]` : `[${body}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/**
 * docker's reference filter: the pattern against each familiar name (busybox:latest), and a
 * pattern without a tag against the name without its tag too, so `busybox` finds busybox:latest.
 */
function referenceMatches(names: string[], pattern: string): boolean {
  const re = globRegExp(pattern);
  const tagless = !/:[^/]*$/.test(pattern) && !pattern.includes('@');
  return names.some((full) => {
    const shown = familiarName(full);
    if (re.test(shown)) return true;
    return tagless && re.test(shown.replace(/[:@][^/]*$/, ''));
  });
}

export function imageMatches(image: ImageRecord, f: ImageFilters): boolean {
  const labels = image.config.config?.Labels ?? {};
  const created = unixSeconds(createdTime(image));
  if (f.dangling !== undefined && f.dangling !== (image.names.length === 0)) return false;
  if (!f.labels.every((l) => labelMatches(labels, l))) return false;
  if (f.notLabels.some((l) => labelMatches(labels, l))) return false;
  if (f.references.length && !f.references.some((p) => referenceMatches(image.names, p))) return false;
  if (f.createdBefore !== undefined && !(created < f.createdBefore)) return false;
  if (f.createdAfter !== undefined && !(created > f.createdAfter)) return false;
  return true;
}
