/**
 * One request as a handler sees it: its path parameters and query, its body (JSON, bounded), and
 * the ways to answer: JSON, an empty status, a stream, or a hijacked connection (attach and exec
 * start, where the client sends `Upgrade: tcp` and both sides then speak raw bytes).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { Berth } from '../../index';
import { ApiError, badRequest } from './errors';
import type { ApiEvents } from '../events';
import type { ApiState } from '../state';

/** Bodies the API parses as JSON: generous for a container's config, small against memory abuse. */
export const MAX_JSON_BODY = 8 * 1024 * 1024;

export interface Ctx {
  readonly berth: Berth;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  /** The API version the client asked for (the path's /v1.NN), else the server's. */
  readonly version: number;
  /** What the service keeps between requests: pending attaches, exec instances. */
  readonly state: ApiState;
  readonly events: ApiEvents;
  /** The request arrived as an upgrade (Connection: Upgrade): its socket is ours once hijacked. */
  readonly upgrade?: { socket: Duplex; head: Buffer };
}

/** The body, read to the end (at most `limit` bytes, else 413). */
export async function rawBody(ctx: Ctx, limit = MAX_JSON_BODY): Promise<Buffer> {
  const declared = Number(ctx.req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new ApiError(413, `request body of ${declared} bytes is over the limit of ${limit} bytes`);
  if (ctx.upgrade) return upgradeBody(ctx.upgrade, Number.isFinite(declared) ? declared : 0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ApiError(413, `request body is over the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** An upgrade request's body is not parsed by Node: its bytes follow the headers on the socket
 *  (the first of them in `head`); what comes after them is the hijacked stream's. */
function upgradeBody(up: { socket: Duplex; head: Buffer }, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = up.head;
    up.head = Buffer.alloc(0);
    const done = () => {
      up.socket.off('data', onData);
      up.socket.off('end', onEnd);
      up.socket.pause();
      if (buf.length > length) up.socket.unshift(buf.subarray(length));
      resolve(buf.subarray(0, length));
    };
    const onData = (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      if (buf.length >= length) done();
    };
    const onEnd = () => reject(badRequest('the request body ended early'));
    if (buf.length >= length) return done();
    up.socket.on('data', onData);
    up.socket.on('end', onEnd);
    up.socket.resume();
  });
}

/** The body as JSON: absent or empty is `{}`; malformed JSON is a 400 naming the problem. */
export async function jsonBody<T = Record<string, unknown>>(ctx: Ctx): Promise<T> {
  const raw = await rawBody(ctx);
  if (raw.length === 0) return {} as T;
  try {
    return JSON.parse(raw.toString('utf8')) as T;
  } catch (e) {
    throw badRequest(`invalid JSON in the request body: ${(e as Error).message}`);
  }
}

export function sendJson(ctx: Ctx, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  ctx.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  ctx.res.end(text);
}

export function sendEmpty(ctx: Ctx, status: number): void {
  ctx.res.writeHead(status);
  ctx.res.end();
}

/** Streams `body` as the response with `contentType` (exports, image tarballs). */
export async function sendStream(ctx: Ctx, contentType: string, body: Readable): Promise<void> {
  ctx.res.writeHead(200, { 'Content-Type': contentType });
  const { pipeline } = await import('node:stream/promises');
  await pipeline(body, ctx.res);
}

// docker's httputils.BoolValue: anything but "", 0, no, false and none is true
export function boolQuery(ctx: Ctx, key: string, fallback = false): boolean {
  const v = ctx.query.get(key);
  if (v === null) return fallback;
  return !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}

/** An integer query parameter; absent is undefined, anything but an integer a 400. */
export function intQuery(ctx: Ctx, key: string): number | undefined {
  const v = ctx.query.get(key);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${key}: ${JSON.stringify(v)} is not an integer`);
  return Number(v);
}

/** docker's `filters` query: JSON of {key: [values]} or the older {key: {value: true}}. */
export function filtersQuery(ctx: Ctx): Record<string, string[]> {
  const raw = ctx.query.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest(`invalid filter: ${JSON.stringify(raw)} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('invalid filter: expected a JSON object');
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (typeof v === 'object' && v !== null)
      out[k] = Object.entries(v)
        .filter(([, on]) => on)
        .map(([name]) => name);
    else throw badRequest(`invalid filter ${JSON.stringify(k)}: expected a list of values`);
  }
  return out;
}
