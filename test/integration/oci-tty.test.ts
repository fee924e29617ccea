// A foreground `berth-oci run` of a config with process.terminal, and `exec --tty`, without a
// console socket: as runc does, berth-oci holds the pty itself and copies it to and from its own
// stdio (`runc spec && runc run ID` is an interactive shell). The caller's terminal is a real one,
// made by script(1).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostChanges, hostSnapshot, type HostSnapshot } from '../helpers/env';
import { BERTH_OCI as OCI, OciSandbox } from '../helpers/oci';

let sandbox: OciSandbox;
let base: string;
let root: string;
let before: HostSnapshot;

function bundle(name: string, args: string[], terminal: boolean): string {
  return sandbox.bundle(name, (c) => Object.assign(c.process, { terminal, args }));
}

/** `command` under a terminal of script(1)'s, `input` typed into it; what the terminal showed. */
function underTerminal(command: string, input: string): { status: number; screen: string } {
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { input, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status ?? -1, screen: r.stdout.replace(/\r/g, '') };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

beforeAll(() => {
  sandbox = new OciSandbox('berth-oci-tty-');
  ({ base, root } = sandbox);
});
afterAll(() => sandbox.remove());
beforeEach(() => {
  before = hostSnapshot();
});
afterEach(() => {
  sandbox.deleteAll();
  expect(hostChanges(before)).toEqual([]);
});

describe('berth-oci holding the terminal of a foreground process', () => {
  it('run: the process has a tty of its own sized as the caller’s, reads what is typed, and its status is ours', () => {
    const b = bundle('run', ['sh', '-c', 'tty; stty size; read line; echo "got $line"; exit 3'], true);
    const r = underTerminal(`stty rows 33 cols 101; ${q(OCI)} --root ${q(root)} run --bundle ${q(b)} ttyrun`, 'typed-line\n');
    expect(r.screen).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(r.screen).toMatch(/^33 101$/m);
    expect(r.screen).toMatch(/^got typed-line$/m);
    expect(r.status).toBe(3);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('run without a terminal of the caller’s: the output still comes through', () => {
    const b = bundle('plain', ['sh', '-c', 'tty; echo done'], true);
    const out = path.join(base, 'plain.out');
    const fd = fs.openSync(out, 'w');
    const r = spawnSync(OCI, ['--root', root, 'run', '--bundle', b, 'ttyplain'], { stdio: ['ignore', fd, 'pipe'], timeout: 30_000 });
    fs.closeSync(fd);
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(out, 'utf8').replace(/\r/g, '')).toMatch(/^\/dev\/pts\/\d+\ndone\n$/);
  });

  it('exec --tty without --detach: an interactive shell in a running container', () => {
    const b = bundle('exec', ['sleep', '60'], false);
    expect(spawnSync(OCI, ['--root', root, 'run', '--detach', '--bundle', b, 'ttyexec'], { stdio: 'ignore' }).status).toBe(0);
    const r = underTerminal(`${q(OCI)} --root ${q(root)} exec -t ttyexec sh`, 'echo in-$((40 + 2)); tty; exit 4\n');
    expect(r.screen).toMatch(/^in-42$/m);
    expect(r.screen).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(r.status).toBe(4);
  });
});
