/** /containers/...: create, the lifecycle, list and inspect in docker's schema, wait, logs, top,
 *  stats, changes, export, update, prune. Attach is attach.ts's. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthError, causeChain } from '../../errors';
import { isRunning } from '../../runtime/container-predicates';
import type { AttachConnection, AttachExit } from '../../runtime/attach-socket';
import type { ContainerInfo } from '../../runtime/types';
import { parseCreateBody } from '../docker/create-body';
import { inspectJson, listEntry } from '../docker/container-json';
import { statsJson } from '../docker/stats-json';
import { boolQuery, filtersQuery, intQuery, jsonBody, sendEmpty, sendJson, sendStream, type Ctx } from '../http/context';
import { ApiError, badRequest, conflict, notFound } from '../http/errors';
import { stdcopyFrame } from '../http/hijack';
import { route } from '../http/router';
import { parseTimeQuery } from './time-query';
import { waitFor } from './wait';

/** A container by the path's name or ID, with docker's 404 wording. */
export function container(ctx: Ctx, ref = ctx.params.id): ContainerInfo {
  try {
    return ctx.berth.inspect(ref);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'CONTAINER_NOT_FOUND') throw notFound(`No such container: ${ref}`);
    throw e;
  }
}

async function create(ctx: Ctx): Promise<void> {
  const name = ctx.query.get('name') ?? undefined;
  if (name !== undefined && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name))
    throw badRequest(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const req = parseCreateBody(await jsonBody(ctx), name?.replace(/^\//, ''));
  let info: ContainerInfo;
  try {
    info = await ctx.berth.create(req.options);
  } catch (e) {
    // docker's wording, which clients match on (the docker CLI pulls on a 404 from create)
    if (e instanceof BerthError && e.code === 'IMAGE_NOT_FOUND') throw notFound(`No such image: ${req.options.image}`);
    if (e instanceof BerthError && e.code === 'CONTAINER_EXISTS')
      throw conflict(
        `Conflict. The container name "/${name}" is already in use. You have to remove (or rename) that container to be able to reuse that name.`,
      );
    throw e;
  }
  const id = info.config.id;
  try {
    for (const n of req.moreNetworks) ctx.berth.connectNetwork(n.name, id, n.ip ? { ip: n.ip } : {});
  } catch (e) {
    await ctx.berth.remove(id, { force: true, volumes: true });
    throw e;
  }
  ctx.state.created.set(id, { stdinOnce: req.stdinOnce, ...(req.consoleSize ? { consoleSize: req.consoleSize } : {}) });
  sendJson(ctx, 201, { Id: id, Warnings: [] });
}

async function start(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  if (isRunning(c.state)) return sendEmpty(ctx, 304);
  await startWithAttaches(ctx, c);
  sendEmpty(ctx, 204);
}

/** Starts a container with every client waiting to attach to it (attach.ts) on one connection. */
export async function startWithAttaches(ctx: Ctx, c: ContainerInfo): Promise<void> {
  const id = c.config.id;
  const waiting = ctx.state.takeAttaches(id);
  const created = ctx.state.created.get(id);
  const attach = waiting.length
    ? {
        onAttach: (conn: AttachConnection) => {
          conn.on('exit', (e: AttachExit) => ctx.state.recordExit(id, e));
          for (const w of waiting) w.onConnection(conn);
          conn.resume();
        },
        stdinOnce: created?.stdinOnce ?? false,
        ...(created?.consoleSize ? { ttySize: created.consoleSize } : {}),
      }
    : undefined;
  try {
    await ctx.berth.start(id, attach);
  } catch (e) {
    for (const w of waiting) w.onStartFailed?.();
    // dockerd removes an AutoRemove container whose start failed: its wait(removed) then returns
    if (c.config.autoRemove) await ctx.berth.remove(id, { force: true, volumes: true }).catch(() => undefined);
    throw startError(e);
  }
}

/** dockerd answers a command that cannot be found or run with 400 (the docker CLI then exits 127
 *  or 126, reading the message); any other start failure is the runtime's, 500. */
function startError(e: unknown): unknown {
  if (e instanceof BerthError && e.code === 'START_FAILED') {
    const msg = causeChain(e).join(': ');
    if (/no such file or directory|executable file not found|permission denied/i.test(msg)) return new ApiError(400, msg);
  }
  return e;
}

async function stop(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  if (!isRunning(c.state)) return sendEmpty(ctx, 304);
  const t = intQuery(ctx, 't') ?? intQuery(ctx, 'timeout');
  const signal = ctx.query.get('signal');
  if (signal) ctx.berth.kill(c.config.id, signal);
  await ctx.berth.stop(c.config.id, t === undefined ? {} : { timeout: t });
  sendEmpty(ctx, 204);
}

async function restart(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  const t = intQuery(ctx, 't') ?? intQuery(ctx, 'timeout');
  if (isRunning(c.state)) await ctx.berth.stop(c.config.id, t === undefined ? {} : { timeout: t });
  await startWithAttaches(ctx, container(ctx, c.config.id));
  ctx.events.container('restart', c.config.id);
  sendEmpty(ctx, 204);
}

function kill(ctx: Ctx): void {
  const c = container(ctx);
  if (!isRunning(c.state)) throw conflict(`Cannot kill container: ${ctx.params.id}: container ${c.config.id} is not running`);
  const signal = ctx.query.get('signal') || 'SIGKILL';
  ctx.berth.kill(c.config.id, /^\d+$/.test(signal) ? Number(signal) : signal);
  sendEmpty(ctx, 204);
}

async function remove(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  const force = boolQuery(ctx, 'force');
  if (isRunning(c.state) && !force)
    throw conflict(`You cannot remove a running container ${c.config.id}. Stop the container before attempting removal or force remove`);
  await ctx.berth.remove(c.config.id, { force, volumes: boolQuery(ctx, 'v') });
  ctx.state.created.delete(c.config.id);
  sendEmpty(ctx, 204);
}

function list(ctx: Ctx): void {
  const filters = filtersQuery(ctx);
  let all = ctx.berth.ps({ all: boolQuery(ctx, 'all'), filters });
  const limit = intQuery(ctx, 'limit');
  if (limit !== undefined && limit > 0) all = all.slice(0, limit);
  // ps() leaves the endpoints out (they are read from the network state): a running container on a
  // bridge network is looked up again for its address and published ports, which docker ps shows
  const withEndpoints = (c: ContainerInfo) => {
    if (!isRunning(c.state) || c.config.network?.mode !== 'bridge') return c;
    try {
      return ctx.berth.inspect(c.config.id);
    } catch {
      return c; // removed meanwhile
    }
  };
  sendJson(
    ctx,
    200,
    all.map((c) => listEntry(withEndpoints(c))),
  );
}

function inspect(ctx: Ctx): void {
  const c = container(ctx);
  let image: { Entrypoint?: string[] | null; Cmd?: string[] | null } | undefined;
  try {
    image = (ctx.berth.inspectImage(c.config.imageId).config as { config?: typeof image })?.config;
  } catch {
    image = undefined;
  }
  sendJson(ctx, 200, inspectJson(c, image));
}

async function wait(ctx: Ctx): Promise<void> {
  const condition = ctx.query.get('condition') || 'not-running';
  if (!['not-running', 'next-exit', 'removed'].includes(condition))
    throw badRequest(`invalid condition ${JSON.stringify(condition)}: give not-running, next-exit or removed`);
  const c = container(ctx);
  await waitFor(ctx, c, condition as 'not-running' | 'next-exit' | 'removed');
}

async function logs(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  const out = boolQuery(ctx, 'stdout');
  const err = boolQuery(ctx, 'stderr');
  if (!out && !err) throw badRequest('Bad parameters: you must choose at least one stream');
  const tailParam = ctx.query.get('tail');
  // docker reads a negative tail (dockerode's -1) as all, like "all"
  const tailNumber = tailParam === null || tailParam === 'all' || tailParam === '' ? undefined : Number(tailParam);
  const tail = tailNumber !== undefined && tailNumber < 0 ? undefined : tailNumber;
  if (tail !== undefined && !Number.isInteger(tail)) throw badRequest(`invalid tail ${JSON.stringify(tailParam)}: give a number or all`);
  const since = parseTimeQuery(ctx.query.get('since'));
  const until = parseTimeQuery(ctx.query.get('until'));
  const timestamps = boolQuery(ctx, 'timestamps');
  const tty = c.config.tty;
  const multiplexed = !tty;
  ctx.res.writeHead(200, {
    'Content-Type': multiplexed && ctx.version >= 1042 ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream',
  });
  ctx.res.flushHeaders();
  const entries = ctx.berth.logs(c.config.id, {
    follow: boolQuery(ctx, 'follow'),
    ...(tail !== undefined ? { tail } : {}),
    ...(since !== undefined && since > 0 ? { since: new Date(since * 1000) } : {}),
  });
  let gone = false;
  ctx.res.once('close', () => {
    gone = true;
    void entries.return(undefined);
  });
  const unregister = ctx.state.onClose(() => ctx.res.end());
  try {
    for await (const e of entries) {
      if (gone) break;
      if (until !== undefined && Date.parse(e.time) / 1000 > until) break;
      if ((e.stream === 'stdout' && !out) || (e.stream === 'stderr' && !err)) continue;
      const text = Buffer.from(timestamps ? `${e.time} ${e.log}` : e.log);
      ctx.res.write(multiplexed ? stdcopyFrame(e.stream === 'stdout' ? 1 : 2, text) : text);
    }
  } finally {
    unregister();
  }
  ctx.res.end();
}

function top(ctx: Ctx): void {
  const c = container(ctx);
  if (!isRunning(c.state)) throw conflict(`Container ${c.config.id} is not running`);
  const procs = ctx.berth.top(c.config.id);
  sendJson(ctx, 200, {
    Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
    Processes: procs.map((p) => [String(p.uid), String(p.pid), String(p.ppid), '0', '', '?', '00:00:00', p.command]),
  });
}

async function stats(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  const stream = boolQuery(ctx, 'stream', true) && !boolQuery(ctx, 'one-shot');
  const read = () => (isRunning(container(ctx, c.config.id).state) ? ctx.berth.stats(c.config.id) : undefined);
  let previous = statsJson(c, read(), undefined);
  if (!stream) return sendJson(ctx, 200, previous);
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  let open = true;
  ctx.res.once('close', () => (open = false));
  const unregister = ctx.state.onClose(() => ctx.res.end());
  while (open) {
    await new Promise((r) => setTimeout(r, 1000));
    if (!open) break;
    let s;
    try {
      s = read();
    } catch {
      break; // removed meanwhile
    }
    const next = statsJson(c, s, previous);
    ctx.res.write(`${JSON.stringify(next)}\n`);
    previous = next;
  }
  unregister();
  ctx.res.end();
}

async function changes(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  sendJson(ctx, 200, await ctx.berth.diff(c.config.id));
}

async function exportContainer(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  // Berth.exportContainer writes to a path or fd: a temporary file keeps a slow client from
  // holding the container's mounts open
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-export-'));
  try {
    const file = path.join(dir, 'rootfs.tar');
    await ctx.berth.exportContainer(c.config.id, file);
    await sendStream(ctx, 'application/x-tar', fs.createReadStream(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function update(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  const b = await jsonBody<Record<string, unknown>>(ctx);
  const n = (k: string) => (typeof b[k] === 'number' && b[k] !== 0 ? (b[k] as number) : undefined);
  const o: Record<string, unknown> = {};
  const put = (k: string, v: unknown) => v !== undefined && (o[k] = v);
  put('memory', n('Memory'));
  put('memorySwap', n('MemorySwap'));
  put('memoryReservation', n('MemoryReservation'));
  put('cpuShares', n('CpuShares'));
  put('cpuPeriod', n('CpuPeriod'));
  put('cpuQuota', n('CpuQuota'));
  put('pidsLimit', n('PidsLimit'));
  put('blkioWeight', n('BlkioWeight'));
  if (n('NanoCpus')) o.cpus = (b.NanoCpus as number) / 1e9;
  if (typeof b.CpusetCpus === 'string' && b.CpusetCpus) o.cpusetCpus = b.CpusetCpus;
  if (typeof b.CpusetMems === 'string' && b.CpusetMems) o.cpusetMems = b.CpusetMems;
  const r = b.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | undefined;
  if (r?.Name) o.restart = r.Name === 'on-failure' && r.MaximumRetryCount ? `on-failure:${r.MaximumRetryCount}` : r.Name;
  ctx.berth.update(c.config.id, o);
  sendJson(ctx, 200, { Warnings: [] });
}

async function prune(ctx: Ctx): Promise<void> {
  const removed = await ctx.berth.prune();
  sendJson(ctx, 200, { ContainersDeleted: removed, SpaceReclaimed: 0 });
}

async function resize(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  const h = intQuery(ctx, 'h');
  const w = intQuery(ctx, 'w');
  if (!h || !w) throw badRequest("resize needs h and w, the terminal's rows and columns");
  if (!isRunning(c.state)) throw conflict(`Container ${c.config.id} is not running`);
  await ctx.state.resize(ctx.berth, c.config.id, h, w);
  sendEmpty(ctx, 200);
}

export const CONTAINER_ROUTES = [
  route('POST', '/containers/create', create),
  route('GET', '/containers/json', list),
  route('POST', '/containers/prune', prune),
  route('GET', '/containers/{id}/json', inspect),
  route('POST', '/containers/{id}/start', start),
  route('POST', '/containers/{id}/stop', stop),
  route('POST', '/containers/{id}/restart', restart),
  route('POST', '/containers/{id}/kill', kill),
  route('POST', '/containers/{id}/wait', wait),
  route('DELETE', '/containers/{id}', remove),
  route('GET', '/containers/{id}/logs', logs),
  route('GET', '/containers/{id}/top', top),
  route('GET', '/containers/{id}/stats', stats),
  route('GET', '/containers/{id}/changes', changes),
  route('GET', '/containers/{id}/export', exportContainer),
  route('POST', '/containers/{id}/update', update),
  route('POST', '/containers/{id}/resize', resize),
];
