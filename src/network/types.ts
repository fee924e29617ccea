/** Types shared by the network code, the container config and the public API. */

/** One published port, docker's -p. hostPort 0: chosen at start (from hostRange when given). */
export interface PortMapping {
  /** '' = every host address. */
  hostIP: string;
  hostPort: number;
  /** -p 8000-8010:80: any free port of this range. */
  hostRange?: [number, number];
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** docker's --add-host NAME:IP. */
export interface HostEntry {
  host: string;
  ip: string;
}

/** How a container is networked, fixed at create time (config.json). */
export interface ContainerNetwork {
  /** none: loopback only; host: the host's network namespace; bridge: a berth (CNI) network;
   *  container: the network namespace of another running container (--network container:X). */
  mode: 'none' | 'host' | 'bridge' | 'container';
  /** container: the ID of the container whose network namespace it joins. */
  container?: string;
  /** bridge: the berth network's name ('berth' is the default network). */
  name?: string;
  ip?: string;
  mac?: string;
  ports?: PortMapping[];
  /** none after `network disconnect` of a stopped container's bridge network: the network it
   *  left, so that a connect makes the next one primary with the published ports kept here. */
  detachedFrom?: string;
}

/** A berth network as `network ls/inspect` and the API show it. */
export interface NetworkInfo {
  name: string;
  id: string;
  created: string;
  /** bridge: berth's native driver (netlink, its own iptables chains); cni: the CNI plugins. */
  driver: 'bridge' | 'cni';
  /** The Linux bridge. */
  bridge: string;
  subnet: string;
  gateway: string;
  /** No gateway, no NAT, no default route: containers reach only each other. */
  internal: boolean;
  /** The CNI conflist berth owns. */
  configFile: string;
  /** docker's network labels (compose finds its project's networks by them). */
  labels?: Record<string, string>;
}

/** A container's attachment to one network while it runs (berth port, network inspect). */
export interface EndpointInfo {
  network: string;
  ip: string;
  prefixLength: number;
  gateway?: string;
  mac: string;
  ports: PortMapping[];
}

export interface CreateNetworkOptions {
  name: string;
  /** IPv4 CIDR like 10.231.1.0/24; default: the first free /24 of berth's pool that no host route overlaps. */
  subnet?: string;
  /** Default: the first host address of the subnet. */
  gateway?: string;
  internal?: boolean;
  /** Linux bridge name; default br-<id prefix>. Must not exist on the host yet. */
  bridge?: string;
  /** 'cni': containers join through the CNI plugins (bridge, host-local, portmap); default 'bridge', berth's native driver. */
  driver?: 'bridge' | 'cni';
  labels?: Record<string, string>;
}
