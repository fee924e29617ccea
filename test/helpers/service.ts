/**
 * `berth system service` for the API tests: started as users start it (the CLI, a process of its
 * own) on a socket under the test's run root, and the real clients pointed at it: the docker CLI
 * (with a DOCKER_CONFIG of its own, so that no file of the host's user is read or written) and
 * plain HTTP requests over the socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { CLI_PATH, runCli, type CliResult, type TempRoots } from './env';
import { REPO_ROOT } from './paths';

export interface TestService {
  /** The unix socket's path. */
  socket: string;
  /** DOCKER_HOST for clients: unix://<socket>. */
  dockerHost: string;
  process: ChildProcess;
  /** What the service wrote to stderr (its request log with --log-level debug). */
  log(): string;
  /** SIGTERM to the service started here (by its pid), SIGKILL after 5 s; resolves when it exited. */
  stop(): Promise<void>;
}

/** Resolves once `socket` answers /_ping, or rejects after timeoutMs. */
async function waitForPing(socket: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} before it answered`);
    const ok = await request(socket, 'GET', '/_ping').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the service did not answer on ${socket} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startTestService(roots: TempRoots, opts: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<TestService> {
  const socket = path.join(roots.runRoot, 'docker.sock');
  let stderr = '';
  const child = spawn(
    process.execPath,
    [
      '--',
      CLI_PATH,
      '--root',
      roots.root,
      '--runroot',
      roots.runRoot,
      'system',
      'service',
      '--log-level',
      'debug',
      ...(opts.args ?? []),
      `unix://${socket}`,
    ],
    { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitForPing(socket, child, 10_000);
  return {
    socket,
    dockerHost: `unix://${socket}`,
    process: child,
    log: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** One HTTP request over the service's unix socket. */
export function request(
  socket: string,
  method: string,
  urlPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const data =
      body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(
      {
        socketPath: socket,
        method,
        path: urlPath,
        headers: { ...(data ? { 'Content-Type': 'application/json', 'Content-Length': String(data.length) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(b.toString());
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, json });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** A DOCKER_CONFIG directory of the test's own under `base`. */
export function dockerConfigDir(base: string): string {
  const dir = path.join(base, 'docker-config');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The docker CLI against the service (never a Docker daemon: DOCKER_HOST is the service's). */
export function docker(
  service: TestService,
  roots: TempRoots,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return runProgram('docker', args, {
    ...opts,
    env: { DOCKER_HOST: service.dockerHost, DOCKER_CONFIG: dockerConfigDir(roots.base), DOCKER_CLI_HINTS: 'false', ...opts.env },
  });
}

/** Any program with the environment given over this one's; like runCli, killed by pid on timeout. */
export function runProgram(
  file: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, signal, stdout, stderr, timedOut });
    });
  });
}

export { runCli };
