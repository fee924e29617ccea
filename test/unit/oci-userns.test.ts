// The translation of user namespaces (linux.namespaces' user, linux.uidMappings/gidMappings) and
// of --preserve-fds, on plain data: what the plan asks the native side to do, and every refusal.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import { MS } from '../../src/native/constants';
import { execToPlan } from '../../src/oci/exec-plan';
import type { IdMapping, Linux, Spec } from '../../src/oci/spec';
import { specToPlan, type OciPlanContext } from '../../src/oci/to-plan';

let bundle: string;
let ctx: OciPlanContext;
const MAP: IdMapping[] = [{ containerID: 0, hostID: 100000, size: 65536 }];
const NEW_USERNS = [{ type: 'pid' }, { type: 'mount' }, { type: 'network' }, { type: 'user' }] as Linux['namespaces'];

beforeAll(() => {
  bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-oci-userns-plan-'));
  fs.mkdirSync(path.join(bundle, 'rootfs'));
  ctx = {
    bundle,
    cgroup: { dirs: [], writes: [], procs: [] },
    cgroupDirs: [],
    helperPath: '/x/berth-nsenter',
    execFifoPath: '/run/x/fifo',
  };
});
afterAll(() => fs.rmSync(bundle, { recursive: true, force: true }));

function spec(linux: Linux = {}, over: Partial<Spec> = {}): Spec {
  return {
    ociVersion: '1.0.2',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], env: [], cwd: '/' },
    root: { path: 'rootfs' },
    linux: { namespaces: NEW_USERNS, uidMappings: MAP, gidMappings: MAP, ...linux },
    ...over,
  };
}
const plan = (s: Spec, c: Partial<OciPlanContext> = {}) => specToPlan(s, { ...ctx, ...c });
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BerthError);
    return (e as Error).message;
  }
  throw new Error('expected a BerthError');
};

describe('a new user namespace', () => {
  it('is cloned with the others; the maps are the lines the parent writes to uid_map and gid_map', () => {
    const p = plan(spec({ gidMappings: [...MAP, { containerID: 65536, hostID: 5000, size: 1 }] }));
    expect(p.namespaces).toEqual(['pid', 'mnt', 'net', 'user']);
    expect(p.joinNamespaces).toBeUndefined();
    expect(p.uidMap).toBe('0 100000 65536\n');
    expect(p.gidMap).toBe('0 100000 65536\n65536 5000 1\n');
  });

  it("binds the host's device nodes where it would mknod them (a /dev tmpfs's and linux.devices)", () => {
    const mounts = [{ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] }];
    const p = plan(spec({ devices: [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }] }, { mounts }));
    expect(p.mounts.filter((o) => o.kind === 'mknod')).toEqual([]);
    const binds = p.mounts.filter((o) => o.source.startsWith('/dev/'));
    expect(binds.map((o) => [o.target, o.source, o.flags, o.create])).toEqual(
      ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'fuse'].map((d) => [`dev/${d}`, `/dev/${d}`, MS.BIND, 2]),
    );
    // without a user namespace they are made
    const plain = plan(spec({ namespaces: [{ type: 'mount' }], uidMappings: undefined, gidMappings: undefined }, { mounts }));
    expect(plain.mounts.filter((o) => o.kind === 'mknod')).toHaveLength(6);
  });

  it('mounts sysfs with a network namespace of its own, else binds the host /sys recursively', () => {
    const mounts = [{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }];
    const own = plan(spec({}, { mounts })).mounts.find((o) => o.target === 'sys')!;
    expect([own.fstype, own.source]).toEqual(['sysfs', 'sysfs']);
    const hostNet = plan(spec({ namespaces: NEW_USERNS!.filter((n) => n.type !== 'network') }, { mounts })).mounts.find(
      (o) => o.target === 'sys',
    )!;
    expect([hostNet.fstype, hostNet.source, hostNet.flags]).toEqual([
      '',
      '/sys',
      MS.BIND | MS.REC | MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY,
    ]);
  });
});

describe('joining a user namespace by path', () => {
  it('is joined first, before the other namespaces, with no maps to write', () => {
    const p = plan(
      spec({
        namespaces: [
          { type: 'pid' },
          { type: 'network', path: '/proc/9/ns/net' },
          { type: 'mount' },
          { type: 'user', path: '/run/userns/pod' },
        ],
        uidMappings: undefined,
        gidMappings: undefined,
      }),
    );
    expect(p.namespaces).toEqual(['pid', 'mnt']);
    expect(p.joinNamespaces).toEqual([
      ['user', '/run/userns/pod'],
      ['net', '/proc/9/ns/net'],
    ]);
    expect(p.uidMap).toBeUndefined();
  });

  it("takes mappings that are the namespace's own (as containerd sends them), and refuses others", () => {
    const self = `/proc/${process.pid}/ns/user`;
    const own = fs
      .readFileSync('/proc/self/uid_map', 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number))
      .map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
    const joining = (m: IdMapping[]) =>
      spec({ namespaces: [{ type: 'mount' }, { type: 'user', path: self }], uidMappings: m, gidMappings: undefined });
    expect(plan(joining(own)).joinNamespaces).toEqual([['user', self]]);
    expect(refusal(() => plan(joining(MAP)))).toBe(
      `config.json linux.uidMappings: differ from the mappings of the user namespace joined by path (${self})`,
    );
  });
});

describe('refusals, each naming its field', () => {
  const cases: Array<[string, Linux, Partial<Spec>, string]> = [
    [
      'mappings without a user namespace',
      { namespaces: [{ type: 'mount' }] },
      {},
      'config.json linux.uidMappings: user namespace mappings are given, but linux.namespaces has no user namespace; add {"type": "user"}',
    ],
    [
      'a new user namespace without uid mappings',
      { uidMappings: undefined },
      {},
      'config.json linux.uidMappings: a new user namespace (linux.namespaces[3]) needs uid mappings; give linux.uidMappings or a namespace path to join',
    ],
    [
      'an empty gid mapping list',
      { gidMappings: [] },
      {},
      'config.json linux.gidMappings: a new user namespace (linux.namespaces[3]) needs gid mappings; give linux.gidMappings or a namespace path to join',
    ],
    [
      'a size of 0',
      { uidMappings: [{ containerID: 0, hostID: 1, size: 0 }] },
      {},
      'config.json linux.uidMappings[0].size: expected a positive integer but received 0',
    ],
    [
      'a negative host id',
      { gidMappings: [{ containerID: 0, hostID: -5, size: 1 }] },
      {},
      'config.json linux.gidMappings[0].hostID: expected an integer from 0 to 4294967295 but received -5',
    ],
    [
      'a range past the last id',
      { uidMappings: [{ containerID: 0, hostID: 4294967000, size: 65536 }] },
      {},
      'config.json linux.uidMappings[0]: the range goes past id 4294967295',
    ],
    [
      'overlapping host ranges',
      { uidMappings: [...MAP, { containerID: 70000, hostID: 100005, size: 2 }] },
      {},
      'config.json linux.uidMappings: mappings 0 and 1 overlap in their hostID ranges',
    ],
    [
      'no container root',
      { uidMappings: [{ containerID: 1, hostID: 100001, size: 10 }] },
      {},
      "config.json linux.uidMappings: container uid 0 is not mapped; the init starts as the namespace's root",
    ],
    [
      'an unmapped process.user.gid',
      {},
      { process: { user: { uid: 0, gid: 70000 }, args: ['sh'], cwd: '/' } },
      'config.json process.user.gid: 70000 is not mapped by linux.gidMappings',
    ],
    [
      'an unmapped additional gid',
      {},
      { process: { user: { uid: 0, gid: 0, additionalGids: [5, 99999] }, args: ['sh'], cwd: '/' } },
      'config.json process.user.additionalGids: 99999 is not mapped by linux.gidMappings',
    ],
  ];
  it.each(cases)('%s', (_name, linux, over, message) => {
    expect(refusal(() => plan(spec(linux, over)))).toBe(message);
  });

  it("berth run's starts (ctx.berth) take no user namespace: their child's parent sleeps in vfork", () => {
    const berth = { parentDeathSignal: 9, initPath: '', ttySize: [24, 80] as [number, number], fileBinds: new Set<string>() };
    expect(refusal(() => plan(spec(), { berth }))).toBe('config.json linux.namespaces[3]: user namespaces are supported by berth-oci only');
  });
});

describe('--preserve-fds', () => {
  it('is a count in the plan of create and exec alike, checked', () => {
    expect(plan(spec(), { preserveFds: 3 }).preserveFds).toBe(3);
    expect(plan(spec(), { preserveFds: 0 }).preserveFds).toBeUndefined();
    expect(refusal(() => plan(spec(), { preserveFds: -1 }))).toBe(
      '--preserve-fds: expected a number of descriptors from 0 to 1024 but received -1',
    );
    const exec = (n?: number) =>
      execToPlan(42, { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } }, spec(), { joinFiles: [], helperPath: '/x', preserveFds: n });
    expect(exec(2).preserveFds).toBe(2);
    expect(exec().preserveFds).toBeUndefined();
    expect(refusal(() => exec(1.5))).toMatch(/^--preserve-fds: expected a number/);
  });

  it("exec joins the container's user namespace along with the rest", () => {
    const p = execToPlan(42, { args: ['id'], cwd: '/', user: { uid: 1000, gid: 1000 } }, spec(), { joinFiles: [], helperPath: '/x' });
    expect(p.namespaces).toEqual(['pid', 'mnt', 'net', 'user']);
    expect([p.uid, p.gid]).toEqual([1000, 1000]);
  });
});
