/**
 * docker's formatter contexts for images, stats, volume ls and network ls: what `{{.Size}}` or
 * `{{.Label "k"}}` mean there, with the column titles docker's tables show. Each reads docker's own
 * shapes (an image's names and digests, a VolumeInfo, ...) so that berth and docker print the same
 * text for the same state. The ps fields are in container-context.ts.
 */
import { familiarName, joinLabels, type Header } from './container-context';
import { bytesSize, goHumanDuration, goTimeString, humanSizePrecision, truncateId } from './units';
import { FormatContext } from './values';

export const IMAGE_HEADER: Header = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

/** One row of docker images: an image under one repository and tag. */
export interface ImageRow {
  id: string;
  repository: string;
  tag: string;
  digest: string;
  /** Seconds since the epoch. */
  created: number;
  size: number;
  containers?: number;
  sharedSize?: number;
}

export class ImageContext extends FormatContext {
  readonly goType = '*formatter.imageContext';
  constructor(
    private readonly i: ImageRow,
    private readonly trunc: boolean,
    private readonly now = Date.now(),
  ) {
    super();
  }
  ID(): string {
    return this.trunc ? truncateId(this.i.id) : this.i.id;
  }
  Repository(): string {
    return this.i.repository;
  }
  Tag(): string {
    return this.i.tag;
  }
  Digest(): string {
    return this.i.digest;
  }
  CreatedSince(): string {
    return `${goHumanDuration(this.now - this.i.created * 1000)} ago`;
  }
  CreatedAt(): string {
    return goTimeString(this.i.created * 1000);
  }
  Size(): string {
    return humanSizePrecision(this.i.size);
  }
  Containers(): string {
    return this.i.containers === undefined || this.i.containers < 0 ? 'N/A' : String(this.i.containers);
  }
  VirtualSize(): string {
    return humanSizePrecision(this.i.size, 4);
  }
  SharedSize(): string {
    return this.i.sharedSize === undefined || this.i.sharedSize < 0 ? 'N/A' : humanSizePrecision(this.i.sharedSize, 4);
  }
  UniqueSize(): string {
    return this.i.sharedSize === undefined || this.i.sharedSize < 0 ? 'N/A' : humanSizePrecision(this.i.size - this.i.sharedSize, 4);
  }
  toJSON(): Record<string, unknown> {
    const fields = [
      'Containers',
      'CreatedAt',
      'CreatedSince',
      'Digest',
      'ID',
      'Repository',
      'SharedSize',
      'Size',
      'Tag',
      'UniqueSize',
      'VirtualSize',
    ];
    return Object.fromEntries(fields.map((f) => [f, (this as unknown as Record<string, () => unknown>)[f]()]));
  }
}

/** docker images' rows of one image: one per repository and tag (docker's imageFormat). */
export function imageRows(
  image: { id: string; names: string[]; repoDigests?: string[]; created: number; size: number },
  withDigest: boolean,
): ImageRow[] {
  const base = { id: image.id, created: image.created, size: image.size };
  if (image.names.length === 0 && (image.repoDigests ?? []).length === 0)
    return [{ ...base, repository: '<none>', tag: '<none>', digest: '<none>' }];
  const digests = new Map<string, string[]>();
  for (const d of image.repoDigests ?? []) {
    const shown = familiarName(d);
    const at = shown.lastIndexOf('@');
    if (at > 0) digests.set(shown.slice(0, at), [...(digests.get(shown.slice(0, at)) ?? []), shown.slice(at + 1)]);
  }
  const rows: ImageRow[] = [];
  for (const n of image.names) {
    const shown = familiarName(n);
    const colon = shown.lastIndexOf(':');
    const repo = colon > shown.lastIndexOf('/') ? shown.slice(0, colon) : shown;
    const tag = colon > shown.lastIndexOf('/') ? shown.slice(colon + 1) : '<none>';
    const own = withDigest ? (digests.get(repo) ?? []) : [];
    if (own.length === 0) rows.push({ ...base, repository: repo, tag, digest: '<none>' });
    for (const d of own) rows.push({ ...base, repository: repo, tag, digest: d });
  }
  const tagged = new Set(rows.map((r) => r.repository));
  for (const [repo, list] of digests)
    if (!tagged.has(repo)) for (const d of withDigest ? list : ['']) rows.push({ ...base, repository: repo, tag: '<none>', digest: d });
  return rows;
}

export const STATS_HEADER: Header = {
  Container: 'CONTAINER',
  Name: 'NAME',
  ID: 'CONTAINER ID',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

/** One sample of docker stats; numbers berth cannot read are undefined and print as docker's "--". */
export interface StatsEntry {
  /** The container as the user named it on the command line. */
  container: string;
  name: string;
  id: string;
  cpuPercent?: number;
  memory?: number;
  memoryLimit?: number;
  netRx?: number;
  netTx?: number;
  blockRead?: number;
  blockWrite?: number;
  pids?: number;
}

export class StatsContext extends FormatContext {
  readonly goType = '*formatter.statsContext';
  constructor(
    private readonly s: StatsEntry,
    private readonly trunc: boolean,
  ) {
    super();
  }
  Container(): string {
    return this.s.container;
  }
  Name(): string {
    return this.s.name.replace(/^\//, '') || '--';
  }
  ID(): string {
    return this.trunc ? truncateId(this.s.id) : this.s.id;
  }
  CPUPerc(): string {
    return this.s.cpuPercent === undefined ? '--' : `${this.s.cpuPercent.toFixed(2)}%`;
  }
  MemUsage(): string {
    return this.s.memory === undefined ? '-- / --' : `${bytesSize(this.s.memory)} / ${bytesSize(this.s.memoryLimit ?? 0)}`;
  }
  MemPerc(): string {
    const { memory, memoryLimit } = this.s;
    return memory === undefined || !memoryLimit ? '--' : `${((memory / memoryLimit) * 100).toFixed(2)}%`;
  }
  NetIO(): string {
    return `${humanSizePrecision(this.s.netRx ?? 0)} / ${humanSizePrecision(this.s.netTx ?? 0)}`;
  }
  BlockIO(): string {
    return `${humanSizePrecision(this.s.blockRead ?? 0)} / ${humanSizePrecision(this.s.blockWrite ?? 0)}`;
  }
  PIDs(): string {
    return this.s.pids === undefined ? '--' : String(this.s.pids);
  }
  toJSON(): Record<string, unknown> {
    const fields = ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs'];
    return Object.fromEntries(fields.map((f) => [f, (this as unknown as Record<string, () => unknown>)[f]()]));
  }
}

export const VOLUME_HEADER: Header = {
  Name: 'VOLUME NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  Mountpoint: 'MOUNTPOINT',
  Labels: 'LABELS',
  Links: 'LINKS',
  Size: 'SIZE',
  Availability: 'AVAILABILITY',
  Group: 'GROUP',
  Status: 'STATUS',
};

export class VolumeContext extends FormatContext {
  readonly goType = '*formatter.volumeContext';
  constructor(
    private readonly v: { Name: string; Driver: string; Scope: string; Mountpoint: string; Labels: Record<string, string> | null },
  ) {
    super();
  }
  Name(): string {
    return this.v.Name;
  }
  Driver(): string {
    return this.v.Driver;
  }
  Scope(): string {
    return this.v.Scope;
  }
  Mountpoint(): string {
    return this.v.Mountpoint;
  }
  Labels(): string {
    return joinLabels(this.v.Labels);
  }
  Label(name: string): string {
    return this.v.Labels?.[name] ?? '';
  }
  Links(): string {
    return 'N/A';
  }
  Size(): string {
    return 'N/A';
  }
  Availability(): string {
    return 'N/A';
  }
  Group(): string {
    return 'N/A';
  }
  Status(): string {
    return 'N/A';
  }
  toJSON(): Record<string, unknown> {
    const fields = ['Availability', 'Driver', 'Group', 'Labels', 'Links', 'Mountpoint', 'Name', 'Scope', 'Size', 'Status'];
    return Object.fromEntries(fields.map((f) => [f, (this as unknown as Record<string, () => unknown>)[f]()]));
  }
}

export const NETWORK_HEADER: Header = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
};

export interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  internal: boolean;
  created: string;
  labels?: Record<string, string>;
}

export class NetworkContext extends FormatContext {
  readonly goType = '*formatter.networkContext';
  constructor(
    private readonly n: NetworkRow,
    private readonly trunc: boolean,
  ) {
    super();
  }
  ID(): string {
    return this.trunc ? truncateId(this.n.id) : this.n.id;
  }
  Name(): string {
    return this.n.name;
  }
  Driver(): string {
    return this.n.driver;
  }
  Scope(): string {
    return 'local';
  }
  IPv6(): string {
    return 'false';
  }
  Internal(): string {
    return String(this.n.internal);
  }
  Labels(): string {
    return joinLabels(this.n.labels);
  }
  Label(name: string): string {
    return this.n.labels?.[name] ?? '';
  }
  CreatedAt(): string {
    return goTimeString(this.n.created, true);
  }
  toJSON(): Record<string, unknown> {
    const fields = ['CreatedAt', 'Driver', 'ID', 'IPv6', 'Internal', 'Labels', 'Name', 'Scope'];
    return Object.fromEntries(fields.map((f) => [f, (this as unknown as Record<string, () => unknown>)[f]()]));
  }
}
