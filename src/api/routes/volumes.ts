/**
 * /volumes: list, create, inspect, remove, prune. berth's VolumeInfo already has docker's shape
 * (src/volume/store.ts); this maps docker's query filters and body onto Berth's volume API and
 * answers with docker's wording where clients read it (`volume is in use`, `no such volume`).
 */
import { BerthError } from '../../errors';
import { volumeUsers } from '../../runtime/container-volumes';
import type { VolumeInfo } from '../../volume/store';
import { boolQuery, filtersQuery, jsonBody, sendEmpty, sendJson, type Ctx } from '../http/context';
import { badRequest, conflict, notFound } from '../http/errors';
import { route, versionNumber } from '../http/router';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** docker's filters JSON as berth's KEY=VALUE filter strings. */
const filterStrings = (filters: Record<string, string[]>, keys: string[]): string[] =>
  keys.flatMap((k) => (filters[k] ?? []).map((v) => `${k}=${v}`));

function refuseUnknownFilters(filters: Record<string, string[]>, known: string[]): void {
  for (const k of Object.keys(filters)) if (!known.includes(k)) throw badRequest(`invalid filter '${k}'`);
}

/** A volume by name, with the 404 docker's volume service words as `get NAME: no such volume`. */
function volume(ctx: Ctx, name = ctx.params.name): VolumeInfo {
  try {
    return ctx.berth.inspectVolume(name);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'VOLUME_NOT_FOUND') throw notFound(`get ${name}: no such volume`);
    throw e;
  }
}

function list(ctx: Ctx): void {
  const filters = filtersQuery(ctx);
  const keys = ['name', 'label', 'driver', 'dangling'];
  refuseUnknownFilters(filters, keys);
  const volumes = ctx.berth.listVolumes({ filters: filterStrings(filters, keys) });
  sendJson(ctx, 200, { Volumes: volumes, Warnings: [] });
}

function inspect(ctx: Ctx): void {
  sendJson(ctx, 200, volume(ctx));
}

/** docker's create: the existing volume of that name is answered as it is (and no event: nothing
 *  was created). Only the local driver, without options: berth mounts no devices or NFS shares. */
async function create(ctx: Ctx): Promise<void> {
  const body = await jsonBody(ctx);
  if (!isObj(body)) throw badRequest('invalid JSON in the request body: expected an object');
  const name = typeof body.Name === 'string' && body.Name ? body.Name : undefined;
  if (body.Name !== undefined && body.Name !== null && typeof body.Name !== 'string')
    throw badRequest('invalid value for Name: expected a string');
  const driver = body.Driver ?? '';
  if (driver !== '' && driver !== 'local')
    throw notFound(`plugin ${JSON.stringify(driver)} not found: berth's volumes use the local driver`);
  if (isObj(body.DriverOpts) && Object.keys(body.DriverOpts).length)
    throw badRequest(
      `DriverOpts (${Object.keys(body.DriverOpts).join(', ')}) are not supported by berth's local driver: it makes plain directories`,
    );
  if (isObj(body.ClusterVolumeSpec)) throw badRequest('ClusterVolumeSpec is not supported: berth has no swarm');
  const labels = isObj(body.Labels) ? Object.fromEntries(Object.entries(body.Labels).map(([k, v]) => [k, String(v)])) : undefined;
  const v = ctx.berth.createVolume({ ...(name ? { name } : {}), ...(labels && Object.keys(labels).length ? { labels } : {}) });
  sendJson(ctx, 201, v);
}

function remove(ctx: Ctx): void {
  const name = ctx.params.name;
  const force = boolQuery(ctx, 'force');
  try {
    ctx.berth.removeVolume(name, { force });
  } catch (e) {
    if (e instanceof BerthError && e.code === 'VOLUME_NOT_FOUND') throw notFound(`get ${name}: no such volume`);
    if (e instanceof BerthError && e.code === 'INVALID_STATE') {
      // docker's volume service: `remove NAME: volume is in use - [IDs]`, a 409
      const users = volumeUsers(ctx.berth.runtime.store.list(), name).map((u) => u.id);
      throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    }
    throw e;
  }
  sendEmpty(ctx, 204);
}

/**
 * docker ≥ 23 (API 1.42) prunes only anonymous volumes unless the filter all=true; older clients
 * get what their daemons did: every unused volume. berth's pruneVolumes has the same two modes.
 */
function prune(ctx: Ctx): void {
  const filters = filtersQuery(ctx);
  refuseUnknownFilters(filters, ['label', 'all']);
  const all = filters.all?.length ? filters.all.some((v) => ['true', '1'].includes(v.toLowerCase())) : ctx.version < versionNumber('1.42');
  const result = ctx.berth.pruneVolumes({ all, filters: filterStrings(filters, ['label']) });
  sendJson(ctx, 200, { VolumesDeleted: result.removed, SpaceReclaimed: result.spaceReclaimed });
}

export const VOLUME_ROUTES = [
  route('GET', '/volumes', list),
  route('POST', '/volumes/create', create),
  route('POST', '/volumes/prune', prune),
  route('GET', '/volumes/{name}', inspect),
  route('DELETE', '/volumes/{name}', remove),
];
