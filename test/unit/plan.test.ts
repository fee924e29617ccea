import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CAPS, DEFAULT_CAPS, MS, S_IFCHR, makedev } from '../../src/native/constants';
import type { NativeMountOp } from '../../src/native';
import { DEFAULT_PATH, capabilityPlan, containerMounts, execCandidates, layoutOf, spawnPlan } from '../../src/runtime/plan';
import type { ContainerConfig } from '../../src/runtime/types';

const CDIR = '/var/lib/berth/containers/0123abcd';

function config(over: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    id: '0123abcd',
    name: 'test',
    image: 'busybox',
    imageId: 'sha256:aa',
    created: '2026-01-01T00:00:00.000Z',
    argv: ['sh', '-c', 'true'],
    env: ['PATH=/bin:/usr/bin', 'HOME=/root'],
    workdir: '/work/dir',
    uid: 1000,
    gid: 1000,
    groups: [1000, 10],
    hostname: 'h1',
    tty: false,
    interactive: false,
    autoRemove: false,
    volumes: [
      { hostPath: '/srv/data', containerPath: '/data', readonly: false },
      { hostPath: '/srv/conf', containerPath: '/etc/app/conf', readonly: true },
    ],
    limits: {},
    storageDriver: 'overlay',
    layers: ['/var/lib/berth/layers/top', '/var/lib/berth/layers/base'],
    ...over,
  };
}

const MASKED = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const byTarget = (ops: NativeMountOp[], target: string) => ops.filter((o) => o.target === target);
const one = (ops: NativeMountOp[], target: string) => {
  const found = byTarget(ops, target);
  expect(found, `ops for ${target}`).toHaveLength(1);
  return found[0];
};

describe('makedev (src/native/constants)', () => {
  it.each([
    [1, 3, 259],
    [1, 5, 261],
    [1, 7, 263],
    [1, 8, 264],
    [1, 9, 265],
    [5, 0, 1280],
    [5, 1, 1281],
    [5, 2, 1282],
    [136, 0, 34816],
    [10, 200, 2760],
    [0, 0, 0],
    [8, 256, 0x100800], // minor above 255 goes to bits 20..31, as glibc
    [259, 65536, 0x10010300],
  ])('makedev(%d, %d) = %d', (major, minor, dev) => {
    expect(makedev(major, minor)).toBe(dev);
  });

  it('agrees with the kernel for /dev/null', () => {
    expect(fs.statSync('/dev/null').rdev).toBe(makedev(1, 3));
  });
});

describe('execCandidates', () => {
  it('uses a command with a slash as is', () => {
    expect(execCandidates('/bin/sh', ['PATH=/x'])).toEqual(['/bin/sh']);
    expect(execCandidates('./run.sh', ['PATH=/x'])).toEqual(['./run.sh']);
    expect(execCandidates('bin/tool', [])).toEqual(['bin/tool']);
  });

  it('tries each PATH entry of the container env in order', () => {
    expect(execCandidates('ls', ['HOME=/', 'PATH=/opt/bin:/usr/bin:/bin'])).toEqual(['/opt/bin/ls', '/usr/bin/ls', '/bin/ls']);
  });

  it('falls back to the default PATH', () => {
    const got = execCandidates('ls', ['HOME=/root']);
    expect(got).toEqual(DEFAULT_PATH.split(':').map((d) => `${d}/ls`));
    expect(got[0]).toBe('/usr/local/sbin/ls');
    expect(got[got.length - 1]).toBe('/bin/ls');
  });

  it('does not mistake a variable ending in PATH for PATH', () => {
    expect(execCandidates('ls', ['MANPATH=/man', 'LD_LIBRARY_PATH=/lib'])[0]).toBe('/usr/local/sbin/ls');
  });

  it('treats an empty PATH entry as the current directory', () => {
    expect(execCandidates('ls', ['PATH=/bin::/usr/bin'])).toEqual(['/bin/ls', 'ls', '/usr/bin/ls']);
  });

  it('joins without doubling slashes', () => {
    expect(execCandidates('ls', ['PATH=/opt/bin/'])).toEqual(['/opt/bin/ls']);
  });
});

describe('capabilityPlan', () => {
  const lastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));

  it("keeps docker's default set: mask [0xa80425fb, 0]", () => {
    const { mask } = capabilityPlan();
    expect(mask).toEqual([0xa80425fb, 0]);
    expect(capabilityPlan(DEFAULT_CAPS).mask).toEqual([0xa80425fb, 0]);
  });

  it('drops every capability of this kernel except the kept ones', () => {
    const { drop } = capabilityPlan();
    const kept = new Set(DEFAULT_CAPS.map((c) => CAPS[c]));
    expect(drop).toHaveLength(lastCap + 1 - kept.size);
    for (let c = 0; c <= lastCap; c++) expect(drop.includes(c)).toBe(!kept.has(c));
    expect(drop).toContain(CAPS.CAP_SYS_ADMIN);
    expect(drop).toContain(CAPS.CAP_NET_ADMIN);
    expect(drop).toContain(CAPS.CAP_SYS_MODULE);
    expect(drop).not.toContain(CAPS.CAP_CHOWN);
    expect(drop).not.toContain(CAPS.CAP_SETFCAP);
    expect(Math.max(...drop)).toBeLessThanOrEqual(lastCap);
    expect([...drop].sort((a, b) => a - b)).toEqual(drop); // ascending, no duplicates
    expect(new Set(drop).size).toBe(drop.length);
  });

  it('puts capabilities 32 and above in the second mask word, bit 31 unsigned', () => {
    expect(capabilityPlan(['CAP_SYS_ADMIN', 'CAP_BPF']).mask).toEqual([1 << 21, 1 << 7]);
    expect(capabilityPlan(['CAP_SETFCAP']).mask).toEqual([0x80000000, 0]);
    expect(capabilityPlan(['CAP_MAC_OVERRIDE', 'CAP_CHECKPOINT_RESTORE']).mask).toEqual([0, 0x101]);
  });

  it('keeps nothing and drops everything for an empty list', () => {
    const { drop, mask } = capabilityPlan([]);
    expect(mask).toEqual([0, 0]);
    expect(drop).toEqual(Array.from({ length: lastCap + 1 }, (_, i) => i));
  });

  // Regression test (a bug found in src/runtime/plan.ts capabilityPlan): an unknown name maps to CAPS[name] === undefined,
  // and `1 << (undefined & 31)` is bit 0, so the effective/permitted mask silently gains CAP_CHOWN.
  // Either refusing the name or ignoring it would be right; granting CAP_CHOWN is not.
  it('does not turn an unknown capability name into CAP_CHOWN', () => {
    let plan: ReturnType<typeof capabilityPlan> | undefined;
    try {
      plan = capabilityPlan(['CAP_NOT_A_CAPABILITY']);
    } catch {
      return; // refusing is fine
    }
    expect(plan.mask).toEqual([0, 0]);
  });
});

describe('containerMounts', () => {
  const ops = containerMounts(config(), CDIR);

  it('mounts proc, dev, devpts, shm, mqueue and sys first, in that order', () => {
    expect(ops.slice(0, 6).map((o) => [o.kind, o.target, o.fstype])).toEqual([
      ['mount', 'proc', 'proc'],
      ['mount', 'dev', 'tmpfs'],
      ['mount', 'dev/pts', 'devpts'],
      ['mount', 'dev/shm', 'tmpfs'],
      ['mount', 'dev/mqueue', 'mqueue'],
      ['mount', 'sys', 'sysfs'],
    ]);
    for (const o of ops.slice(0, 6)) {
      expect(o.create).toBe(1);
      expect(o.optional).toBe(false);
      expect(o.flags & MS.NOSUID).toBe(MS.NOSUID);
    }
  });

  it("gives each kernel filesystem docker's flags and options", () => {
    const [proc, dev, pts, shm, mq] = ops;
    expect(proc.flags).toBe(MS.NOSUID | MS.NOEXEC | MS.NODEV);
    expect(proc.source).toBe('proc');
    expect(dev.flags).toBe(MS.NOSUID | MS.STRICTATIME);
    expect(dev.data).toBe('mode=755,size=65536k');
    expect(pts.flags).toBe(MS.NOSUID | MS.NOEXEC);
    expect(pts.data.split(',')).toEqual(expect.arrayContaining(['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']));
    expect(shm.flags).toBe(MS.NOSUID | MS.NOEXEC | MS.NODEV);
    expect(shm.data).toContain('mode=1777');
    expect(mq.flags).toBe(MS.NOSUID | MS.NOEXEC | MS.NODEV);
  });

  it('mounts sys read-only', () => {
    const sys = one(ops, 'sys');
    expect(sys.flags & MS.RDONLY).toBe(MS.RDONLY);
    expect(sys.flags).toBe(MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY);
    expect(one(ops, 'proc').flags & MS.RDONLY).toBe(0);
  });

  it('creates the standard device nodes as character devices 0666 with glibc device numbers', () => {
    const nodes = ops.filter((o) => o.kind === 'mknod');
    expect(nodes.map((o) => o.target)).toEqual(['dev/null', 'dev/zero', 'dev/full', 'dev/random', 'dev/urandom', 'dev/tty']);
    for (const n of nodes) expect(n.mode).toBe(S_IFCHR | 0o666);
    expect(one(ops, 'dev/null').rdev).toBe(259);
    expect(one(ops, 'dev/null').rdev).toBe(makedev(1, 3));
    expect(one(ops, 'dev/zero').rdev).toBe(makedev(1, 5));
    expect(one(ops, 'dev/full').rdev).toBe(makedev(1, 7));
    expect(one(ops, 'dev/random').rdev).toBe(makedev(1, 8));
    expect(one(ops, 'dev/urandom').rdev).toBe(makedev(1, 9));
    expect(one(ops, 'dev/tty').rdev).toBe(makedev(5, 0));
    // device nodes come after /dev is mounted
    const devIndex = ops.findIndex((o) => o.target === 'dev');
    expect(ops.findIndex((o) => o.kind === 'mknod')).toBeGreaterThan(devIndex);
    // no node for host block devices
    expect(nodes.every((n) => (n.mode & 0o170000) === S_IFCHR)).toBe(true);
  });

  it('links ptmx, fd and the std streams', () => {
    const links = Object.fromEntries(ops.filter((o) => o.kind === 'symlink').map((o) => [o.target, o.source]));
    expect(links).toMatchObject({
      'dev/ptmx': 'pts/ptmx',
      'dev/fd': '/proc/self/fd',
      'dev/stdin': '/proc/self/fd/0',
      'dev/stdout': '/proc/self/fd/1',
      'dev/stderr': '/proc/self/fd/2',
    });
  });

  it('bind-mounts hostname, hosts and resolv.conf from the container directory as files', () => {
    for (const file of ['hostname', 'hosts', 'resolv.conf']) {
      const o = one(ops, `etc/${file}`);
      expect(o.kind).toBe('mount');
      expect(o.source).toBe(`${CDIR}/${file}`);
      expect(o.flags).toBe(MS.BIND);
      expect(o.create).toBe(2);
      expect(o.sourceInRoot).toBe(false);
    }
  });

  it('bind-mounts volumes recursively, read-only for :ro, targets relative to the rootfs', () => {
    const rw = one(ops, 'data');
    expect(rw).toMatchObject({ kind: 'mount', source: '/srv/data', create: 1, optional: false, sourceInRoot: false });
    expect(rw.flags).toBe(MS.BIND | MS.REC);
    const ro = one(ops, 'etc/app/conf');
    expect(ro).toMatchObject({ kind: 'mount', source: '/srv/conf', create: 1, optional: false });
    expect(ro.flags).toBe(MS.BIND | MS.REC | MS.RDONLY);
    // volumes come after the kernel filesystems and in the order given
    expect(ops.indexOf(rw)).toBeGreaterThan(5);
    expect(ops.indexOf(rw)).toBeLessThan(ops.indexOf(ro));
    expect(ops.every((o) => !o.target.startsWith('/'))).toBe(true);
  });

  it('adds no volume ops without volumes', () => {
    const none = containerMounts(config({ volumes: [] }), CDIR);
    expect(byTarget(none, 'data')).toHaveLength(0);
    expect(none.length).toBe(ops.length - 2);
  });

  it('masks host kernel paths after the volumes, every mask optional', () => {
    const lastVolume = ops.findIndex((o) => o.target === 'etc/app/conf');
    for (const p of MASKED) {
      const found = byTarget(ops, p.slice(1));
      if (!fs.existsSync(p)) {
        expect(found, `${p} is absent on this kernel: no op`).toHaveLength(0);
        continue;
      }
      expect(found).toHaveLength(1);
      const o = found[0];
      expect(o.optional).toBe(true);
      expect(ops.indexOf(o)).toBeGreaterThan(lastVolume);
      if (fs.statSync(p).isDirectory()) {
        expect(o).toMatchObject({ kind: 'mount', source: 'tmpfs', fstype: 'tmpfs' });
        expect(o.flags & MS.RDONLY).toBe(MS.RDONLY);
      } else {
        expect(o).toMatchObject({ kind: 'mount', source: '/dev/null', flags: MS.BIND });
      }
    }
  });

  it('masks /proc/kcore with /dev/null (present on every Linux host with procfs)', () => {
    if (!fs.existsSync('/proc/kcore')) return;
    expect(one(ops, 'proc/kcore')).toMatchObject({ source: '/dev/null', flags: MS.BIND, optional: true, create: 0 });
  });

  it('remounts the read-only /proc paths onto themselves, optional', () => {
    for (const p of READONLY) {
      const o = one(ops, p.slice(1));
      expect(o.kind).toBe('mount');
      expect(o.source).toBe(p.slice(1));
      expect(o.sourceInRoot).toBe(true);
      expect(o.optional).toBe(true);
      expect(o.flags & (MS.BIND | MS.REC | MS.RDONLY)).toBe(MS.BIND | MS.REC | MS.RDONLY);
      expect(o.flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC)).toBe(MS.NOSUID | MS.NODEV | MS.NOEXEC);
    }
  });

  it('only masks and read-only paths are optional', () => {
    const optional = ops.filter((o) => o.optional).map((o) => `/${o.target}`);
    expect(optional.every((p) => MASKED.includes(p) || READONLY.includes(p))).toBe(true);
  });

  it('ends with a mkdir of the working directory', () => {
    const last = ops[ops.length - 1];
    expect(last.kind).toBe('mkdir');
    expect(last.target).toBe('work/dir');
    expect(ops.filter((o) => o.kind === 'mkdir')).toHaveLength(1);
    expect(containerMounts(config({ workdir: '/app' }), CDIR).at(-1)).toMatchObject({ kind: 'mkdir', target: 'app' });
  });

  it('fills every field of every op with a value of the right type', () => {
    for (const o of ops) {
      expect(typeof o.source).toBe('string');
      expect(typeof o.fstype).toBe('string');
      expect(typeof o.data).toBe('string');
      expect(Number.isInteger(o.flags)).toBe(true);
      expect(Number.isInteger(o.mode)).toBe(true);
      expect(Number.isInteger(o.rdev)).toBe(true);
      expect([0, 1, 2]).toContain(o.create);
      expect(typeof o.optional).toBe('boolean');
      expect(typeof o.sourceInRoot).toBe('boolean');
    }
  });
});

describe('layoutOf / spawnPlan', () => {
  it('lays the container out under its directory, layers top first', () => {
    expect(layoutOf(config(), CDIR)).toEqual({
      lowers: ['/var/lib/berth/layers/top', '/var/lib/berth/layers/base'],
      upper: `${CDIR}/upper`,
      work: `${CDIR}/work`,
      merged: `${CDIR}/merged`,
    });
  });

  it('assembles the native plan from config, cgroup plan and stdio', () => {
    const fss = fs.readFileSync('/proc/filesystems', 'utf8');
    if (!/\toverlay\n/.test(fss)) return; // rootfsMount consults the running kernel
    const cgroup = {
      dirs: ['/cg/berth', '/cg/berth/x'],
      writes: [['/cg/berth/x/pids.max', '5']] as Array<[string, string]>,
      procs: ['/cg/berth/x/cgroup.procs'],
    };
    const p = spawnPlan(config(), CDIR, cgroup, { fds: [3, 4, 5], tty: false, ttySize: [24, 80] });
    expect(p.rootfs).toBe(`${CDIR}/merged`);
    expect(p.rootfsMount.data).toBe(
      `lowerdir=/var/lib/berth/layers/top:/var/lib/berth/layers/base,upperdir=${CDIR}/upper,workdir=${CDIR}/work`,
    );
    expect(p.namespaces).toEqual(expect.arrayContaining(['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup']));
    expect(p.cgroupDirs).toBe(cgroup.dirs);
    expect(p.cgroupWrites).toBe(cgroup.writes);
    expect(p.cgroupProcs).toBe(cgroup.procs);
    expect(p.execCandidates).toEqual(['/bin/sh', '/usr/bin/sh']);
    expect(p.argv).toEqual(['sh', '-c', 'true']);
    expect(p.cwd).toBe('/work/dir');
    expect([p.uid, p.gid, p.groups]).toEqual([1000, 1000, [1000, 10]]);
    expect(p.capsKeep).toEqual([0xa80425fb, 0]);
    expect(p.capsDrop).toContain(CAPS.CAP_SYS_ADMIN);
    expect(p.stdio).toEqual([3, 4, 5]);
    expect(p.hostname).toBe('h1');
    expect(p.mounts.at(-1)).toMatchObject({ kind: 'mkdir', target: 'work/dir' });
  });
});

describe('commandLine (docker entrypoint rules)', async () => {
  const { commandLine } = await import('../../src/runtime/container-config');
  it('joins the image entrypoint and cmd by default', () => {
    expect(commandLine(['/entry'], ['a', 'b'], undefined, undefined)).toEqual(['/entry', 'a', 'b']);
  });
  it('replaces cmd with the given command, keeping the entrypoint', () => {
    expect(commandLine(['/entry'], ['a'], undefined, ['x'])).toEqual(['/entry', 'x']);
  });
  it('drops the image cmd when --entrypoint is given', () => {
    expect(commandLine(['/entry'], ['a'], 'sh', undefined)).toEqual(['sh']);
    expect(commandLine(['/entry'], ['a'], 'sh', ['-c', 'x'])).toEqual(['sh', '-c', 'x']);
  });
  it('treats an empty --entrypoint as none', () => {
    expect(commandLine(['/entry'], ['a'], '', ['ls'])).toEqual(['ls']);
  });
});
