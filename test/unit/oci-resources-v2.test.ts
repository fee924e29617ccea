// linux.resources beyond docker's limits as cgroup v2 files (a temp mount point): io, hugetlb,
// unified, the memory and cpu extras, and what v2 has no file for refused in one line.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { specLimits } from '../../src/oci/resources';
import { blkioToIOWeight } from '../../src/runtime/cgroups/block-io';
import { hostPageSizes } from '../../src/runtime/cgroups/hugetlb';
import type { CgroupPlan } from '../../src/runtime/cgroups/types';
import { CgroupV2 } from '../../src/runtime/cgroups/v2';
import { caught } from '../helpers/caught';

const ID = 'res2';
const MB = 1024 ** 2;
const writesTo = (plan: CgroupPlan, file: string) => plan.writes.filter(([f]) => f === file).map(([, v]) => v);
const oneLine = (fn: () => unknown) => {
  const e = caught(fn);
  expect(e.message).not.toContain('\n');
  return e.message;
};

describe('cgroup v2 files for them', () => {
  let root: string;
  let pages: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-res2-'));
    pages = path.join(root, '.hugepages');
    fs.mkdirSync(path.join(pages, 'hugepages-2048kB'), { recursive: true });
    fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids\n');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const v2 = () => new CgroupV2(root, 'berth', { hugepagesDir: pages, sysDevBlock: path.join(root, '.dev-block') });
  const f = (name: string) => path.join(root, 'berth', ID, name);
  const plan = (r: Parameters<typeof specLimits>[0]) => v2().plan(ID, specLimits(r).limits);

  it('enables io for block I/O and writes io.weight (converted) and io.max; io.bfq.weight as is with BFQ', () => {
    const io = {
      weight: 500,
      throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1000 }],
      throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 0 }],
    };
    const p = plan({ blockIO: io });
    expect(writesTo(p, path.join(root, 'cgroup.subtree_control'))).toEqual(['+cpuset +cpu +memory +pids +io']);
    expect(writesTo(p, f('io.weight'))).toEqual([String(blkioToIOWeight(500))]);
    expect(writesTo(p, f('io.max'))).toEqual(['254:0 rbps=1000', '254:0 wiops=max']);
    expect([blkioToIOWeight(10), blkioToIOWeight(1000)]).toEqual([1, 10000]);
    fs.mkdirSync(path.join(root, 'berth'));
    fs.writeFileSync(path.join(root, 'berth', 'io.bfq.weight'), 'default 100\n');
    // a partition (8:17) is weighed by its disk's scheduler
    fs.mkdirSync(path.join(root, '.dev-block', 'sdb', 'queue'), { recursive: true });
    fs.writeFileSync(path.join(root, '.dev-block', 'sdb', 'queue', 'scheduler'), 'none [bfq]\n');
    fs.mkdirSync(path.join(root, '.dev-block', 'sdb', 'sdb1'));
    fs.symlinkSync(path.join(root, '.dev-block', 'sdb', 'sdb1'), path.join(root, '.dev-block', '8:17'));
    const bfq = plan({ blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 17, weight: 200 }] } });
    expect(writesTo(bfq, f('io.bfq.weight'))).toEqual(['500', '8:17 200']);
    expect(oneLine(() => plan({ blockIO: { leafWeight: 100 } }))).toMatch(/blockIO\.leafWeight: cgroup v2 has no leaf weights/);
  });

  it('writes hugetlb.<size>.max and its reservation; needs the controller offered', () => {
    const p = plan({ hugepageLimits: [{ pageSize: '2MB', limit: 8 * MB }] });
    expect(writesTo(p, path.join(root, 'berth', 'cgroup.subtree_control'))).toEqual(['+cpuset +cpu +memory +pids +hugetlb']);
    expect(writesTo(p, f('hugetlb.2MB.max'))).toEqual([String(8 * MB)]);
    expect(writesTo(p, f('hugetlb.2MB.rsvd.max'))).toEqual([String(8 * MB)]);
    fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    expect(oneLine(() => plan({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }))).toMatch(
      /^config\.json linux\.resources\.hugepageLimits: the hugetlb controller is not available in .* \(its cgroup\.controllers does not list it\)$/,
    );
  });

  it('writes unified files last and as given, enabling the controller a key names', () => {
    const p = plan({ memory: { limit: 64 * MB }, unified: { 'memory.max': '32M', 'io.weight': 'default 50', 'cgroup.max.depth': '2' } });
    expect(writesTo(p, path.join(root, 'cgroup.subtree_control'))).toEqual(['+cpuset +cpu +memory +pids +io']);
    expect(p.writes.slice(-3)).toEqual([
      [f('memory.max'), '32M'],
      [f('io.weight'), 'default 50'],
      [f('cgroup.max.depth'), '2'],
    ]);
    expect(writesTo(p, f('memory.max'))).toEqual([String(64 * MB), '32M']);
    expect(oneLine(() => plan({ unified: { 'rdma.max': 'x' } }))).toMatch(/unified\["rdma\.max"\]: the rdma controller is not available/);
  });

  it('writes memory.low, cpu.idle, cpu.max.burst, cpuset.mems', () => {
    const p = plan({ memory: { reservation: 16 * MB }, cpu: { idle: 1, burst: 500, mems: '0' } });
    expect(writesTo(p, f('memory.low'))).toEqual([String(16 * MB)]);
    expect(writesTo(p, f('cpu.idle'))).toEqual(['1']);
    expect(writesTo(p, f('cpu.max.burst'))).toEqual(['500']);
    expect(writesTo(p, f('cpuset.mems'))).toEqual(['0']);
    expect(writesTo(plan({ memory: { reservation: -1 } }), f('memory.low'))).toEqual(['max']);
  });

  it('refuses what v2 has no file for, one line each', () => {
    expect(oneLine(() => plan({ cpu: { realtimeRuntime: 1000 } }))).toBe(
      'config.json linux.resources.cpu.realtimeRuntime: cgroup v2 has no such file (v2 has no real-time group bandwidth); leave it out',
    );
    expect(oneLine(() => plan({ cpu: { realtimePeriod: 1000 } }))).toMatch(/cpu\.realtimePeriod: cgroup v2 has no such file/);
    expect(oneLine(() => plan({ memory: { swappiness: 10 } }))).toMatch(/memory\.swappiness: cgroup v2 has no such file/);
    expect(oneLine(() => plan({ memory: { disableOOMKiller: true } }))).toMatch(/memory\.disableOOMKiller/);
    expect(oneLine(() => plan({ memory: { kernelTCP: 1 } }))).toMatch(/memory\.kernelTCP/);
    expect(oneLine(() => plan({ network: { classID: 1 } }))).toMatch(/network\.classID: .*net_cls is a v1 controller/);
  });

  it('reads the kernel huge page sizes from sysfs names', () => {
    fs.mkdirSync(path.join(pages, 'hugepages-64kB'));
    fs.writeFileSync(path.join(pages, 'not-a-size'), '');
    expect(hostPageSizes(pages).sort()).toEqual(['2MB', '64KB']);
    expect(hostPageSizes(path.join(root, 'missing'))).toEqual([]);
  });
});
