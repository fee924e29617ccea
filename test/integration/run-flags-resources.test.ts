// docker's resource flags of `berth run`, read back from the running container's own cgroup files
// (found from /proc/PID/cgroup on the host, not from berth's own notion of where they are).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
let roots: TempRoots;
let berth: Berth;
/** A block device node of our own for the disk behind / (docker takes a device by path). */
let disk: { node: string; majmin: string };
beforeAll(() => {
  ({ berth, roots } = fixture);
  const line = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === '/');
  let majmin = line?.split(' ')[2] ?? '0:0';
  if (!fs.existsSync(`/sys/dev/block/${majmin}`))
    majmin = fs.readFileSync(`/sys/block/${fs.readdirSync('/sys/block')[0]}/dev`, 'utf8').trim();
  const node = path.join(roots.base, 'disk');
  execFileSync('mknod', [node, 'b', ...majmin.split(':')]);
  disk = { node, majmin };
});

const CG = '/sys/fs/cgroup';
const unified = fs.existsSync(path.join(CG, 'cgroup.controllers'));
const cli = (args: string[]) => runCli(args, { roots });
const read = (f: string) => fs.readFileSync(f, 'utf8').trim();

/** Starts `sleep` detached with the flags; the files of its cgroups by name (v1: controller/file). */
async function cgroupFiles(flags: string[]): Promise<(file: string) => string> {
  const r = await cli(['run', '-d', ...flags, 'busybox', 'sleep', '30']);
  expect(r.code, r.stderr).toBe(0);
  const pid = berth.inspect(r.stdout.trim()).state.pid!;
  const dirs = new Map<string, string>();
  for (const l of read(`/proc/${pid}/cgroup`).split('\n')) {
    const [, controllers, p] = l.split(':');
    if (unified) dirs.set('', path.join(CG, p));
    else for (const c of controllers.split(',')) if (c) dirs.set(c, path.join(CG, c, p));
  }
  return (file) => read(path.join(unified ? dirs.get('')! : dirs.get(file.split('.')[0])!, file));
}

describe('CPU, memory and pids flags', () => {
  it('--cpu-period, --cpu-quota, -c, --cpuset-mems, --memory-reservation, --pids-limit -1, --memory-swap -1', async () => {
    const f = await cgroupFiles([
      ...['--cpu-period', '50000', '--cpu-quota', '25000', '-c', '512', '--cpuset-mems', '0'],
      ...['-m', '64m', '--memory-reservation', '32m', '--memory-swap', '-1', '--pids-limit', '-1'],
    ]);
    if (unified) {
      expect(f('cpu.max')).toBe('25000 50000');
      expect(f('cpu.weight')).toBe(String(Math.floor(1 + ((512 - 2) * 9999) / 262142)));
      expect(f('memory.low')).toBe(String(32 * 1024 * 1024));
      expect(f('memory.swap.max')).toBe('max');
    } else {
      expect([f('cpu.cfs_period_us'), f('cpu.cfs_quota_us'), f('cpu.shares')]).toEqual(['50000', '25000', '512']);
      expect(f('memory.soft_limit_in_bytes')).toBe(String(32 * 1024 * 1024));
    }
    expect(f('cpuset.mems')).toBe('0');
    expect(f('pids.max')).toBe('max');
  });

  it('--cpu-period alone keeps the quota unlimited', async () => {
    const f = await cgroupFiles(['--cpu-period', '20000']);
    if (unified) expect(f('cpu.max')).toBe('max 20000');
    else expect([f('cpu.cfs_period_us'), f('cpu.cfs_quota_us')]).toEqual(['20000', '-1']);
  });

  it.skipIf(unified)('--memory-swappiness and --oom-kill-disable (cgroup v1)', async () => {
    const f = await cgroupFiles(['--memory-swappiness', '10', '--oom-kill-disable']);
    expect(f('memory.swappiness')).toBe('10');
    expect(f('memory.oom_control')).toMatch(/^oom_kill_disable 1$/m);
  });

  it.skipIf(!unified)('--memory-swappiness is refused where cgroup v2 has no such file, naming the flag', async () => {
    const r = await cli(['run', '--rm', '--memory-swappiness', '10', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^berth: --memory-swappiness: cgroup v2 has no such file .*; leave it out\n$/);
  });
});

describe('block I/O flags', () => {
  it('--device-{read,write}-{bps,iops} throttle the device given by path', async () => {
    const d = disk.node;
    const f = await cgroupFiles([
      ...['--device-read-bps', `${d}:1mb`, '--device-write-bps', `${d}:2mb`],
      ...['--device-read-iops', `${d}:100`, '--device-write-iops', `${d}:50`],
    ]);
    if (unified) {
      expect(f('io.max')).toContain(`${disk.majmin} rbps=1048576 wbps=2097152 riops=100 wiops=50`);
    } else {
      expect(f('blkio.throttle.read_bps_device')).toBe(`${disk.majmin} 1048576`);
      expect(f('blkio.throttle.write_bps_device')).toBe(`${disk.majmin} 2097152`);
      expect(f('blkio.throttle.read_iops_device')).toBe(`${disk.majmin} 100`);
      expect(f('blkio.throttle.write_iops_device')).toBe(`${disk.majmin} 50`);
    }
  });

  const bfq = fs.existsSync(path.join(CG, 'blkio', 'blkio.bfq.io_service_bytes'));
  it.skipIf(unified || !bfq)('--blkio-weight sets the BFQ weight (cgroup v1)', async () => {
    const f = await cgroupFiles(['--blkio-weight', '300']);
    expect(f('blkio.bfq.weight')).toBe('300');
  });
});

describe('--cgroup-parent', () => {
  it("puts the container's cgroup below the path given; rm removes it and leaves the parent", async () => {
    const parent = `berth/parent-${process.pid}`;
    const r = await cli(['run', '-d', '--cgroup-parent', `/${parent}`, '-m', '64m', 'busybox', 'sleep', '30']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const lines = read(`/proc/${berth.inspect(id).state.pid!}/cgroup`).split('\n');
    const memory = lines.find((l) => (unified ? l.startsWith('0::') : l.split(':')[1].split(',').includes('memory')))!;
    expect(memory.split(':')[2]).toBe(`/${parent}/${id}`);
    const dir = unified ? path.join(CG, parent, id) : path.join(CG, 'memory', parent, id);
    expect(read(path.join(dir, unified ? 'memory.max' : 'memory.limit_in_bytes'))).toBe(String(64 * 1024 * 1024));
    expect((await cli(['rm', '-f', id])).code).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
    // the parents this test's container made: empty now, removed so that no cgroup is left
    const parents = unified ? [path.join(CG, parent)] : fs.readdirSync(CG).map((h) => path.join(CG, h, parent));
    for (const p of parents.filter((p) => fs.existsSync(p))) fs.rmdirSync(p);
  });
});

describe('the OCI config shows them', () => {
  it('in linux.resources of inspect', async () => {
    const r = await cli([
      'run',
      '-d',
      '--cpu-period',
      '50000',
      '--cpu-quota',
      '25000',
      '--device-read-iops',
      `${disk.node}:7`,
      'busybox',
      'true',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [major, minor] = disk.majmin.split(':').map(Number);
    expect(berth.inspect(r.stdout.trim()).ociConfig?.linux?.resources).toEqual({
      cpu: { quota: 25000, period: 50000 },
      blockIO: { throttleReadIOPSDevice: [{ major, minor, rate: 7 }] },
    });
  });
});

describe('bad values', () => {
  it('are one line, exit 125, and leave nothing behind', async () => {
    const before = fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort();
    const d = disk.node;
    const cases: Array<[string[], string | RegExp]> = [
      [
        ['--cpus', '1', '--cpu-quota', '50000'],
        'Conflicting options: --cpus and --cpu-period/--cpu-quota set the same limit; give one of them',
      ],
      [['--cpu-period', '999'], 'Expected a period in microseconds from 1000 to 1000000 for --cpu-period but received "999"'],
      [['--cpu-quota', '500'], 'Expected a quota in microseconds from 1000, or -1 for none for --cpu-quota but received "500"'],
      [['--cpuset-mems', '4095'], /^Expected memory nodes this machine has \([0-9,-]+\) for --cpuset-mems but received "4095"$/],
      [
        ['-m', '16m', '--memory-reservation', '32m'],
        'Expected a size at most --memory (16777216 bytes) for --memory-reservation but received "32m"',
      ],
      [['--memory-swappiness', '101'], 'Expected an integer from 0 to 100 (-1 for the default) for --memory-swappiness but received "101"'],
      [['--blkio-weight', '5'], 'Expected a weight from 10 to 1000 (0 for the default) for --blkio-weight but received "5"'],
      [['--blkio-weight-device', '/dev/null:100'], '--blkio-weight-device "/dev/null:100": "/dev/null" is not a block device'],
      [['--device-read-bps', '/nonexistent:1mb'], '--device-read-bps "/nonexistent:1mb": there is no device "/nonexistent" on this host'],
      [
        ['--device-write-bps', `${d}:fast`],
        `Expected DEVICE_PATH:RATE with a rate like 1mb, 512kb or 1048576 for --device-write-bps but received "${d}:fast"`,
      ],
      [
        ['--device-read-iops', `${d}:0`],
        `Expected DEVICE_PATH:N with a number of operations per second above 0 for --device-read-iops but received "${d}:0"`,
      ],
      [
        ['--cgroup-parent', 'a/../b'],
        'Expected a cgroup path of names (letters, digits, _ . @ -) separated by / for --cgroup-parent but received "a/../b"',
      ],
      [
        ['--cgroup-parent', 'system.slice:berth:x'],
        '--cgroup-parent "system.slice:berth:x" is a systemd slice path; berth drives cgroupfs: give a path like /apps/web',
      ],
      [['--device-write-iops', 'sda'], 'Expected DEVICE_PATH:VALUE, like /dev/sda:100 for --device-write-iops but received "sda"'],
    ];
    for (const [flags, message] of cases) {
      for (const detach of [[], ['-d']]) {
        const r = await cli(['run', ...detach, ...flags, 'busybox', 'true']);
        expect({ code: r.code, stdout: r.stdout }, JSON.stringify(flags)).toEqual({ code: 125, stdout: '' });
        const line = r.stderr.replace(/^berth: /, '').replace(/\n$/, '');
        expect(r.stderr.split('\n'), JSON.stringify(flags)).toHaveLength(2);
        if (typeof message === 'string') expect(line).toBe(message);
        else expect(line).toMatch(message);
      }
    }
    expect(fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort()).toEqual(before);
    expect(berth.ps({ all: true })).toEqual([]);
  });
});
