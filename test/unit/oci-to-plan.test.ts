// The one translation, field by field, on plain data: an OCI config in, the native plan out.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import { CAPS, MS, S_IFCHR, makedev } from '../../src/native/constants';
import type { NativeMountOp } from '../../src/native';
import { cgroupLocation, specLimits } from '../../src/oci/resources';
import type { Spec } from '../../src/oci/spec';
import { specToPlan, type OciPlanContext } from '../../src/oci/to-plan';

let bundle: string;
let ctx: OciPlanContext;
const cgroup = {
  dirs: ['/sys/fs/cgroup/memory/p', '/sys/fs/cgroup/memory/p/c1'],
  writes: [['/sys/fs/cgroup/memory/p/c1/memory.limit_in_bytes', '1'] as [string, string]],
  procs: ['/sys/fs/cgroup/memory/p/c1/tasks'],
};

beforeAll(() => {
  bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-oci-plan-'));
  fs.mkdirSync(path.join(bundle, 'rootfs'));
  fs.mkdirSync(path.join(bundle, 'data'));
  fs.writeFileSync(path.join(bundle, 'file.txt'), 'x');
  ctx = {
    bundle,
    cgroup,
    cgroupDirs: ['/sys/fs/cgroup/memory/p/c1', '/sys/fs/cgroup/pids/p/c1'],
    helperPath: '/x/berth-nsenter',
    execFifoPath: '/run/x/exec.fifo',
  };
});
afterAll(() => fs.rmSync(bundle, { recursive: true, force: true }));

function spec(over: Partial<Spec> = {}, linux: Spec['linux'] = {}): Spec {
  return {
    ociVersion: '1.0.2',
    process: { user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'true'], env: ['PATH=/usr/bin:/bin'], cwd: '/work' },
    root: { path: 'rootfs' },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }], ...linux },
    ...over,
  };
}

const plan = (s: Spec, c: Partial<OciPlanContext> = {}) => specToPlan(s, { ...ctx, ...c });
const target = (ops: NativeMountOp[], t: string) => ops.filter((o) => o.target === t);
const caught = (fn: () => unknown): BerthError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BerthError);
    return e as BerthError;
  }
  throw new Error('expected a BerthError');
};

describe('specToPlan: root, process, namespaces', () => {
  it('binds root.path (relative to the bundle) onto itself; readonly and propagation apply after pivot_root', () => {
    const p = plan(spec({ root: { path: 'rootfs', readonly: true } }, { rootfsPropagation: 'rslave' }));
    expect(p.rootfs).toBe(path.join(bundle, 'rootfs'));
    expect(p.rootfsMount).toEqual({ source: path.join(bundle, 'rootfs'), fstype: '', flags: MS.BIND | MS.REC, data: '' });
    expect(p.rootfsReadonly).toBe(true);
    expect(p.rootfsPropagation).toBe(MS.SLAVE | MS.REC);
  });

  it('takes args, env, cwd, user, umask, additional gids, terminal and console size as given', () => {
    const p = plan(
      spec({
        process: {
          user: { uid: 1000, gid: 1001, umask: 0o077, additionalGids: [10, 20] },
          args: ['app', '--x'],
          env: ['PATH=/opt/bin', 'A=b'],
          cwd: '/srv',
          terminal: true,
          consoleSize: { height: 40, width: 120 },
          noNewPrivileges: true,
          oomScoreAdj: 500,
        },
      }),
    );
    expect(p.argv).toEqual(['app', '--x']);
    expect(p.execCandidates).toEqual(['/opt/bin/app']);
    expect(p.env).toEqual(['PATH=/opt/bin', 'A=b']);
    expect([p.cwd, p.uid, p.gid, p.umask]).toEqual(['/srv', 1000, 1001, 0o077]);
    expect(p.groups).toEqual([10, 20]);
    expect([p.tty, p.ttySize]).toEqual([true, [40, 120]]);
    expect(p.noNewPrivileges).toBe(true);
    expect(p.oomScoreAdj).toBe(500);
    expect(p.parentDeathSignal).toBe(0); // the init outlives berth-oci
    expect(p.execFifoPath).toBe('/run/x/exec.fifo');
  });

  it('creates the new namespaces, joins those with a path, and brings lo up only in a new network namespace', () => {
    const p = plan(
      spec(
        {},
        {
          namespaces: [
            { type: 'pid' },
            { type: 'mount' },
            { type: 'network', path: '/var/run/netns/pod' },
            { type: 'ipc', path: '/proc/7/ns/ipc' },
            { type: 'uts' },
            { type: 'cgroup' },
          ],
        },
      ),
    );
    expect(p.namespaces).toEqual(['pid', 'mnt', 'uts', 'cgroup']);
    expect(p.joinNamespaces).toEqual([
      ['net', '/var/run/netns/pod'],
      ['ipc', '/proc/7/ns/ipc'],
    ]);
    expect(p.loopbackUp).toBe(false);
    expect(plan(spec()).loopbackUp).toBe(true);
  });

  it('refuses what it cannot honour, naming the field', () => {
    expect(caught(() => plan(spec({}, { namespaces: [{ type: 'mount' }, { type: 'user' }] }))).message).toMatch(
      /^config\.json linux\.uidMappings: a new user namespace \(linux\.namespaces\[1\]\) needs uid mappings/,
    );
    expect(caught(() => plan(spec({}, { namespaces: [{ type: 'pid' }] }))).message).toMatch(/needs a new mount namespace/);
    expect(caught(() => plan(spec({}, { namespaces: [{ type: 'mount', path: '/proc/1/ns/mnt' }] }))).message).toMatch(
      /linux\.namespaces\[0\]\.path: joining a mount namespace/,
    );
    expect(caught(() => plan(spec({ process: { user: { uid: 0, gid: 0 }, args: [], cwd: '/' } }))).message).toMatch(/process\.args/);
    expect(caught(() => plan(spec({ process: { user: { uid: 0, gid: 0 }, args: ['x'], cwd: 'rel' } }))).message).toMatch(
      /process\.cwd: expected an absolute path but received "rel"/,
    );
    expect(caught(() => plan(spec({ root: { path: 'missing' } }))).message).toMatch(/root\.path: ".*missing" is not a directory/);
    expect(caught(() => plan(spec({}, { personality: { domain: 'LINUX32' } }))).message).toMatch(/linux\.personality/);
    expect(caught(() => plan(spec({}, { rootfsPropagation: 'sideways' }))).message).toMatch(/linux\.rootfsPropagation/);
  });
});

describe('specToPlan: capabilities and rlimits', () => {
  it('drops from the bounding set what it lacks and keeps effective ∪ permitted', () => {
    const p = plan(
      spec({
        process: {
          user: { uid: 0, gid: 0 },
          args: ['x'],
          cwd: '/',
          capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_ADMIN'], effective: ['CAP_CHOWN'], permitted: ['CAP_KILL'] },
        },
      }),
    );
    expect(p.capsDrop).not.toContain(CAPS.CAP_NET_ADMIN);
    expect(p.capsDrop).toContain(CAPS.CAP_SYS_ADMIN);
    expect(p.capsKeep[0]).toBe((1 << CAPS.CAP_CHOWN) | (1 << CAPS.CAP_KILL));
    expect(
      caught(() => plan(spec({ process: { user: { uid: 0, gid: 0 }, args: ['x'], cwd: '/', capabilities: { bounding: ['CAP_NOPE'] } } })))
        .message,
    ).toMatch(/capabilities\.bounding: unknown capability "CAP_NOPE"/);
  });

  it('maps rlimit names to numbers and 2^64-1 to unlimited', () => {
    const p = plan(
      spec({
        process: {
          user: { uid: 0, gid: 0 },
          args: ['x'],
          cwd: '/',
          rlimits: [
            { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
            { type: 'RLIMIT_CORE', soft: 2 ** 64 - 1, hard: 2 ** 64 - 1 },
          ],
        },
      }),
    );
    expect(p.rlimits).toEqual([
      [7, 1024, 4096],
      [4, -1, -1],
    ]);
    expect(
      caught(() =>
        plan(spec({ process: { user: { uid: 0, gid: 0 }, args: ['x'], cwd: '/', rlimits: [{ type: 'RLIMIT_X', soft: 1, hard: 1 }] } })),
      ).message,
    ).toMatch(/process\.rlimits\[0\]\.type/);
  });
});

describe('specToPlan: mounts', () => {
  it("turns bind, rbind and kernel filesystems into ops with runc's option semantics", () => {
    const p = plan(
      spec({
        mounts: [
          { destination: '/proc', type: 'proc', source: 'proc' },
          { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
          { destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'nosuid', 'rslave'] },
          { destination: '/etc/x', source: path.join(bundle, 'file.txt'), options: ['bind'] },
          { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        ],
      }),
    );
    const [proc] = target(p.mounts, 'proc');
    expect([proc.fstype, proc.flags, proc.create]).toEqual(['proc', 0, 1]);
    const [dev] = target(p.mounts, 'dev');
    expect([dev.flags, dev.data]).toEqual([MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k']);
    const [data] = target(p.mounts, 'data');
    expect(data).toMatchObject({
      source: path.join(bundle, 'data'),
      flags: MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID,
      propagation: MS.SLAVE | MS.REC,
      create: 1,
    });
    expect(target(p.mounts, 'etc/x')[0]).toMatchObject({ flags: MS.BIND, create: 2 });
    // /sys itself is checked like any target (an image's symlink could lead it elsewhere); only below it is the kernel's
    expect(target(p.mounts, 'sys')[0]).toMatchObject({
      fstype: 'sysfs',
      flags: MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY,
      intoKernelFs: false,
    });
    // a /dev of its own gets the standard devices and links, as runc makes them
    expect(target(p.mounts, 'dev/null')[0]).toMatchObject({ kind: 'mknod', mode: S_IFCHR | 0o666, rdev: makedev(1, 3) });
    expect(target(p.mounts, 'dev/ptmx')[0]).toMatchObject({ kind: 'symlink', source: 'pts/ptmx' });
  });

  it("a v1 cgroup mount is a tmpfs with the container's own hierarchies bound in, read-only", () => {
    const p = plan(spec({ mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid'] }] }));
    const ops = p.mounts.filter((o) => o.target.startsWith('sys/fs/cgroup'));
    expect(ops.map((o) => [o.target, o.source])).toEqual([
      ['sys/fs/cgroup', 'tmpfs'],
      ['sys/fs/cgroup/memory', '/sys/fs/cgroup/memory/p/c1'],
      ['sys/fs/cgroup/pids', '/sys/fs/cgroup/pids/p/c1'],
      ['sys/fs/cgroup', ''],
    ]);
    expect(ops[1].flags & MS.RDONLY).toBe(MS.RDONLY);
    expect(ops[3].flags).toBe(MS.REMOUNT | MS.RDONLY | MS.NOSUID);
    expect(ops.every((o) => o.intoKernelFs)).toBe(true);
  });

  it('devices, sysctls, masked and read-only paths, then the working directory', () => {
    const p = plan(
      spec(
        {},
        {
          namespaces: [{ type: 'mount' }],
          devices: [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o600 }],
          sysctl: { 'net.ipv4.ip_forward': '1' },
          maskedPaths: ['/proc/kcore', '/proc/acpi'],
          readonlyPaths: ['/proc/sys'],
        },
      ),
    );
    expect(target(p.mounts, 'dev/fuse')[0]).toMatchObject({ kind: 'mknod', mode: S_IFCHR | 0o600, rdev: makedev(10, 229) });
    expect(target(p.mounts, 'proc/sys/net/ipv4/ip_forward')[0]).toMatchObject({ kind: 'write', data: '1', intoKernelFs: true });
    expect(target(p.mounts, 'proc/kcore')[0]).toMatchObject({ source: '/dev/null', flags: MS.BIND, optional: true, intoKernelFs: true });
    expect(target(p.mounts, 'proc/sys')[0]).toMatchObject({ sourceInRoot: true, optional: true });
    expect(p.mounts.at(-1)).toMatchObject({ kind: 'mkdir', target: 'work' });
  });

  it('refuses destinations that are not absolute, inside /proc, or bind sources that do not exist', () => {
    expect(caught(() => plan(spec({ mounts: [{ destination: 'rel', type: 'tmpfs' }] }))).message).toMatch(
      /mounts\[0\]\.destination: expected an absolute path/,
    );
    expect(
      caught(() => plan(spec({ mounts: [{ destination: '/proc/sys/kernel', type: 'bind', source: 'data', options: ['bind'] }] }))).message,
    ).toMatch(/cannot be inside \/proc/);
    expect(
      caught(() => plan(spec({ mounts: [{ destination: '/x', type: 'bind', source: 'nowhere', options: ['bind'] }] }))).message,
    ).toMatch(/mounts\[0\]\.source: ".*nowhere" does not exist/);
    expect(
      caught(() => plan(spec({ mounts: [{ destination: '/x', type: 'bind', source: 'data', options: ['bind', 'idmap'] }] }))).message,
    ).toMatch(/idmapped mounts/);
  });
});

describe('resources and cgroupsPath', () => {
  it("maps memory, swap, cpu quota/period, shares, cpuset and pids to berth's limits", () => {
    const { limits, allDevices } = specLimits({
      memory: { limit: 64 << 20, swap: 128 << 20 },
      cpu: { quota: 50000, period: 100000, shares: 512, cpus: '0' },
      pids: { limit: 100 },
    });
    expect(limits).toEqual({ memory: 64 << 20, memorySwap: 128 << 20, cpus: 0.5, cpuShares: 512, cpusetCpus: '0', pidsLimit: 100 });
    expect(allDevices).toBe(false);
    expect(
      specLimits({
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, access: 'rwm' },
        ],
      }).allDevices,
    ).toBe(true);
  });

  it('splits cgroupsPath into parent and name, defaulting to berth-oci/ID, and refuses systemd slices', () => {
    expect(cgroupLocation(spec({}, { cgroupsPath: '/libpod_parent/libpod-abc' }), 'x')).toEqual({
      parent: 'libpod_parent',
      name: 'libpod-abc',
    });
    expect(cgroupLocation(spec({}, { cgroupsPath: 'k8s/pod1/c' }), 'x')).toEqual({ parent: 'k8s/pod1', name: 'c' });
    expect(cgroupLocation(spec(), 'c9')).toEqual({ parent: 'berth-oci', name: 'c9' });
    expect(caught(() => cgroupLocation(spec({}, { cgroupsPath: 'system.slice:libpod:abc' }), 'x')).message).toMatch(/systemd slice path/);
    expect(caught(() => cgroupLocation(spec({}, { cgroupsPath: '/a/../b' }), 'x')).message).toMatch(/not a cgroup path/);
  });
});
