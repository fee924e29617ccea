/**
 * /networks: list, inspect, create, remove, connect, disconnect, prune. berth's default network
 * answers as docker's `bridge` (compose and testcontainers look for it by that name), and the
 * host and none modes as the predefined networks docker lists beside it. A network is found by
 * full ID, name or unique ID prefix (network-json.ts findNetwork).
 */
import { BerthError } from '../../errors';
import { DEFAULT_NETWORK } from '../../network/networks';
import {
  findNetwork,
  forbidden,
  checkNetworkFilters,
  labelsMatch,
  matchesNetworkFilters,
  networkJson,
  networkName,
  parseNetworkCreate,
  type ApiNetwork,
  type NetworkMember,
} from '../docker/network-json';
import { filtersQuery, jsonBody, sendEmpty, sendJson, type Ctx } from '../http/context';
import { ApiError, badRequest, conflict } from '../http/errors';
import { route } from '../http/router';
import { container } from './containers';
import { parseTimeQuery } from './time-query';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every network a client can see. The default network is made (its config only: the bridge
 *  comes with its first container) when first listed, so `bridge` keeps one ID from the start. */
function allNetworks(ctx: Ctx): ApiNetwork[] {
  ctx.berth.runtime.networks.store.get(DEFAULT_NETWORK);
  const own: ApiNetwork[] = ctx.berth.listNetworks().map((info) => ({ kind: 'berth', info }));
  // docker lists its default bridge first, then host and none
  own.sort((a, b) => Number(networkName(b) === 'bridge') - Number(networkName(a) === 'bridge'));
  return [...own, { kind: 'mode', name: 'host' }, { kind: 'mode', name: 'none' }];
}

const resolve = (ctx: Ctx, ref = ctx.params.id): ApiNetwork => findNetwork(allNetworks(ctx), ref);

/** The running containers on a network (host and none have no endpoints berth tracks). */
function members(ctx: Ctx, n: ApiNetwork): NetworkMember[] {
  return n.kind === 'berth' ? ctx.berth.inspectNetwork(n.info.name).containers : [];
}

function list(ctx: Ctx): void {
  const filters = filtersQuery(ctx);
  checkNetworkFilters(filters);
  const out = allNetworks(ctx)
    .map((n) => ({ n, json: networkJson(n) }))
    .filter(({ n, json }) => matchesNetworkFilters(filters, json, filters.dangling ? members(ctx, n).length > 0 : false))
    .map(({ json }) => json);
  sendJson(ctx, 200, out);
}

function inspect(ctx: Ctx): void {
  const n = resolve(ctx);
  sendJson(ctx, 200, networkJson(n, members(ctx, n)));
}

async function create(ctx: Ctx): Promise<void> {
  const opts = parseNetworkCreate(await jsonBody(ctx));
  let id: string;
  try {
    id = ctx.berth.createNetwork(opts).id;
  } catch (e) {
    // docker's libnetwork.NetworkNameError wording (a 409), which compose matches on
    if (e instanceof BerthError && e.code === 'NETWORK_EXISTS') throw conflict(`network with name ${opts.name} already exists`);
    throw e;
  }
  sendJson(ctx, 201, { Id: id, Warning: '' });
}

/** Removes one berth network; docker answers a network with running containers with 403
 *  (libnetwork's ActiveEndpointsError is Forbidden), and compose's down relies on that status. */
function removeOne(ctx: Ctx, n: ApiNetwork & { kind: 'berth' }): void {
  const name = networkName(n);
  try {
    ctx.berth.removeNetwork(n.info.name);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'NETWORK_IN_USE')
      throw new ApiError(403, `error while removing network: network ${name} id ${n.info.id} has active endpoints`);
    throw e;
  }
}

function remove(ctx: Ctx): void {
  const n = resolve(ctx);
  const name = networkName(n);
  if (n.kind === 'mode' || name === 'bridge') throw forbidden(`${name} is a pre-defined network and cannot be removed`);
  removeOne(ctx, n);
  sendEmpty(ctx, 204);
}

/** The container a connect/disconnect body names, by name or ID (docker's 404 when unknown). */
function bodyContainer(body: Obj): string {
  if (typeof body.Container !== 'string' || body.Container === '')
    throw badRequest('Container is required: the container to connect or disconnect');
  return body.Container;
}

/** A container can be moved onto or off the host and none networks only by recreating it. */
function checkModeNetwork(n: ApiNetwork): asserts n is ApiNetwork & { kind: 'berth' } {
  if (n.kind === 'mode') throw badRequest(`container cannot be disconnected from ${n.name} network or connected to ${n.name} network`);
}

/** EndpointConfig: a fixed IPv4 address and aliases (compose names each service so on its
 *  networks); the remaining fields berth cannot honour here. */
function endpointConfig(ep: unknown, c: { id: string; name: string }): { ip?: string; aliases?: string[] } {
  if (!isObj(ep)) return {};
  const ipam = isObj(ep.IPAMConfig) ? ep.IPAMConfig : {};
  if (ipam.IPv6Address) throw badRequest("EndpointConfig.IPAMConfig.IPv6Address is not supported: berth's networks are IPv4 only");
  if (Array.isArray(ipam.LinkLocalIPs) && ipam.LinkLocalIPs.length)
    throw badRequest('EndpointConfig.IPAMConfig.LinkLocalIPs is not supported by berth');
  const aliases = (Array.isArray(ep.Aliases) ? ep.Aliases.map(String) : []).filter((a) => a !== c.name && !c.id.startsWith(a));
  for (const k of ['Links', 'DriverOpts']) {
    const v = ep[k];
    if ((Array.isArray(v) && v.length) || (isObj(v) && Object.keys(v).length))
      throw badRequest(`EndpointConfig.${k} is not supported by berth on network connect`);
  }
  if (typeof ep.MacAddress === 'string' && ep.MacAddress)
    throw badRequest('EndpointConfig.MacAddress is not supported by berth on network connect');
  const ip = typeof ipam.IPv4Address === 'string' && ipam.IPv4Address ? ipam.IPv4Address : undefined;
  return { ...(ip ? { ip } : {}), ...(aliases.length ? { aliases } : {}) };
}

async function connect(ctx: Ctx): Promise<void> {
  const body = await jsonBody(ctx);
  if (!isObj(body)) throw badRequest('invalid JSON in the request body: expected an object');
  const n = resolve(ctx);
  checkModeNetwork(n);
  const c = container(ctx, bodyContainer(body));
  ctx.berth.connectNetwork(n.info.name, c.config.id, endpointConfig(body.EndpointConfig, { id: c.config.id, name: c.config.name }));
  sendEmpty(ctx, 200);
}

async function disconnect(ctx: Ctx): Promise<void> {
  const body = await jsonBody(ctx);
  if (!isObj(body)) throw badRequest('invalid JSON in the request body: expected an object');
  const n = resolve(ctx);
  checkModeNetwork(n);
  const c = container(ctx, bodyContainer(body));
  ctx.berth.disconnectNetwork(n.info.name, c.config.id);
  sendEmpty(ctx, 200);
}

/** docker's network prune: every custom network no running container is on, filtered by `until`
 *  (created before) and `label`/`label!`. */
function prune(ctx: Ctx): void {
  const filters = filtersQuery(ctx);
  for (const k of Object.keys(filters)) if (!['until', 'label', 'label!'].includes(k)) throw badRequest(`invalid filter '${k}'`);
  const until = filters.until?.length ? Math.min(...filters.until.map((v) => parseTimeQuery(v) ?? Infinity)) : Infinity;
  const deleted: string[] = [];
  for (const n of allNetworks(ctx)) {
    if (n.kind !== 'berth' || networkName(n) === 'bridge') continue;
    const labels = n.info.labels ?? {};
    if (Date.parse(n.info.created) / 1000 > until) continue;
    if (!labelsMatch(filters.label ?? [], labels)) continue;
    if ((filters['label!'] ?? []).some((f) => labelsMatch([f], labels))) continue;
    if (members(ctx, n).length > 0) continue;
    try {
      removeOne(ctx, n);
      deleted.push(networkName(n));
    } catch (e) {
      // a container joined meanwhile: the network stays, as docker's prune skips it
      if (!(e instanceof ApiError && e.status === 403)) throw e;
    }
  }
  sendJson(ctx, 200, { NetworksDeleted: deleted });
}

export const NETWORK_ROUTES = [
  route('GET', '/networks', list),
  route('POST', '/networks/create', create),
  route('POST', '/networks/prune', prune),
  route('GET', '/networks/{id}', inspect),
  route('DELETE', '/networks/{id}', remove),
  route('POST', '/networks/{id}/connect', connect),
  route('POST', '/networks/{id}/disconnect', disconnect),
];
