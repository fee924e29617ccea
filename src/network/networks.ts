/**
 * The networks of one berth root: <root>/networks/NAME.conflist, written atomically, created and
 * removed under <root>/networks/.lock (subnet choice must see every other network). The default
 * network `berth` (bridge berth0) is created on first use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError, invalid } from '../errors';
import { readJsonIfExists, writeJsonAtomic } from '../util/fs';
import { buildConflist, networkInfo, type Conflist } from './config';
import { findTool } from './cni';
import {
  chooseSubnet,
  contains,
  formatCidr,
  formatIPv4,
  hostPrefixes,
  isHostAddress,
  overlaps,
  parseIPv4,
  parseSubnet,
  toolEnv,
  type Cidr,
} from './subnet';
import type { CreateNetworkOptions, NetworkInfo } from './types';
import { withLockSync } from '../util/lock';
import { randomHexId } from '../util/random';

const childProcess = (): typeof import('node:child_process') => require('node:child_process');

export const DEFAULT_NETWORK = 'berth';
export const DEFAULT_BRIDGE = 'berth0';
/** Names with a meaning of their own for --network. */
export const RESERVED_NETWORKS = ['none', 'host', 'bridge', 'default'];

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const IFNAME_RE = /^[a-zA-Z0-9_.-]{1,15}$/;

export interface StoredNetwork {
  list: Conflist;
  info: NetworkInfo;
}

export class NetworkStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'networks');
  }

  file(name: string): string {
    return path.join(this.dir, `${name}.conflist`);
  }

  read(name: string): StoredNetwork | undefined {
    if (!NAME_RE.test(name)) return undefined;
    const file = this.file(name);
    const list = readJsonIfExists<Conflist>(file);
    if (!list) return undefined;
    return { list, info: networkInfo(list, file, fs.statSync(file).mtime) };
  }

  list(): NetworkInfo[] {
    let names: string[];
    try {
      names = fs
        .readdirSync(this.dir)
        .filter((f) => f.endsWith('.conflist'))
        .map((f) => f.slice(0, -'.conflist'.length));
    } catch {
      return [];
    }
    return names
      .flatMap((n) => {
        const s = this.read(n);
        return s ? [s.info] : [];
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A network by name; `bridge` is docker's name for the default network. The default network is
   *  created when first asked for. */
  get(name: string): StoredNetwork {
    const n = name === 'bridge' ? DEFAULT_NETWORK : name;
    const found = this.read(n);
    if (found) return found;
    if (n === DEFAULT_NETWORK) return this.createDefault();
    throw new BerthError('NETWORK_NOT_FOUND', `Network ${name} not found; create it with berth network create ${name}`);
  }

  /** Whether `name` names a network that exists or will on first use (the default). */
  exists(name: string): boolean {
    return name === 'bridge' || name === DEFAULT_NETWORK || this.read(name) !== undefined;
  }

  create(o: CreateNetworkOptions): NetworkInfo {
    if (!NAME_RE.test(o.name))
      throw invalid('the network name', 'letters, digits, _ . - (at most 64, starting with a letter or digit)', o.name);
    if (RESERVED_NETWORKS.includes(o.name)) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `The network name "${o.name}" is reserved (--network ${o.name} has a meaning of its own); choose another`,
      );
    }
    if (o.driver !== undefined && o.driver !== 'bridge' && o.driver !== 'cni')
      throw invalid('--driver', "bridge (berth's own) or cni (the CNI plugins)", o.driver);
    return this.locked(() => this.createLocked(o));
  }

  private createDefault(): StoredNetwork {
    this.locked(() => {
      if (this.read(DEFAULT_NETWORK)) return;
      let bridge = DEFAULT_BRIDGE;
      // berth0 of another berth root (or anything else) already there: take the next free name
      for (let i = 1; linkExists(bridge) && i < 100; i++) bridge = `berth${i}`;
      this.createLocked({ name: DEFAULT_NETWORK, bridge });
    });
    return this.read(DEFAULT_NETWORK)!;
  }

  private createLocked(o: CreateNetworkOptions): NetworkInfo {
    if (this.read(o.name)) throw new BerthError('NETWORK_EXISTS', `A network named ${o.name} already exists`);
    const others = this.list();
    const taken: Cidr[] = [...hostPrefixes(), ...others.map((n) => parseSubnet(n.subnet))];
    let subnet: Cidr;
    if (o.subnet !== undefined) {
      subnet = parseSubnet(o.subnet);
      const clash = taken.find((t) => overlaps(t, subnet));
      if (clash) {
        const owner = others.find((n) => overlaps(parseSubnet(n.subnet), subnet));
        throw new BerthError(
          'INVALID_ARGUMENT',
          `Subnet ${o.subnet} overlaps ${owner ? `network ${owner.name} (${owner.subnet})` : `${formatCidr(clash)}, in use on this host`}; choose another --subnet`,
        );
      }
    } else {
      if (o.gateway !== undefined) throw new BerthError('INVALID_ARGUMENT', '--gateway needs --subnet');
      const free = chooseSubnet(taken);
      if (!free)
        throw new BerthError(
          'INVALID_ARGUMENT',
          "No free subnet left in berth's pools (10.90.0.0-10.99.255.0, 172.30-31, 192.168.200-254); give --subnet",
        );
      subnet = free;
    }
    let gateway = subnet.base + 1;
    if (o.gateway !== undefined) {
      const g = parseIPv4(o.gateway);
      if (g === undefined) throw invalid('--gateway', 'an IPv4 address', o.gateway);
      if (!isHostAddress(subnet, g))
        throw new BerthError('INVALID_ARGUMENT', `Gateway ${o.gateway} is not a host address of subnet ${formatCidr(subnet)}`);
      gateway = g;
    }
    const id = randomHexId();
    const bridge = o.bridge ?? `br-${id.slice(0, 12)}`;
    if (!IFNAME_RE.test(bridge)) throw invalid('--bridge', 'an interface name of at most 15 letters, digits, _ . -', bridge);
    const user = others.find((n) => n.bridge === bridge);
    if (user) throw new BerthError('INVALID_ARGUMENT', `Bridge ${bridge} is already used by network ${user.name}`);
    // berth deletes the bridge with its network: it must be one the CNI bridge plugin creates for it
    if (linkExists(bridge))
      throw new BerthError('INVALID_ARGUMENT', `A link named ${bridge} already exists on this host; choose another bridge name`);
    const list = buildConflist({
      name: o.name,
      id,
      created: new Date().toISOString(),
      bridge,
      subnet,
      gateway,
      internal: !!o.internal,
      // only the CNI chain needs the firewall plugin; the native driver has its own FORWARD chain
      firewall: o.driver === 'cni' && !o.internal && forwardDrops(),
      cni: o.driver === 'cni',
      labels: o.labels,
    });
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    writeJsonAtomic(this.file(o.name), list);
    return this.read(o.name)!.info;
  }

  /** Deletes the conflist and the network's bridge (which the bridge plugin created and never
   *  removes). The caller checks that no container uses the network. */
  remove(name: string): NetworkInfo {
    return this.locked(() => {
      const found = this.read(name === 'bridge' ? DEFAULT_NETWORK : name);
      if (!found) throw new BerthError('NETWORK_NOT_FOUND', `Network ${name} not found`);
      // the veth of a container that just died goes with its namespace, which the kernel frees a
      // little later: wait for it rather than leave the bridge behind
      const ports = waitForEmptyBridge(found.info.bridge, 5000);
      if (ports.length > 0) {
        throw new BerthError(
          'NETWORK_IN_USE',
          `Bridge ${found.info.bridge} of network ${found.info.name} still has interfaces attached (${ports.join(', ')}); not removed`,
        );
      }
      fs.rmSync(this.file(found.info.name), { force: true });
      deleteBridge(found.info);
      return found.info;
    });
  }

  /** Runs fn holding <root>/networks/.lock. Synchronous by design: the default network is created
   *  on first use inside the synchronous `spawn`. */
  private locked<T>(fn: () => T): T {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    return withLockSync(path.join(this.dir, '.lock'), fn);
  }
}

/** Whether an address may be given to --ip on this network. */
export function checkRequestedIp(info: NetworkInfo, ip: string): void {
  const n = parseIPv4(ip);
  if (n === undefined) throw invalid('--ip', 'an IPv4 address', ip);
  const subnet = parseSubnet(info.subnet);
  if (!contains(subnet, n))
    throw new BerthError('INVALID_ARGUMENT', `Address ${ip} for --ip is not in subnet ${info.subnet} of network ${info.name}`);
  if (!isHostAddress(subnet, n) || formatIPv4(n) === info.gateway) {
    throw new BerthError('INVALID_ARGUMENT', `Address ${ip} for --ip is the network, broadcast or gateway address of ${info.name}`);
  }
}

export function linkExists(name: string): boolean {
  return fs.existsSync(path.join('/sys/class/net', name));
}

/** Interfaces attached to the bridge, once none is left or after timeoutMs. */
function waitForEmptyBridge(bridge: string, timeoutMs: number): string[] {
  const brif = path.join('/sys/class/net', bridge, 'brif');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ports: string[];
    try {
      ports = fs.readdirSync(brif);
    } catch {
      return []; // no such bridge
    }
    if (ports.length === 0 || Date.now() > deadline) return ports;
    Atomics.wait(cell, 0, 0, 10);
  }
}

/**
 * The bridge of a removed network: only if it is a bridge, no interface is attached to it, and it is
 * this network's. The bridge plugin gives a bridge an address only as the gateway of a non-internal
 * network, so one carrying IPv4 addresses but not this network's gateway belongs to someone else:
 * the default network's berthN is chosen per root from the names free when it was configured, and a
 * root that never used its network never made the bridge, so another root may own one of that name.
 */
function deleteBridge(info: NetworkInfo): void {
  const bridge = info.bridge;
  const sys = path.join('/sys/class/net', bridge);
  if (!fs.existsSync(path.join(sys, 'bridge'))) return;
  if (waitForEmptyBridge(bridge, 0).length > 0) return;
  const ip = findTool('ip');
  if (!ip) throw new BerthError('UNSUPPORTED', `Cannot delete bridge ${bridge}: ip not found; install the Debian package iproute2`);
  const addresses = bridgeAddresses(ip, bridge);
  if (addresses.length > 0 && !addresses.includes(info.gateway)) return;
  try {
    childProcess().execFileSync(ip, ['link', 'delete', 'dev', bridge, 'type', 'bridge'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: toolEnv(),
    });
  } catch (e) {
    if (linkExists(bridge))
      throw new BerthError('NETWORK_ERROR', `Cannot delete bridge ${bridge}: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
  }
}

/** The IPv4 addresses on a link, without their prefix length. */
function bridgeAddresses(ip: string, link: string): string[] {
  try {
    const out = childProcess().execFileSync(ip, ['-4', '-o', 'addr', 'show', 'dev', link], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: toolEnv(),
    });
    return [...out.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
  } catch {
    return []; // gone meanwhile: the delete below says so if it matters
  }
}

/** The host's FORWARD policy drops by default (docker does that): then the firewall plugin must let
 *  the network's traffic through. */
function forwardDrops(): boolean {
  const iptables = findTool('iptables');
  if (!iptables) return false;
  try {
    const out = childProcess().execFileSync(iptables, ['-w', '-S', 'FORWARD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: toolEnv(),
    });
    return /^-P FORWARD (DROP|REJECT)/m.test(out);
  } catch {
    return false;
  }
}
