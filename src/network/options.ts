/** The network options of `run`/`create`, validated into what config.json records. */
import { BerthError, invalid } from '../errors';
import { parseAddHost, parseDns } from './hosts';
import { DEFAULT_NETWORK } from './networks';
import { exposedPorts, parsePublish } from './ports';
import { parseIPv4 } from './subnet';
import type { ContainerNetwork, HostEntry, PortMapping } from './types';
import type { NetworkExtrasInput } from './run-network-extras';

/** The network options of a container (ContainerOptions has them too). */
export interface NetworkOptionsInput extends NetworkExtrasInput {
  /**
   * none (loopback only), host (the host's network namespace), bridge (berth's default network
   * `berth`) or the name of a network made with createNetwork. Default: bridge, unless the Berth
   * was made with another defaultNetwork (or $BERTH_DEFAULT_NETWORK).
   */
  network?: string;
  /** A fixed IPv4 address on a user-defined network. */
  ip?: string;
  mac?: string;
  /** Nameservers for /etc/resolv.conf instead of the host's. */
  dns?: string[];
  /** Extra /etc/hosts entries, 'HOST:IP' (IP may be host-gateway). */
  addHosts?: string[];
  /** '[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]', ports or ranges; docker's -p. */
  publish?: string[];
  /** docker's -P: every port the image exposes, on free host ports. */
  publishAll?: boolean;
}

export interface ParsedNetworkOptions {
  network: ContainerNetwork;
  dns?: string[];
  addHosts?: HostEntry[];
}

/**
 * --network none|host|bridge|NAME with --ip, --mac-address, -p, -P, --dns, --add-host.
 *
 * Without --network a container joins `defaultNetwork`: 'bridge' (berth's default network, as
 * docker's) unless the caller configured another (BERTH_DEFAULT_NETWORK, BerthOptions); with a
 * default of 'none', -p, -P or --mac-address still ask for the default bridge network.
 * `exists` says whether a user network of that name exists.
 */
export function parseNetworkOptions(
  o: NetworkOptionsInput,
  imageExposed: Record<string, object> | undefined,
  exists: (name: string) => boolean,
  defaultNetwork = 'bridge',
): ParsedNetworkOptions {
  if (o.ip !== undefined && o.network === undefined)
    throw new BerthError('INVALID_ARGUMENT', '--ip needs a user-defined network: add --network NAME');
  const wantsNetwork = (o.publish?.length ?? 0) > 0 || !!o.publishAll || o.mac !== undefined;
  const given = o.network ?? (wantsNetwork && defaultNetwork === 'none' ? 'bridge' : defaultNetwork);
  if (given === '' || /\s/.test(given)) throw invalid('--network', 'none, host, bridge or a network name', given);
  const mode: ContainerNetwork['mode'] = given === 'none' || given === 'host' ? given : 'bridge';
  const name = mode !== 'bridge' ? undefined : given === 'bridge' ? DEFAULT_NETWORK : given;
  if (name !== undefined && !exists(name))
    throw new BerthError('NETWORK_NOT_FOUND', `Network ${given} not found; create it with berth network create ${given}`);

  const ports: PortMapping[] = (o.publish ?? []).flatMap(parsePublish);
  if (o.publishAll) {
    for (const p of exposedPorts(imageExposed)) {
      if (!ports.some((q) => q.containerPort === p.containerPort && q.protocol === p.protocol)) ports.push(p);
    }
  }
  if (mode !== 'bridge') {
    if (ports.length > 0)
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Conflicting options: -p/-P and --network ${mode}; ports are published from a bridge network`,
      );
    if (o.ip !== undefined || o.mac !== undefined) {
      throw new BerthError('INVALID_ARGUMENT', `Conflicting options: --ip/--mac-address and --network ${mode}`);
    }
  }
  if (o.ip !== undefined) {
    if (parseIPv4(o.ip) === undefined) throw invalid('--ip', 'an IPv4 address', o.ip);
    if (name === DEFAULT_NETWORK)
      throw new BerthError(
        'INVALID_ARGUMENT',
        'A fixed --ip is supported on user-defined networks only; create one with berth network create',
      );
  }
  let mac: string | undefined;
  if (o.mac !== undefined) {
    if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(o.mac)) throw invalid('--mac-address', 'a MAC address like 02:42:ac:11:00:02', o.mac);
    if (parseInt(o.mac.slice(0, 2), 16) & 1) throw invalid('--mac-address', 'a unicast MAC address (even first octet)', o.mac);
    mac = o.mac.toLowerCase();
  }
  const addHosts = o.addHosts?.map(parseAddHost);
  if (mode !== 'bridge' && addHosts?.some((e) => e.ip === 'host-gateway')) {
    throw new BerthError('INVALID_ARGUMENT', `--add-host NAME:host-gateway needs a bridge network; the container's network is ${mode}`);
  }
  const network: ContainerNetwork = {
    mode,
    ...(name ? { name } : {}),
    ...(o.ip ? { ip: o.ip } : {}),
    ...(mac ? { mac } : {}),
    ...(ports.length ? { ports } : {}),
  };
  return {
    network,
    ...(o.dns !== undefined ? { dns: parseDns(o.dns) } : {}),
    ...(addHosts !== undefined ? { addHosts } : {}),
  };
}
