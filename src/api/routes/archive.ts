/**
 * /containers/{id}/archive, what `docker cp` and testcontainers' copy use: HEAD answers a path's
 * stat in the X-Docker-Container-Path-Stat header (base64 of docker's JSON), GET a tar of the path
 * with that header, PUT extracts the request's tar into a directory. Paths resolve inside the
 * container (runtime/copy): a symlink to /etc is the container's /etc, and a path that climbs out
 * with '..' is a 400, never a file of the host.
 */
import type { PathStat } from '../../runtime/copy/container-copy';
import { boolQuery, sendEmpty, type Ctx } from '../http/context';
import { badRequest } from '../http/errors';
import { route } from '../http/router';
import { container } from './containers';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function pathQuery(ctx: Ctx): string {
  const p = ctx.query.get('path');
  if (!p) throw badRequest('Bad parameter: the path parameter is required');
  if (p.includes('\0')) throw badRequest('Bad parameter: the path contains a NUL byte');
  return p;
}

const statHeader = (stat: PathStat) => Buffer.from(JSON.stringify(stat)).toString('base64');

function head(ctx: Ctx): void {
  const c = container(ctx);
  const stat = ctx.berth.statPath(c.config.id, pathQuery(ctx));
  ctx.res.setHeader(STAT_HEADER, statHeader(stat));
  sendEmpty(ctx, 200);
}

async function get(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  const { stat, archive } = ctx.berth.copyFrom(c.config.id, pathQuery(ctx));
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar', [STAT_HEADER]: statHeader(stat) });
  // a client that leaves mid-archive ends it: the stream's end closes what the view held open
  await (await import('node:stream/promises')).pipeline(archive, ctx.res).catch(() => ctx.res.destroy());
}

async function put(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  const p = pathQuery(ctx);
  await ctx.berth.copyTo(c.config.id, p, ctx.req, {
    noOverwriteDirNonDir: boolQuery(ctx, 'noOverwriteDirNonDir'),
    copyUIDGID: boolQuery(ctx, 'copyUIDGID'),
  });
  ctx.events.container('extract-to-dir', c.config.id);
  sendEmpty(ctx, 200);
}

export const ARCHIVE_ROUTES = [
  route('HEAD', '/containers/{id}/archive', head),
  route('GET', '/containers/{id}/archive', get),
  route('PUT', '/containers/{id}/archive', put),
];
