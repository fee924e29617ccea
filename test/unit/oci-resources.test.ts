// linux.resources beyond docker's limits, on plain data: specLimits' checks and conversions, the
// files cgroup v1 plans for them (temp hierarchies, a hybrid cgroup2 tree holding hugetlb), and
// `berth-oci update`'s flags reaching the same fields. v2: oci-resources-v2.test.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { specLimits } from '../../src/oci/resources';
import { hybridHugetlbTree, pageSizeBytes, pageSizeName } from '../../src/runtime/cgroups/hugetlb';
import type { MountInfoEntry } from '../../src/runtime/cgroups/mountinfo';
import type { CgroupLimits, CgroupPlan } from '../../src/runtime/cgroups/types';
import { CgroupV1 } from '../../src/runtime/cgroups/v1';
import { caught } from '../helpers/caught';
import { FakeRuntime, cli, expectOneLineError } from '../helpers/oci-fake-runtime';

const ID = 'res1';
const MB = 1024 ** 2;
const writesTo = (plan: CgroupPlan, file: string) => plan.writes.filter(([f]) => f === file).map(([, v]) => v);
const oneLine = (fn: () => unknown) => {
  const e = caught(fn);
  expect(e.message).not.toContain('\n');
  return e.message;
};

describe('specLimits: the rest of linux.resources', () => {
  it('checks and keeps blockIO weights and throttles, with device numbers', () => {
    const { limits } = specLimits({
      blockIO: {
        weight: 500,
        weightDevice: [{ major: 8, minor: 0, weight: 300 }],
        throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 0 }],
      },
    });
    expect(limits.blockIO).toEqual({
      weight: 500,
      weightDevices: [{ major: 8, minor: 0, weight: 300 }],
      readBps: [{ major: 254, minor: 0, rate: 1048576 }],
      writeIops: [{ major: 254, minor: 0, rate: 0 }],
    });
    // 0 is "not set", as runc reads it; nothing left means no blkio at all
    expect(specLimits({ blockIO: { weight: 0 } }).limits.blockIO).toBeUndefined();
    expect(oneLine(() => specLimits({ blockIO: { weight: 5 } }))).toBe(
      'config.json linux.resources.blockIO.weight: expected an integer from 10 to 1000 but received 5',
    );
    expect(oneLine(() => specLimits({ blockIO: { throttleReadBpsDevice: [{ major: -1, minor: 0, rate: 1 }] } }))).toMatch(
      /blockIO\.throttleReadBpsDevice\[0\]\.major: expected an integer/,
    );
    expect(oneLine(() => specLimits({ blockIO: { throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 1.5 }] } }))).toMatch(
      /throttleWriteBpsDevice\[0\]\.rate/,
    );
  });

  it('names huge page sizes as the kernel does, and keeps a limit of 0 (no huge pages)', () => {
    const { limits } = specLimits({
      hugepageLimits: [
        { pageSize: '2MB', limit: 4 * MB },
        { pageSize: '1048576KB', limit: 0 },
      ],
    });
    expect(limits.hugepages).toEqual([
      { pageSize: '2MB', limit: 4 * MB },
      { pageSize: '1GB', limit: 0 },
    ]);
    expect(oneLine(() => specLimits({ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }))).toMatch(
      /hugepageLimits\[0\]\.pageSize: expected a size like 2MB or 1GB but received "2M"/,
    );
    expect(pageSizeBytes('64KB')).toBe(65536);
    expect(pageSizeName(2048 * 1024)).toBe('2MB');
    expect(pageSizeName(64 * 1024)).toBe('64KB');
  });

  it('takes cpu rt, idle, burst and mems, memory reservation, swappiness, OOM and TCP; ignores kernel', () => {
    const { limits } = specLimits({
      cpu: { realtimeRuntime: 5000, realtimePeriod: 1000000, idle: 1, burst: 20000, mems: '0' },
      memory: { reservation: 32 * MB, swappiness: 0, disableOOMKiller: true, kernelTCP: 8 * MB, kernel: 64 * MB, useHierarchy: true },
    });
    expect(limits).toEqual({
      cpuRtRuntime: 5000,
      cpuRtPeriod: 1000000,
      cpuIdle: 1,
      cpuBurst: 20000,
      cpusetMems: '0',
      memoryReservation: 32 * MB,
      memorySwappiness: 0,
      disableOOMKiller: true,
      kernelTcp: 8 * MB,
    });
    expect(oneLine(() => specLimits({ memory: { swappiness: 101 } }))).toMatch(/memory\.swappiness: expected an integer from 0 to 100/);
    expect(oneLine(() => specLimits({ cpu: { idle: 2 } }))).toMatch(/cpu\.idle: expected an integer from 0 to 1/);
    expect(oneLine(() => specLimits({ memory: { useHierarchy: false } }))).toMatch(/useHierarchy: false is not possible/);
    expect(oneLine(() => specLimits({ cpu: { mems: '0-x' } }))).toMatch(/cpu\.mems: expected a list of memory nodes/);
  });

  it('keeps unified files by name and refuses names that lead elsewhere or reshape the tree', () => {
    expect(specLimits({ unified: { 'memory.high': '64M', 'io.max': '8:0 rbps=1' } }).limits.unified).toEqual({
      'memory.high': '64M',
      'io.max': '8:0 rbps=1',
    });
    expect(oneLine(() => specLimits({ unified: { '../memory.max': '1' } }))).toBe(
      'config.json linux.resources.unified["../memory.max"]: a cgroup file name must not contain "/" or ".."',
    );
    expect(oneLine(() => specLimits({ unified: { 'a/b': '1' } }))).toMatch(/must not contain "\/"/);
    expect(oneLine(() => specLimits({ unified: { 'cgroup.procs': '1' } }))).toMatch(/cgroup\.procs is berth's to write/);
    expect(oneLine(() => specLimits({ unified: { memory: '1' } }))).toMatch(/expected a cgroup v2 file name/);
  });

  it('checks network classID and priorities, and rdma limits', () => {
    const { limits } = specLimits({
      network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }] },
      rdma: { mlx5_1: { hcaHandles: 3 } },
    });
    expect(limits).toEqual({ netClassId: 0x100001, netPriorities: [{ name: 'eth0', priority: 5 }], rdma: { mlx5_1: { hcaHandles: 3 } } });
    expect(oneLine(() => specLimits({ network: { priorities: [{ name: 'a b', priority: 1 }] } }))).toMatch(/priorities\[0\]\.name/);
  });
});

describe('cgroup v1 files for them', () => {
  let tmp: string;
  let mounts: MountInfoEntry[];
  let pages: string;
  const mp = (name: string) => path.join(tmp, name);
  const own = (h: string) => path.join(mp(h), 'berth', ID);
  const v1 = (m = mounts) => new CgroupV1(m, 'berth', { hugepagesDir: pages, sysDevBlock: path.join(tmp, 'dev-block') });
  const scheduler = (dev: string, text: string) => {
    fs.mkdirSync(path.join(tmp, 'dev-block', dev, 'queue'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'dev-block', dev, 'queue', 'scheduler'), `${text}\n`);
  };
  function hierarchy(name: string, controllers: string[]): MountInfoEntry {
    fs.mkdirSync(mp(name), { recursive: true });
    return { root: '/', mountPoint: mp(name), fstype: 'cgroup', source: 'cgroup', superOptions: ['rw', ...controllers] };
  }
  const unified = (): MountInfoEntry => ({
    root: '/',
    mountPoint: mp('unified'),
    fstype: 'cgroup2',
    source: 'cgroup2',
    superOptions: ['rw'],
  });

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-res1-'));
    pages = path.join(tmp, 'hugepages');
    for (const kb of [2048, 1048576]) fs.mkdirSync(path.join(pages, `hugepages-${kb}kB`), { recursive: true });
    mounts = ['memory', 'pids', 'devices', 'blkio'].map((c) => hierarchy(c, [c]));
    mounts.push(hierarchy('cpu,cpuacct', ['cpu', 'cpuacct']), hierarchy('cpuset', ['cpuset']));
    fs.writeFileSync(path.join(mp('cpuset'), 'cpuset.cpus'), '0-1\n');
    fs.writeFileSync(path.join(mp('cpuset'), 'cpuset.mems'), '0\n');
    // BFQ: its statistics at the root, its weight only below it (as this kernel shows it)
    fs.writeFileSync(path.join(mp('blkio'), 'blkio.bfq.io_service_bytes'), '');
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const limits = (r: Parameters<typeof specLimits>[0]): CgroupLimits => specLimits(r).limits;

  it("joins blkio only for block I/O limits and writes BFQ's weight files and the throttles", () => {
    expect(v1().plan(ID, {}).dirs).not.toContain(own('blkio'));
    scheduler('254:0', 'none mq-deadline [bfq]');
    const plan = v1().plan(
      ID,
      limits({
        blockIO: {
          weight: 300,
          weightDevice: [{ major: 254, minor: 0, weight: 200 }],
          throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1000 }],
          throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 50 }],
        },
      }),
    );
    expect(plan.dirs).toContain(own('blkio'));
    expect(plan.procs).toContain(path.join(own('blkio'), 'tasks'));
    const f = (name: string) => writesTo(plan, path.join(own('blkio'), name));
    expect(f('blkio.bfq.weight')).toEqual(['300']);
    expect(f('blkio.bfq.weight_device')).toEqual(['254:0 200']);
    expect(f('blkio.throttle.read_bps_device')).toEqual(['254:0 1000']);
    expect(f('blkio.throttle.write_iops_device')).toEqual(['254:0 50']);
  });

  it("writes CFQ's names where blkio.weight exists; without either, a weight is refused naming the files", () => {
    fs.writeFileSync(path.join(mp('blkio'), 'blkio.weight'), '500\n');
    const plan = v1().plan(ID, limits({ blockIO: { weight: 300, leafWeight: 400 } }));
    expect(writesTo(plan, path.join(own('blkio'), 'blkio.weight'))).toEqual(['300']);
    expect(writesTo(plan, path.join(own('blkio'), 'blkio.leaf_weight'))).toEqual(['400']);
    fs.rmSync(path.join(mp('blkio'), 'blkio.weight'));
    fs.rmSync(path.join(mp('blkio'), 'blkio.bfq.io_service_bytes'));
    expect(oneLine(() => v1().plan(ID, limits({ blockIO: { weight: 300 } })))).toMatch(
      /^config\.json linux\.resources\.blockIO\.weight: this kernel has neither blkio\.weight \(CFQ\) nor blkio\.bfq\.weight \(BFQ\) in /,
    );
    // throttles need no scheduler
    expect(() => v1().plan(ID, limits({ blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] } }))).not.toThrow();
    expect(oneLine(() => v1(mounts.filter((m) => m.mountPoint !== mp('blkio'))).plan(ID, limits({ blockIO: { weight: 300 } })))).toMatch(
      /blockIO: the blkio cgroup controller is not mounted/,
    );
  });

  it('refuses a per-device weight on a device BFQ does not schedule, or one that does not exist', () => {
    scheduler('254:0', '[none] mq-deadline bfq');
    const weigh = (major: number) => v1().plan(ID, limits({ blockIO: { weightDevice: [{ major, minor: 0, weight: 200 }] } }));
    expect(oneLine(() => weigh(254))).toMatch(
      /^config\.json linux\.resources\.blockIO\.weightDevice\[0\]: device 254:0 is not scheduled by BFQ \(queue\/scheduler: \[none\] mq-deadline bfq\), which per-device weights need: echo bfq > .*254:0\/queue\/scheduler, or leave it out$/,
    );
    expect(oneLine(() => weigh(9))).toMatch(/weightDevice\[0\]: there is no block device 9:0 on this host/);
  });

  it('refuses a leaf weight under BFQ (only CFQ had them)', () => {
    expect(oneLine(() => v1().plan(ID, limits({ blockIO: { leafWeight: 300 } })))).toMatch(
      /blockIO\.leafWeight: there is no blkio\.leaf_weight/,
    );
  });

  it('writes hugetlb limits in a v1 hugetlb hierarchy, and refuses a size the kernel lacks', () => {
    mounts.push(hierarchy('hugetlb', ['hugetlb']));
    const plan = v1().plan(ID, limits({ hugepageLimits: [{ pageSize: '2MB', limit: 4 * MB }] }));
    expect(writesTo(plan, path.join(own('hugetlb'), 'hugetlb.2MB.limit_in_bytes'))).toEqual([String(4 * MB)]);
    expect(writesTo(plan, path.join(own('hugetlb'), 'hugetlb.2MB.rsvd.limit_in_bytes'))).toEqual([String(4 * MB)]);
    expect(oneLine(() => v1().plan(ID, limits({ hugepageLimits: [{ pageSize: '16MB', limit: 0 }] })))).toBe(
      'config.json linux.resources.hugepageLimits[0].pageSize: this kernel has no 16MB huge pages (it offers 1GB, 2MB)',
    );
    const noHugetlb = mounts.filter((m) => m.mountPoint !== mp('hugetlb'));
    expect(oneLine(() => v1(noHugetlb).plan(ID, limits({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] })))).toMatch(
      /hugepageLimits: the hugetlb cgroup controller is not mounted/,
    );
  });

  describe('a hybrid host whose cgroup2 tree holds hugetlb', () => {
    beforeEach(() => {
      mounts.push(unified());
      fs.mkdirSync(mp('unified'));
      fs.writeFileSync(path.join(mp('unified'), 'cgroup.controllers'), 'hugetlb\n');
    });
    const tree = () => path.join(mp('unified'), 'berth', ID);

    it('creates and joins the container there, hugetlb enabled down to it, with v2 names', () => {
      const plan = v1().plan(ID, limits({ hugepageLimits: [{ pageSize: '2MB', limit: 2 * MB }] }));
      expect(plan.dirs.slice(-2)).toEqual([path.join(mp('unified'), 'berth'), tree()]);
      expect(plan.procs).toContain(path.join(tree(), 'cgroup.procs'));
      const i = plan.writes.findIndex(([f]) => f === path.join(mp('unified'), 'cgroup.subtree_control'));
      expect(plan.writes.slice(i, i + 4)).toEqual([
        [path.join(mp('unified'), 'cgroup.subtree_control'), '+hugetlb'],
        [path.join(mp('unified'), 'berth', 'cgroup.subtree_control'), '+hugetlb'],
        [path.join(tree(), 'hugetlb.2MB.max'), String(2 * MB)],
        [path.join(tree(), 'hugetlb.2MB.rsvd.max'), String(2 * MB)],
      ]);
      // without a hugetlb limit the tree is left alone
      const plain = v1().plan(ID, {});
      expect(plain.dirs.some((d) => d.startsWith(mp('unified')))).toBe(false);
      expect(plain.writes.some(([f]) => f.startsWith(mp('unified')))).toBe(false);
    });

    it('lists the tree for removal and joins it through cgroup.procs when it exists', () => {
      const cg = v1();
      expect(cg.dirs(ID)).toContain(tree());
      expect(cg.joinFiles(ID)).toEqual([]);
      fs.mkdirSync(tree(), { recursive: true });
      fs.mkdirSync(own('memory'), { recursive: true });
      expect(cg.joinFiles(ID).sort()).toEqual([path.join(own('memory'), 'tasks'), path.join(tree(), 'cgroup.procs')].sort());
      cg.remove(ID);
      expect(fs.existsSync(tree())).toBe(false);
      expect(fs.existsSync(path.join(mp('unified'), 'berth'))).toBe(true);
    });

    it('is found only when its root offers hugetlb, and a v1 hugetlb hierarchy wins', () => {
      expect(hybridHugetlbTree(mounts)).toBe(mp('unified'));
      expect(hybridHugetlbTree(mounts, () => ['cpu'])).toBeUndefined();
      expect(hybridHugetlbTree([{ ...unified(), root: '/sub' }])).toBeUndefined();
      mounts.push(hierarchy('hugetlb', ['hugetlb']));
      expect(v1().hugetlbTree()).toBeUndefined();
    });
  });

  it('writes rt period before runtime, and refuses a runtime under a parent with no rt budget', () => {
    fs.mkdirSync(path.join(mp('cpu,cpuacct'), 'berth'));
    const budget = path.join(mp('cpu,cpuacct'), 'berth', 'cpu.rt_runtime_us');
    fs.writeFileSync(budget, '0\n');
    expect(oneLine(() => v1().plan(ID, limits({ cpu: { realtimeRuntime: 5000 } })))).toMatch(
      /^config\.json linux\.resources\.cpu\.realtimeRuntime: the parent cgroup .* has no real-time budget \(its cpu\.rt_runtime_us is 0\)/,
    );
    fs.writeFileSync(budget, '20000\n');
    const plan = v1().plan(ID, limits({ cpu: { realtimeRuntime: 5000, realtimePeriod: 100000, idle: 0, burst: 1000 } }));
    const cpu = (name: string) => path.join(own('cpu,cpuacct'), name);
    const files = plan.writes.filter(([f]) => f.startsWith(own('cpu,cpuacct'))).map(([f, v]) => [path.basename(f), v]);
    expect(files).toEqual([
      ['cpu.rt_period_us', '100000'],
      ['cpu.rt_runtime_us', '5000'],
      ['cpu.idle', '0'],
      ['cpu.cfs_burst_us', '1000'],
    ]);
    expect(plan.procs).toContain(cpu('tasks'));
  });

  it('writes the memory extras and cpuset.mems; refuses unified, net_cls and rdma where absent', () => {
    const plan = v1().plan(
      ID,
      limits({ memory: { reservation: 16 * MB, swappiness: 10, disableOOMKiller: true, kernelTCP: MB }, cpu: { mems: '0' } }),
    );
    const mem = plan.writes.filter(([f]) => f.startsWith(own('memory'))).map(([f, v]) => [path.basename(f), v]);
    expect(mem).toEqual([
      ['memory.soft_limit_in_bytes', String(16 * MB)],
      ['memory.swappiness', '10'],
      ['memory.oom_control', '1'],
      ['memory.kmem.tcp.limit_in_bytes', String(MB)],
    ]);
    expect(writesTo(plan, path.join(own('cpuset'), 'cpuset.mems'))).toEqual(['0']);
    expect(oneLine(() => v1().plan(ID, limits({ unified: { 'memory.high': '1' } })))).toBe(
      'config.json linux.resources.unified: cgroup v2 files cannot be written on this cgroup v1 host; leave it out',
    );
    expect(oneLine(() => v1().plan(ID, limits({ network: { classID: 1 } })))).toMatch(
      /network\.classID: the net_cls cgroup controller is not mounted/,
    );
    expect(oneLine(() => v1().plan(ID, limits({ rdma: { mlx5_0: { hcaHandles: 1 } } })))).toMatch(/rdma: the rdma cgroup controller/);
  });

  it('writes net_cls.classid and one ifpriomap line a write when mounted', () => {
    mounts.push(hierarchy('net_cls,net_prio', ['net_cls', 'net_prio']));
    const plan = v1().plan(
      ID,
      limits({
        network: {
          classID: 0x100001,
          priorities: [
            { name: 'eth0', priority: 5 },
            { name: 'lo', priority: 1 },
          ],
        },
      }),
    );
    expect(writesTo(plan, path.join(own('net_cls,net_prio'), 'net_cls.classid'))).toEqual([String(0x100001)]);
    expect(writesTo(plan, path.join(own('net_cls,net_prio'), 'net_prio.ifpriomap'))).toEqual(['eth0 5', 'lo 1']);
  });
});

describe('berth-oci update reaches the new fields', () => {
  it("sends runc's per-limit flags as linux.resources fields", async () => {
    const rt = new FakeRuntime();
    const r = await cli(
      [
        'update',
        '--blkio-weight',
        '300',
        '--cpu-rt-period',
        '1000000',
        '--cpu-rt-runtime',
        '5000',
        '--cpu-idle',
        '1',
        '--cpu-burst',
        '100',
        '--kernel-memory-tcp',
        '1m',
        'c1',
      ],
      rt,
    );
    expect(r.stderr).toBe('');
    expect(rt.calls).toEqual([
      [
        'update',
        'c1',
        {
          memory: { kernelTCP: MB },
          cpu: { burst: 100, idle: 1, realtimePeriod: 1000000, realtimeRuntime: 5000 },
          blockIO: { weight: 300 },
        },
      ],
    ]);
    expectOneLineError(await cli(['update', '--cpu-rt-period', 'x', 'c1'], rt), 'invalid value for cpu-rt-period');
  });
});
