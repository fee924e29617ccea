/**
 * docker's ps fields (formatter.ContainerContext) over docker's container Summary, the entry of
 * /containers/json that src/api/docker/container-json.ts makes of a berth container.
 */
import { familiar } from '../../image/reference';
import { ellipsis, goHumanDuration, goTimeString, humanSizePrecision, truncateId } from './units';
import { FormatContext, goQuote } from './values';

/** Column titles by field name: docker executes the template on this map for a table's header. */
export type Header = Readonly<Record<string, string>>;

/** A stored name (docker.io/library/busybox:latest) as docker prints it (busybox:latest). */
export function familiarName(name: string): string {
  try {
    return familiar(name);
  } catch {
    return name;
  }
}

/** docker's Labels field: k=v pairs, sorted, comma-separated. */
export const joinLabels = (labels: Record<string, string> | null | undefined) =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');

/** The published ports of a container as /containers/json lists them. */
export interface PortSummary {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** The part of docker's container Summary (/containers/json) the ps fields read. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: PortSummary[];
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  SizeRw?: number;
  SizeRootFs?: number;
  NetworkSettings?: { Networks?: Record<string, unknown> };
  Mounts: Array<{ Name?: string; Source: string; Driver?: string }>;
}

export const CONTAINER_HEADER: Header = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

export class ContainerContext extends FormatContext {
  readonly goType = '*formatter.ContainerContext';
  constructor(
    private readonly c: ContainerSummary,
    private readonly trunc: boolean,
    private readonly now = Date.now(),
  ) {
    super();
  }
  ID(): string {
    return this.trunc ? truncateId(this.c.Id) : this.c.Id;
  }
  Names(): string {
    const names = this.c.Names.map((n) => n.replace(/^\//, ''));
    // truncated, docker shows the first name that is not a legacy link (/other/alias)
    return this.trunc ? (names.find((n) => !n.includes('/')) ?? '') : names.join(',');
  }
  Image(): string {
    const image = this.c.Image;
    if (image === '') return '<no image>';
    if (!this.trunc) return image;
    if (truncateId(this.c.ImageID) === truncateId(image)) return truncateId(image);
    // reference.FamiliarString: docker.io/library/ dropped, no tag added where none was given
    const named = image.replace(/@sha256:[0-9a-f]{64}$/, '');
    return named.replace(/^(docker\.io|index\.docker\.io)\/(library\/)?/, '');
  }
  Command(): string {
    return goQuote(this.trunc ? ellipsis(this.c.Command, 20) : this.c.Command);
  }
  CreatedAt(): string {
    return goTimeString(this.c.Created * 1000);
  }
  RunningFor(): string {
    return `${goHumanDuration(this.now - this.c.Created * 1000)} ago`;
  }
  Ports(): string {
    return displayablePorts(this.c.Ports);
  }
  State(): string {
    return this.c.State;
  }
  Status(): string {
    return this.c.Status;
  }
  Size(): string {
    const rw = humanSizePrecision(this.c.SizeRw ?? 0);
    return (this.c.SizeRootFs ?? 0) > 0 ? `${rw} (virtual ${humanSizePrecision(this.c.SizeRootFs!)})` : rw;
  }
  Labels(): string {
    return joinLabels(this.c.Labels);
  }
  Label(name: string): string {
    return this.c.Labels?.[name] ?? '';
  }
  Mounts(): string {
    return this.c.Mounts.map((m) => (this.trunc ? ellipsis(m.Name || m.Source, 15) : m.Name || m.Source)).join(',');
  }
  LocalVolumes(): string {
    return String(this.c.Mounts.filter((m) => m.Driver === 'local').length);
  }
  Networks(): string {
    return Object.keys(this.c.NetworkSettings?.Networks ?? {}).join(',');
  }
  Platform(): null {
    return null;
  }
  toJSON(): Record<string, unknown> {
    const fields = ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports'];
    const more = ['RunningFor', 'Size', 'State', 'Status'];
    return Object.fromEntries([...fields, ...more].map((f) => [f, (this as unknown as Record<string, () => unknown>)[f]()]));
  }
}

/** docker's DisplayablePorts: "0.0.0.0:8080->80/tcp, 9000-9001/tcp", consecutive ports as ranges. */
export function displayablePorts(ports: PortSummary[]): string {
  const sorted = [...ports].sort(
    (a, b) =>
      a.PrivatePort - b.PrivatePort ||
      (a.IP ?? '').localeCompare(b.IP ?? '') ||
      (a.PublicPort ?? 0) - (b.PublicPort ?? 0) ||
      a.Type.localeCompare(b.Type),
  );
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const mappings: string[] = [];
  const hostPort = (ip: string, port: string) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  const form = (key: string, g: { first: number; last: number }) => {
    const [ip, type] = key.includes('/') ? key.split('/') : ['', key];
    const range = g.first === g.last ? String(g.first) : `${g.first}-${g.last}`;
    return `${ip ? `${hostPort(ip, range)}->${range}` : range}/${type}`;
  };
  for (const p of sorted) {
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== p.PrivatePort) {
        mappings.push(`${hostPort(p.IP, String(p.PublicPort ?? 0))}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
    else if (p.PrivatePort === g.last + 1) g.last = p.PrivatePort;
    else {
      result.push(form(key, g));
      groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
    }
  }
  for (const [key, g] of groups) result.push(form(key, g));
  return [...result, ...mappings].join(', ');
}
