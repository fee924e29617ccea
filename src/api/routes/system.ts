/** /_ping, /version, /info, /events, /system/df, /auth: what clients ask first (docker's version
 *  negotiation reads the Api-Version header of /_ping) and the host's description. */
import { filtersQuery, jsonBody, sendJson, type Ctx } from '../http/context';
import { badRequest } from '../http/errors';
import { API_VERSION, MIN_API_VERSION, route } from '../http/router';
import { systemInfo, versionInfo } from '../../system/info';
import { withLegacyFields } from '../events';
import { parseTimeQuery } from './time-query';

export { goArch } from '../../system/info';

function ping(ctx: Ctx): void {
  ctx.res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Builder-Version': '1',
    'Docker-Experimental': 'false',
    Ostype: 'linux',
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
}

/** docker's /version body (src/system/info.ts, shared with `berth version`). */
export function versionBody(): Record<string, unknown> {
  return versionInfo(API_VERSION, MIN_API_VERSION);
}

function info(ctx: Ctx): void {
  sendJson(ctx, 200, systemInfo(ctx.berth));
}

/** Streams journaled events as JSON lines: the past ones since `since`, then live ones until
 *  `until` or the client leaves (src/api/events.ts). */
async function events(ctx: Ctx): Promise<void> {
  const filters = filtersQuery(ctx);
  const now = Date.now() / 1000;
  const since = parseTimeQuery(ctx.query.get('since'), now);
  const until = parseTimeQuery(ctx.query.get('until'), now);
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  ctx.res.flushHeaders();
  const leave = new AbortController();
  const unregister = ctx.state.onClose(() => leave.abort());
  ctx.res.on('close', () => leave.abort());
  try {
    for await (const e of ctx.berth.events({
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      filters,
      signal: leave.signal,
    }))
      ctx.res.write(`${JSON.stringify(withLegacyFields(e))}\n`);
  } finally {
    unregister();
    ctx.res.end();
  }
}

async function auth(ctx: Ctx): Promise<void> {
  const body = await jsonBody<{ username?: string; password?: string; serveraddress?: string; identitytoken?: string }>(ctx);
  if (!body.serveraddress) throw badRequest('serveraddress is required: the registry to log in to');
  if (!body.username || (!body.password && !body.identitytoken)) throw badRequest('username and password are required');
  const registry = body.serveraddress.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const insecure = /^(localhost|127\.|\[::1\])/.test(registry) ? [registry] : [];
  const status = await ctx.berth.login(
    registry,
    { username: body.username, password: body.password ?? body.identitytoken ?? '' },
    { insecureRegistries: insecure },
  );
  sendJson(ctx, 200, { Status: status || 'Login Succeeded', IdentityToken: '' });
}

export const SYSTEM_ROUTES = [
  route('GET', '/_ping', ping),
  route('HEAD', '/_ping', ping),
  route('GET', '/version', (ctx) => sendJson(ctx, 200, versionBody())),
  route('GET', '/info', info),
  route('GET', '/events', events),
  route('POST', '/auth', auth),
];
