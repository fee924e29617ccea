// berth-oci's native front (native/oci-front): state, start, kill, delete, pause, resume and list
// answered from the plain data create recorded, without Node; everything else, and every error,
// handed to Node unchanged. "Without Node" is proven by running the front with BERTH_OCI_NODE
// naming no program: a command that reached Node would fail. What the front prints is compared
// with what Node prints for the same container (BERTH_OCI_NATIVE=0).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostChanges, hostSnapshot, type HostSnapshot } from '../helpers/env';
import { BERTH_OCI as OCI, OciSandbox, type OciConfig, type OciResult as Result } from '../helpers/oci';

const NO_NODE = { BERTH_OCI_NODE: '/nonexistent/node' };
const NODE_ONLY = { BERTH_OCI_NATIVE: '0' };
let sandbox: OciSandbox;
let base: string;
let root: string;
let before: HostSnapshot;

const oci = (args: string[], env: Record<string, string> = {}) => sandbox.oci(args, env);

/** Through the front alone: fails the test if the command needed Node. */
function front(...args: string[]): Result {
  const r = oci(args, NO_NODE);
  expect(r.stderr, `${args.join(' ')} reached Node`).toBe('');
  expect(r.status).toBe(0);
  return r;
}

function bundle(name: string, args: string[], edit: (c: OciConfig) => void = () => {}): string {
  return sandbox.bundle(name, (c) => {
    c.process.args = args;
    edit(c);
  });
}

function create(id: string, args: string[], edit?: (c: OciConfig) => void): void {
  const r = oci(['create', '--bundle', bundle(id, args, edit), id]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

const statusOf = (id: string) => JSON.parse(front('state', id).stdout).status as string;

/** The front's state and Node's, byte for byte. */
function expectSameState(id: string, status: string): void {
  const native = front('state', id).stdout;
  expect(oci(['state', id], NODE_ONLY).stdout).toBe(native);
  expect(JSON.parse(native).status).toBe(status);
}

const cgroupDirsOf = (id: string) =>
  fs
    .readFileSync(path.join(root, id, 'native-state'), 'utf8')
    .split('\0')
    .flatMap((v, i, all) => (i % 2 === 0 && v === 'cgroup' ? [all[i + 1]] : []));

beforeAll(() => {
  sandbox = new OciSandbox('berth-oci-front-');
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

describe('the native front of berth-oci', () => {
  it('answers a whole lifecycle without Node, printing what Node prints', () => {
    create('life', ['sleep', '60'], (c) => {
      c.annotations = { 'org.example/quote': 'a "b" \\ c\nd', 'org.example/unicode': 'π ✓ \u0001', empty: '' };
    });
    expectSameState('life', 'created');
    front('start', 'life');
    expectSameState('life', 'running');
    front('pause', 'life');
    expectSameState('life', 'paused');
    front('resume', 'life');
    expectSameState('life', 'running');
    const pid = JSON.parse(front('state', 'life').stdout).pid as number;
    // (the hierarchies the container joined: cpu and cpuset only when limited)
    const dirs = cgroupDirsOf('life').filter((d) => fs.existsSync(d));
    expect(dirs.length).toBeGreaterThan(0);
    for (const d of dirs) expect(fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(pid));
    front('kill', 'life', 'KILL');
    for (let i = 0; i < 200 && statusOf('life') !== 'stopped'; i++) spawnSync('sleep', ['0.01']);
    expectSameState('life', 'stopped');
    expect(JSON.parse(front('state', 'life').stdout).pid).toBe(0);
    front('delete', 'life');
    expect(fs.existsSync(path.join(root, 'life'))).toBe(false);
    for (const d of dirs) expect(fs.existsSync(d), d).toBe(false);
  });

  it('reads runc spellings of the flags: --root=, -f, --force=true after the operand, signal names and numbers', () => {
    create('flags', ['sleep', '60']);
    const r = spawnSync(OCI, [`--root=${root}`, '--log-format=json', '--log', path.join(base, 'log'), 'start', 'flags'], {
      env: { ...process.env, ...NO_NODE },
    });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    front('kill', 'flags', 'sigcont');
    front('kill', '--all=false', 'flags', '18');
    front('kill', 'flags', 'SIGCONT', '-a=false');
    expect(statusOf('flags')).toBe('running');
    front('delete', 'flags', '--force=true');
    expect(fs.existsSync(path.join(root, 'flags'))).toBe(false);
  });

  it('lists the root as Node does, in every format, without Node', () => {
    expect(front('list').stdout).toBe(oci(['list'], NODE_ONLY).stdout);
    create('list-a', ['sleep', '60'], (c) => {
      c.annotations = { 'org.example/x': 'y "z"' };
    });
    create('list-b', ['sleep', '60']);
    front('start', 'list-b');
    create('list-c', ['true']);
    front('start', 'list-c');
    for (let i = 0; i < 200 && statusOf('list-c') !== 'stopped'; i++) spawnSync('sleep', ['0.01']);
    for (const args of [['list'], ['list', '--format', 'json'], ['list', '-f=json'], ['list', '-q']]) {
      expect(front(...args).stdout, args.join(' ')).toBe(oci(args, NODE_ONLY).stdout);
    }
    const entries = JSON.parse(front('list', '--format', 'json').stdout) as Array<{ id: string; status: string }>;
    expect(entries.map((e) => [e.id, e.status])).toEqual([
      ['list-a', 'created'],
      ['list-b', 'running'],
      ['list-c', 'stopped'],
    ]);
  });

  it('start of a command that exits at once still succeeds', () => {
    for (let i = 0; i < 5; i++) {
      create(`short${i}`, ['true']);
      front('start', `short${i}`);
      front('delete', '-f', `short${i}`);
    }
  });

  it('delete --force of a created and of a frozen container kills every process and removes its cgroups', () => {
    create('made', ['sleep', '60']);
    const made = JSON.parse(front('state', 'made').stdout).pid as number;
    const madeDirs = cgroupDirsOf('made');
    front('delete', '--force', 'made');
    expect(fs.existsSync(`/proc/${made}/stat`) && !fs.readFileSync(`/proc/${made}/stat`, 'utf8').includes(') Z')).toBe(false);
    for (const d of madeDirs) expect(fs.existsSync(d), d).toBe(false);

    create('frozen', ['sh', '-c', 'sleep 60 & exec sleep 60']);
    front('start', 'frozen');
    front('pause', 'frozen');
    const dirs = cgroupDirsOf('frozen');
    front('delete', '-f', 'frozen');
    for (const d of dirs) expect(fs.existsSync(d), d).toBe(false);
    expect(fs.existsSync(path.join(root, 'frozen'))).toBe(false);
  });

  it('hands errors to Node: one line from Node, exit 1, nothing changed', () => {
    const missing = oci(['state', 'nosuch'], NO_NODE);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot run \/nonexistent\/node/);
    expect(oci(['state', 'nosuch']).stderr).toBe('berth-oci: container does not exist: nosuch\n');

    create('busy', ['sleep', '60']);
    front('start', 'busy');
    const again = oci(['start', 'busy']);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe('berth-oci: cannot start a container that has already started: busy\n');
    const del = oci(['delete', 'busy']);
    expect(del.status).toBe(1);
    expect(del.stderr).toBe('berth-oci: cannot delete container busy that is not stopped: running\n');
    expect(statusOf('busy')).toBe('running');
    const sig = oci(['kill', 'busy', 'NOSUCHSIGNAL']);
    expect(sig.status).toBe(1);
    expect(sig.stderr).toBe('berth-oci: unknown signal "NOSUCHSIGNAL"\n');
    expect(statusOf('busy')).toBe('running');
  });

  it('leaves commands with hooks to Node, which runs them', () => {
    const marker = path.join(base, 'poststop-ran');
    create('hooked', ['sleep', '60'], (c) => {
      c.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${marker}`] }] };
    });
    expect(oci(['delete', '--force', 'hooked'], NO_NODE).status).toBe(1);
    expect(statusOf('hooked')).toBe('created');
    expect(oci(['delete', '--force', 'hooked']).status).toBe(0);
    expect(JSON.parse(fs.readFileSync(marker, 'utf8'))).toMatchObject({ id: 'hooked', status: 'stopped' });
  });
});
