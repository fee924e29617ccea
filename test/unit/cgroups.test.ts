import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import { detectCgroups } from '../../src/runtime/cgroups';
import { parseMountInfo, readMountInfo, type MountInfoEntry } from '../../src/runtime/cgroups/mountinfo';
import { CgroupV1, DEFAULT_DEVICE_RULES } from '../../src/runtime/cgroups/v1';
import { CgroupV2, sharesToWeight, v2LimitWrites } from '../../src/runtime/cgroups/v2';
import { readKeyValues, removeCgroupDirs } from '../../src/runtime/cgroups/common';
import type { CgroupPlan } from '../../src/runtime/cgroups/types';

const M = 1024 ** 2;
const ID = 'c0ffee';

/** One mountinfo line in proc(5) format. */
function line(
  n: number,
  root: string,
  mountPoint: string,
  fstype: string,
  source: string,
  superOpts: string,
  optional = 'shared:1',
): string {
  return `${n} 1 0:${n} ${root} ${mountPoint} rw,nosuid,nodev,noexec,relatime ${optional} - ${fstype} ${source} ${superOpts}`;
}

const PURE_V2 =
  [
    line(20, '/', '/', 'ext4', '/dev/sda1', 'rw,errors=remount-ro'),
    line(21, '/', '/sys', 'sysfs', 'sysfs', 'rw'),
    line(22, '/', '/sys/fs/cgroup', 'cgroup2', 'cgroup2', 'rw,nsdelegate,memory_recursiveprot'),
    line(23, '/', '/proc', 'proc', 'proc', 'rw'),
  ].join('\n') + '\n';

const HYBRID =
  [
    line(20, '/', '/', 'ext4', '/dev/sda1', 'rw'),
    line(24, '/', '/sys/fs/cgroup', 'tmpfs', 'tmpfs', 'ro,mode=755'),
    line(25, '/', '/sys/fs/cgroup/unified', 'cgroup2', 'cgroup2', 'rw,nsdelegate'),
    line(26, '/', '/sys/fs/cgroup/systemd', 'cgroup', 'cgroup', 'rw,xattr,name=systemd'),
    line(27, '/', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'cgroup', 'rw,cpu,cpuacct'),
    line(28, '/', '/sys/fs/cgroup/cpuset', 'cgroup', 'cgroup', 'rw,cpuset'),
    line(29, '/', '/sys/fs/cgroup/memory', 'cgroup', 'cgroup', 'rw,memory'),
    line(30, '/', '/sys/fs/cgroup/pids', 'cgroup', 'cgroup', 'rw,pids'),
    line(31, '/', '/sys/fs/cgroup/devices', 'cgroup', 'cgroup', 'rw,devices'),
    line(32, '/', '/sys/fs/cgroup/net_cls,net_prio', 'cgroup', 'cgroup', 'rw,net_cls,net_prio'),
    line(33, '/', '/sys/fs/cgroup/freezer', 'cgroup', 'cgroup', 'rw,freezer'),
  ].join('\n') + '\n';

const NONE =
  [
    line(20, '/', '/', 'ext4', '/dev/sda1', 'rw'),
    line(21, '/', '/sys', 'sysfs', 'sysfs', 'rw'),
    // cgroup2 elsewhere than /sys/fs/cgroup does not count as the unified hierarchy
    line(22, '/', '/mnt/cg', 'cgroup2', 'cgroup2', 'rw'),
  ].join('\n') + '\n';

function values(plan: CgroupPlan, file: string): string[] {
  return plan.writes.filter(([f]) => f === file).map(([, v]) => v);
}
function indexOfWrite(plan: CgroupPlan, file: string): number {
  return plan.writes.findIndex(([f]) => f === file);
}

describe('parseMountInfo', () => {
  it('reads the fields proc(5) documents', () => {
    const [e] = parseMountInfo('36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n');
    expect(e).toEqual({ root: '/mnt1', mountPoint: '/mnt2', fstype: 'ext3', source: '/dev/root', superOptions: ['rw', 'errors=continue'] });
  });

  it('handles any number of optional fields, including none', () => {
    const text = [
      '36 35 98:0 / /a rw - ext4 /dev/a rw',
      '37 35 98:1 / /b rw shared:2 master:3 propagate_from:4 - xfs /dev/b rw,noquota',
    ].join('\n');
    const [a, b] = parseMountInfo(text);
    expect(a.mountPoint).toBe('/a');
    expect(a.fstype).toBe('ext4');
    expect(b.mountPoint).toBe('/b');
    expect(b.fstype).toBe('xfs');
    expect(b.superOptions).toEqual(['rw', 'noquota']);
  });

  it('decodes octal escapes in the root and the mount point', () => {
    const [e] = parseMountInfo('40 1 0:50 /sub\\040dir /mnt/my\\040disk\\011tab\\134back\\012nl rw - tmpfs tmpfs rw\n');
    expect(e.mountPoint).toBe('/mnt/my disk\ttab\\back\nnl');
    expect(e.root).toBe('/sub dir');
  });

  it('skips blank lines and lines without the " - " separator', () => {
    const entries = parseMountInfo('\n36 35 98:0 / /x rw - ext4 /dev/x rw\ngarbage line\n\n');
    expect(entries).toHaveLength(1);
    expect(entries[0].mountPoint).toBe('/x');
  });

  it('splits cgroup v1 super options into controllers', () => {
    const entries = parseMountInfo(HYBRID);
    const cpu = entries.find((m) => m.mountPoint === '/sys/fs/cgroup/cpu,cpuacct')!;
    expect(cpu.fstype).toBe('cgroup');
    expect(cpu.superOptions).toEqual(['rw', 'cpu', 'cpuacct']);
  });

  it('reads a mountinfo file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mi-'));
    try {
      fs.writeFileSync(path.join(dir, 'mountinfo'), PURE_V2);
      expect(readMountInfo(path.join(dir, 'mountinfo')).map((m) => m.mountPoint)).toEqual(['/', '/sys', '/sys/fs/cgroup', '/proc']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads this process's own mountinfo, which has a root mount", () => {
    expect(readMountInfo().some((m) => m.mountPoint === '/')).toBe(true);
  });
});

describe('detectCgroups', () => {
  it('picks v2 when /sys/fs/cgroup is a cgroup2 mount', () => {
    const mgr = detectCgroups(parseMountInfo(PURE_V2));
    expect(mgr.version).toBe(2);
    expect(mgr).toBeInstanceOf(CgroupV2);
    expect(mgr.dirs(ID)).toEqual([`/sys/fs/cgroup/berth/${ID}`]);
  });

  it('passes the cgroup parent through', () => {
    expect(detectCgroups(parseMountInfo(PURE_V2), 'custom').dirs(ID)).toEqual([`/sys/fs/cgroup/custom/${ID}`]);
    expect(detectCgroups(parseMountInfo(HYBRID), 'custom').dirs(ID)).toContain(`/sys/fs/cgroup/memory/custom/${ID}`);
  });

  it('picks v1 on a hybrid host (cgroup2 only at /sys/fs/cgroup/unified)', () => {
    const mgr = detectCgroups(parseMountInfo(HYBRID));
    expect(mgr.version).toBe(1);
    expect(mgr).toBeInstanceOf(CgroupV1);
    const v1 = mgr as CgroupV1;
    expect(Object.fromEntries(v1.controllers)).toEqual({
      cpu: '/sys/fs/cgroup/cpu,cpuacct',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
      cpuset: '/sys/fs/cgroup/cpuset',
      memory: '/sys/fs/cgroup/memory',
      pids: '/sys/fs/cgroup/pids',
      devices: '/sys/fs/cgroup/devices',
      freezer: '/sys/fs/cgroup/freezer',
      net_cls: '/sys/fs/cgroup/net_cls,net_prio',
      net_prio: '/sys/fs/cgroup/net_cls,net_prio',
    });
    // one directory per hierarchy a container may join (net_cls only for linux.resources.network);
    // cpu and cpuacct share one; the freezer is joined (pause), systemd is not
    const dirs = mgr.dirs(ID);
    // the unified tree only where its root offers hugetlb: this fixture names the real path
    const hugetlbThere = v1.hugetlbTree() === '/sys/fs/cgroup/unified';
    expect(dirs).toHaveLength(hugetlbThere ? 8 : 7);
    expect(dirs).toContain(`/sys/fs/cgroup/freezer/berth/${ID}`);
    expect(dirs).toContain(`/sys/fs/cgroup/cpu,cpuacct/berth/${ID}`);
    expect(dirs).toContain(`/sys/fs/cgroup/net_cls,net_prio/berth/${ID}`);
    expect(dirs.some((d) => d.includes('unified'))).toBe(hugetlbThere);
    expect(dirs.some((d) => d.includes('systemd'))).toBe(false);
  });

  it('refuses a host with no cgroup hierarchy at /sys/fs/cgroup', () => {
    let err: unknown;
    try {
      detectCgroups(parseMountInfo(NONE));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('UNSUPPORTED');
    expect((err as BerthError).message).toMatch(/No cgroup hierarchy is mounted at \/sys\/fs\/cgroup; mount cgroup2 there/);
    expect(() => detectCgroups([])).toThrow(BerthError);
  });

  it('detects this host without throwing', () => {
    const mgr = detectCgroups();
    expect([1, 2]).toContain(mgr.version);
  });
});

describe('CgroupV1 on temp hierarchies', () => {
  let tmp: string;
  let mounts: MountInfoEntry[];
  const mp = (name: string) => path.join(tmp, name);

  function hierarchy(name: string, controllers: string[]): MountInfoEntry {
    fs.mkdirSync(mp(name), { recursive: true });
    return { root: '/', mountPoint: mp(name), fstype: 'cgroup', source: 'cgroup', superOptions: ['rw', ...controllers] };
  }

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cg1-'));
    mounts = [
      // listed before cpuset on purpose: cpuset writes must still come first
      hierarchy('memory', ['memory']),
      hierarchy('cpu,cpuacct', ['cpu', 'cpuacct']),
      hierarchy('pids', ['pids']),
      hierarchy('devices', ['devices']),
      hierarchy('cpuset', ['cpuset']),
      hierarchy('systemd', ['xattr', 'name=systemd']),
      { root: '/', mountPoint: mp('unified'), fstype: 'cgroup2', source: 'cgroup2', superOptions: ['rw'] },
    ];
    fs.writeFileSync(path.join(mp('cpuset'), 'cpuset.cpus'), '0-3\n');
    fs.writeFileSync(path.join(mp('cpuset'), 'cpuset.mems'), '0\n');
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('maps each joined controller to its hierarchy, ignoring others and cgroup2', () => {
    const cg = new CgroupV1(mounts);
    expect([...cg.controllers.keys()].sort()).toEqual(['cpu', 'cpuacct', 'cpuset', 'devices', 'memory', 'pids']);
    expect(cg.controllers.get('cpuacct')).toBe(mp('cpu,cpuacct'));
  });

  it('plans the parent and the container directory in every always-joined hierarchy', () => {
    const plan = new CgroupV1(mounts).plan(ID, {});
    // memory, pids, devices and cpuacct (co-mounted with cpu) always; cpuset only for --cpuset-cpus
    for (const h of ['memory', 'cpu,cpuacct', 'pids', 'devices']) {
      const parent = path.join(mp(h), 'berth');
      const own = path.join(parent, ID);
      expect(plan.dirs).toContain(parent);
      expect(plan.dirs).toContain(own);
      expect(plan.dirs.indexOf(parent)).toBeLessThan(plan.dirs.indexOf(own));
    }
    expect(plan.dirs).toHaveLength(8);
    expect(plan.dirs.some((d) => d.startsWith(mp('cpuset')))).toBe(false);
    expect(plan.dirs.some((d) => d.startsWith(mp('systemd')) || d.startsWith(mp('unified')))).toBe(false);
    expect(new CgroupV1(mounts, 'other').plan(ID, {}).dirs).toContain(path.join(mp('memory'), 'other', ID));
  });

  it('joins the cpuset hierarchy only with --cpuset-cpus', () => {
    const plan = new CgroupV1(mounts).plan(ID, { cpusetCpus: '1' });
    expect(plan.dirs).toHaveLength(10);
    expect(plan.dirs).toContain(path.join(mp('cpuset'), 'berth', ID));
    expect(plan.procs).toContain(path.join(mp('cpuset'), 'berth', ID, 'tasks'));
    const without = new CgroupV1(mounts).plan(ID, { memory: 64 * M, cpus: 1, cpuShares: 512, pidsLimit: 3 });
    expect(without.writes.some(([f]) => f.startsWith(mp('cpuset')))).toBe(false);
    expect(without.procs.some((f) => f.startsWith(mp('cpuset')))).toBe(false);
  });

  describe('a cpu hierarchy of its own (not co-mounted with cpuacct)', () => {
    beforeEach(() => {
      mounts = mounts.filter((m) => m.mountPoint !== mp('cpu,cpuacct'));
      mounts.push(hierarchy('cpu', ['cpu']), hierarchy('cpuacct', ['cpuacct']));
    });

    it('is joined only when a cpu limit needs it', () => {
      const cpuDir = path.join(mp('cpu'), 'berth', ID);
      const plain = new CgroupV1(mounts).plan(ID, {});
      expect(plain.dirs).not.toContain(cpuDir);
      expect(plain.procs).not.toContain(path.join(cpuDir, 'tasks'));
      expect(plain.dirs).toContain(path.join(mp('cpuacct'), 'berth', ID));
      for (const limits of [{ cpus: 0.5 }, { cpuShares: 100 }]) {
        const plan = new CgroupV1(mounts).plan(ID, limits);
        expect(plan.dirs).toContain(cpuDir);
        expect(plan.procs).toContain(path.join(cpuDir, 'tasks'));
      }
      expect(values(new CgroupV1(mounts).plan(ID, { cpus: 0.5 }), path.join(cpuDir, 'cpu.cfs_quota_us'))).toEqual(['50000']);
    });

    it('is still among the directories remove() tries', () => {
      expect(new CgroupV1(mounts).dirs(ID)).toContain(path.join(mp('cpu'), 'berth', ID));
    });
  });

  it('joins through `tasks` files, one per joined hierarchy', () => {
    const cg = new CgroupV1(mounts);
    const plan = cg.plan(ID, {});
    expect(plan.procs).toEqual(plan.dirs.filter((_, i) => i % 2 === 1).map((d) => path.join(d, 'tasks')));
    expect(plan.procs).toHaveLength(4);
    expect(plan.procs).toContain(path.join(mp('memory'), 'berth', ID, 'tasks'));
    expect(plan.procs.every((p) => path.basename(p) === 'tasks')).toBe(true);
    // dirs() lists every hierarchy, joined or not, for removal
    expect(cg.dirs(ID)).toHaveLength(5);
    for (const p of plan.procs) expect(cg.dirs(ID)).toContain(path.dirname(p));
  });

  it('fills the cpuset parent and child from the hierarchy root before any other write', () => {
    const plan = new CgroupV1(mounts).plan(ID, { memory: 64 * M, cpus: 1, pidsLimit: 10, cpusetCpus: '0-3' });
    const parent = path.join(mp('cpuset'), 'berth');
    const own = path.join(parent, ID);
    expect(plan.writes.slice(0, 4)).toEqual([
      [path.join(parent, 'cpuset.cpus'), '0-3'],
      [path.join(parent, 'cpuset.mems'), '0'],
      [path.join(own, 'cpuset.cpus'), '0-3'],
      [path.join(own, 'cpuset.mems'), '0'],
    ]);
    expect(plan.writes.slice(4).some(([f]) => f.startsWith(mp('cpuset')))).toBe(false);
    expect(plan.writes.length).toBeGreaterThan(4);
  });

  it('writes --cpuset-cpus into the container, the full set into the parent', () => {
    const plan = new CgroupV1(mounts).plan(ID, { cpusetCpus: '1-2' });
    expect(values(plan, path.join(mp('cpuset'), 'berth', ID, 'cpuset.cpus'))).toEqual(['1-2']);
    expect(values(plan, path.join(mp('cpuset'), 'berth', 'cpuset.cpus'))).toEqual(['0-3']);
    expect(values(plan, path.join(mp('cpuset'), 'berth', ID, 'cpuset.mems'))).toEqual(['0']);
  });

  it('fails plainly when the cpuset hierarchy root has no cpuset.cpus', () => {
    fs.rmSync(path.join(mp('cpuset'), 'cpuset.cpus'));
    expect(() => new CgroupV1(mounts).plan(ID, { cpusetCpus: '0' })).toThrow(/ENOENT/);
    expect(() => new CgroupV1(mounts).plan(ID, {})).not.toThrow(); // not read when cpuset is not joined
  });

  describe('memory', () => {
    const memFile = () => path.join(mp('memory'), 'berth', ID, 'memory.limit_in_bytes');
    const memswFile = () => path.join(mp('memory'), 'berth', ID, 'memory.memsw.limit_in_bytes');
    const withSwapAccounting = () => fs.writeFileSync(path.join(mp('memory'), 'memory.memsw.limit_in_bytes'), '9223372036854771712\n');

    it('writes no memory files without a memory limit', () => {
      withSwapAccounting();
      const plan = new CgroupV1(mounts).plan(ID, {});
      expect(plan.writes.some(([f]) => f.startsWith(mp('memory')))).toBe(false);
    });

    it('writes memory.limit_in_bytes, and memsw at twice the memory by default', () => {
      withSwapAccounting();
      const plan = new CgroupV1(mounts).plan(ID, { memory: 64 * M });
      expect(values(plan, memFile())).toEqual([String(64 * M)]);
      expect(values(plan, memswFile())).toEqual([String(128 * M)]);
      // memsw must not be below limit_in_bytes at any moment: the limit goes first
      expect(indexOfWrite(plan, memFile())).toBeLessThan(indexOfWrite(plan, memswFile()));
    });

    it('writes an explicit --memory-swap, and -1 as is (unlimited)', () => {
      withSwapAccounting();
      expect(values(new CgroupV1(mounts).plan(ID, { memory: 64 * M, memorySwap: 96 * M }), memswFile())).toEqual([String(96 * M)]);
      expect(values(new CgroupV1(mounts).plan(ID, { memory: 64 * M, memorySwap: -1 }), memswFile())).toEqual(['-1']);
    });

    it('skips memsw when the kernel has no swap accounting (no memsw file at the root)', () => {
      const plan = new CgroupV1(mounts).plan(ID, { memory: 64 * M, memorySwap: 96 * M });
      expect(values(plan, memFile())).toEqual([String(64 * M)]);
      expect(indexOfWrite(plan, memswFile())).toBe(-1);
    });
  });

  describe('cpu', () => {
    const f = (name: string) => path.join(mp('cpu,cpuacct'), 'berth', ID, name);

    it('writes the CFS period then a quota of cpus * 100000', () => {
      const plan = new CgroupV1(mounts).plan(ID, { cpus: 0.5 });
      expect(values(plan, f('cpu.cfs_period_us'))).toEqual(['100000']);
      expect(values(plan, f('cpu.cfs_quota_us'))).toEqual(['50000']);
      expect(indexOfWrite(plan, f('cpu.cfs_period_us'))).toBeLessThan(indexOfWrite(plan, f('cpu.cfs_quota_us')));
      expect(values(new CgroupV1(mounts).plan(ID, { cpus: 1.5 }), f('cpu.cfs_quota_us'))).toEqual(['150000']);
      expect(values(new CgroupV1(mounts).plan(ID, { cpus: 2 }), f('cpu.cfs_quota_us'))).toEqual(['200000']);
    });

    it('writes cpu.shares as given', () => {
      const plan = new CgroupV1(mounts).plan(ID, { cpuShares: 512 });
      expect(values(plan, f('cpu.shares'))).toEqual(['512']);
      expect(indexOfWrite(plan, f('cpu.cfs_quota_us'))).toBe(-1);
    });

    it('writes no cpu files without cpu limits', () => {
      const plan = new CgroupV1(mounts).plan(ID, {});
      expect(plan.writes.some(([file]) => file.startsWith(mp('cpu,cpuacct')))).toBe(false);
    });
  });

  it('writes pids.max, with -1 as "max"', () => {
    const f = path.join(mp('pids'), 'berth', ID, 'pids.max');
    expect(values(new CgroupV1(mounts).plan(ID, { pidsLimit: 100 }), f)).toEqual(['100']);
    expect(values(new CgroupV1(mounts).plan(ID, { pidsLimit: -1 }), f)).toEqual(['max']);
    expect(indexOfWrite(new CgroupV1(mounts).plan(ID, {}), f)).toBe(-1);
  });

  it("denies every device, then allows docker's default list", () => {
    const plan = new CgroupV1(mounts).plan(ID, {});
    const dir = path.join(mp('devices'), 'berth', ID);
    const deviceWrites = plan.writes.filter(([file]) => file.startsWith(dir));
    expect(deviceWrites[0]).toEqual([path.join(dir, 'devices.deny'), 'a']);
    const allowed = deviceWrites.slice(1);
    expect(allowed.every(([file]) => file === path.join(dir, 'devices.allow'))).toBe(true);
    expect(allowed.map(([, v]) => v)).toEqual(DEFAULT_DEVICE_RULES);
    for (const rule of ['c 1:3 rwm', 'c 1:5 rwm', 'c 1:9 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'c *:* m', 'b *:* m']) {
      expect(allowed.map(([, v]) => v)).toContain(rule);
    }
    // no block device gets read/write access
    expect(DEFAULT_DEVICE_RULES.filter((r) => r.startsWith('b') && /[rw]/.test(r.split(' ')[2]))).toEqual([]);
  });

  it('plans only what is mounted', () => {
    const onlyMemory = [mounts[0]];
    const plan = new CgroupV1(onlyMemory).plan(ID, { memory: 64 * M, cpus: 1, pidsLimit: 5, cpusetCpus: '0' });
    expect(plan.dirs).toEqual([path.join(mp('memory'), 'berth'), path.join(mp('memory'), 'berth', ID)]);
    expect(plan.writes).toEqual([[path.join(mp('memory'), 'berth', ID, 'memory.limit_in_bytes'), String(64 * M)]]);
    expect(plan.procs).toEqual([path.join(mp('memory'), 'berth', ID, 'tasks')]);
  });

  describe('oomKilled', () => {
    const oomFile = () => path.join(mp('memory'), 'berth', ID, 'memory.oom_control');

    it('reads oom_kill from memory.oom_control', () => {
      const cg = new CgroupV1(mounts);
      fs.mkdirSync(path.dirname(oomFile()), { recursive: true });
      fs.writeFileSync(oomFile(), 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
      expect(cg.oomKilled(ID)).toBe(false);
      fs.writeFileSync(oomFile(), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
      expect(cg.oomKilled(ID)).toBe(true);
    });

    it('is false when under_oom is set but nothing was killed', () => {
      fs.mkdirSync(path.dirname(oomFile()), { recursive: true });
      fs.writeFileSync(oomFile(), 'oom_kill_disable 1\nunder_oom 1\noom_kill 0\n');
      expect(new CgroupV1(mounts).oomKilled(ID)).toBe(false);
    });

    it('is false when the cgroup or the memory hierarchy is missing', () => {
      expect(new CgroupV1(mounts).oomKilled(ID)).toBe(false);
      expect(new CgroupV1([mounts[1]]).oomKilled(ID)).toBe(false);
    });
  });

  it('remove deletes the container directory in every hierarchy, keeps the parents, tolerates missing ones', () => {
    const cg = new CgroupV1(mounts);
    const dirs = cg.dirs(ID);
    for (const d of dirs.slice(1)) fs.mkdirSync(d, { recursive: true });
    fs.mkdirSync(path.join(path.dirname(dirs[0])), { recursive: true });
    cg.remove(ID);
    for (const d of dirs) {
      expect(fs.existsSync(d)).toBe(false);
      expect(path.basename(path.dirname(d))).toBe('berth');
    }
    for (const d of dirs.slice(1)) expect(fs.existsSync(path.dirname(d))).toBe(true);
    expect(() => cg.remove(ID)).not.toThrow();
  });

  it('remove does not touch other containers', () => {
    const cg = new CgroupV1(mounts);
    for (const d of [...cg.dirs(ID), ...cg.dirs('other')]) fs.mkdirSync(d, { recursive: true });
    cg.remove(ID);
    for (const d of cg.dirs('other')) expect(fs.existsSync(d)).toBe(true);
  });
});

describe('CgroupV2 on a temp mount point', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cg2-'));
    fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const dir = () => path.join(root, 'berth', ID);
  const f = (name: string) => path.join(dir(), name);

  it('plans the parent then the container directory, joined through cgroup.procs', () => {
    const cg = new CgroupV2(root);
    const plan = cg.plan(ID, {});
    expect(plan.dirs).toEqual([path.join(root, 'berth'), dir()]);
    expect(plan.procs).toEqual([f('cgroup.procs')]);
    expect(cg.dirs(ID)).toEqual([dir()]);
    expect(new CgroupV2(root, 'mine').plan(ID, {}).dirs).toEqual([path.join(root, 'mine'), path.join(root, 'mine', ID)]);
  });

  it('enables the wanted available controllers at the root and the parent before any limit', () => {
    const plan = new CgroupV2(root).plan(ID, { memory: 64 * M, cpus: 0.5, pidsLimit: 10 });
    expect(plan.writes[0]).toEqual([path.join(root, 'cgroup.subtree_control'), '+cpuset +cpu +memory +pids']);
    expect(plan.writes[1]).toEqual([path.join(root, 'berth', 'cgroup.subtree_control'), '+cpuset +cpu +memory +pids']);
    expect(plan.writes.slice(2).every(([file]) => file.startsWith(dir() + path.sep))).toBe(true);
    expect(plan.writes.slice(2).map(([file]) => path.basename(file))).toEqual(['memory.max', 'memory.swap.max', 'cpu.max', 'pids.max']);
  });

  it('enables only controllers the kernel offers (io is never asked for)', () => {
    fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'io memory pids\n');
    const plan = new CgroupV2(root).plan(ID, {});
    expect(values(plan, path.join(root, 'cgroup.subtree_control'))).toEqual(['+memory +pids']);
  });

  it('writes no subtree_control without a cgroup.controllers file or with no wanted controller', () => {
    fs.rmSync(path.join(root, 'cgroup.controllers'));
    expect(new CgroupV2(root).plan(ID, { pidsLimit: 5 }).writes).toEqual([[f('pids.max'), '5']]);
    fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'io rdma\n');
    expect(new CgroupV2(root).plan(ID, {}).writes).toEqual([]);
  });

  it('writes memory.max and memory.swap.max as swap minus memory', () => {
    const plan = new CgroupV2(root).plan(ID, { memory: 64 * M, memorySwap: 96 * M });
    expect(values(plan, f('memory.max'))).toEqual([String(64 * M)]);
    expect(values(plan, f('memory.swap.max'))).toEqual([String(32 * M)]);
  });

  it('defaults swap to as much as memory (memory-swap = 2x memory), like docker', () => {
    const plan = new CgroupV2(root).plan(ID, { memory: 64 * M });
    expect(values(plan, f('memory.swap.max'))).toEqual([String(64 * M)]);
  });

  it('writes swap.max 0 when memory-swap equals memory, "max" for -1', () => {
    expect(values(new CgroupV2(root).plan(ID, { memory: 64 * M, memorySwap: 64 * M }), f('memory.swap.max'))).toEqual(['0']);
    expect(values(new CgroupV2(root).plan(ID, { memory: 64 * M, memorySwap: -1 }), f('memory.swap.max'))).toEqual(['max']);
  });

  it('writes cpu.max as "quota period"', () => {
    expect(values(new CgroupV2(root).plan(ID, { cpus: 0.5 }), f('cpu.max'))).toEqual(['50000 100000']);
    expect(values(new CgroupV2(root).plan(ID, { cpus: 2 }), f('cpu.max'))).toEqual(['200000 100000']);
    expect(values(new CgroupV2(root).plan(ID, { cpus: 0.333 }), f('cpu.max'))).toEqual(['33300 100000']);
  });

  it('converts cpu shares to cpu.weight', () => {
    expect(values(new CgroupV2(root).plan(ID, { cpuShares: 1024 }), f('cpu.weight'))).toEqual(['39']);
    expect(values(new CgroupV2(root).plan(ID, { cpuShares: 2 }), f('cpu.weight'))).toEqual(['1']);
  });

  it('writes cpuset.cpus and pids.max ("max" for -1)', () => {
    const plan = new CgroupV2(root).plan(ID, { cpusetCpus: '0-1', pidsLimit: 64 });
    expect(values(plan, f('cpuset.cpus'))).toEqual(['0-1']);
    expect(values(plan, f('pids.max'))).toEqual(['64']);
    expect(values(new CgroupV2(root).plan(ID, { pidsLimit: -1 }), f('pids.max'))).toEqual(['max']);
  });

  it('writes no limit files without limits', () => {
    const plan = new CgroupV2(root).plan(ID, {});
    expect(plan.writes.map(([file]) => path.basename(file))).toEqual(['cgroup.subtree_control', 'cgroup.subtree_control']);
  });

  it('oomKilled reads oom_kill from memory.events', () => {
    const cg = new CgroupV2(root);
    expect(cg.oomKilled(ID)).toBe(false); // no cgroup: false
    fs.mkdirSync(dir(), { recursive: true });
    fs.writeFileSync(f('memory.events'), 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\noom_group_kill 0\n');
    expect(cg.oomKilled(ID)).toBe(false);
    fs.writeFileSync(f('memory.events'), 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n');
    expect(cg.oomKilled(ID)).toBe(true);
  });

  it('remove deletes the container directory only, and tolerates a missing one', () => {
    const cg = new CgroupV2(root);
    fs.mkdirSync(dir(), { recursive: true });
    fs.mkdirSync(path.join(root, 'berth', 'other'));
    cg.remove(ID);
    expect(fs.existsSync(dir())).toBe(false);
    expect(fs.existsSync(path.join(root, 'berth', 'other'))).toBe(true);
    expect(() => cg.remove(ID)).not.toThrow();
  });
});

describe('v2LimitWrites / sharesToWeight', () => {
  it.each([
    [2, 1],
    [1024, 39],
    [262144, 10000],
    [512, 20],
    [100, 4],
  ])('shares %d -> weight %d', (shares, weight) => {
    expect(sharesToWeight(shares)).toBe(weight);
  });

  it('keeps weights within 1..10000 and monotonic over the shares range', () => {
    let prev = 0;
    for (let s = 2; s <= 262144; s += 997) {
      const w = sharesToWeight(s);
      expect(w).toBeGreaterThanOrEqual(Math.max(prev, 1));
      expect(w).toBeLessThanOrEqual(10000);
      prev = w;
    }
  });

  it('writes files under the given directory, in a stable order', () => {
    const w = v2LimitWrites('/cg/x', { memory: 10 * M, memorySwap: 30 * M, cpus: 1, cpuShares: 262144, cpusetCpus: '3', pidsLimit: 7 });
    expect(w).toEqual([
      ['/cg/x/memory.max', String(10 * M)],
      ['/cg/x/memory.swap.max', String(20 * M)],
      ['/cg/x/cpu.max', '100000 100000'],
      ['/cg/x/cpu.weight', '10000'],
      ['/cg/x/cpuset.cpus', '3'],
      ['/cg/x/pids.max', '7'],
    ]);
    expect(v2LimitWrites('/cg/x', {})).toEqual([]);
  });
});

describe('cgroup helpers', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cgh-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('readKeyValues parses "key value" lines and returns an empty map for a missing file', () => {
    const f = path.join(tmp, 'kv');
    fs.writeFileSync(f, 'a 1\n  b   22  \nlonely\n\nc 3\n');
    const m = readKeyValues(f);
    expect(m.get('a')).toBe(1);
    expect(m.get('b')).toBe(22);
    expect(m.get('c')).toBe(3);
    expect(m.has('lonely')).toBe(false);
    expect(readKeyValues(path.join(tmp, 'missing')).size).toBe(0);
  });

  it('removeCgroupDirs removes in the order given and rethrows errors other than ENOENT/EBUSY', () => {
    const leaf = path.join(tmp, 'p', 'leaf');
    fs.mkdirSync(leaf, { recursive: true });
    removeCgroupDirs([leaf, path.join(tmp, 'p'), path.join(tmp, 'never')]);
    expect(fs.existsSync(path.join(tmp, 'p'))).toBe(false);
    const full = path.join(tmp, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'x'), '');
    expect(() => removeCgroupDirs([full])).toThrow(/ENOTEMPTY/);
  });
});
