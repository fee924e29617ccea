/**
 * Address allocation of the native bridge driver, in host-local's own format so that a network's
 * leases look the same whichever driver made them: <runRoot>/cni/networks/<network>/<ip>, a file
 * per address holding "<container id>\r\n<ifname>", and last_reserved_ip.0 for the round robin
 * (an address just freed is not given out again at once: a peer's ARP cache may still hold it).
 *
 * Crash-safe: the caller holds the network's lock (network-locks.ts) and writes the address into
 * the container's sandbox record before the lease is created (O_EXCL), so a crash at any point
 * leaves either a record naming an address whose lease is missing (release then removes nothing) or
 * a lease that a record names (released by the next sweep). A lease is only ever removed by the
 * container it names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { contains, formatIPv4, isHostAddress, parseIPv4, parseSubnet } from './subnet';
import type { NetworkInfo } from './types';

const LAST = 'last_reserved_ip.0';

export class NativeIpam {
  constructor(private readonly dataDir: string) {}

  private dir(network: string): string {
    return path.join(this.dataDir, network);
  }

  /** The address for a container: `requested` if given (and free), else the next free one after
   *  the last reserved. Only chooses; reserve() takes it. */
  choose(info: NetworkInfo, containerId: string, requested?: string): string {
    const subnet = parseSubnet(info.subnet);
    const gateway = parseIPv4(info.gateway);
    const taken = new Set(this.leases(info.name));
    if (requested !== undefined) {
      if (taken.has(requested) && this.holder(info.name, requested) !== containerId)
        throw new BerthError('INVALID_ARGUMENT', `Address ${requested} is already in use on network ${info.name}`);
      return requested;
    }
    const size = 2 ** (32 - subnet.prefix);
    const last = parseIPv4(this.read(path.join(this.dir(info.name), LAST)).trim());
    const start = last !== undefined && contains(subnet, last) ? last - subnet.base + 1 : 1;
    for (let i = 0; i < size; i++) {
      const n = subnet.base + ((start + i) % size);
      if (!isHostAddress(subnet, n) || n === gateway) continue;
      const ip = formatIPv4(n);
      if (!taken.has(ip)) return ip;
    }
    throw new BerthError('NETWORK_ERROR', `No free address left on network ${info.name} (${info.subnet})`);
  }

  /** The lease file, made exclusively; throws if another container holds the address. */
  reserve(network: string, ip: string, containerId: string, ifname: string): void {
    const dir = this.dir(network);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    try {
      fs.writeFileSync(path.join(dir, ip), `${containerId}\r\n${ifname}`, { flag: 'wx', mode: 0o644 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || this.holder(network, ip) !== containerId) {
        throw new BerthError('NETWORK_ERROR', `Address ${ip} on network ${network} is already leased`, { cause: e });
      }
    }
    fs.writeFileSync(path.join(dir, LAST), ip);
  }

  /** Removes the lease of ip if (and only if) it is containerId's. */
  release(network: string, ip: string, containerId: string): void {
    if (!ip || this.holder(network, ip) !== containerId) return;
    fs.rmSync(path.join(this.dir(network), ip), { force: true });
  }

  private leases(network: string): string[] {
    try {
      return fs.readdirSync(this.dir(network)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    } catch {
      return [];
    }
  }

  private holder(network: string, ip: string): string | undefined {
    return this.read(path.join(this.dir(network), ip)).split(/\r?\n/)[0] || undefined;
  }

  private read(file: string): string {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  }
}
