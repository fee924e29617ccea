/**
 * berth's networks in the Engine API's schema (moby's api/types/network: Inspect, EndpointResource,
 * IPAM, CreateRequest), and the filters of GET /networks. Pure: routes/networks.ts reads the
 * networks and containers; this module only shapes them. docker's predefined networks are `bridge`
 * (berth's default network `berth`), `host` and `none`; the last two exist in berth only as
 * network modes, so they are shown with a stable ID of their own.
 */
import { createHash } from 'node:crypto';
import type { CreateNetworkOptions, EndpointInfo, NetworkInfo } from '../../network/types';
import { ApiError, badRequest, notFound } from '../http/errors';
import { dockerNetworkName } from './container-json';

type Obj = Record<string, unknown>;

/** The networks docker predefines: never created, never removed, listed as `type=builtin`. */
export const PREDEFINED_NETWORKS = ['bridge', 'host', 'none'] as const;

/** docker's errdefs.Forbidden: what a predefined network may not undergo (create, remove). */
export const forbidden = (message: string) => new ApiError(403, message);

export const isPredefined = (name: string): boolean => (PREDEFINED_NETWORKS as readonly string[]).includes(name);

/** A running container's endpoint on a network, as network inspect lists it. */
export type NetworkMember = { id: string; name: string } & EndpointInfo;

/** One network as the API answers for it: berth's own (the default one named `bridge`), or the
 *  host/none mode docker also lists as a network. */
export type ApiNetwork = { kind: 'berth'; info: NetworkInfo } | { kind: 'mode'; name: 'host' | 'none' };

export interface DockerEndpoint {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

export interface DockerNetwork {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: Array<{ Subnet: string; Gateway?: string }> };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, DockerEndpoint>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** host and none have no record in berth: an ID derived from the name stays the same across
 *  restarts of the service, as docker's do across restarts of dockerd. */
export function modeNetworkId(name: 'host' | 'none'): string {
  return createHash('sha256').update(`berth network mode ${name}`).digest('hex');
}

export const networkName = (n: ApiNetwork): string => (n.kind === 'berth' ? dockerNetworkName(n.info.name) : n.name);
export const networkId = (n: ApiNetwork): string => (n.kind === 'berth' ? n.info.id : modeNetworkId(n.name));

/** The EndpointID container inspect shows for the same attachment (container-json.ts). */
export function endpointId(containerId: string, network: string): string {
  return `${containerId.slice(0, 32)}${network}`.slice(0, 64);
}

export function endpointResource(m: NetworkMember): DockerEndpoint {
  return {
    Name: m.name,
    EndpointID: endpointId(m.id, m.network),
    MacAddress: m.mac,
    IPv4Address: m.ip ? `${m.ip}/${m.prefixLength}` : '',
    IPv6Address: '',
  };
}

/** docker's network inspect document; `members` are the running containers on it (inspect lists
 *  them, GET /networks leaves Containers empty as docker's list does). */
export function networkJson(n: ApiNetwork, members: NetworkMember[] = []): DockerNetwork {
  const info = n.kind === 'berth' ? n.info : undefined;
  const name = networkName(n);
  const options: Record<string, string> = {};
  // docker shows a user network's Options as they were given at create (compose recreates a
  // network whose options differ from its file's): berth's own bridge name (br-<id>) was not given
  if (info && name === 'bridge') {
    options['com.docker.network.bridge.name'] = info.bridge;
    options['com.docker.network.bridge.default_bridge'] = 'true';
    options['com.docker.network.bridge.enable_ip_masquerade'] = 'true';
  } else if (info && !/^br-[0-9a-f]+$/.test(info.bridge)) {
    options['com.docker.network.bridge.name'] = info.bridge;
  }
  // in docker's field order, which docker network inspect prints as it comes
  return {
    Name: name,
    Id: networkId(n),
    Created: info?.created ?? '0001-01-01T00:00:00Z',
    Scope: 'local',
    Driver: info ? info.driver : n.kind === 'mode' && n.name === 'host' ? 'host' : 'null',
    EnableIPv6: false,
    IPAM: info
      ? {
          Driver: 'default',
          Options: {},
          Config: [{ Subnet: info.subnet, ...(info.gateway && !info.internal ? { Gateway: info.gateway } : {}) }],
        }
      : { Driver: 'default', Options: null, Config: [] },
    Internal: info?.internal ?? false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(members.map((m) => [m.id, endpointResource(m)])),
    Options: options,
    Labels: info?.labels ?? {},
  };
}

/**
 * A network by what a client calls it, in docker's order (daemon.FindNetwork): the full ID, then
 * the name, then a unique ID prefix. `berth`, the default network's own name, is accepted too.
 */
export function findNetwork(networks: ApiNetwork[], ref: string): ApiNetwork {
  const byId = networks.find((n) => networkId(n) === ref);
  if (byId) return byId;
  const byName = networks.find((n) => networkName(n) === ref || (n.kind === 'berth' && n.info.name === ref));
  if (byName) return byName;
  const byPrefix = ref ? networks.filter((n) => networkId(n).startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0];
  if (byPrefix.length > 1) throw badRequest(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
  throw notFound(`network ${ref} not found`);
}

const NETWORK_FILTERS = ['name', 'id', 'driver', 'label', 'type', 'dangling', 'scope'];

/** docker's filters.Match: the value itself, or the value as a regular expression found in it. */
function filterMatches(pattern: string, value: string): boolean {
  if (pattern === value) return true;
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return false;
  }
}

/** label=KEY (set) or label=KEY=VALUE (set to VALUE): every label filter must hold. */
export function labelsMatch(filters: string[], labels: Record<string, string>): boolean {
  return filters.every((f) => {
    const eq = f.indexOf('=');
    return eq < 0 ? Object.hasOwn(labels, f) : labels[f.slice(0, eq)] === f.slice(eq + 1);
  });
}

/** Refuses a filter key GET /networks does not know, and values `type` and `dangling` cannot take. */
export function checkNetworkFilters(filters: Record<string, string[]>): void {
  for (const [key, values] of Object.entries(filters)) {
    if (!NETWORK_FILTERS.includes(key)) throw badRequest(`invalid filter '${key}'`);
    for (const v of values) {
      if (key === 'type' && v !== 'custom' && v !== 'builtin') throw badRequest(`invalid filter: 'type'='${v}'`);
      if (key === 'dangling' && !['true', 'false', '1', '0'].includes(v)) throw badRequest(`invalid filter 'dangling=${v}'`);
    }
  }
}

/** Whether a network passes GET /networks' filters; `inUse`: a running container is on it. Values
 *  of one key are alternatives, different keys must all hold (label: every value). */
export function matchesNetworkFilters(filters: Record<string, string[]>, d: DockerNetwork, inUse: boolean): boolean {
  const any = (key: string, test: (v: string) => boolean) => !filters[key]?.length || filters[key].some(test);
  const builtin = isPredefined(d.Name);
  return (
    any('name', (v) => filterMatches(v, d.Name)) &&
    any('id', (v) => filterMatches(v, d.Id)) &&
    any('driver', (v) => v === d.Driver) &&
    any('scope', (v) => v === 'local') &&
    any('type', (v) => (v === 'builtin') === builtin) &&
    // docker: dangling=true is the custom networks no container uses; the predefined ones never are
    any('dangling', (v) => (['true', '1'].includes(v) ? !builtin && !inUse : builtin || inUse)) &&
    labelsMatch(filters.label ?? [], d.Labels)
  );
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const given = (v: unknown) => v !== undefined && v !== null && v !== false && v !== '';

/** Driver options berth's bridge honours as docker's bridge driver does; any other is refused. */
const BRIDGE_OPTIONS = {
  name: 'com.docker.network.bridge.name',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  icc: 'com.docker.network.bridge.enable_icc',
};

/**
 * POST /networks/create's body as berth's createNetwork options. Every field docker's CLI and
 * compose send at their zero value is accepted; a field berth cannot honour (IPv6, another driver
 * or IPAM driver, swarm's config networks and ingress) is refused with its name, never dropped.
 * CheckDuplicate is moot: berth never makes two networks of one name (as docker since API 1.44).
 */
export function parseNetworkCreate(body: unknown): CreateNetworkOptions {
  if (!isObj(body)) throw badRequest('invalid JSON in the request body: expected an object');
  const name = body.Name;
  if (typeof name !== 'string' || name === '') throw badRequest('network name must not be empty');
  if (isPredefined(name)) throw forbidden(`${name} is a pre-defined network and cannot be created`);
  const o: CreateNetworkOptions = { name };
  const driver = body.Driver ?? '';
  if (driver === 'cni') o.driver = 'cni';
  else if (driver !== '' && driver !== 'bridge')
    throw notFound(`plugin ${JSON.stringify(driver)} not found: berth's networks use the bridge driver (or cni)`);
  if (given(body.Scope) && body.Scope !== 'local')
    throw badRequest(`Scope ${JSON.stringify(body.Scope)} is not supported: berth's networks are local`);
  if (body.EnableIPv6 === true) throw badRequest("EnableIPv6 is not supported: berth's networks are IPv4 only");
  for (const k of ['Ingress', 'ConfigOnly'] as const)
    if (given(body[k])) throw badRequest(`${k} is not supported by berth; leave it unset`);
  if (isObj(body.ConfigFrom) && given(body.ConfigFrom.Network)) throw badRequest('ConfigFrom is not supported by berth; leave it unset');
  if (body.Internal === true) o.internal = true;
  Object.assign(o, parseIpam(body.IPAM));
  const options = isObj(body.Options) ? body.Options : {};
  for (const [k, v] of Object.entries(options)) {
    if (k === BRIDGE_OPTIONS.name && typeof v === 'string' && v) o.bridge = v;
    else if ((k === BRIDGE_OPTIONS.masquerade || k === BRIDGE_OPTIONS.icc) && String(v) === 'true') continue;
    else throw badRequest(`network option ${k}=${JSON.stringify(v)} is not supported by berth`);
  }
  if (isObj(body.Labels) && Object.keys(body.Labels).length)
    o.labels = Object.fromEntries(Object.entries(body.Labels).map(([k, v]) => [k, String(v)]));
  return o;
}

/** IPAM: the default driver with at most one IPv4 pool (Subnet, Gateway). */
function parseIpam(ipam: unknown): Pick<CreateNetworkOptions, 'subnet' | 'gateway'> {
  if (!isObj(ipam)) return {};
  if (given(ipam.Driver) && ipam.Driver !== 'default')
    throw badRequest(`IPAM driver ${JSON.stringify(ipam.Driver)} is not supported by berth; use default`);
  if (isObj(ipam.Options) && Object.keys(ipam.Options).length)
    throw badRequest('IPAM.Options are not supported by berth; leave them unset');
  const pools = Array.isArray(ipam.Config) ? ipam.Config.filter(isObj) : [];
  if (pools.some((p) => String(p.Subnet ?? '').includes(':')))
    throw badRequest("an IPv6 subnet is not supported: berth's networks are IPv4 only");
  if (pools.length > 1) throw badRequest('berth networks take one IPAM pool (one Subnet)');
  const pool = pools[0];
  if (!pool) return {};
  for (const k of ['IPRange', 'AuxiliaryAddresses'])
    if (given(pool[k]) && !(isObj(pool[k]) && Object.keys(pool[k]).length === 0))
      throw badRequest(`IPAM.Config[0].${k} is not supported by berth; leave it unset`);
  return {
    ...(typeof pool.Subnet === 'string' && pool.Subnet ? { subnet: pool.Subnet } : {}),
    ...(typeof pool.Gateway === 'string' && pool.Gateway ? { gateway: pool.Gateway } : {}),
  };
}
