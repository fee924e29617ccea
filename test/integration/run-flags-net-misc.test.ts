// The smaller flags of `berth run`/`create`, as docker's: --network-alias, --link, --dns-search,
// --dns-option, --expose (with -P), --ip6 (refused), --stop-signal, --stop-timeout and the image's
// STOPSIGNAL (honoured by stop), --platform, --runtime, -q, --pull never, and `-1` values written
// after a space (--memory-swap -1, --pids-limit -1).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Berth, ContainerProcess, SpawnOptions } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';
import { netChanges, netSnapshot, removeCniBaseChains, restoreIpForward, testSubnets, type NetSnapshot } from '../helpers/network';
import { busyboxTar } from '../helpers/fixtures';
import { missingTools, startRegistry, type TestRegistry } from '../helpers/registry';
import { buildImage, buildIndex, layerTar, push } from '../fixtures/registry/images';

const haveCni = fs.existsSync('/usr/lib/cni/bridge') && fs.existsSync('/usr/lib/cni/portmap') && fs.existsSync('/usr/lib/cni/host-local');

const running: ContainerProcess[] = [];
const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const p of running.splice(0)) {
      p.kill('SIGKILL');
      await p.wait();
    }
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
let roots: TempRoots;
let berth: Berth;
beforeAll(() => {
  ({ berth, roots } = fixture);
});
const cli = (args: string[]) => runCli(args, { roots });

/** A refused command line: exit 125, one line, and no container made. */
async function refused(args: string[], message: RegExp): Promise<void> {
  const before = berth.ps({ all: true });
  const r = await cli(args);
  expect({ code: r.code, lines: r.stderr.split('\n').length }, r.stderr).toEqual({ code: 125, lines: 2 });
  expect(r.stderr).toMatch(message);
  expect(berth.ps({ all: true })).toEqual(before);
}

describe.skipIf(!haveCni)('--network-alias, --link, --expose on a user network', () => {
  let initial: NetSnapshot;
  const TAG = Math.floor(Math.random() * 0xffff)
    .toString(16)
    .padStart(4, '0');
  const NET = `nm-${TAG}`;
  beforeAll(() => {
    initial = netSnapshot();
    // a free /24 of the test range, not the first (other test files take that one)
    const subnets = testSubnets(6);
    const pick = 1 + Math.floor(Math.random() * 4);
    berth.createNetwork({ name: NET, subnet: subnets[pick], bridge: `bt${TAG}m0` });
    berth.createNetwork({ name: `${NET}-2`, subnet: subnets[pick + 1], bridge: `bt${TAG}m1` });
  });
  afterAll(() => {
    for (const n of berth.listNetworks()) berth.removeNetwork(n.name);
    removeCniBaseChains(initial);
    restoreIpForward(initial);
    expect(netChanges(initial, netSnapshot(), { ipForward: true })).toEqual([]);
  });

  const server = (name: string, opts: Partial<SpawnOptions> = {}) => {
    const p = berth.spawn({ image: 'busybox', rm: true, name, network: NET, cmd: ['sleep', '60'], ...opts } as SpawnOptions);
    running.push(p);
    return p;
  };

  it('other containers of the network resolve an alias; --link adds the linked container under its alias', async () => {
    const s = server('nm-server', { networkAliases: ['db', 'cache'] });
    const ip = berth.inspect(s.id).network!.ip;
    const r = await cli([
      'run',
      '--rm',
      '--network',
      NET,
      '--link',
      'nm-server:dbl',
      'busybox',
      'sh',
      '-c',
      'echo "hosts: files" > /etc/nsswitch.conf; cat /etc/hosts; ping -c 1 -W 2 db >/dev/null && echo PING-OK',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const hosts = r.stdout.split('\n');
    expect(hosts).toContain(`${ip}\tdb`);
    expect(hosts).toContain(`${ip}\tcache`);
    expect(hosts).toContain(`${ip}\tdbl nm-server`);
    expect(r.stdout).toContain('PING-OK');
  });

  it('--link finds a container connected to the network later (network connect)', async () => {
    const s = server('nm-two', { network: `${NET}-2` });
    berth.connectNetwork(NET, 'nm-two');
    const ip = berth.inspect(s.id).networks!.find((n) => n.network === NET)!.ip;
    const r = await cli(['run', '--rm', '--network', NET, '--link', 'nm-two:two', 'busybox', 'cat', '/etc/hosts']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toContain(`${ip}\ttwo nm-two`);
  });

  it('--expose ports are published by -P like the image’s, and recorded', async () => {
    const r = await cli(['run', '-d', '--network', NET, '-P', '--expose', '7000', '--expose', '7100-7101/udp', 'busybox', 'sleep', '60']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const c = berth.inspect(id);
    expect(c.config.exposedPorts).toEqual(['7000/tcp', '7100-7101/udp']);
    expect(berth.port(id).map((p) => `${p.containerPort}/${p.protocol}`)).toEqual(['7000/tcp', '7100/udp', '7101/udp']);
    expect(berth.port(id).every((p) => p.hostPort > 0)).toBe(true);
  });

  it('--link to a container that does not run, and an alias off a user network, are refused', async () => {
    const created = await cli(['create', '--name', 'nm-idle', '--network', NET, 'busybox', 'true']);
    expect(created.code, created.stderr).toBe(0);
    const r = await cli(['run', '--rm', '--network', NET, '--link', 'nm-idle', 'busybox', 'true']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 125,
      stderr: 'berth: Cannot link to a non running container: nm-idle; start it first\n',
    });
    await berth.remove('nm-idle');
    await refused(['run', '--rm', '--network', NET, '--link', 'nosuch', 'busybox', 'true'], /Could not get container for nosuch/);
    await refused(
      ['run', '--rm', '--network-alias', 'x', 'busybox', 'true'],
      /Network-scoped aliases are supported only for containers on user-defined networks/,
    );
    await refused(['run', '--rm', '--network', NET, '--network-alias', 'bad name', 'busybox', 'true'], /--network-alias/);
  });
});

describe('resolv.conf, --ip6, --runtime, --platform, -q, --pull never', () => {
  it('--dns-search and --dns-option write the search and options lines', async () => {
    const r = await cli([
      'run',
      '--rm',
      '--network',
      'none',
      '--dns',
      '10.9.9.9',
      '--dns-search',
      'example.com',
      '--dns-search',
      'corp.test',
      '--dns-option',
      'ndots:2',
      '--dns-option',
      'edns0',
      'busybox',
      'cat',
      '/etc/resolv.conf',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('nameserver 10.9.9.9');
    expect(lines).toContain('search example.com corp.test');
    expect(lines).toContain('options ndots:2 edns0');
    expect(lines.filter((l) => /^(search|domain|options)\s/.test(l))).toHaveLength(2);
    // "." clears the host's search line
    const none = await cli(['run', '--rm', '--network', 'none', '--dns-search', '.', 'busybox', 'cat', '/etc/resolv.conf']);
    expect(none.stdout).not.toMatch(/^(search|domain)\s/m);
    await refused(['run', '--rm', '--dns-option', 'bad option', 'busybox', 'true'], /--dns-option/);
  });

  it('--ip6 is a one-line error until berth has IPv6 networks', async () => {
    await refused(
      ['run', '--rm', '--ip6', 'fd00::5', 'busybox', 'true'],
      /^berth: --ip6 "fd00::5" is not supported: berth networks are IPv4 only/,
    );
  });

  it('--runtime takes berth’s own names only', async () => {
    await refused(['run', '--rm', '--runtime', 'runc', 'busybox', 'true'], /Unknown runtime "runc".*--runtime berth or berth-oci/);
    const r = await cli(['run', '--rm', '-q', '--runtime', 'berth', '--network', 'none', 'busybox', 'echo', 'ok']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('--platform must be the image’s', async () => {
    const img = berth.images.resolve('busybox').config;
    const own = `${img.os}/${img.architecture}`;
    const other = img.architecture === 'arm64' ? 'linux/amd64' : 'linux/arm64';
    const r = await cli(['run', '--rm', '--platform', own, '--network', 'none', 'busybox', 'true']);
    expect(r.code, r.stderr).toBe(0);
    await refused(
      ['run', '--rm', '--platform', other, 'busybox', 'true'],
      new RegExp(`The image is ${own}, which does not match the specified platform ${other}`),
    );
    await refused(['create', '--platform', 'linux', 'busybox', 'true'], /Expected a platform like linux\/amd64/);
  });

  it('--pull never with a missing image fails without pulling, leaving nothing', async () => {
    const r = await cli(['run', '--rm', '--pull', 'never', 'localhost:1/not-here:1', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/not-here/);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(berth.ps({ all: true })).toEqual([]);
    expect(
      berth
        .listImages()
        .map((i) => i.names)
        .flat(),
    ).not.toContain('localhost:1/not-here:1');
  });
});

describe('-1 after a space', () => {
  it('--memory-swap -1 and --pids-limit -1 are values, not flags', async () => {
    const r = await cli(['create', '--name', 'neg', '-m', '64m', '--memory-swap', '-1', '--pids-limit', '-1', 'busybox', 'true']);
    expect(r.code, r.stderr).toBe(0);
    const { limits } = berth.inspect('neg').config;
    expect(limits).toMatchObject({ memory: 64 * 1024 * 1024, memorySwap: -1, pidsLimit: -1 });
    const run = await cli(['run', '--rm', '--network', 'none', '--pids-limit', '-1', 'busybox', 'cat', '/sys/fs/cgroup/pids/pids.max']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('max');
  });
});

describe('--stop-signal, --stop-timeout and the image’s STOPSIGNAL', () => {
  /** PID 1 that exits 0 on SIGUSR1 only (SIGTERM, without a handler, does nothing to a PID 1). */
  const USR1_ONLY = ['sh', '-c', 'trap "exit 0" USR1; while true; do sleep 0.1; done'];

  async function timedStop(ref: string, args: string[] = []): Promise<{ ms: number; exitCode?: number }> {
    const t = Date.now();
    const r = await cli(['stop', ...args, ref]);
    expect(r.code, r.stderr).toBe(0);
    return { ms: Date.now() - t, exitCode: berth.inspect(ref).state.exitCode };
  }

  it('stop sends --stop-signal; the OCI config carries it as an annotation', async () => {
    const r = await cli(['run', '-d', '--name', 'usr1', '--network', 'none', '--stop-signal', 'SIGUSR1', 'busybox', ...USR1_ONLY]);
    expect(r.code, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 300)); // the trap is set
    const c = berth.inspect('usr1');
    expect(c.config.stopSignal).toBe(10);
    expect(c.ociConfig?.annotations?.['org.opencontainers.image.stopSignal']).toBe('SIGUSR1');
    const s = await timedStop('usr1');
    expect(s.exitCode).toBe(0);
    expect(s.ms).toBeLessThan(5000);
  });

  it('--stop-timeout bounds the wait before SIGKILL; stop -t overrides it', async () => {
    expect((await cli(['run', '-d', '--name', 'term', '--network', 'none', '--stop-timeout', '1', 'busybox', ...USR1_ONLY])).code).toBe(0);
    await new Promise((res) => setTimeout(res, 300));
    const s = await timedStop('term');
    expect(s.exitCode).toBe(137); // SIGTERM ignored, SIGKILL after 1s
    expect(s.ms).toBeGreaterThanOrEqual(900);
    expect(s.ms).toBeLessThan(6000);

    expect((await cli(['run', '-d', '--name', 'long', '--network', 'none', '--stop-timeout', '60', 'busybox', ...USR1_ONLY])).code).toBe(0);
    const quick = await timedStop('long', ['-t', '0']);
    expect(quick.exitCode).toBe(137);
    expect(quick.ms).toBeLessThan(5000);
    await refused(['create', '--stop-timeout', 'soon', 'busybox', 'true'], /--stop-timeout/);
    await refused(['create', '--stop-signal', 'SIGNOPE', 'busybox', 'true'], /--stop-signal/);
  });

  it("the image's STOPSIGNAL (commit --change) is what stop sends unless --stop-signal", async () => {
    expect((await cli(['create', '--name', 'base', 'busybox', 'true'])).code).toBe(0);
    const commit = await cli(['commit', '--change', 'STOPSIGNAL SIGUSR1', 'base', 'usr1img']);
    expect(commit.code, commit.stderr).toBe(0);
    expect(berth.images.resolve('usr1img').config.config?.StopSignal).toBe('SIGUSR1');
    expect((await cli(['run', '-d', '--name', 'fromimg', '--network', 'none', 'usr1img', ...USR1_ONLY])).code).toBe(0);
    await new Promise((res) => setTimeout(res, 300));
    const s = await timedStop('fromimg');
    expect(s.exitCode).toBe(0);
    expect(s.ms).toBeLessThan(5000);
    // --stop-signal wins over the image's
    expect((await cli(['run', '-d', '--name', 'over', '--network', 'none', '--stop-signal', 'KILL', 'usr1img', ...USR1_ONLY])).code).toBe(
      0,
    );
    expect((await timedStop('over')).exitCode).toBe(137);
    for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true });
    await cli(['rmi', 'usr1img']);
  });
});

describe.skipIf(missingTools().length > 0)('--platform with a multi-platform image in a registry', () => {
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const otherArch = hostArch === 'amd64' ? 'arm64' : 'amd64';
  let registry: TestRegistry;
  let work: string;
  let ref: string;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-platform-'));
    registry = await startRegistry(path.join(work, 'registry'));
    const layout = path.join(work, 'layout');
    for (const arch of [hostArch, otherArch]) {
      const dir = path.join(work, arch);
      fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'etc/platform'), `${arch}\n`);
      buildImage(layout, `plat-${arch}`, [busyboxTar(), layerTar(dir, path.join(work, `${arch}.tar`))], arch);
    }
    buildIndex(layout, 'multi', [
      { tag: `plat-${otherArch}`, architecture: otherArch },
      { tag: `plat-${hostArch}`, architecture: hostArch },
    ]);
    ref = `${registry.host}/multi:latest`;
    push(layout, 'multi', ref, { all: true, format: 'oci' });
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('a missing image is pulled for the platform asked; a platform the index lacks is one line', async () => {
    const c = await cli(['create', '-q', '--platform', `linux/${otherArch}`, ref, 'true']);
    expect(c.code, c.stderr).toBe(0);
    expect(berth.images.resolve(ref).config.architecture).toBe(otherArch);
    // the image now is the other platform's: asking for the host's again is refused, unless pulled
    await refused(['run', '--rm', '--platform', `linux/${hostArch}`, ref, 'true'], /does not match the specified platform/);
    const r = await cli([
      'run',
      '--rm',
      '--pull',
      'always',
      '--platform',
      `linux/${hostArch}`,
      '--network',
      'none',
      ref,
      'cat',
      '/etc/platform',
    ]);
    expect({ code: r.code, stdout: r.stdout }, r.stderr).toEqual({ code: 0, stdout: `${hostArch}\n` });
    // the pull's own error is the cause line under run's
    const none = await cli(['create', '--pull', 'always', '--platform', 'linux/s390x', ref, 'true']);
    expect(none.code).toBe(125);
    expect(none.stderr).toMatch(
      /caused by: .* has no image for linux\/s390x \(it has linux\/\w+, linux\/\w+\); choose one with --platform\n$/,
    );
    expect(berth.ps({ all: true }).map((x) => x.config.image)).toEqual([ref]);
  });
});
