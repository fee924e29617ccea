/**
 * startContainer hooks: the spec runs them "in the container namespace", their path resolved
 * there, before the container's process is executed; runc's init runs them between the start
 * signal and execve. berth-oci's `start` runs each one before it lets the waiting init go, through
 * berth-nsenter the way `exec` enters a container (its namespaces, its cgroup, root inside with the
 * container's capability sets), with the state JSON on stdin and the hook's timeout. A failing
 * hook fails the start, as the spec says.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { native, spawnContainer } from '../native';
import { quote } from '../util/quote';
import { execToPlan } from './exec-plan';
import type { Hook, Spec, State } from './spec';

export interface ContainerHookContext {
  initPid: number;
  config: Spec;
  joinFiles: string[];
  helperPath: string;
  /** The container's state dir: the hook's stdin and stderr pass through files in it. */
  dir: string;
}

export async function runStartContainerHooks(hooks: Hook[], state: State, ctx: ContainerHookContext): Promise<void> {
  for (const [i, hook] of hooks.entries()) {
    const problem = await runInside(hook, state, ctx);
    if (problem) throw new BerthError('START_FAILED', `startContainer hook ${i} (${quote(hook.path)}) ${problem}`);
  }
}

async function runInside(hook: Hook, state: State, ctx: ContainerHookContext): Promise<string | undefined> {
  const input = path.join(ctx.dir, 'hook.stdin');
  const errors = path.join(ctx.dir, 'hook.stderr');
  fs.writeFileSync(input, JSON.stringify(state), { mode: 0o600 });
  const fds = [fs.openSync(input, 'r'), fs.openSync('/dev/null', 'w'), fs.openSync(errors, 'w', 0o600)];
  try {
    const args = hook.args?.length ? hook.args : [hook.path];
    const plan = execToPlan(ctx.initPid, { args, env: hook.env ?? [], cwd: '/', user: { uid: 0, gid: 0 }, terminal: false }, ctx.config, {
      joinFiles: ctx.joinFiles,
      helperPath: ctx.helperPath,
    });
    // the hook's own path, resolved inside the container: no PATH search, argv[0] as given
    plan.execCandidates = [hook.path];
    plan.stdio = [fds[0], fds[1], fds[2]];
    let spawned;
    try {
      spawned = spawnContainer(plan);
    } catch (e) {
      return `could not run: ${(e as Error).message}`;
    }
    const exit = await new Promise<{ code: number; signal: number; timedOut: boolean }>((resolve) => {
      let timedOut = false;
      const timer = hook.timeout
        ? setTimeout(() => {
            timedOut = true;
            native().pidfdSignal(spawned.pidfd, 9);
          }, hook.timeout * 1000)
        : undefined;
      native().watchExit(spawned.pidfd, (e) => {
        if (timer) clearTimeout(timer);
        fs.closeSync(spawned.pidfd);
        resolve({ code: e.code, signal: e.signal, timedOut });
      });
    });
    if (exit.timedOut) return `timed out after ${hook.timeout} s`;
    if (exit.code !== 0 || exit.signal)
      return `exited with ${exit.signal ? `signal ${exit.signal}` : exit.code}: ${fs.readFileSync(errors, 'utf8').trim().split('\n')[0] ?? ''}`;
    return undefined;
  } finally {
    for (const fd of fds) fs.closeSync(fd);
    fs.rmSync(input, { force: true });
    fs.rmSync(errors, { force: true });
  }
}
