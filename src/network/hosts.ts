/** Contents of a container's /etc/hosts and /etc/resolv.conf. Pure functions: no I/O here. */
import { BerthError, invalid } from '../errors';
import type { HostEntry } from './types';

const HOSTNAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,252})$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_RE = /^[0-9a-fA-F:]+(%[\w.-]+)?$/;

const IPV6_LINES =
  '::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

export function isIP(s: string): boolean {
  return IPV4_RE.test(s) || (s.includes(':') && IPV6_RE.test(s));
}

/** docker's --add-host HOST:IP (IPv6 addresses keep their colons: the first colon splits). The IP may
 *  be `host-gateway`: the gateway of the container's network. */
export function parseAddHost(spec: string): HostEntry {
  const colon = spec.indexOf(':');
  const host = spec.slice(0, colon);
  let ip = spec.slice(colon + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (colon < 0 || !HOSTNAME_RE.test(host) || !(isIP(ip) || ip === 'host-gateway'))
    throw invalid('--add-host', 'HOST:IP like db:10.231.1.5', spec);
  return { host, ip };
}

/** --dns: nameserver addresses. */
export function parseDns(servers: string[]): string[] {
  for (const s of servers) if (!isIP(s)) throw invalid('--dns', 'an IP address', s);
  return [...servers];
}

export interface HostsSpec {
  hostname: string;
  /** The container's name, listed with its own address. */
  name?: string;
  /** Its address on its network; without one, the hostname goes with 127.0.0.1 (no network). */
  ip?: string;
  /** Other containers of the network, by name. */
  peers?: HostEntry[];
  /** --add-host entries: listed before the peers, so that they win (the first match counts). */
  extra?: HostEntry[];
  /** Gateway of the network, for --add-host NAME:host-gateway. */
  gateway?: string;
}

/** /etc/hosts of a container: localhost, itself, --add-host entries, then the peers on its network. */
export function hostsContent(s: HostsSpec): string {
  const names = (...n: Array<string | undefined>) => [...new Set(n.filter((x): x is string => !!x))].join(' ');
  let out = s.ip
    ? `127.0.0.1\tlocalhost\n${IPV6_LINES}${s.ip}\t${names(s.hostname, s.name)}\n`
    : `127.0.0.1\tlocalhost ${s.hostname}\n${IPV6_LINES}`;
  for (const e of s.extra ?? []) {
    const ip = e.ip === 'host-gateway' ? s.gateway : e.ip;
    if (!ip) {
      throw new BerthError('INVALID_ARGUMENT', `--add-host ${e.host}:host-gateway needs a network with a gateway; the container has none`);
    }
    out += `${ip}\t${e.host}\n`;
  }
  for (const p of s.peers ?? []) out += `${p.ip}\t${p.host}\n`;
  return out;
}

/**
 * /etc/resolv.conf from the host's: with --dns, those nameservers replace the host's (search and
 * options lines are kept); without, the host's minus loopback nameservers, unreachable from a
 * network namespace of its own (a container in the host's namespace keeps them).
 */
export function resolvConfContent(host: string, dns?: string[], hostNetwork = false): string {
  const lines = host.split('\n');
  if (dns && dns.length > 0) {
    const rest = lines.filter((l) => !/^\s*nameserver\s/.test(l) && l.trim() !== '');
    return [...dns.map((d) => `nameserver ${d}`), ...rest].join('\n') + '\n';
  }
  if (hostNetwork) return host;
  return lines.filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l)).join('\n');
}
