/**
 * Exec instances, as docker has them: POST /containers/{id}/exec records what to run (nothing
 * starts), POST /exec/{id}/start runs it through Berth.exec (berth-nsenter joins the container;
 * this process never does) over a hijacked connection, or detached; /exec/{id}/json reports it.
 * The docker CLI reads the exit code from exec inspect once the stream ends, so the stream is
 * ended only after the exit is recorded.
 */
import { randomBytes } from 'node:crypto';
import { BerthError, causeChain } from '../../errors';
import type { ExecSpawnOptions } from '../../index';
import type { ContainerProcess } from '../../runtime/container-process';
import { isRunning } from '../../runtime/container-predicates';
import type { ContainerInfo } from '../../runtime/types';
import { intQuery, jsonBody, sendEmpty, sendJson, type Ctx } from '../http/context';
import { ApiError, badRequest, conflict, notFound } from '../http/errors';
import { hijack, type Hijacked } from '../http/hijack';
import { route } from '../http/router';
import type { ExecInstance } from '../state';
import { detachFilter, parseDetachKeys } from './attach';
import { container } from './containers';

/** A finished instance is kept this long for a late inspect, then dropped. */
const FINISHED_TTL_MS = 10 * 60 * 1000;
/** At most this many instances are kept; beyond it the oldest not running go first. */
const MAX_INSTANCES = 1024;

interface ExecCreateBody {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  User?: string;
  WorkingDir?: string;
  Privileged?: boolean;
}

interface ExecStartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

// docker's errNotRunning wording: clients (and users' scripts) match on it
const notRunning = (id: string) => conflict(`container ${id} is not running`);

function requireRunning(c: ContainerInfo): void {
  if (!isRunning(c.state)) throw notRunning(c.config.id);
  // dockerd's wording, at create as dockerd refuses it (a frozen container could not run it anyway)
  if (c.state.paused) throw conflict(`Container ${c.config.id} is paused, unpause the container before exec`);
}

function consoleSize(v: unknown, field: string): [number, number] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => Number.isInteger(n) && n >= 0))
    throw badRequest(`invalid ${field}: expected [height, width] but received ${JSON.stringify(v)}`);
  const [h, w] = v as [number, number];
  return h > 0 && w > 0 ? [h, w] : undefined;
}

function stringList(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw badRequest(`invalid ${field}: expected a list of strings but received ${JSON.stringify(v)}`);
  return v as string[];
}

/** Forgets finished instances past their time, and the oldest idle ones beyond the cap. */
function prune(ctx: Ctx): void {
  const now = Date.now();
  for (const [id, e] of ctx.state.execs) if (e.finishedAt !== undefined && now - e.finishedAt > FINISHED_TTL_MS) ctx.state.execs.delete(id);
  if (ctx.state.execs.size < MAX_INSTANCES) return;
  const idle = [...ctx.state.execs.values()].filter((e) => !e.running).sort((a, b) => a.created - b.created);
  for (const e of idle.slice(0, ctx.state.execs.size - MAX_INSTANCES + 1)) ctx.state.execs.delete(e.id);
}

async function create(ctx: Ctx): Promise<void> {
  const body = await jsonBody<ExecCreateBody>(ctx);
  const c = container(ctx);
  requireRunning(c);
  const cmd = stringList(body.Cmd, 'Cmd');
  if (!cmd || cmd.length === 0) throw badRequest('No exec command specified');
  // berth exec runs with the container's own capabilities and seccomp profile: it has no way to
  // raise a command above its container, so a privileged exec is only what a privileged container is
  if (body.Privileged && !c.config.privileged)
    throw badRequest('berth cannot run a privileged exec in a container that is not privileged (run the container with --privileged)');
  const detachKeys = body.DetachKeys || undefined;
  if (detachKeys) parseDetachKeys(detachKeys);
  const env = stringList(body.Env, 'Env');
  prune(ctx);
  const id = randomBytes(32).toString('hex');
  const size = consoleSize(body.ConsoleSize, 'ConsoleSize');
  const e: ExecInstance = {
    id,
    containerId: c.config.id,
    options: {
      cmd,
      ...(env && env.length ? { env } : {}),
      ...(body.WorkingDir ? { workdir: body.WorkingDir } : {}),
      ...(body.User ? { user: body.User } : {}),
      tty: !!body.Tty,
      interactive: !!body.AttachStdin,
    },
    attachStdin: !!body.AttachStdin,
    attachStdout: !!body.AttachStdout,
    attachStderr: !!body.AttachStderr,
    privileged: !!body.Privileged,
    ...(detachKeys ? { detachKeys } : {}),
    ...(size ? { ttySize: size } : {}),
    running: false,
    started: false,
    created: Date.now(),
  };
  ctx.state.execs.set(id, e);
  sendJson(ctx, 201, { Id: id });
}

function instance(ctx: Ctx): ExecInstance {
  const e = ctx.state.execs.get(ctx.params.id);
  if (!e) throw notFound(`No such exec instance: ${ctx.params.id}`);
  return e;
}

/** Records the end of an instance's process (its exit code, or the 126/127 of a failed start). */
function finish(e: ExecInstance, exitCode: number): void {
  e.running = false;
  e.exitCode = exitCode;
  e.finishedAt = Date.now();
  delete e.process;
}

/** Starts the process with stdio as the attachment wants it; a failure is recorded on the instance. */
function spawnInstance(ctx: Ctx, e: ExecInstance, detached: boolean): ContainerProcess {
  const pipeOrIgnore = (wanted: boolean) => (wanted && !detached ? ('pipe' as const) : ('ignore' as const));
  const options: ExecSpawnOptions = {
    ...e.options,
    interactive: e.attachStdin && !detached,
    stdin: pipeOrIgnore(e.attachStdin),
    stdout: pipeOrIgnore(e.attachStdout || (!!e.options.tty && e.attachStderr)),
    stderr: pipeOrIgnore(e.attachStderr),
    ...(e.ttySize ? { ttySize: e.ttySize } : {}),
  };
  let proc: ContainerProcess;
  try {
    proc = ctx.berth.exec(e.containerId, options);
  } catch (err) {
    finish(e, err instanceof BerthError && err.exitStatus !== 125 ? err.exitStatus : 126);
    throw err;
  }
  e.process = proc;
  e.pid = proc.pid;
  e.running = true;
  void proc.wait().then(
    (status) => {
      finish(e, status.exitCode);
    },
    () => finish(e, 126),
  );
  return proc;
}

/** Wires a started process to the client: output framed to it, its input (until the detach keys) to stdin. */
function wire(e: ExecInstance, h: Hijacked, proc: ContainerProcess): void {
  proc.stdout?.on('data', (b: Buffer) => h.output(1, b));
  proc.stderr?.on('data', (b: Buffer) => h.output(2, b));
  const stdin = proc.stdin;
  if (e.attachStdin && stdin) {
    stdin.on('error', () => {});
    const keys = parseDetachKeys(e.detachKeys ?? 'ctrl-p,ctrl-q');
    let detached = false;
    const onData = detachFilter(
      keys,
      (b) => stdin.write(b),
      () => {
        // the command keeps running, as in docker; only this client lets go of it
        detached = true;
        h.input.off('data', onData);
        h.end();
      },
    );
    h.input.on('data', onData);
    // the client's half-close is the command's EOF; a tty has no separate input to close
    h.input.on('end', () => {
      if (!detached && !e.options.tty) stdin.end();
    });
  }
  void proc.wait().then(
    () => h.end(),
    () => h.end(),
  );
  // a client that leaves does not stop the command: its output is still read, so that it never
  // blocks on a full pipe
  void h.gone.then(() => {
    proc.stdout?.resume();
    proc.stderr?.resume();
  });
}

async function start(ctx: Ctx): Promise<void> {
  const body = await jsonBody<ExecStartBody>(ctx);
  const e = instance(ctx);
  if (e.running) throw conflict(`Error: Exec command ${e.id} is already running`);
  if (e.started) throw conflict(`Error: Exec command ${e.id} has already run`);
  requireRunning(container(ctx, e.containerId));
  const size = consoleSize(body.ConsoleSize, 'ConsoleSize');
  if (size) e.ttySize = size;
  e.started = true;
  if (body.Detach) {
    spawnInstance(ctx, e, true);
    return sendJson(ctx, 200, {});
  }
  const h = hijack(ctx, !!e.options.tty);
  const unregister = ctx.state.onClose(() => h.end());
  void h.gone.then(unregister);
  let proc: ContainerProcess;
  try {
    proc = spawnInstance(ctx, e, false);
  } catch (err) {
    // the stream is under way: dockerd writes the failure into it, and the exit code (126/127)
    // is in exec inspect
    h.output(1, Buffer.from(`${causeChain(err).join(': ')}\r\n`));
    h.end();
    return;
  }
  wire(e, h, proc);
}

async function resize(ctx: Ctx): Promise<void> {
  const e = instance(ctx);
  const rows = intQuery(ctx, 'h');
  const cols = intQuery(ctx, 'w');
  if (rows === undefined || cols === undefined || rows < 0 || cols < 0) throw badRequest('resize needs the h and w query parameters');
  if (!e.started) {
    // the docker CLI may resize before its start reached the process: the start uses it
    e.ttySize = [rows, cols];
    return sendEmpty(ctx, 200);
  }
  if (!e.running || !e.process) throw new ApiError(409, `Exec ${e.id} is not running, so it can not be resized.`);
  if (e.options.tty) e.process.resize(rows, cols);
  sendEmpty(ctx, 200);
}

function inspect(ctx: Ctx): void {
  const e = instance(ctx);
  const [entrypoint, ...args] = e.options.cmd;
  sendJson(ctx, 200, {
    CanRemove: false,
    ContainerID: e.containerId,
    DetachKeys: e.detachKeys ?? '',
    ExitCode: e.running || e.exitCode === undefined ? null : e.exitCode,
    ID: e.id,
    OpenStderr: e.attachStderr,
    OpenStdin: e.attachStdin,
    OpenStdout: e.attachStdout,
    ProcessConfig: {
      arguments: args,
      entrypoint,
      privileged: e.privileged,
      tty: !!e.options.tty,
      user: e.options.user ?? '',
    },
    Running: e.running,
    Pid: e.running ? (e.pid ?? 0) : 0,
  });
}

export const EXEC_ROUTES = [
  route('POST', '/containers/{id}/exec', create),
  route('POST', '/exec/{id}/start', start),
  route('POST', '/exec/{id}/resize', resize),
  route('GET', '/exec/{id}/json', inspect),
];
