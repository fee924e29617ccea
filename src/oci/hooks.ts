/** OCI hooks: programs the runtime runs at points of a container's life, the state JSON on stdin. */
import { BerthError } from '../errors';
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

/** createContainer hooks run in the container's namespaces before pivot_root, their path on the
 *  host: berth-oci's init cannot run them yet, so they are refused at create rather than skipped.
 *  (startContainer hooks run inside too: src/oci/container-hooks.ts.) */
export function checkHooks(hooks: Hooks | undefined): void {
  if ((hooks?.createContainer ?? []).length > 0) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      'config.json hooks.createContainer: hooks run in the container before pivot_root are not supported by berth-oci yet',
    );
  }
}
