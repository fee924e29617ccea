/** create, start, run, state, kill, delete, pause, resume: runc's lifecycle commands. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CreateOptions, OciRuntimeApi } from '../oci/runtime-api';
import { absolute, command } from './command';
import { errorCode, errorMessage, OciCliError } from './errors';
import type { Parsed } from './flags';
import type { PtyProxy } from './pty-proxy';
import { parseSignal } from './signals';

const ID = '<container-id>';

const CREATE_FLAGS = [
  { name: 'bundle', short: 'b', kind: 'string', usage: 'path to the root of the bundle directory, defaults to the current directory' },
  {
    name: 'console-socket',
    kind: 'string',
    usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
  },
  { name: 'pid-file', kind: 'string', usage: 'specify the file to write the process id to' },
  {
    name: 'no-pivot',
    kind: 'bool',
    usage: 'do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk',
  },
  {
    name: 'no-new-keyring',
    kind: 'bool',
    usage:
      'do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key',
  },
  {
    name: 'preserve-fds',
    kind: 'uint',
    default: '0',
    usage: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)',
  },
] as const;

type CreateArgs = Parsed<typeof CREATE_FLAGS>;

function createOptions(a: CreateArgs): CreateOptions {
  const o: CreateOptions = { bundle: absolute(a.bundle || '.') };
  if (a['console-socket']) o.consoleSocket = absolute(a['console-socket']);
  if (a['pid-file']) o.pidFile = absolute(a['pid-file']);
  if (a['no-pivot']) o.noPivot = true;
  if (a['no-new-keyring']) o.noNewKeyring = true;
  if (a['preserve-fds'] > 0) o.preserveFds = a['preserve-fds'];
  return o;
}

export const create = command({
  name: 'create',
  summary: 'create a container',
  args: ID,
  description:
    'The create command creates an instance of a container for a bundle. The bundle is a directory with a specification file named "config.json" and a root filesystem.',
  flags: CREATE_FLAGS,
  minArgs: 1,
  maxArgs: 1,
  async run(a, ctx) {
    await ctx.runtime().create(a._[0], createOptions(a));
    return 0;
  },
});

/** What `run` without --detach needs beyond OciRuntimeApi: the init's exit status (128 + the
 *  signal when a signal ended it), which only the runtime that spawned it can wait for. */
interface Waiting {
  wait(id: string): Promise<number>;
}

function canWait(rt: OciRuntimeApi): rt is OciRuntimeApi & Waiting {
  return typeof (rt as Partial<Waiting>).wait === 'function';
}

/** Signals a foreground `runc run` passes on to the container's init instead of dying of them. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export const run = command({
  name: 'run',
  summary: 'create and run a container',
  args: ID,
  description:
    'The run command creates an instance of a container for a bundle, starts it and, without --detach, waits for it and exits with its status.',
  flags: [
    ...CREATE_FLAGS,
    { name: 'detach', short: 'd', kind: 'bool', usage: "detach from the container's process" },
    { name: 'keep', kind: 'bool', usage: 'do not delete the container after it exits' },
    { name: 'no-subreaper', kind: 'bool', usage: 'disable the use of the subreaper used to reap reparented processes' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(a, ctx) {
    const id = a._[0];
    const rt = ctx.runtime();
    const o = createOptions(a);
    if (!a.detach) {
      // Refused before anything is made: a container nobody can wait for would be left behind.
      if (!canWait(rt))
        throw new OciCliError('run without --detach needs a runtime that can wait for the container (OciRuntime.wait); use --detach');
    }
    // A terminal with nobody to take it: berth-oci holds it and copies it to its own stdio.
    let pty: PtyProxy | undefined;
    if (!a.detach && !o.consoleSocket && readsTerminal(o.bundle)) {
      const { proxyPty } = await import('./pty-proxy');
      o.onPty = (master) => (pty = proxyPty(master));
    }
    await rt.create(id, o);
    try {
      await rt.start(id);
    } catch (e) {
      // runc destroys what it made when start fails.
      await rt.delete(id, true).catch((d: unknown) => ctx.log.warn(`delete ${id} after a failed start: ${errorMessage(d)}`));
      throw e;
    }
    if (a.detach || !canWait(rt)) return 0;
    const forward = (sig: NodeJS.Signals) => {
      try {
        rt.kill(id, parseSignal(sig), false);
      } catch (e) {
        ctx.log.debug(`forwarding ${sig}: ${errorMessage(e)}`);
      }
    };
    for (const s of FORWARDED) process.on(s, forward);
    let status: number;
    try {
      status = await rt.wait(id);
      await pty?.finish();
    } finally {
      for (const s of FORWARDED) process.off(s, forward);
    }
    if (!a.keep) await rt.delete(id, false);
    return status;
  },
});

function readsTerminal(bundle: string): boolean {
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { process?: { terminal?: unknown } };
    return spec.process?.terminal === true;
  } catch {
    // A missing or broken config.json is create's to report, with its own message.
    return false;
  }
}

export const start = command({
  name: 'start',
  summary: 'executes the user defined process in a created container',
  args: ID,
  flags: [],
  minArgs: 1,
  maxArgs: 1,
  async run(a, ctx) {
    await ctx.runtime().start(a._[0]);
    return 0;
  },
});

export const state = command({
  name: 'state',
  summary: 'output the state of a container',
  args: ID,
  flags: [],
  minArgs: 1,
  maxArgs: 1,
  run(a, ctx) {
    // Indented as runc's json.MarshalIndent(state, "", "  ").
    ctx.io.stdout(JSON.stringify(ctx.runtime().state(a._[0]), null, 2) + '\n');
    return 0;
  },
});

export const kill = command({
  name: 'kill',
  summary: "kill sends the specified signal (default: SIGTERM) to the container's init process",
  args: `${ID} [signal]`,
  flags: [{ name: 'all', short: 'a', kind: 'bool', usage: 'send the specified signal to all processes inside the container' }],
  minArgs: 1,
  maxArgs: 2,
  run(a, ctx) {
    const signal = parseSignal(a._[1] ?? 'SIGTERM');
    ctx.runtime().kill(a._[0], signal, a.all);
    return 0;
  },
});

export const del = command({
  name: 'delete',
  summary: 'delete any resources held by the container often used with detached container',
  args: ID,
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Forcibly deletes the container if it is still running (uses SIGKILL)' }],
  minArgs: 1,
  maxArgs: 1,
  async run(a, ctx) {
    try {
      await ctx.runtime().delete(a._[0], a.force);
    } catch (e) {
      // runc: deleting a container that does not exist succeeds with --force (containerd's shim
      // and conmon clean up that way after a failed create).
      if (a.force && errorCode(e) === 'CONTAINER_NOT_FOUND') return 0;
      throw e;
    }
    return 0;
  },
});

export const pause = command({
  name: 'pause',
  summary: 'pause suspends all processes inside the container',
  args: ID,
  flags: [],
  minArgs: 1,
  maxArgs: 1,
  run(a, ctx) {
    ctx.runtime().pause(a._[0]);
    return 0;
  },
});

export const resume = command({
  name: 'resume',
  summary: 'resumes all processes that have been previously paused',
  args: ID,
  flags: [],
  minArgs: 1,
  maxArgs: 1,
  run(a, ctx) {
    ctx.runtime().resume(a._[0]);
    return 0;
  },
});

/** checkpoint and restore need CRIU, which berth does not drive: listed, and refused clearly. */
function unsupported(name: string, summary: string) {
  return command({
    name,
    summary,
    args: ID,
    flags: [],
    minArgs: 0,
    maxArgs: Infinity,
    run() {
      throw new OciCliError(`${name} is not supported: berth-oci does not drive CRIU`);
    },
  });
}

export const checkpoint = unsupported('checkpoint', 'checkpoint a running container (not supported)');
export const restore = unsupported('restore', 'restore a container from a previous checkpoint (not supported)');
