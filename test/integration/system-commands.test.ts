// berth version, system info, system df and system prune on a temp root with real containers,
// images, volumes and networks; the host is left as found (withBusybox checks it after each test).
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/env';
import { withBusybox } from '../helpers/berth';
import { busyboxTar } from '../helpers/fixtures';

const env = { BERTH_DEFAULT_NETWORK: 'none' };
const ctx = withBusybox({
  async beforeCheck(berth) {
    for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true });
    for (const n of berth.listNetworks()) berth.removeNetwork(n.name);
  },
});

async function cli(...args: string[]) {
  const r = await runCli(args, { roots: ctx.roots, env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('berth version and info', () => {
  it('version has a client and a server section with API version 1.43', async () => {
    const out = await cli('version');
    expect(out).toMatch(/^Client:\n Version: +\S+\n API version: +1\.43\n/);
    expect(out).toMatch(/\nServer: berth\n Engine:\n {2}Version: +\S+\n {2}API version: +1\.43 \(minimum version 1\.24\)\n/);
    const json = JSON.parse(await cli('version', '--format', 'json')) as { Server: { ApiVersion: string } };
    expect(json.Server.ApiVersion).toBe('1.43');
  });

  it("info counts this root's containers and images", async () => {
    await cli('run', '-d', '--name', 'up', 'busybox', 'sleep', '30');
    await cli('create', '--name', 'idle', 'busybox', 'true');
    const out = await cli('system', 'info');
    for (const line of [
      ' Containers: 2',
      '  Running: 1',
      '  Paused: 0',
      '  Stopped: 1',
      ' Images: 1',
      ` Docker Root Dir: ${ctx.roots.root}`,
    ])
      expect(out.split('\n')).toContain(line);
    expect(out).toMatch(/\n Kernel Version: \S+\n/);
    expect(out).toMatch(/\n CPUs: \d+\n Total Memory: [\d.]+GiB\n/);
    expect(await cli('info')).toContain(' Containers: 2\n');
    const json = JSON.parse(await cli('system', 'info', '--format', 'json')) as Record<string, unknown>;
    expect(json).toMatchObject({ Containers: 2, ContainersRunning: 1, ContainersStopped: 1, Images: 1, DockerRootDir: ctx.roots.root });
  });
});

describe('berth system df and prune', () => {
  it('df counts what is used and reclaimable; prune removes the unused and says how much', async () => {
    await cli('import', busyboxTar(), 'spare:1'); // another image of the same layer: shared, counted once
    await cli('run', '--name', 'wrote', '-v', '/scratch', 'busybox', 'sh', '-c', 'head -c 100000 /dev/zero > /big; echo x > /scratch/f');
    await cli('run', '-d', '--name', 'up', 'busybox', 'sleep', '30');
    await cli('volume', 'create', 'named');
    await cli('network', 'create', 'unused-net');

    const df = (await cli('system', 'df')).split('\n');
    expect(df[0]).toMatch(/^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$/);
    expect(df[1]).toMatch(/^Images +2 +1 +[\d.]+[kM]B +0B \(0%\)$/);
    expect(df[2]).toMatch(/^Containers +2 +1 +1\d\d(\.\d+)?kB +1\d\d(\.\d+)?kB \(\d+%\)$/);
    expect(df[3]).toMatch(/^Local Volumes +2 +1 +2B +0B \(0%\)$/);
    expect(df[4]).toMatch(/^Build Cache +0 +0 +0B +0B$/);
    const verbose = await cli('system', 'df', '-v');
    expect(verbose).toMatch(/Images space usage:\n\nREPOSITORY +TAG +IMAGE ID/);
    expect(verbose).toMatch(/ wrote\n/);
    expect(verbose).toMatch(/VOLUME NAME +LINKS +SIZE\n/);

    const wrote = ctx.berth.inspect('wrote').config.id;
    const anonymous = ctx.berth.inspect('wrote').config.volumes.find((v) => v.anonymous)!.volume!;
    const out = await cli('system', 'prune', '-f', '--volumes');
    expect(out).toContain(`Deleted Containers:\n${wrote}\n\n`);
    expect(out).toContain('Deleted Networks:\nunused-net\n\n');
    expect(out).toContain(`Deleted Volumes:\n${anonymous}\n\n`);
    expect(out).toMatch(/Total reclaimed space: 1\d\d(\.\d+)?kB\n$/);
    expect(ctx.berth.ps({ all: true }).map((c) => c.config.name)).toEqual(['up']);
    expect(ctx.berth.listVolumes().map((v) => v.Name)).toEqual(['named']); // named volumes stay
    expect(ctx.berth.listImages()).toHaveLength(2); // named: only -a removes them

    // -a: every image no container uses; nothing else is left to prune
    await ctx.berth.remove('up', { force: true });
    const all = await cli('system', 'prune', '-a', '-f');
    expect(all).toContain('untagged: busybox:latest\n');
    expect(all).toContain('untagged: spare:1\n');
    expect(all).toMatch(/deleted: sha256:[0-9a-f]{64}\n/);
    expect(ctx.berth.listImages()).toEqual([]);
    await ctx.berth.importImage(busyboxTar(), 'busybox'); // for the next test file's expectations
    ctx.berth.removeVolume('named');
  });
});
