// berth-oci with linux.resources beyond docker's limits, run for real: block I/O weights and
// throttles on the disk backing /, a huge page limit in the hugetlb cgroup (on a hybrid host, the
// cgroup2 tree at /sys/fs/cgroup/unified), real-time bandwidth, `update --blkio-weight`, and a
// refused field leaving nothing behind. Containers live under a cgroup parent of this file's own.
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
const CG = '/sys/fs/cgroup';
const PARENT = `berth-res-${process.pid}`;
let base: string;
let root: string;
let rootfs: string;
let before: HostSnapshot;

let calls = 0;
/** stdout and stderr to files: a created init inherits them and would hold a pipe open. */
const oci = (...args: string[]) => {
  const out = path.join(base, `out.${++calls}`);
  const [o, e] = [fs.openSync(out, 'w'), fs.openSync(`${out}.err`, 'w')];
  const r = spawnSync(OCI, ['--root', root, ...args], { stdio: ['ignore', o, e], timeout: 30_000 });
  fs.closeSync(o);
  fs.closeSync(e);
  return { status: r.status ?? -1, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(`${out}.err`, 'utf8') };
};

type Config = Spec & { process: Process; linux: Linux };
/** A busybox bundle whose container sleeps, in cgroup PARENT/<id>, with these resources. */
function bundle(id: string, resources: Linux['resources']): string {
  const dir = path.join(base, id);
  fs.mkdirSync(dir);
  fs.symlinkSync(rootfs, path.join(dir, 'rootfs'));
  const r = spawnSync(OCI, ['spec', '--bundle', dir], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Config;
  c.process.terminal = false;
  c.process.args = ['sleep', '30'];
  c.linux.cgroupsPath = `/${PARENT}/${id}`;
  c.linux.resources = resources;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c, null, 2));
  return dir;
}

const read = (file: string) => fs.readFileSync(file, 'utf8');
const pidOf = (id: string) => (JSON.parse(oci('state', id).stdout) as { pid: number }).pid;
/** Every process whose cgroup (in any hierarchy) is the container's: none may outlive a refusal. */
function processesIn(id: string): number[] {
  return fs.readdirSync('/proc').flatMap((p) => {
    if (!/^\d+$/.test(p)) return [];
    try {
      return read(`/proc/${p}/cgroup`).includes(`/${PARENT}/${id}\n`) ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}
/** The container's cgroup directories that exist, in every v1 hierarchy and the unified tree. */
const cgroupDirsOf = (id: string) =>
  fs.readdirSync(CG).flatMap((h) => (fs.existsSync(path.join(CG, h, PARENT, id)) ? [path.join(CG, h, PARENT, id)] : []));

/** The block device backing / (its major:minor from mountinfo), or the first disk sysfs lists. */
function rootDevice(): { major: number; minor: number } {
  const line = read('/proc/self/mountinfo')
    .split('\n')
    .find((l) => l.split(' ')[4] === '/');
  let dev = line?.split(' ')[2] ?? '0:0';
  if (!fs.existsSync(`/sys/dev/block/${dev}`)) dev = read(`/sys/block/${fs.readdirSync('/sys/block')[0]}/dev`).trim();
  const [major, minor] = dev.split(':').map(Number);
  return { major, minor };
}

const v1 = fs.existsSync(path.join(CG, 'memory', 'tasks')) || fs.existsSync(path.join(CG, 'pids', 'tasks'));
const blkio = path.join(CG, 'blkio');
const bfqWeights = fs.existsSync(path.join(blkio, 'blkio.bfq.io_service_bytes'));
/** Whether BFQ is the scheduler of a device (or of its disk): per-device weights need it. */
const bfqSchedules = (dev: { major: number; minor: number }) => {
  const real = fs.realpathSync(`/sys/dev/block/${dev.major}:${dev.minor}`);
  const file = [real, path.dirname(real)].map((r) => path.join(r, 'queue', 'scheduler')).find((f) => fs.existsSync(f));
  return !!file && read(file).includes('[bfq]');
};
const hugetlbTree = ['hugetlb', 'unified']
  .map((h) => path.join(CG, h))
  .find((d) => {
    if (fs.existsSync(path.join(d, 'tasks'))) return true; // a v1 hugetlb hierarchy
    return fs.existsSync(path.join(d, 'cgroup.controllers')) && read(path.join(d, 'cgroup.controllers')).includes('hugetlb');
  });

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-oci-res-'));
  root = path.join(base, 'state');
  rootfs = path.join(base, 'rootfs');
  fs.mkdirSync(rootfs);
  spawnSync('tar', ['-xf', busyboxTar(), '-C', rootfs]);
});
afterAll(() => {
  // berth-oci keeps a caller's parent cgroup (as runc): this file's parent is ours to remove
  for (const h of fs.readdirSync(CG)) if (fs.existsSync(path.join(CG, h, PARENT))) fs.rmdirSync(path.join(CG, h, PARENT));
  fs.rmSync(base, { recursive: true, force: true });
});
beforeEach(() => {
  before = hostSnapshot({ cgroupParent: PARENT });
});
afterEach(() => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) oci('delete', '--force', id);
  expect(hostChanges(before, hostSnapshot({ cgroupParent: PARENT }))).toEqual([]);
});

describe.runIf(v1)('berth-oci linux.resources on this cgroup v1 host', () => {
  it('writes block I/O weights and throttles for the disk behind /, and update --blkio-weight changes them', () => {
    const dev = rootDevice();
    const d = `${dev.major}:${dev.minor}`;
    const b = bundle('bio', {
      blockIO: {
        ...(bfqWeights ? { weight: 300 } : {}),
        ...(bfqWeights && bfqSchedules(dev) ? { weightDevice: [{ ...dev, weight: 200 }] } : {}),
        throttleReadBpsDevice: [{ ...dev, rate: 1048576 }],
        throttleWriteBpsDevice: [{ ...dev, rate: 2097152 }],
        throttleReadIOPSDevice: [{ ...dev, rate: 100 }],
        throttleWriteIOPSDevice: [{ ...dev, rate: 50 }],
      },
    });
    const created = oci('create', '--bundle', b, 'bio');
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const dir = path.join(blkio, PARENT, 'bio');
    expect(read(path.join(dir, 'tasks')).split('\n')).toContain(String(pidOf('bio')));
    expect(read(path.join(dir, 'blkio.throttle.read_bps_device'))).toBe(`${d} 1048576\n`);
    expect(read(path.join(dir, 'blkio.throttle.write_bps_device'))).toBe(`${d} 2097152\n`);
    expect(read(path.join(dir, 'blkio.throttle.read_iops_device'))).toBe(`${d} 100\n`);
    expect(read(path.join(dir, 'blkio.throttle.write_iops_device'))).toBe(`${d} 50\n`);
    if (bfqWeights) {
      // v1's blkio.bfq.weight shows the default weight alone (per-device ones: weight_device)
      expect(read(path.join(dir, 'blkio.bfq.weight'))).toBe('300\n');
      if (bfqSchedules(dev)) expect(read(path.join(dir, 'blkio.bfq.weight_device'))).toMatch(new RegExp(`^${d} 200$`, 'm'));
      expect(oci('update', '--blkio-weight', '600', 'bio').status).toBe(0);
      expect(read(path.join(dir, 'blkio.bfq.weight'))).toBe('600\n');
    } else {
      const r = oci('update', '--blkio-weight', '600', 'bio');
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/blockIO\.weight: this kernel has neither blkio\.weight \(CFQ\) nor blkio\.bfq\.weight \(BFQ\)/);
    }
    const tooLight = oci('update', '--blkio-weight', '5', 'bio');
    expect(tooLight.status).toBe(1);
    expect(tooLight.stderr).toBe(
      'berth-oci: config.json linux.resources.blockIO.weight: expected an integer from 10 to 1000 but received 5\n',
    );
    expect(oci('delete', '--force', 'bio').status).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('update of a kind of limit create had none of joins the container to that hierarchy first', () => {
    const created = oci('create', '--bundle', bundle('late', {}), 'late');
    expect(created.status, created.stderr).toBe(0);
    const dir = path.join(CG, 'cpu', PARENT, 'late');
    // cpu is joined only when limited
    expect(fs.existsSync(dir)).toBe(false);
    const r = oci('update', '--cpu-quota', '50000', '--cpu-period', '100000', 'late');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(read(path.join(dir, 'cpu.cfs_quota_us'))).toBe('50000\n');
    expect(read(path.join(dir, 'tasks')).split('\n')).toContain(String(pidOf('late')));
    expect(oci('delete', '--force', 'late').status).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it.runIf(hugetlbTree)('puts a huge page limit in the hugetlb cgroup, joins exec to it, and removes it on delete', () => {
    const b = bundle('huge', { hugepageLimits: [{ pageSize: '2MB', limit: 4 * 1024 * 1024 }] });
    const created = oci('create', '--bundle', b, 'huge');
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const dir = path.join(hugetlbTree!, PARENT, 'huge');
    const v2names = hugetlbTree!.endsWith('unified');
    expect(read(path.join(dir, v2names ? 'hugetlb.2MB.max' : 'hugetlb.2MB.limit_in_bytes')).trim()).toBe(String(4 * 1024 * 1024));
    expect(read(path.join(dir, v2names ? 'hugetlb.2MB.rsvd.max' : 'hugetlb.2MB.rsvd.limit_in_bytes')).trim()).toBe(String(4 * 1024 * 1024));
    const init = pidOf('huge');
    expect(read(path.join(dir, 'cgroup.procs')).split('\n')).toContain(String(init));
    expect(oci('start', 'huge').status).toBe(0);
    // exec joins every cgroup of the container, the unified tree's included
    const pidFile = path.join(base, 'huge-exec.pid');
    expect(oci('exec', '--detach', '--pid-file', pidFile, 'huge', 'sleep', '30').status).toBe(0);
    const execPid = read(pidFile).trim();
    expect(read(path.join(dir, 'cgroup.procs')).split('\n')).toContain(execPid);
    expect(JSON.parse(oci('ps', '--format', 'json', 'huge').stdout)).toEqual(expect.arrayContaining([init, Number(execPid)]));
    expect(oci('delete', '--force', 'huge').status).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
    expect(cgroupDirsOf('huge')).toEqual([]);
  });

  it('refuses a real-time runtime under a parent without a budget (as the kernel would), and applies it under one', () => {
    const refused = oci('create', '--bundle', bundle('rt0', { cpu: { realtimeRuntime: 5000, realtimePeriod: 1000000 } }), 'rt0');
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(
      /cpu\.realtimeRuntime: the parent cgroup \/sys\/fs\/cgroup\/cpu[^ ]*\/berth-res-\d+ has no real-time budget/,
    );
    expect(fs.existsSync(path.join(root, 'rt0'))).toBe(false);
    expect(cgroupDirsOf('rt0')).toEqual([]);
    expect(processesIn('rt0')).toEqual([]);
    // Give the parent a budget (ours: this file's parent cgroup), then a child may have part of it.
    const cpuParent = path.join(CG, 'cpu', PARENT);
    fs.mkdirSync(cpuParent, { recursive: true });
    try {
      fs.writeFileSync(path.join(cpuParent, 'cpu.rt_runtime_us'), '10000');
    } catch (e) {
      // the host's own real-time groups may have taken the whole root budget: nothing to test then
      expect((e as NodeJS.ErrnoException).code).toMatch(/EINVAL|EBUSY/);
      return;
    }
    const b = bundle('rt1', { cpu: { realtimeRuntime: 5000, realtimePeriod: 500000 } });
    const created = oci('create', '--bundle', b, 'rt1');
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const dir = path.join(CG, 'cpu', PARENT, 'rt1');
    expect(read(path.join(dir, 'cpu.rt_period_us')).trim()).toBe('500000');
    expect(read(path.join(dir, 'cpu.rt_runtime_us')).trim()).toBe('5000');
    expect(oci('update', '--cpu-rt-runtime', '2000', 'rt1').status).toBe(0);
    expect(read(path.join(dir, 'cpu.rt_runtime_us')).trim()).toBe('2000');
    expect(oci('delete', '--force', 'rt1').status).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('a field this host cannot honour fails create with one line and leaves no state dir, cgroup or process', () => {
    const cases: Array<[string, Linux['resources'], RegExp]> = [
      [
        'uni',
        { unified: { 'memory.high': '64M' } },
        /^config\.json linux\.resources\.unified: cgroup v2 files cannot be written on this cgroup v1 host; leave it out$/,
      ],
      ['leaf', { blockIO: { leafWeight: 300 } }, /^config\.json linux\.resources\.blockIO\.leafWeight: there is no blkio\.leaf_weight in /],
      [
        'page',
        { hugepageLimits: [{ pageSize: '16MB', limit: 0 }] },
        /^config\.json linux\.resources\.hugepageLimits\[0\]\.pageSize: this kernel has no 16MB huge pages/,
      ],
      ['bad', { unified: { '../../memory.max': '1' } }, /must not contain "\/" or "\.\."$/],
    ];
    const dev = rootDevice();
    if (bfqWeights && !bfqSchedules(dev))
      cases.push([
        'wdev',
        { blockIO: { weightDevice: [{ ...dev, weight: 200 }] } },
        /weightDevice\[0\]: device \d+:\d+ is not scheduled by BFQ/,
      ]);
    if (!fs.existsSync(path.join(CG, 'net_cls')) && !fs.readdirSync(CG).some((h) => h.includes('net_cls')))
      cases.push(['net', { network: { classID: 0x100001 } }, /network\.classID: the net_cls cgroup controller is not mounted/]);
    for (const [id, resources, message] of cases) {
      const r = oci('create', '--bundle', bundle(id, resources), id);
      expect(r.status, id).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, id).toHaveLength(1);
      expect(lines[0].replace(/^berth-oci: /, ''), id).toMatch(message);
      expect(fs.existsSync(path.join(root, id)), id).toBe(false);
      expect(cgroupDirsOf(id), id).toEqual([]);
      expect(processesIn(id), id).toEqual([]);
    }
  });
});
