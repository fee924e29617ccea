import * as fs from 'node:fs';
import { BerthError, invalid } from '../errors';
import { parseIPv4 } from './subnet';
import type { PortMapping } from './types';

const PUBLISH_FORMAT = '[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], ports or ranges like 8000-8002';

/** Host ports chosen for -P and -p CONTAINER_PORT: Linux's default ephemeral range. */
export const EPHEMERAL: [number, number] = [32768, 60999];

function portRange(s: string, spec: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) throw invalid('--publish', PUBLISH_FORMAT, spec);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || hi < lo) throw invalid('--publish', 'ports from 1 to 65535 (a range low-high)', spec);
  return [lo, hi];
}

/**
 * docker's -p: `CONTAINER_PORT`, `HOST_PORT:CONTAINER_PORT`, `HOST_IP:HOST_PORT:CONTAINER_PORT`,
 * `HOST_IP::CONTAINER_PORT`, each port possibly a range, then `/tcp` (default) or `/udp`. Equal ranges
 * map one to one; a host range for one container port means any free port of it.
 */
export function parsePublish(spec: string): PortMapping[] {
  const slash = spec.lastIndexOf('/');
  const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1);
  if (proto !== 'tcp' && proto !== 'udp') throw invalid('--publish', `${PUBLISH_FORMAT}; the protocol tcp or udp`, spec);
  const body = slash < 0 ? spec : spec.slice(0, slash);
  if (body.startsWith('['))
    throw new BerthError('INVALID_ARGUMENT', `IPv6 host addresses are not supported for --publish yet, received "${spec}"`);
  const parts = body.split(':');
  if (parts.length > 3 || parts.some((p, i) => p === '' && !(parts.length === 3 && i === 1)))
    throw invalid('--publish', PUBLISH_FORMAT, spec);
  const [hostIP, hostPart, ctrPart] = parts.length === 3 ? parts : parts.length === 2 ? ['', parts[0], parts[1]] : ['', '', parts[0]];
  if (hostIP !== '' && parseIPv4(hostIP) === undefined) throw invalid('--publish', `${PUBLISH_FORMAT}; an IPv4 host address`, spec);
  const ctr = portRange(ctrPart, spec);
  const count = ctr[1] - ctr[0] + 1;
  const ip = hostIP === '0.0.0.0' ? '' : hostIP;
  if (hostPart === '') {
    return Array.from({ length: count }, (_, i) => ({ hostIP: ip, hostPort: 0, containerPort: ctr[0] + i, protocol: proto }));
  }
  const host = portRange(hostPart, spec);
  const hostCount = host[1] - host[0] + 1;
  if (count === 1 && hostCount > 1) {
    return [{ hostIP: ip, hostPort: 0, hostRange: host, containerPort: ctr[0], protocol: proto }];
  }
  if (hostCount !== count) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Invalid ranges for --publish "${spec}": the host range has ${hostCount} ports and the container range ${count}`,
    );
  }
  return Array.from({ length: count }, (_, i) => ({ hostIP: ip, hostPort: host[0] + i, containerPort: ctr[0] + i, protocol: proto }));
}

/** -P: every port the image exposes ("80/tcp": {}), each on a free host port. */
export function exposedPorts(exposed: Record<string, object> | undefined): PortMapping[] {
  const out: PortMapping[] = [];
  for (const key of Object.keys(exposed ?? {})) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp))?$/.exec(key);
    if (!m) continue; // sctp and malformed keys: nothing portmap-able
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let p = lo; p <= hi && p <= 65535; p++)
      out.push({ hostIP: '', hostPort: 0, containerPort: p, protocol: (m[3] ?? 'tcp') as 'tcp' | 'udp' });
  }
  return out.sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol));
}

/** `80/tcp -> 0.0.0.0:8080`, as `docker port` prints it. */
export function formatPort(p: PortMapping): string {
  return `${p.containerPort}/${p.protocol} -> ${p.hostIP || '0.0.0.0'}:${p.hostPort}`;
}

/** Whether two mappings claim the same host port (an address conflicts with itself and with ''). */
export function samePort(a: PortMapping, b: PortMapping): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIP === b.hostIP || a.hostIP === '' || b.hostIP === '');
}

/** Sockets bound on the host: TCP listeners and bound UDP sockets, as [ip ('' = any), port, protocol]. */
export function hostBoundPorts(): PortMapping[] {
  const out: PortMapping[] = [];
  for (const [file, proto, state] of [
    ['/proc/net/tcp', 'tcp', '0A'],
    ['/proc/net/udp', 'udp', '07'],
    ['/proc/net/tcp6', 'tcp', '0A'],
    ['/proc/net/udp6', 'udp', '07'],
  ] as const) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== state) continue;
      const [addr, port] = f[1].split(':');
      const any = /^0+$/.test(addr);
      const ip = addr.length === 8 && !any ? [...Buffer.from(addr, 'hex')].reverse().join('.') : '';
      // an IPv6 socket bound to a specific address does not take the port of IPv4 addresses
      if (addr.length !== 8 && !any) continue;
      out.push({ hostIP: ip, hostPort: parseInt(port, 16), containerPort: 0, protocol: proto });
    }
  }
  return out;
}

/**
 * Fixes the host port of each mapping: explicit ones must be free (not published by another
 * container, no host socket on them), 0 takes a free one of its range (or of EPHEMERAL).
 */
export function assignHostPorts(wanted: PortMapping[], taken: PortMapping[]): PortMapping[] {
  const used = [...taken];
  const out: PortMapping[] = [];
  for (const w of wanted) {
    let chosen: PortMapping | undefined;
    if (w.hostPort !== 0) {
      chosen = { hostIP: w.hostIP, hostPort: w.hostPort, containerPort: w.containerPort, protocol: w.protocol };
      if (used.some((u) => samePort(u, chosen!))) {
        throw new BerthError(
          'INVALID_ARGUMENT',
          `Bind for ${w.hostIP || '0.0.0.0'}:${w.hostPort}/${w.protocol} failed: port is already allocated`,
        );
      }
    } else {
      const [lo, hi] = w.hostRange ?? EPHEMERAL;
      for (let port = lo; port <= hi && !chosen; port++) {
        const c: PortMapping = { hostIP: w.hostIP, hostPort: port, containerPort: w.containerPort, protocol: w.protocol };
        if (!used.some((u) => samePort(u, c))) chosen = c;
      }
      if (!chosen) throw new BerthError('INVALID_ARGUMENT', `No free host port in ${lo}-${hi} for ${w.containerPort}/${w.protocol}`);
    }
    used.push(chosen);
    out.push(chosen);
  }
  return out;
}
