import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostsContent, resolvConfContent } from '../network/hosts';
import type { HostEntry } from '../network/types';
import { withSearchAndOptions } from '../network/run-network-extras';
import type { ContainerConfig } from './types';
import { onHostNetwork } from './container-predicates';

/** What of a container's config shapes its /etc files besides the hostname. */
export interface EtcOptions {
  dns?: string[];
  addHosts?: HostEntry[];
  /** --network host: the host's /etc/hosts and resolv.conf (loopback resolvers included). */
  hostNetwork?: boolean;
  /** --dns-search, --dns-option: resolv.conf's search and options lines instead of the host's. */
  dnsSearch?: string[];
  dnsOptions?: string[];
}

/** /etc/hostname, /etc/hosts and /etc/resolv.conf for a container, bind-mounted over the image's.
 *  A container on a network gets its address in /etc/hosts once it has one (network/attachments). */
export function writeEtcFiles(dir: string, hostname: string, o: EtcOptions = {}): void {
  fs.writeFileSync(path.join(dir, 'hostname'), `${hostname}\n`);
  fs.writeFileSync(path.join(dir, 'hosts'), etcHosts(hostname, o));
  fs.writeFileSync(path.join(dir, 'resolv.conf'), etcResolvConf(o));
}

export function etcHosts(hostname: string, o: EtcOptions = {}): string {
  if (o.hostNetwork) {
    const host = readOr('/etc/hosts');
    return `${host}${host === '' || host.endsWith('\n') ? '' : '\n'}${(o.addHosts ?? []).map((e) => `${e.ip}\t${e.host}\n`).join('')}`;
  }
  return hostsContent({ hostname, extra: o.addHosts?.filter((e) => e.ip !== 'host-gateway') });
}

function etcResolvConf(o: EtcOptions = {}): string {
  return withSearchAndOptions(resolvConfContent(readOr('/etc/resolv.conf'), o.dns, o.hostNetwork), o.dnsSearch, o.dnsOptions);
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // a host without the file gives an empty one
  }
}

/** The options of a container that its /etc files depend on. */
export function etcOptions(c: ContainerConfig): EtcOptions {
  return { dns: c.dns, addHosts: c.addHosts, hostNetwork: onHostNetwork(c), dnsSearch: c.dnsSearch, dnsOptions: c.dnsOptions };
}
