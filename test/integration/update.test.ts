// `berth update` as docker's: a running container's cgroup limits change at once (read back from
// its own /sys/fs/cgroup and from the host's cgroup dir) and are stored, so the next start keeps them.
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
beforeAll(() => {
  ({ berth, roots } = fixture);
});
const cli = (args: string[]) => runCli(args, { roots });
const MiB = 1024 * 1024;

/** A file of the container's cgroup in one controller, read on the host. */
function hostCgroupFile(ref: string, controller: string, file: string): string {
  const c = berth.inspect(ref).config;
  const dir = berth.runtime
    .cgroupsOf(c)
    .dirs(c.id)
    .find((d) => d.includes(`/${controller}/`))!;
  return fs.readFileSync(path.join(dir, file), 'utf8').trim();
}

async function inside(ref: string, file: string): Promise<string> {
  const r = await cli(['exec', ref, 'cat', file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

const v1 = fs.existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') || fs.existsSync('/sys/fs/cgroup/memory');

describe.skipIf(!v1)('berth update', () => {
  it('changes memory.limit_in_bytes and pids.max of a running container, and the next start keeps them', async () => {
    const r = await cli(['run', '-d', '--name', 'up', '--network', 'none', '-m', '64m', '--pids-limit', '50', 'busybox', 'sleep', '600']);
    expect(r.code, r.stderr).toBe(0);
    expect(await inside('up', '/sys/fs/cgroup/memory/memory.limit_in_bytes')).toBe(String(64 * MiB));

    const u = await cli(['update', '-m', '128m', '--memory-swap', '-1', '--pids-limit', '80', 'up']);
    expect({ code: u.code, stdout: u.stdout, stderr: u.stderr }).toEqual({ code: 0, stdout: 'up\n', stderr: '' });
    expect(await inside('up', '/sys/fs/cgroup/memory/memory.limit_in_bytes')).toBe(String(128 * MiB));
    expect(hostCgroupFile('up', 'memory', 'memory.limit_in_bytes')).toBe(String(128 * MiB));
    expect(await inside('up', '/sys/fs/cgroup/pids/pids.max')).toBe('80');
    expect(berth.inspect('up').config.limits).toMatchObject({ memory: 128 * MiB, memorySwap: -1, pidsLimit: 80 });

    // lower again (a memory limit below the swap limit: the files are written in the order the kernel takes)
    expect((await cli(['update', '-m', '32m', 'up'])).code).toBe(0);
    expect(await inside('up', '/sys/fs/cgroup/memory/memory.limit_in_bytes')).toBe(String(32 * MiB));

    expect((await cli(['stop', '-t', '0', 'up'])).code).toBe(0);
    expect((await cli(['start', 'up'])).code).toBe(0);
    expect(await inside('up', '/sys/fs/cgroup/memory/memory.limit_in_bytes')).toBe(String(32 * MiB));
    expect(await inside('up', '/sys/fs/cgroup/pids/pids.max')).toBe('80');
  });

  it('raises memory above the old swap limit (the kernel takes memsw first) and lowers both again', async () => {
    const r = await cli(['run', '-d', '--name', 'swap', '--network', 'none', '-m', '32m', 'busybox', 'sleep', '600']);
    expect(r.code, r.stderr).toBe(0);
    const memsw = fs.existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
    if (memsw) expect(hostCgroupFile('swap', 'memory', 'memory.memsw.limit_in_bytes')).toBe(String(64 * MiB));
    // 256m > the old memsw limit of 64m: written as memory then memsw, the first write fails alone
    expect((await cli(['update', '-m', '256m', 'swap'])).code).toBe(0);
    expect(hostCgroupFile('swap', 'memory', 'memory.limit_in_bytes')).toBe(String(256 * MiB));
    if (memsw) expect(hostCgroupFile('swap', 'memory', 'memory.memsw.limit_in_bytes')).toBe(String(512 * MiB));
    // and down again: memsw 32m*2 is below the current memory limit of 256m until that is lowered
    expect((await cli(['update', '-m', '32m', 'swap'])).code).toBe(0);
    expect(hostCgroupFile('swap', 'memory', 'memory.limit_in_bytes')).toBe(String(32 * MiB));
    if (memsw) expect(hostCgroupFile('swap', 'memory', 'memory.memsw.limit_in_bytes')).toBe(String(64 * MiB));
  });

  it('gives a limit to a container that had none (--cpus makes its cpu cgroup), via the API too', async () => {
    const r = await cli(['run', '-d', '--name', 'free', '--network', 'none', 'busybox', 'sleep', '600']);
    expect(r.code, r.stderr).toBe(0);
    const info = berth.update('free', { memory: '48m', cpus: 0.5 });
    expect(info.config.limits).toMatchObject({ memory: 48 * MiB, cpus: 0.5 });
    expect(hostCgroupFile('free', 'memory', 'memory.limit_in_bytes')).toBe(String(48 * MiB));
    expect(hostCgroupFile('free', 'cpu', 'cpu.cfs_quota_us')).toBe('50000');
    // the container's processes are in the new cpu cgroup
    const pid = berth.inspect('free').state.pid!;
    expect(hostCgroupFile('free', 'cpu', 'cgroup.procs').split('\n')).toContain(String(pid));
  });

  it('a stopped container keeps the update for its next start; --restart is stored', async () => {
    expect((await cli(['create', '--name', 'later', '--network', 'none', 'busybox', 'sleep', '600'])).code).toBe(0);
    const u = await cli(['update', '--memory', '40m', '--restart', 'on-failure:3', 'later']);
    expect(u.code, u.stderr).toBe(0);
    expect(berth.inspect('later').config.restart).toEqual({ name: 'on-failure', maxRetries: 3 });
    expect((await cli(['start', 'later'])).code).toBe(0);
    expect(await inside('later', '/sys/fs/cgroup/memory/memory.limit_in_bytes')).toBe(String(40 * MiB));
  });

  it('refuses bad values and no flags in one line (exit 125), and names a missing container', async () => {
    expect((await cli(['create', '--name', 'x', '--network', 'none', 'busybox', 'true'])).code).toBe(0);
    const before = JSON.stringify(berth.inspect('x').config);
    const bad = await cli(['update', '--memory', 'lots', 'x']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: .*--memory.*"lots"\n$/);
    const none = await cli(['update', 'x']);
    expect(none.code).toBe(125);
    expect(none.stderr).toMatch(/^berth: You must provide one or more flags when using update/);
    const restart = await cli(['update', '--restart', 'sometimes', 'x']);
    expect(restart.code).toBe(125);
    expect(JSON.stringify(berth.inspect('x').config)).toBe(before);
    const missing = await cli(['update', '-m', '64m', 'nosuch']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nosuch/);
    expect(() => berth.update('x', { memory: [] as never })).toThrow(/Expected memory to be a string or a/);
  });
});
