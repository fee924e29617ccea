/** OCI hooks: programs the runtime runs at points of a container's life, the state JSON on stdin. */
import * as path from 'node:path';
import { BerthError } from '../errors';
import type { NativeHook } from '../native';
import { quote } from '../util/quote';
import type { Hook, Hooks, State } from './spec';

export type HookPoint = keyof Hooks;

/** Runs the hooks of one point in order, on the host (the runtime's namespaces: prestart,
 *  createRuntime, poststart, poststop). A failing hook fails the step, as the spec says, except
 *  poststart and poststop, whose failures are only reported. */
export function runHooks(hooks: Hooks | undefined, point: HookPoint, state: State, warn: (line: string) => void = () => {}): void {
  for (const [i, hook] of (hooks?.[point] ?? []).entries()) {
    const problem = runHook(hook, state);
    if (!problem) continue;
    const message = `${point} hook ${i} (${quote(hook.path)}) ${problem}`;
    if (point === 'poststart' || point === 'poststop') warn(message);
    else throw new BerthError('START_FAILED', message);
  }
}

function runHook(hook: Hook, state: State): string | undefined {
  // node:child_process (and net, stream with it) loads only for a config that has hooks: it is
  // most of a short berth-oci command's own time
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
  const r = spawnSync(hook.path, args, {
    argv0,
    input: JSON.stringify(state),
    env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
    timeout: hook.timeout ? hook.timeout * 1000 : undefined,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  if (r.error)
    return (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT'
      ? `timed out after ${hook.timeout} s`
      : `could not run: ${r.error.message}`;
  if (r.status !== 0) return `exited with ${r.status ?? r.signal}: ${String(r.stderr).trim().split('\n')[0] ?? ''}`;
  return undefined;
}

/** createContainer hooks as the init runs them (native/core/child_hooks.cc): after its mounts and
 *  before pivot_root, in the container's namespaces and cgroup, the path on the host. */
export function createContainerHookPlan(hooks: Hooks | undefined): NativeHook[] {
  return (hooks?.createContainer ?? []).map((h, i) => {
    const field = `config.json hooks.createContainer[${i}]`;
    if (typeof h.path !== 'string' || !path.posix.isAbsolute(h.path))
      throw new BerthError('INVALID_ARGUMENT', `${field}.path: expected an absolute path but received ${quote(h.path)}`);
    if (h.timeout !== undefined && (!Number.isInteger(h.timeout) || h.timeout <= 0))
      throw new BerthError('INVALID_ARGUMENT', `${field}.timeout: expected a positive number of seconds but received ${quote(h.timeout)}`);
    return { path: h.path, args: h.args?.length ? h.args : [h.path], env: h.env ?? [], timeout: h.timeout ?? 0 };
  });
}

// Stands in for the init's pid, which only the init knows when its hooks run.
const PID_MARK = -424242;

/** The state a createContainer hook reads (status "creating", as runc's), split around its pid. */
export function hookStateTemplate(state: State): [string, string] {
  const json = JSON.stringify({ ...state, status: 'creating', pid: PID_MARK });
  const at = json.indexOf(String(PID_MARK));
  return [json.slice(0, at), json.slice(at + String(PID_MARK).length)];
}
