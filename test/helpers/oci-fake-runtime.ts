// A fake OciRuntimeApi and the helpers the berth-oci command-line tests share: the fake records
// what each command asks of the runtime, cli() runs main() against it and collects its output.
import { expect } from 'vitest';
import { BerthError } from '../../src/errors';
import type { CreateOptions, ExecOptions, OciRuntimeApi } from '../../src/oci/runtime-api';
import type { Resources, State } from '../../src/oci/spec';
import { main } from '../../src/oci-cli/main';

export type Call = [string, ...unknown[]];

export class FakeRuntime implements OciRuntimeApi {
  calls: Call[] = [];
  states = new Map<string, State>();
  fail: Partial<Record<keyof OciRuntimeApi, Error>> = {};
  exitCode = 0;
  private check(name: keyof OciRuntimeApi) {
    const e = this.fail[name];
    if (e) throw e;
  }
  async create(id: string, o: CreateOptions) {
    this.calls.push(['create', id, o]);
    this.check('create');
    this.states.set(id, { ociVersion: '1.1.0', id, status: 'created', pid: 4242, bundle: o.bundle });
  }
  async start(id: string) {
    this.calls.push(['start', id]);
    this.check('start');
  }
  state(id: string): State {
    this.check('state');
    const s = this.states.get(id);
    if (!s) throw new BerthError('CONTAINER_NOT_FOUND', 'container does not exist');
    return s;
  }
  list() {
    return [...this.states.values()];
  }
  kill(id: string, signal: number, all: boolean) {
    this.calls.push(['kill', id, signal, all]);
  }
  async delete(id: string, force: boolean) {
    this.calls.push(['delete', id, force]);
    this.check('delete');
  }
  async exec(id: string, o: ExecOptions) {
    this.calls.push(['exec', id, o]);
    return this.exitCode;
  }
  pause(id: string) {
    this.calls.push(['pause', id]);
  }
  resume(id: string) {
    this.calls.push(['resume', id]);
  }
  pids(id: string) {
    this.calls.push(['pids', id]);
    return [1, 4242];
  }
  update(id: string, r: Resources) {
    this.calls.push(['update', id, r]);
  }
  stats(id: string) {
    return { type: 'stats', id, data: { memory: { usage: { usage: 1 } } } };
  }
}

/** A fake that can also wait, as `run` without --detach needs. */
export class WaitingRuntime extends FakeRuntime {
  async wait(id: string) {
    this.calls.push(['wait', id]);
    return this.exitCode;
  }
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(argv: string[], rt: OciRuntimeApi = new FakeRuntime(), stdin = ''): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, rt, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stdin: () => stdin });
  return { code, stdout, stderr };
}

/** A failure: exit 1 and exactly one stderr line, berth-oci: prefixed. */
export function expectOneLineError(r: Result, text: string | RegExp) {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n')).toHaveLength(2);
  expect(r.stderr.startsWith('berth-oci: ')).toBe(true);
  expect(r.stderr).toMatch(text);
}
