/**
 * `berth system service`: the Docker Engine API over HTTP on a unix socket (or loopback TCP when
 * asked), answered in this process through the Berth API, so that the docker CLI, compose,
 * dockerode and testcontainers drive berth. The state root is the CLI's: what one makes the other
 * sees. Detached containers run under their shims and outlive the service.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { BerthError } from '../errors';
import type { Berth } from '../index';
import { quote } from '../util/quote';
import type { Ctx } from './http/context';
import { errorResponse, ApiError } from './http/errors';
import { API_VERSION, MIN_API_VERSION, compile, match, versionNumber, type Route } from './http/router';
import { ApiEvents } from './events';
import { ApiState } from './state';
import { ROUTES } from './routes';

export const DEFAULT_SERVICE_URI = 'unix:///run/berth/docker.sock';

export interface ServiceOptions {
  /** unix:///path or tcp://127.0.0.1:PORT (loopback only). Default unix:///run/berth/docker.sock. */
  uri?: string;
  /** Stop after this many seconds without a request in flight; 0 (the default): never. */
  idleSeconds?: number;
  /** One line per request (method, path, status, milliseconds). */
  log?: (line: string) => void;
}

export interface Service {
  /** Where it listens, as a DOCKER_HOST value. */
  readonly uri: string;
  /** Resolves when the service has stopped (close() or the idle time). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

type Listen = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** A DOCKER_HOST-style address, loopback only for TCP: the API gives root to whoever reaches it. */
export function parseServiceUri(uri: string): Listen {
  const unix = /^unix:\/\/(\/.+)$/.exec(uri);
  if (unix) return { kind: 'unix', path: unix[1] };
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(uri);
  if (tcp) {
    const host = tcp[1].replace(/^\[|\]$/g, '');
    const port = Number(tcp[2]);
    if (port > 65535) throw new BerthError('INVALID_ARGUMENT', `Expected a port below 65536 in ${quote(uri)}`);
    const loopback = host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
    if (!loopback)
      throw new BerthError(
        'INVALID_ARGUMENT',
        `berth serves the API on loopback only (anyone who reaches it is root on this host): listen on tcp://127.0.0.1:${port} instead of ${quote(uri)}`,
      );
    return { kind: 'tcp', host, port };
  }
  throw new BerthError(
    'INVALID_ARGUMENT',
    `Expected unix:///PATH or tcp://127.0.0.1:PORT for the service address but received ${quote(uri)}`,
  );
}

/** A socket file left by a service that is gone is removed; one that answers is another service. */
async function claimSocketPath(file: string): Promise<void> {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isSocket())
    throw new BerthError('INVALID_ARGUMENT', `${quote(file)} exists and is not a socket; remove it or choose another path`);
  const answered = await new Promise<boolean>((resolve) => {
    const c = net.connect(file);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
  if (answered) throw new BerthError('INVALID_STATE', `Another service is listening on ${quote(file)}; stop it or choose another path`);
  fs.unlinkSync(file);
}

/** The socket systemd passed (socket activation: LISTEN_FDS for this pid), as fd 3. */
function activationFd(): number | undefined {
  return process.env.LISTEN_FDS === '1' && process.env.LISTEN_PID === String(process.pid) ? 3 : undefined;
}

export async function startService(berth: Berth, o: ServiceOptions = {}): Promise<Service> {
  const fd = o.uri === undefined ? activationFd() : undefined;
  const uri = o.uri ?? DEFAULT_SERVICE_URI;
  const listen = parseServiceUri(uri);
  const routes = compile(ROUTES as Route[]);
  const state = new ApiState();
  const events = new ApiEvents(berth);
  let inFlight = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 5000 });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const close = async () => {
    clearTimeout(idleTimer);
    state.closeAll();
    await new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    if (listen.kind === 'unix' && fd === undefined) fs.rmSync(listen.path, { force: true });
    resolveClosed();
  };
  const armIdle = () => {
    clearTimeout(idleTimer);
    if (o.idleSeconds && inFlight === 0) idleTimer = setTimeout(() => void close(), o.idleSeconds * 1000);
  };

  const dispatch = async (req: http.IncomingMessage, res: http.ServerResponse, upgrade?: { socket: Duplex; head: Buffer }) => {
    inFlight++;
    clearTimeout(idleTimer);
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://berth');
    res.on('close', () => {
      inFlight--;
      armIdle();
      o.log?.(
        `${req.method} ${url.pathname}${url.search} ${res.statusCode} ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)}ms`,
      );
    });
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Server', `berth (linux)`);
    try {
      const m = match(routes, req.method ?? 'GET', url.pathname);
      if (m === 'not-found') throw new ApiError(404, 'page not found');
      if (m === 'method-not-allowed') throw new ApiError(405, `method ${req.method} is not allowed on ${url.pathname}`);
      const version = m.version ?? API_VERSION;
      if (versionNumber(version) > versionNumber(API_VERSION))
        throw new ApiError(400, `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      if (versionNumber(version) < versionNumber(MIN_API_VERSION))
        throw new ApiError(
          400,
          `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
        );
      const ctx: Ctx = {
        berth,
        req,
        res,
        params: m.params,
        query: url.searchParams,
        version: versionNumber(version),
        state,
        events,
        ...(upgrade ? { upgrade } : {}),
      };
      await m.route.handler(ctx);
    } catch (e) {
      const { status, message } = errorResponse(e);
      if (res.headersSent) {
        // a stream already under way: nothing but ending it can tell the client
        res.destroy();
        return;
      }
      const body = JSON.stringify({ message });
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      if (upgrade) upgrade.socket.end();
    }
  };

  server.on('request', (req, res) => void dispatch(req, res));
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands an upgrade request over without a response: one is made on its socket, so that
    // every handler answers the same way until it hijacks the connection
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as net.Socket);
    res.shouldKeepAlive = false;
    socket.on('error', () => {});
    void dispatch(req, res, { socket, head });
  });
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  if (fd !== undefined) {
    // systemd made the socket (berth.socket): its path and mode are the unit's
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ fd }, () => resolve()));
  } else if (listen.kind === 'unix') {
    fs.mkdirSync(path.dirname(listen.path), { recursive: true, mode: 0o700 });
    await claimSocketPath(listen.path);
    // the socket is made 0600 (root-only) from the start: umask, not a chmod after listen
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.path, () => resolve()));
    } finally {
      process.umask(umask);
    }
  } else {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.port, listen.host, () => resolve()));
  }
  const address =
    fd !== undefined
      ? `fd://${fd}`
      : listen.kind === 'unix'
        ? uri
        : `tcp://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${(server.address() as net.AddressInfo).port}`;
  armIdle();
  return { uri: address, closed, close };
}
