/**
 * docker rename and pause/unpause on real containers: names moved in the store (and the crash
 * states between its steps repaired), a user network's peers resolving the new name, the cgroup
 * freezer stopping a busy loop, and the same through the Engine API service with the docker CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli } from '../helpers/env';
import { testSubnets } from '../helpers/network';
import { docker, startTestService, type TestService } from '../helpers/service';

const ctx = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
const cli = (args: string[]) => runCli(['--root', ctx.roots.root, '--runroot', ctx.roots.runRoot, ...args]);
const LOOP = ['sh', '-c', 'while true; do date +%s%N > /tmp/t; done'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const haveIptables = fs.existsSync('/usr/sbin/iptables-restore') || fs.existsSync('/sbin/iptables-restore');
const haveDocker = spawnSync('docker', ['--version']).status === 0;

async function execOut(berth: Berth, ref: string, cmd: string[]): Promise<string> {
  const p = berth.exec(ref, { cmd });
  const out: Buffer[] = [];
  p.stdout?.on('data', (b: Buffer) => out.push(b));
  await p.wait();
  return Buffer.concat(out).toString();
}

const namesDir = () => path.join(ctx.roots.root, 'containers', '.names');
const link = (name: string) => path.join(namesDir(), name);

describe('rename', () => {
  it('renames created, running and exited containers; the old name is free, the new one resolves', async () => {
    const { berth } = ctx;
    const created = await berth.create({ image: 'busybox', name: 'rn-created', cmd: ['true'] });
    berth.rename('rn-created', 'rn-created2');
    expect(berth.inspect('rn-created2').config.id).toBe(created.config.id);
    expect(() => berth.inspect('rn-created')).toThrow(/No such container/);

    const running = await berth.runDetached({ image: 'busybox', name: 'rn-run', hostname: 'keepme', cmd: ['sleep', '30'] });
    const r = await cli(['rename', 'rn-run', 'rn-run2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await execOut(berth, 'rn-run2', ['hostname'])).trim()).toBe('keepme');
    expect(berth.ps().map((c) => c.config.name)).toContain('rn-run2');
    expect(JSON.parse((await cli(['inspect', 'rn-run2'])).stdout)[0].Id).toBe(running.config.id);
    // the old name is free at once
    await berth.create({ image: 'busybox', name: 'rn-run', cmd: ['true'] });

    const exited = await berth.runDetached({ image: 'busybox', name: 'rn-exit', cmd: ['true'] });
    await berth.wait(exited.config.id);
    expect((await cli(['container', 'rename', 'rn-exit', 'rn-exit2'])).code).toBe(0);
    expect(berth.inspect('rn-exit2').state.status).toBe('exited');
    // started again under the new name
    await berth.start('rn-exit2');
    await berth.wait('rn-exit2');
  });

  it('refuses a name in use, an invalid name and the same name', async () => {
    const { berth } = ctx;
    await berth.create({ image: 'busybox', name: 'rn-a', cmd: ['true'] });
    await berth.create({ image: 'busybox', name: 'rn-b', cmd: ['true'] });
    expect(() => berth.rename('rn-a', 'rn-b')).toThrow(/already in use/);
    expect(() => berth.rename('rn-a', 'bad/name')).toThrow(/Expected a container name/);
    expect(() => berth.rename('rn-a', 'rn-a')).toThrow(/same name/);
    const r = await cli(['rename', 'rn-a', 'rn-b']);
    expect(r.code).toBe(125);
    expect(berth.inspect('rn-a').config.name).toBe('rn-a');
    expect(fs.readlinkSync(link('rn-b'))).toBe(berth.inspect('rn-b').config.id);
  });

  it('repairs a rename killed after claiming the new name (before config.json named it)', async () => {
    const { berth } = ctx;
    const c = await berth.create({ image: 'busybox', name: 'rn-crash1', cmd: ['true'] });
    fs.symlinkSync(c.config.id, link('rn-half')); // the state a kill -9 leaves at that point
    expect(berth.inspect('rn-crash1').config.id).toBe(c.config.id);
    expect(() => berth.inspect('rn-half')).toThrow(/No such container/);
    // the orphan link blocks nothing: the next claim takes it over
    const other = await berth.create({ image: 'busybox', name: 'rn-half', cmd: ['true'] });
    expect(fs.readlinkSync(link('rn-half'))).toBe(other.config.id);
    expect(berth.inspect('rn-crash1').config.name).toBe('rn-crash1');
  });

  it('repairs a rename killed after config.json named the new name (before the old link went)', async () => {
    const { berth } = ctx;
    const c = await berth.create({ image: 'busybox', name: 'rn-crash2', cmd: ['true'] });
    // the commit happened: config.json and the new link name rn-done, the old link stays behind
    fs.symlinkSync(c.config.id, link('rn-done'));
    const configFile = path.join(ctx.roots.root, 'containers', c.config.id, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(configFile, 'utf8')), name: 'rn-done' }));
    expect(berth.inspect('rn-done').config.id).toBe(c.config.id);
    expect(() => berth.inspect('rn-crash2')).toThrow(/No such container/);
    expect(
      berth
        .ps({ all: true })
        .filter((x) => x.config.id === c.config.id)
        .map((x) => x.config.name),
    ).toEqual(['rn-done']);
    // rename back over the orphan of its own old name works too
    berth.rename('rn-done', 'rn-crash2');
    expect(berth.inspect('rn-crash2').config.id).toBe(c.config.id);
    expect(fs.existsSync(link('rn-done'))).toBe(false);
  });

  it.skipIf(!haveIptables)('a peer on a user network resolves the new name', async () => {
    const { berth } = ctx;
    const tag = Math.floor(Math.random() * 0xffff).toString(16);
    const net = 'bt-rename';
    berth.createNetwork({ name: net, subnet: testSubnets(1)[0], bridge: `bt${tag}rn` });
    try {
      await berth.runDetached({ image: 'busybox', name: 'rn-server', network: net, cmd: ['sleep', '30'] });
      await berth.runDetached({ image: 'busybox', name: 'rn-client', network: net, cmd: ['sleep', '30'] });
      expect(await execOut(berth, 'rn-client', ['cat', '/etc/hosts'])).toMatch(/\srn-server\b/);
      berth.rename('rn-server', 'rn-server2');
      const hosts = await execOut(berth, 'rn-client', ['cat', '/etc/hosts']);
      expect(hosts).toMatch(/\srn-server2\b/);
      expect(hosts).not.toMatch(/\srn-server(\s|$)/);
      const ip = berth.inspect('rn-server2').network!.ip;
      expect(hosts).toContain(ip);
    } finally {
      for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true });
      berth.removeNetwork(net);
    }
  });
});

describe('pause', () => {
  const readT = (berth: Berth, ref: string) => execOut(berth, ref, ['cat', '/tmp/t']);

  it('freezes a busy loop, shows paused, refuses exec, resumes on unpause', async () => {
    const { berth } = ctx;
    const c = await berth.runDetached({ image: 'busybox', name: 'pz-loop', cmd: LOOP });
    await sleep(100);
    expect((await cli(['pause', 'pz-loop'])).code).toBe(0);
    const cg = berth.runtime.cgroups.dirs(c.config.id).find((d) => d.includes('/freezer/'));
    if (cg) expect(fs.readFileSync(path.join(cg, 'freezer.state'), 'utf8').trim()).toBe('FROZEN');
    const upper = path.join(ctx.roots.root, 'containers', c.config.id, 'upper', 'tmp', 't');
    const frozen = fs.readFileSync(upper, 'utf8');
    await sleep(200);
    expect(fs.readFileSync(upper, 'utf8')).toBe(frozen);
    const info = berth.inspect('pz-loop');
    expect(info.state.paused).toBe(true);
    const ps = await cli(['ps']);
    expect(ps.stdout).toMatch(/Up .* \(Paused\)/);
    expect(JSON.parse((await cli(['inspect', 'pz-loop'])).stdout)[0].State).toMatchObject({
      Status: 'paused',
      Paused: true,
      Running: true,
    });
    expect(berth.ps({ filters: ['status=paused'] }).map((x) => x.config.name)).toEqual(['pz-loop']);
    expect(() => berth.exec('pz-loop', { cmd: ['true'] })).toThrow(/is paused, unpause the container before exec/);
    await expect(berth.pause('pz-loop')).rejects.toThrow(/already paused/);
    expect((await cli(['unpause', 'pz-loop'])).code).toBe(0);
    expect(berth.inspect('pz-loop').state.paused).toBeUndefined();
    // the loop truncates before it writes: a read may see the file empty for a moment
    let resumed = frozen;
    for (let i = 0; i < 50 && (resumed === frozen || resumed === ''); i++) {
      await sleep(20);
      resumed = await readT(berth, 'pz-loop');
    }
    expect(resumed).not.toBe(frozen);
    expect(resumed).toMatch(/^\d+/);
    expect(() => berth.unpause('pz-loop')).toThrow(/is not paused/);
  });

  it('stops and force-removes a paused container; refuses to pause a stopped one', async () => {
    const { berth } = ctx;
    // a shell as PID 1 ignores SIGTERM without a trap: this one ends on it once thawed
    const trapped = ['sh', '-c', 'trap "exit 0" TERM; while true; do date +%s%N > /tmp/t; done'];
    await berth.runDetached({ image: 'busybox', name: 'pz-stop', cmd: trapped });
    await berth.pause('pz-stop');
    const t0 = Date.now();
    const stopped = await berth.stop('pz-stop', { timeout: 5 });
    expect(stopped.state.status).toBe('exited');
    // stop ends it within its timeout (SIGTERM once thawed, else the SIGKILL after the timeout)
    expect(Date.now() - t0).toBeLessThan(8000);
    await expect(berth.pause('pz-stop')).rejects.toThrow(/is not running/);
    await berth.runDetached({ image: 'busybox', name: 'pz-rm', cmd: LOOP });
    await berth.pause('pz-rm');
    expect((await cli(['rm', '-f', 'pz-rm'])).code).toBe(0);
    expect(() => berth.inspect('pz-rm')).toThrow(/No such container/);
  });
});

describe.skipIf(!haveDocker)('through the service with the docker CLI', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(ctx.roots);
  });
  afterAll(async () => {
    await service?.stop();
  });
  const d = (args: string[]) => docker(service, ctx.roots, args);

  it('docker rename, pause, unpause and ps status', async () => {
    const run = await d(['run', '-d', '--name', 'dk-one', 'busybox', 'sleep', '30']);
    expect(run.code).toBe(0);
    await d(['create', '--name', 'dk-two', 'busybox', 'true']);
    const conflict = await d(['rename', 'dk-one', 'dk-two']);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/Conflict\. The container name "\/dk-two" is already in use by container "[0-9a-f]{64}"/);
    expect((await d(['rename', 'dk-one', 'bad/name'])).stderr).toMatch(/Invalid container name/);
    expect((await d(['rename', 'nosuch', 'x1'])).stderr).toMatch(/No such container: nosuch/);
    expect((await d(['rename', 'dk-one', 'dk-renamed'])).code).toBe(0);
    expect((await d(['pause', 'dk-renamed'])).code).toBe(0);
    const ps = await d(['ps', '--format', '{{.Names}} {{.Status}} {{.State}}']);
    expect(ps.stdout).toMatch(/dk-renamed Up .* \(Paused\) paused/);
    expect((await d(['ps', '-q', '--filter', 'status=paused'])).stdout.trim()).toBe(run.stdout.trim().slice(0, 12));
    expect((await d(['pause', 'dk-renamed'])).stderr).toMatch(/is already paused/);
    expect((await d(['exec', 'dk-renamed', 'true'])).stderr).toMatch(/is paused, unpause the container before exec/);
    expect((await d(['unpause', 'dk-renamed'])).code).toBe(0);
    expect((await d(['unpause', 'dk-renamed'])).stderr).toMatch(/is not paused/);
    expect((await d(['inspect', '--format', '{{.State.Status}} {{.Name}}', 'dk-renamed'])).stdout.trim()).toBe('running /dk-renamed');
    expect((await d(['pause', 'dk-two'])).stderr).toMatch(/is not running/);
  });
});
