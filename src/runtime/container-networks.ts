/**
 * The networks of one container, as the runtime sees them: which it joins at every start, and
 * `network connect` / `disconnect` on its config. The CNI work itself is src/network's.
 */
import { BerthError, invalid } from '../errors';
import type { NetworkManager } from '../network/attachments';
import { DEFAULT_NETWORK } from '../network/networks';
import { parseIPv4 } from '../network/subnet';
import { quote } from '../util/quote';
import { linkHostEntries } from '../network/run-network-extras';
import type { ContainerNetwork } from '../network/types';
import { isRunning, onCniNetwork } from './container-predicates';
import type { ContainerConfig, ContainerInfo } from './types';

/** NetworkManager is made on first use: a container without a network touches nothing of it. */
type Networks = () => NetworkManager;

/** The name `bridge` stands for berth's default network, as docker's does for its own. */
const networkName = (network: string) => (network === 'bridge' ? DEFAULT_NETWORK : network);

/**
 * A container on CNI networks: its network namespace is made and pinned, and CNI ADD of each of
 * its networks runs in it (its /etc/hosts getting its address) before its process exists; the
 * process joins the namespace. Returns the namespace's path, or undefined without networks.
 * Owned by this process until the caller hands it on (NetworkManager.setOwner).
 */
export function attachNetworks(networks: Networks, config: ContainerConfig, dir: string): string | undefined {
  if (!onCniNetwork(config)) return undefined;
  return networks().attach({
    containerId: config.id,
    name: config.name,
    hostname: config.hostname,
    containerDir: dir,
    networks: [config.network, ...(config.connected ?? []).map((c) => ({ mode: 'bridge' as const, name: c.name, ip: c.ip }))],
    addHosts: [...(config.addHosts ?? []), ...linkHostEntries(config.links, (id) => linkAddress(networks, id, config.network))],
    ...(config.networkAliases ? { aliases: config.networkAliases } : {}),
  });
}

/** A linked container's address on the network the two share, if it runs. */
function linkAddress(networks: Networks, id: string, network: ContainerNetwork): string | undefined {
  return networks()
    .endpoints(id)
    .find((e) => e.network === (network.name ?? DEFAULT_NETWORK))?.ip;
}

/** Aliases given at a connect, merged into the container's own (they name it on every network it
 *  joins, as its --network-alias do); its name and short ID are in the hosts files anyway. */
function withAliases(config: ContainerConfig, aliases: readonly string[] | undefined): Pick<ContainerConfig, 'networkAliases'> {
  const extra = (aliases ?? []).filter((a) => a !== config.name && !config.id.startsWith(a));
  const merged = [...new Set([...(config.networkAliases ?? []), ...extra])];
  return merged.length ? { networkAliases: merged } : {};
}

/**
 * network connect: the container's config with one more user network, joined at once if it runs.
 * A container that is not running and has no network (none, or the primary one disconnected, which
 * is what docker-compose 1.x does right after create) takes this one as its primary network, with
 * the published ports it had.
 */
export function connectNetwork(
  networks: Networks,
  info: ContainerInfo,
  network: string,
  opts: { ip?: string; aliases?: readonly string[] },
): ContainerConfig {
  const { config } = info;
  const name = networkName(network);
  const asPrimary = !isRunning(info.state) && config.network?.mode === 'none' && config.network.detachedFrom !== undefined;
  if (!onCniNetwork(config) && !asPrimary) {
    throw new BerthError(
      'INVALID_STATE',
      `Container ${quote(config.name)} runs with --network ${config.network?.mode ?? 'none'}: only a container created on a bridge network can be connected to others`,
    );
  }
  networks().store.get(name); // exists, or the error says how to create it
  if (opts.ip !== undefined) {
    if (parseIPv4(opts.ip) === undefined) throw invalid('--ip', 'an IPv4 address', opts.ip);
    if (name === DEFAULT_NETWORK) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        'A fixed --ip is supported on user-defined networks only; create one with berth network create',
      );
    }
  }
  if (asPrimary) {
    const { detachedFrom: _, ...rest } = config.network!;
    return {
      ...config,
      network: { ...rest, mode: 'bridge', name, ...(opts.ip !== undefined ? { ip: opts.ip } : {}) },
      ...withAliases(config, opts.aliases),
    };
  }
  const primary = config.network as ContainerNetwork;
  if ((primary.name ?? DEFAULT_NETWORK) === name || config.connected?.some((c) => c.name === name)) {
    throw new BerthError('INVALID_STATE', `Container ${quote(config.name)} is already connected to network ${quote(network)}`);
  }
  const entry = { name, ...(opts.ip !== undefined ? { ip: opts.ip } : {}) };
  if (isRunning(info.state)) networks().connect(config.id, { mode: 'bridge', ...entry });
  return { ...config, connected: [...(config.connected ?? []), entry], ...withAliases(config, opts.aliases) };
}

/**
 * network disconnect: the reverse of connect. The network a running container was created on
 * stays (it carries its eth0 and published ports); a container that is not running leaves it too:
 * its next connected network becomes the primary one, or, with none left, it has no network
 * (loopback only) until a connect gives it one again, keeping its published ports for that.
 */
export function disconnectNetwork(networks: Networks, info: ContainerInfo, network: string): ContainerConfig {
  const { config } = info;
  const name = networkName(network);
  if (onCniNetwork(config) && (config.network.name ?? DEFAULT_NETWORK) === name) {
    if (isRunning(info.state)) {
      throw new BerthError(
        'UNSUPPORTED',
        `Container ${quote(config.name)} was created on network ${quote(network)}, which carries its eth0 and published ports: berth keeps it there while it runs; stop it first, or remove it and run it again with another --network`,
      );
    }
    const [next, ...rest] = config.connected ?? [];
    const { name: _, ip: __, ...kept } = config.network;
    if (next)
      return { ...config, network: { ...kept, mode: 'bridge', name: next.name, ...(next.ip ? { ip: next.ip } : {}) }, connected: rest };
    return { ...config, network: { ...kept, mode: 'none', detachedFrom: name } };
  }
  if (!config.connected?.some((c) => c.name === name)) {
    throw new BerthError('INVALID_STATE', `Container ${quote(config.name)} is not connected to network ${quote(network)}`);
  }
  if (
    isRunning(info.state) &&
    networks()
      .endpoints(config.id)
      .some((e) => e.network === name)
  )
    networks().disconnect(config.id, name);
  return { ...config, connected: config.connected.filter((c) => c.name !== name) };
}
