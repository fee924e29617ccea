import * as fs from 'node:fs';
import { BerthError, invalid } from '../errors';

/** An IPv4 prefix: base address (host order, unsigned) and length. */
export interface Cidr {
  base: number;
  prefix: number;
}

export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith('0')))) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

/** A subnet for a network: IPv4, base aligned, /8 to /30 (a /31 or /32 leaves no host addresses). */
export function parseSubnet(s: string, option = '--subnet'): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  const base = m ? parseIPv4(m[1]) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (base === undefined || !(prefix >= 8 && prefix <= 30))
    throw invalid(option, 'an IPv4 subnet like 10.231.1.0/24 (prefix length 8 to 30)', s);
  if ((base & mask(prefix)) >>> 0 !== base) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Invalid subnet ${s} for ${option}: it should be ${formatIPv4((base & mask(prefix)) >>> 0)}/${prefix}`,
    );
  }
  return { base, prefix };
}

export function contains(c: Cidr, ip: number): boolean {
  return (ip & mask(c.prefix)) >>> 0 === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & mask(p)) >>> 0 === (b.base & mask(p)) >>> 0;
}

/** A usable host address of the subnet: not the network or broadcast address. */
export function isHostAddress(c: Cidr, ip: number): boolean {
  const broadcast = (c.base | ~mask(c.prefix)) >>> 0;
  return contains(c, ip) && ip !== c.base && ip !== broadcast;
}

/**
 * IPv4 prefixes the host already uses: every route of the main table except default routes
 * (/proc/net/route), and the addresses of its interfaces, up or down (`ip -4 -j addr`, when iproute2
 * is installed). A network of berth must overlap none of them.
 */
export function hostPrefixes(): Cidr[] {
  const out: Cidr[] = [];
  let routes = '';
  try {
    routes = fs.readFileSync('/proc/net/route', 'utf8');
  } catch {
    /* no IPv4 */
  }
  for (const line of routes.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    if (!/^[0-9A-Fa-f]{8}$/.test(f[1]) || !/^[0-9A-Fa-f]{8}$/.test(f[7])) continue;
    // network-order words printed as the (little-endian) host sees them
    const base = Buffer.from(f[1], 'hex').readUInt32LE(0);
    const maskBits = Buffer.from(f[7], 'hex').readUInt32LE(0);
    if (maskBits === 0) continue;
    out.push({ base: (base & maskBits) >>> 0, prefix: Math.clz32(~maskBits >>> 0) });
  }
  for (const a of interfaceAddresses()) out.push(a);
  return out;
}

function interfaceAddresses(): Cidr[] {
  const out: Cidr[] = [];
  try {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const links = JSON.parse(
      execFileSync('ip', ['-4', '-j', 'addr', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: toolEnv() }),
    ) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>;
    for (const l of links) {
      for (const a of l.addr_info ?? []) {
        const ip = a.local ? parseIPv4(a.local) : undefined;
        if (ip === undefined || a.prefixlen === undefined) continue;
        out.push({ base: (ip & mask(a.prefixlen)) >>> 0, prefix: a.prefixlen });
      }
    }
  } catch {
    /* no iproute2: the routes must do */
  }
  return out;
}

/** PATH for the system tools berth runs (plugins, iptables, ip), wherever the caller's PATH points. */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = process.env.PATH ?? '';
  const dirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  const pathVar = [...base.split(':').filter(Boolean), ...dirs.filter((d) => !base.split(':').includes(d))].join(':');
  return { ...process.env, PATH: pathVar, ...extra };
}

/** berth's pool for networks created without --subnet: /24s of 10.90.0.0/15 .. 10.99.0.0/16 (10.88
 *  and 10.89 are podman's defaults), then 172.30.0.0/15 and 192.168.200.0-192.168.254.0. */
export const DEFAULT_POOLS: Array<[string, string]> = [
  ['10.90.0.0', '10.99.255.0'],
  ['172.30.0.0', '172.31.255.0'],
  ['192.168.200.0', '192.168.254.0'],
];

/** The first /24 of the pools that overlaps nothing taken. */
export function chooseSubnet(taken: Cidr[], pools: Array<[string, string]> = DEFAULT_POOLS): Cidr | undefined {
  for (const [from, to] of pools) {
    const end = parseIPv4(to)!;
    for (let base = parseIPv4(from)!; base <= end; base += 256) {
      const c = { base, prefix: 24 };
      if (!taken.some((t) => overlaps(t, c))) return c;
    }
  }
  return undefined;
}
