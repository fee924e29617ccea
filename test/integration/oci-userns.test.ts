// berth-oci with user namespaces, driven as runc is driven (the command line, bundles on disk, a
// state dir of its own): a new user namespace with mappings, one joined by path, exec into one, bad
// mappings refused with nothing left; and --preserve-fds through the plan and berth-nsenter (the
// runtime does not pass the option on yet, so a small script drives specToPlan and the addon).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostChanges, hostSnapshot, type HostSnapshot } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';
import { REPO_ROOT } from '../helpers/paths';
import type { Linux, Process, Spec } from '../../src/oci/spec';

const OCI = path.join(REPO_ROOT, 'dist', 'oci-cli', 'berth-oci.js');
const HOST_BASE = 100000;
const MAPPINGS = [{ containerID: 0, hostID: HOST_BASE, size: 65536 }];
let base: string;
let root: string;
let rootfs: string;
let data: string;
let locked: string;
let before: HostSnapshot;

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}
// Output to files: a created init inherits them, and a pipe would stay open for its whole life.
let calls = 0;
const oci = (...args: string[]): Result => {
  const out = path.join(base, `out.${++calls}`);
  const [o, e] = [fs.openSync(out, 'w'), fs.openSync(`${out}.err`, 'w')];
  const r = spawnSync(OCI, ['--root', root, ...args], { stdio: ['ignore', o, e], timeout: 30_000 });
  fs.closeSync(o);
  fs.closeSync(e);
  return { status: r.status ?? -1, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(`${out}.err`, 'utf8') };
};

type Config = Spec & { process: Process; root: NonNullable<Spec['root']>; linux: Linux };
/** `berth-oci spec`'s config with a new user namespace mapping 0..65535 to 100000.., a writable
 *  /data bound from a directory the mapped root owns, changed by `edit`. */
function bundle(name: string, edit: (c: Config) => void = () => {}): string {
  const dir = path.join(base, name);
  fs.mkdirSync(dir);
  fs.symlinkSync(rootfs, path.join(dir, 'rootfs'));
  const r = spawnSync(OCI, ['spec', '--bundle', dir], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Config;
  config.process.terminal = false;
  config.linux.namespaces!.push({ type: 'user' });
  config.linux.uidMappings = MAPPINGS;
  config.linux.gidMappings = MAPPINGS;
  config.mounts!.push({ destination: '/data', type: 'bind', source: data, options: ['rbind', 'rw'] });
  edit(config);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

const state = (id: string) => JSON.parse(oci('state', id).stdout) as { status: string; pid: number };
const statusIds = (pid: number, key: 'Uid' | 'Gid') =>
  new RegExp(`^${key}:\\s+(.*)$`, 'm')
    .exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]
    .split(/\s+/)
    .map(Number);

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-oci-userns-'));
  // the container's root is host uid 100000: it must be able to walk to its rootfs and /data
  fs.chmodSync(base, 0o755);
  root = path.join(base, 'state');
  rootfs = path.join(base, 'rootfs');
  data = path.join(base, 'data');
  fs.mkdirSync(rootfs);
  spawnSync('tar', ['-xf', busyboxTar(), '-C', rootfs]);
  // the rootfs stays the host root's (as an unchowned image is): the container's root can read it
  // but not make mount targets in it, so they exist already
  for (const target of ['data', 'ro']) fs.mkdirSync(path.join(rootfs, target));
  fs.mkdirSync(data);
  fs.chownSync(data, HOST_BASE, HOST_BASE);
  fs.chmodSync(data, 0o777);
  // a host mount with nosuid,nodev,noexec: in a user namespace those flags of its binds are locked
  locked = path.join(base, 'locked');
  fs.mkdirSync(locked);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,mode=755', 'berth-userns-test', locked], { encoding: 'utf8' });
  expect(m.status, m.stderr).toBe(0);
});
afterAll(() => {
  if (locked) spawnSync('umount', [locked]);
  fs.rmSync(base, { recursive: true, force: true });
});
beforeEach(() => {
  before = hostSnapshot();
});
afterEach(() => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) oci('delete', '--force', id);
  expect(hostChanges(before)).toEqual([]);
});

describe('berth-oci: a new user namespace', () => {
  it('the init is root inside, the mapped uid outside; its files are owned by the mapped ids', () => {
    const b = bundle('new', (c) => {
      c.process.args = ['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; touch /data/by-root; ls -ln /dev/null'];
    });
    const r = oci('run', '--bundle', b, 'new');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual(['0', '0']);
    expect(lines.slice(2, 4).map((l) => l.trim().split(/\s+/))).toEqual([
      ['0', '100000', '65536'],
      ['0', '100000', '65536'],
    ]);
    // no mknod in a user namespace: the host's device bound in (owned by an unmapped uid inside)
    expect(lines[4]).toMatch(/^crw-rw-rw-\s+1\s+65534\s+65534\s+1,\s+3 /);
    const st = fs.statSync(path.join(data, 'by-root'));
    expect([st.uid, st.gid]).toEqual([HOST_BASE, HOST_BASE]);
  });

  it("process.user's ids are mapped too: seen from the host as 101000, and exec joins the namespace", () => {
    const b = bundle('user', (c) => {
      c.process.user = { uid: 1000, gid: 1000, additionalGids: [10] };
      c.process.args = ['sh', '-c', 'touch /data/by-user; exec sleep 30'];
    });
    const created = oci('create', '--bundle', b, 'user');
    expect(created.stderr).toBe('');
    expect(oci('start', 'user').status).toBe(0);
    const { pid } = state('user');
    for (let i = 0; i < 100 && !fs.existsSync(path.join(data, 'by-user')); i++) spawnSync('sleep', ['0.02']);
    expect(statusIds(pid, 'Uid')).toEqual([101000, 101000, 101000, 101000]);
    expect(statusIds(pid, 'Gid')).toEqual([101000, 101000, 101000, 101000]);
    const st = fs.statSync(path.join(data, 'by-user'));
    expect([st.uid, st.gid]).toEqual([101000, 101000]);

    const ex = oci('exec', 'user', 'sh', '-c', 'id -u; id -G; cat /proc/self/uid_map; readlink /proc/self/ns/user; touch /data/by-exec');
    expect(ex.stderr).toBe('');
    expect(ex.status).toBe(0);
    const [uid, groups, map, ns] = ex.stdout.trim().split('\n');
    expect([uid, groups, map.trim().split(/\s+/)]).toEqual(['1000', '1000 10', ['0', '100000', '65536']]);
    expect(ns).toBe(fs.readlinkSync(`/proc/${pid}/ns/user`));
    expect(fs.statSync(path.join(data, 'by-exec')).uid).toBe(101000);
    // as root of the namespace (exec -u 0)
    const asRoot = oci('exec', '--user', '0:0', 'user', 'sh', '-c', 'id -u; touch /data/by-exec-root');
    expect(asRoot.stdout).toBe('0\n');
    expect(fs.statSync(path.join(data, 'by-exec-root')).uid).toBe(HOST_BASE);
  });

  it('a read-only rootfs and read-only binds of host mounts keep their locked flags', () => {
    const b = bundle('ro', (c) => {
      c.root.readonly = true;
      // no nosuid,nodev,noexec asked for: the remount to read-only must keep them all the same
      c.mounts!.push({ destination: '/ro', type: 'bind', source: locked, options: ['rbind', 'ro'] });
      c.process.args = [
        'sh',
        '-c',
        'touch /x 2>/dev/null || echo root-ro; touch /ro/x 2>/dev/null || echo bind-ro; touch /data/rw && echo data-rw; grep " /ro " /proc/self/mountinfo',
      ];
    });
    const r = oci('run', '--bundle', b, 'ro');
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['root-ro', 'bind-ro', 'data-rw']);
    expect(lines[3].split(' ')[5].split(',').sort()).toEqual(['nodev', 'noexec', 'nosuid', 'relatime', 'ro']);
  });

  it('without a network namespace of its own, /sys is the host sysfs bound in', () => {
    const b = bundle('sys', (c) => {
      c.linux.namespaces = c.linux.namespaces!.filter((n) => n.type !== 'network');
      c.process.args = ['sh', '-c', 'ls /sys/class/net | grep -qx lo && echo has-lo; touch /sys/x 2>/dev/null || echo sys-ro'];
    });
    const r = oci('run', '--bundle', b, 'sys');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('has-lo\nsys-ro\n');
  });
});

describe('berth-oci: joining a user namespace by path', () => {
  it("the second container is in the first one's user namespace, with its mappings", () => {
    const first = bundle('owner', (c) => {
      c.process.args = ['sleep', '30'];
    });
    expect(oci('run', '--detach', '--bundle', first, 'owner').status).toBe(0);
    const { pid } = state('owner');
    const second = bundle('joiner', (c) => {
      c.linux.namespaces = c.linux.namespaces!.map((n) => (n.type === 'user' ? { type: 'user', path: `/proc/${pid}/ns/user` } : n));
      // containerd sends the joined namespace's own mappings along: they must match
      c.process.args = ['sh', '-c', 'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; touch /data/by-joiner'];
    });
    const r = oci('run', '--bundle', second, 'joiner');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [uid, map, ns] = r.stdout.trim().split('\n');
    expect([uid, map.trim().split(/\s+/)]).toEqual(['0', ['0', '100000', '65536']]);
    expect(ns).toBe(fs.readlinkSync(`/proc/${pid}/ns/user`));
    expect(fs.statSync(path.join(data, 'by-joiner')).uid).toBe(HOST_BASE);

    const mismatched = bundle('mismatch', (c) => {
      c.linux.namespaces = c.linux.namespaces!.map((n) => (n.type === 'user' ? { type: 'user', path: `/proc/${pid}/ns/user` } : n));
      c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    });
    const bad = oci('run', '--bundle', mismatched, 'mismatch');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /^berth-oci: config\.json linux\.uidMappings: differ from the mappings of the user namespace joined by path/,
    );
  });
});

describe('berth-oci: bad user namespace configs', () => {
  const cases: Array<[string, (c: Config) => void, RegExp]> = [
    [
      'mappings without a user namespace',
      (c) => {
        c.linux.namespaces = c.linux.namespaces!.filter((n) => n.type !== 'user');
      },
      /linux\.uidMappings: user namespace mappings are given, but linux\.namespaces has no user namespace/,
    ],
    [
      'a user namespace without gid mappings',
      (c) => {
        delete c.linux.gidMappings;
      },
      /linux\.gidMappings: a new user namespace \(linux\.namespaces\[\d\]\) needs gid mappings/,
    ],
    [
      'a user that is not mapped',
      (c) => {
        c.process.user = { uid: 70000, gid: 0 };
      },
      /process\.user\.uid: 70000 is not mapped by linux\.uidMappings/,
    ],
    [
      'overlapping mappings',
      (c) => {
        c.linux.uidMappings = [...MAPPINGS, { containerID: 100, hostID: 300000, size: 10 }];
      },
      /linux\.uidMappings: mappings 0 and 1 overlap in their containerID ranges/,
    ],
  ];
  it.each(cases)('%s: one line, no state, no cgroup, no process', (_name, edit, message) => {
    const b = bundle(`bad-${++calls}`, edit);
    const r = oci('create', '--bundle', b, 'bad');
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(path.join(root, 'bad'))).toBe(false);
  });
});

// fds 3 and 4 of a node script that builds the plan with preserveFds: 2 and starts it through the
// addon and berth-nsenter, as runtime.ts's create and exec do.
const PRESERVE_SCRIPT = `
const fs = require('node:fs');
const dist = ${JSON.stringify(path.join(REPO_ROOT, 'dist'))};
const { specToPlan } = require(dist + '/oci/to-plan.js');
const { execToPlan } = require(dist + '/oci/exec-plan.js');
const { native, spawnContainer } = require(dist + '/native/index.js');
const { NSENTER_PATH } = require(dist + '/runtime/shim.js');
const [bundle, fifo] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(bundle + '/config.json', 'utf8'));
const cgroup = { dirs: [], writes: [], procs: [] };
const plan = specToPlan(spec, { bundle, cgroup, cgroupDirs: [], helperPath: NSENTER_PATH, execFifoPath: fifo, preserveFds: 2 });
const init = spawnContainer(plan);
const exec = spawnContainer(execToPlan(init.pid, { args: ['sh', '-c', 'echo exec-3 >&3; ls /proc/self/fd | sort -n | tr "\\\\n" " "; echo'], cwd: '/' }, spec, { joinFiles: [], helperPath: NSENTER_PATH, preserveFds: 1 }));
native().watchExit(exec.pidfd, () => {
  const fd = fs.openSync(fifo, 'r');
  fs.readSync(fd, Buffer.alloc(1));
  native().watchExit(init.pidfd, (e) => process.exit(e.code));
});
`;

describe('--preserve-fds through the plan and berth-nsenter', () => {
  it("create's init and exec's process get the caller's fds 3.. (and no others)", () => {
    const b = bundle('fds', (c) => {
      c.process.args = ['sh', '-c', 'echo init-3 >&3; cat <&4; ls /proc/self/fd | sort -n | tr "\\n" " "; echo'];
    });
    const script = path.join(base, 'preserve.js');
    fs.writeFileSync(script, PRESERVE_SCRIPT);
    const out = path.join(base, 'fds.out');
    const three = path.join(base, 'fd3');
    const four = path.join(base, 'fd4');
    fs.writeFileSync(four, 'read-from-4\n');
    const fds = [fs.openSync(out, 'w'), fs.openSync(three, 'w'), fs.openSync(four, 'r')];
    const r = spawnSync(process.execPath, [script, b, path.join(base, 'fds.fifo')], {
      stdio: ['ignore', fds[0], 'pipe', fds[1], fds[2]],
      encoding: 'utf8',
      timeout: 30_000,
    });
    fds.forEach((fd) => fs.closeSync(fd));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(three, 'utf8')).toBe('exec-3\ninit-3\n');
    // ls's own directory fd is the last one
    expect(fs.readFileSync(out, 'utf8').split('\n')).toEqual(['0 1 2 3 4 ', 'read-from-4', '0 1 2 3 4 5 ', '']);
  });
});
