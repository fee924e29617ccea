/**
 * berth's CNI network configuration lists (<root>/networks/NAME.conflist). The file is plain CNI: any
 * CNI tool can read it. What berth knows about a network (bridge, subnet, gateway, internal) is read
 * back from the plugins themselves, so the file stays the single truth; only the id and creation
 * time live beside them, under "berth".
 */
import { BerthError } from '../errors';
import { formatCidr, formatIPv4, type Cidr } from './subnet';
import type { NetworkInfo } from './types';

export const CNI_VERSION = '1.0.0';

/** One host-local address range. */
interface IpamRange {
  subnet?: string;
  gateway?: string;
  [key: string]: unknown;
}

/** One plugin's configuration: its type, its IPAM section (the part berth reads back), and
 *  whatever else that plugin reads (JSON). */
export type PluginConf = { type: string; ipam?: { type?: string; ranges?: IpamRange[][]; [key: string]: unknown }; [key: string]: unknown };

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
  /** driver 'cni': containers join through the plugins; absent: berth's native bridge driver. */
  berth?: { id: string; created: string; driver?: 'cni'; labels?: Record<string, string> };
}

export interface ConflistSpec {
  name: string;
  id: string;
  created: string;
  bridge: string;
  subnet: Cidr;
  gateway: number;
  internal: boolean;
  /** Add the firewall plugin: needed when the host's FORWARD policy drops what it does not know. */
  firewall: boolean;
  /** Containers join through the CNI plugins rather than the native driver. */
  cni?: boolean;
  labels?: Record<string, string>;
}

/**
 * bridge (+ host-local IPAM) then portmap, then firewall when needed. An internal network has no
 * gateway on the bridge, no masquerading, no default route and no port mapping.
 */
export function buildConflist(s: ConflistSpec): Conflist {
  const ipam = {
    type: 'host-local',
    ranges: [[{ subnet: formatCidr(s.subnet), gateway: formatIPv4(s.gateway) }]],
    ...(s.internal ? {} : { routes: [{ dst: '0.0.0.0/0' }] }),
  };
  const bridge: PluginConf = {
    type: 'bridge',
    bridge: s.bridge,
    isGateway: !s.internal,
    ipMasq: !s.internal,
    hairpinMode: true,
    ipam,
  };
  const plugins: PluginConf[] = [bridge];
  if (!s.internal) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  if (!s.internal && s.firewall) plugins.push({ type: 'firewall', backend: 'iptables' });
  return {
    cniVersion: CNI_VERSION,
    name: s.name,
    plugins,
    berth: {
      id: s.id,
      created: s.created,
      ...(s.cni ? { driver: 'cni' as const } : {}),
      ...(s.labels && Object.keys(s.labels).length ? { labels: s.labels } : {}),
    },
  };
}

/** What `network ls/inspect` shows, read back from a conflist. */
export function networkInfo(list: Conflist, file: string, mtime: Date): NetworkInfo {
  const bridge = list.plugins.find((p) => p.type === 'bridge');
  const range = bridge?.ipam?.ranges?.[0]?.[0] ?? {};
  if (!bridge || typeof bridge.bridge !== 'string' || typeof range.subnet !== 'string') {
    throw new BerthError('INTERNAL', `Network config ${file} has no bridge plugin with a host-local range; berth cannot use it`);
  }
  return {
    name: list.name,
    id: list.berth?.id ?? '',
    created: list.berth?.created ?? mtime.toISOString(),
    driver: usesCni(list) ? 'cni' : 'bridge',
    bridge: bridge.bridge,
    subnet: range.subnet,
    gateway: range.gateway ?? '',
    internal: !bridge.isGateway,
    configFile: file,
    ...(list.berth?.labels ? { labels: list.berth.labels } : {}),
  };
}

/** The conflist as the plugins get it: host-local keeps its leases under dataDir (<runRoot>/cni/networks),
 *  which lives as long as the kernel state it describes (veths, iptables rules). */
export function runtimeConflist(list: Conflist, dataDir: string): Conflist {
  const plugins = list.plugins.map((p) => (p.ipam?.type === 'host-local' ? { ...p, ipam: { ...p.ipam, dataDir } } : { ...p }));
  return { cniVersion: list.cniVersion, name: list.name, plugins };
}

/** Whether containers join the network through the CNI plugins (network create --driver cni). */
export function usesCni(list: Conflist): boolean {
  return list.berth?.driver === 'cni';
}

/** Whether any plugin of the list runs iptables (so that a missing iptables fails early and clearly). */
export function needsIptables(list: Conflist): boolean {
  return list.plugins.some((p) => p.type === 'portmap' || p.type === 'firewall' || (p.type === 'bridge' && p.ipMasq));
}
