/**
 * Bridge networking through the CNI plugins, on real bridges. Every network here is the test's own
 * (names bt-*, bridges bt-*, subnets of 10.231.0.0/16 that overlap nothing on the host): the default
 * network `berth` and its berth0 are never touched. Traffic goes only between the host's loopback
 * and the containers' own addresses; containers resolve names from /etc/hosts only (nsswitch
 * "hosts: files", nameserver 127.0.0.1 of their own namespace), so no DNS query leaves them.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Berth, type ContainerProcess, type SpawnOptions } from '../../src/index';
import { CLI_PATH, hostChanges, hostSnapshot, runCli, tempRoots, type HostSnapshot, type TempRoots } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';
import { hostPrefixes, overlaps, parseSubnet } from '../../src/network/subnet';
import {
  freeHostPort,
  leases,
  netChanges,
  netSnapshot,
  removeCniBaseChains,
  restoreIpForward,
  testSubnets,
  type NetSnapshot,
} from '../helpers/network';

const haveCni = fs.existsSync('/usr/lib/cni/bridge') && fs.existsSync('/usr/lib/cni/portmap') && fs.existsSync('/usr/lib/cni/host-local');

let roots: TempRoots;
let berth: Berth;
let initial: NetSnapshot;
let before: HostSnapshot;
let subnets: string[];
// Bridges are host-wide: a per-run tag keeps two runs (two checkouts) from fighting over one name.
const TAG = Math.floor(Math.random() * 0xffff)
  .toString(16)
  .padStart(4, '0');
const bridge = (n: number) => `bt${TAG}b${n}`;
const NET = 'bt-net';
const INTERNAL = 'bt-internal';
const running: ContainerProcess[] = [];

/** Name lookups stay in /etc/hosts: glibc's default without nsswitch.conf asks DNS first. */
const FILES_ONLY = 'echo "hosts: files" > /etc/nsswitch.conf';
const base: Partial<SpawnOptions> = { image: 'busybox', rm: true, dns: ['127.0.0.1'] };

const sh = (script: string, opts: Partial<SpawnOptions> = {}) =>
  berth.run({ ...base, cmd: ['sh', '-c', `${FILES_ONLY}; ${script}`], ...opts } as SpawnOptions);

function serve(name: string, opts: Partial<SpawnOptions> = {}, body = `hello from ${name}`): ContainerProcess {
  const p = berth.spawn({
    ...base,
    name,
    network: NET,
    ...opts,
    cmd: ['sh', '-c', `mkdir -p /srv && echo "${body}" > /srv/index.html && exec httpd -f -p 8080 -h /srv`],
  } as SpawnOptions);
  running.push(p);
  return p;
}

async function execOut(ref: string, cmd: string[]): Promise<string> {
  const p = berth.exec(ref, { cmd });
  const out: Buffer[] = [];
  p.stdout?.on('data', (b: Buffer) => out.push(b));
  await p.wait();
  return Buffer.concat(out).toString();
}

/** An HTTP GET from the host; only ever to 127.0.0.1 or a container address. */
function httpGet(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const chunks: Buffer[] = [];
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`timeout connecting to ${host}:${port}`)));
    s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', (b) => chunks.push(b));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

async function retry<T>(fn: () => Promise<T>, ok: (v: T) => boolean, tries = 50): Promise<T> {
  let last: T | undefined;
  let err: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (e) {
      err = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (last !== undefined) return last;
  throw err;
}

/** A client request by name from inside a container, with busybox nc (its wget segfaults on name
 *  lookups when statically linked against glibc). */
const NC_GET = (host: string) =>
  `for i in $(seq 50); do printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 ${host} 8080 && break; sleep 0.1; done`;

describe.skipIf(!haveCni)('bridge networks (CNI)', () => {
  beforeAll(async () => {
    initial = netSnapshot();
    roots = tempRoots();
    berth = new Berth({ root: roots.root, runRoot: roots.runRoot });
    await berth.importImage(busyboxTar(), 'busybox');
    subnets = testSubnets(5);
    berth.createNetwork({ name: NET, subnet: subnets[0], bridge: bridge(0) });
    berth.createNetwork({ name: INTERNAL, subnet: subnets[1], bridge: bridge(1), internal: true });
  });

  afterAll(async () => {
    for (const p of running) p.kill('SIGKILL');
    await Promise.all(running.map((p) => p.wait()));
    try {
      for (const n of berth.listNetworks()) berth.removeNetwork(n.name);
      expect(leases(roots.runRoot, NET)).toEqual([]);
    } finally {
      // what the plugins keep for good once used (portmap's base chains, ip_forward): undone here
      removeCniBaseChains(initial);
      restoreIpForward(initial);
      roots.cleanup();
    }
    expect(netChanges(initial, netSnapshot(), { ipForward: true })).toEqual([]);
  });

  beforeEach(() => {
    before = hostSnapshot();
  });
  afterEach(async () => {
    for (const p of running.splice(0)) {
      p.kill('SIGKILL');
      await p.wait();
    }
    expect(hostChanges(before)).toEqual([]);
  });

  it('two containers on a user network exchange data by name; /etc/hosts follows joins and leaves', async () => {
    const server = serve('bt-server');
    const r = await sh(`cat /etc/hosts; ${NC_GET('bt-server')}`, { network: NET, name: 'bt-client' });
    expect(r.stdout).toMatch(/\r?\n\r?\nhello from bt-server/);
    const hosts = r.stdout.split('\n');
    expect(hosts.some((l) => /^10\.231\.\d+\.\d+\tbt-server$/.test(l))).toBe(true);
    expect(hosts.some((l) => /^10\.231\.\d+\.\d+\t\w+ bt-client$/.test(l))).toBe(true);

    // a long-running peer appears in the server's /etc/hosts, and goes when it stops
    const peer = berth.spawn({ ...base, name: 'bt-peer', network: NET, cmd: ['sleep', '60'] } as SpawnOptions);
    running.push(peer);
    expect(await execOut('bt-server', ['cat', '/etc/hosts'])).toMatch(/\tbt-peer\n/);
    peer.kill('SIGKILL');
    await peer.wait();
    expect(await execOut('bt-server', ['cat', '/etc/hosts'])).not.toMatch(/bt-peer/);

    // exec joins the container's network namespace
    const addr = await execOut('bt-server', ['ip', '-4', 'addr', 'show', 'eth0']);
    expect(addr).toContain(`inet ${berth.inspect('bt-server').network!.ip}/24`);
    berth.runtime.networks.check(server.id); // CNI CHECK agrees
  });

  it('publishes a port that answers from the host on 127.0.0.1, and berth port shows it', async () => {
    const port = freeHostPort();
    const server = serve('bt-published', { publish: [`127.0.0.1:${port}:8080`, '8080/tcp'] });
    const reply = await retry(
      () => httpGet('127.0.0.1', port),
      (s) => s.includes('hello from bt-published'),
    );
    expect(reply).toContain('hello from bt-published');
    const ports = berth.port(server.id);
    expect(ports[0]).toEqual({ hostIP: '127.0.0.1', hostPort: port, containerPort: 8080, protocol: 'tcp' });
    // the second mapping got a free host port of the ephemeral range
    expect(ports[1].hostPort).toBeGreaterThanOrEqual(32768);
    expect(
      await retry(
        () => httpGet('127.0.0.1', ports[1].hostPort),
        (s) => s.includes('hello'),
      ),
    ).toContain('hello from bt-published');
    const cli = await runCli(['port', 'bt-published'], { roots });
    expect(cli.stdout).toBe(`8080/tcp -> 127.0.0.1:${port}\n8080/tcp -> 0.0.0.0:${ports[1].hostPort}\n`);
    // the container's own address, from the host, on the bridge
    expect(await httpGet(berth.inspect(server.id).network!.ip, 8080)).toContain('hello from bt-published');
    // a host port taken by another container is refused
    await expect(sh('true', { network: NET, publish: [`127.0.0.1:${port}:80`] })).rejects.toThrow(/port is already allocated/);
  });

  it('--network none (and no network option) has only lo', async () => {
    expect((await sh('ls /sys/class/net', { network: 'none' })).stdout).toBe('lo\n');
    expect((await sh('ls /sys/class/net')).stdout).toBe('lo\n');
  });

  it("--network host shares the host's network namespace", async () => {
    const r = await sh('ls /sys/class/net', { network: 'host' });
    expect(r.stdout.trim().split('\n').sort()).toEqual(fs.readdirSync('/sys/class/net').sort());
  });

  it('an --internal network has no default route; its containers still reach each other', async () => {
    serve('bt-inner', { network: INTERNAL });
    const r = await sh(`ip route; ${NC_GET('bt-inner')}`, { network: INTERNAL });
    const routes = r.stdout.split('\n').filter((l) => /^(default|\d+\.\d+\.\d+\.\d+\/\d+) /.test(l));
    expect(routes).toEqual([expect.stringMatching(new RegExp(`^${subnets[1].replace(/\./g, '\\.')} dev eth0`))]);
    expect(r.stdout).toContain('hello from bt-inner');
    await expect(sh('true', { network: INTERNAL, publish: ['8080'] })).rejects.toThrow(/internal/);
  });

  it('takes --ip, --mac-address, --dns and --add-host', async () => {
    const ip = subnets[0].replace(/\.0\/24$/, '.200');
    const r = await sh('ip -4 addr show eth0; cat /sys/class/net/eth0/address; cat /etc/resolv.conf; grep db /etc/hosts', {
      network: NET,
      ip,
      mac: '02:42:0a:e7:00:c8',
      dns: ['10.231.255.53'],
      addHosts: ['db:10.231.255.5', 'gw:host-gateway'],
    });
    expect(r.stdout).toContain(`inet ${ip}/24`);
    expect(r.stdout).toContain('02:42:0a:e7:00:c8\n');
    expect(r.stdout).toMatch(/^nameserver 10\.231\.255\.53$/m);
    expect(r.stdout).toContain('10.231.255.5\tdb\n');
    await expect(sh('true', { network: NET, ip: '10.1.2.3' })).rejects.toThrow(/not in subnet/);
    await expect(sh('true', { ip })).rejects.toThrow(/--ip needs a user-defined network/);
    await expect(sh('true', { network: 'bt-nope' })).rejects.toThrow(/Network bt-nope not found/);
  });

  it('after 30 runs with rm the host has the same links, iptables rules and free addresses', async () => {
    const port = freeHostPort(38200);
    await sh('true', { network: NET, publish: [`${port}:80`] }); // portmap's base chains exist from now on
    const snap = netSnapshot();
    const leased = leases(roots.runRoot, NET);
    for (let i = 0; i < 30; i++) {
      const r = await sh('ip -4 addr show eth0 | grep -c inet', { network: NET, publish: [`${port}:80`] });
      expect(r.stdout).toBe('1\n');
    }
    expect(netChanges(snap)).toEqual([]);
    expect(leases(roots.runRoot, NET)).toEqual(leased);
    expect(fs.readdirSync(path.join(roots.runRoot, 'cni', 'attachments'))).toEqual([]);
  });

  it('releases the network on rm -f and when the process vanished with berth (kill -9)', async () => {
    const snap = netSnapshot();
    const p = berth.spawn({ ...base, name: 'bt-victim', network: NET, cmd: ['sleep', '60'], rm: false } as SpawnOptions);
    expect(leases(roots.runRoot, NET).length).toBe(1);
    await berth.remove('bt-victim', { force: true });
    await p.wait();
    expect(leases(roots.runRoot, NET)).toEqual([]);
    expect(netChanges(snap)).toEqual([]);

    // the CLI dies with SIGKILL: it was only attached to its container (docker's run, under the
    // shim), which keeps running with its network; rm -f releases it
    const cli = spawn(
      process.execPath,
      [CLI_PATH, 'run', '--name', 'bt-orphan', '--network', NET, '-p', `${freeHostPort(38300)}:80`, 'busybox', 'sleep', '60'],
      {
        env: { ...process.env, BERTH_ROOT: roots.root, BERTH_RUNROOT: roots.runRoot },
        stdio: 'ignore',
      },
    );
    await retry(
      async () => leases(roots.runRoot, NET).length,
      (n) => n === 1,
    );
    await retry(
      async () => berth.ps().length,
      (n) => n === 1,
    );
    cli.kill('SIGKILL');
    await new Promise((r) => cli.once('exit', r));
    expect(berth.ps().map((c) => c.config.name)).toEqual(['bt-orphan']);
    expect(leases(roots.runRoot, NET).length).toBe(1);
    await berth.remove('bt-orphan', { force: true });
    expect(leases(roots.runRoot, NET)).toEqual([]);
    expect(netChanges(snap)).toEqual([]);
  });

  it('refuses to remove a network in use; CLI network create/ls/inspect/rm', async () => {
    serve('bt-user');
    expect(() => berth.removeNetwork(NET)).toThrow(/in use by container bt-user/);
    const cli = (args: string[]) => runCli(args, { roots });
    const created = await cli(['network', 'create', '--subnet', subnets[2], '--bridge', bridge(2), 'bt-cli']);
    expect(created.code).toBe(0);
    expect((await cli(['network', 'ls'])).stdout).toMatch(
      new RegExp(`bt-cli\\s+bridge\\s+${subnets[2].replace(/\./g, '\\.')}\\s+${bridge(2)}\\s+false`),
    );
    const inspected = JSON.parse((await cli(['network', 'inspect', NET])).stdout);
    expect(inspected[0].containers.map((c: { name: string }) => c.name)).toEqual(['bt-user']);
    const dup = await cli(['network', 'create', '--subnet', subnets[2], 'bt-cli2']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toMatch(/overlaps network bt-cli/);
    expect(
      (await cli(['run', '--rm', '--network', 'bt-cli', 'busybox', 'sh', '-c', 'ip -4 addr show eth0 | grep -o "inet [0-9.]*"'])).stdout,
    ).toMatch(/^inet 10\.231\./);
    expect((await cli(['network', 'rm', 'bt-cli'])).code).toBe(0);
    expect(fs.existsSync(`/sys/class/net/${bridge(2)}`)).toBe(false);
  });

  it('makes the default network `berth` on first use, on a /24 no host route overlaps (conflist only here)', () => {
    // no container joins it: its bridge is never created, the host stays untouched
    const { info } = berth.runtime.networks.store.get('bridge');
    expect(info).toMatchObject({ name: 'berth', driver: 'bridge', internal: false });
    expect(info.bridge).toMatch(/^berth\d+$/);
    const subnet = parseSubnet(info.subnet);
    expect(subnet.prefix).toBe(24);
    expect(hostPrefixes().filter((p) => overlaps(p, subnet))).toEqual([]);
    expect(
      berth
        .listNetworks()
        .filter((n) => n.name !== 'berth')
        .every((n) => !overlaps(parseSubnet(n.subnet), subnet)),
    ).toBe(true);
    expect(() => berth.createNetwork({ name: 'bridge' })).toThrow(/reserved/);
    berth.removeNetwork('berth');
    expect(berth.listNetworks().map((n) => n.name)).not.toContain('berth');
  });

  it('without --network a container joins the default network `berth` (berth0 here replaced by a test bridge)', async () => {
    const saved = process.env.BERTH_DEFAULT_NETWORK;
    delete process.env.BERTH_DEFAULT_NETWORK; // test/setup.ts sets none for every other test
    try {
      const plain = new Berth({ root: roots.root, runRoot: roots.runRoot });
      plain.createNetwork({ name: 'berth', subnet: subnets[3], bridge: bridge(3) });
      const r = await plain.run({ image: 'busybox', rm: true, cmd: ['sh', '-c', 'ip -4 -o addr show eth0 | grep -o "inet [0-9.]*"'] });
      expect(r.stdout).toMatch(new RegExp(`^inet ${subnets[3].replace(/\.0\/24$/, '').replace(/\./g, '\\.')}\\.\\d+\n$`));
      const none = await plain.run({ image: 'busybox', rm: true, network: 'none', cmd: ['ls', '/sys/class/net'] });
      expect(none.stdout).toBe('lo\n');
    } finally {
      if (saved !== undefined) process.env.BERTH_DEFAULT_NETWORK = saved;
      berth.removeNetwork('berth');
    }
    expect(fs.existsSync(`/sys/class/net/${bridge(3)}`)).toBe(false);
  });

  it('--driver cni: containers join through the CNI plugins; a missing plugin fails with the Debian package to install, leaving nothing behind', async () => {
    const snap = netSnapshot();
    const cni = runCli(['network', 'create', '--driver', 'cni', '--subnet', subnets[4], '--bridge', bridge(4), 'bt-cni'], { roots });
    expect((await cni).code).toBe(0);
    expect(berth.inspectNetwork('bt-cni').driver).toBe('cni');
    const port = freeHostPort(38600);
    const r = await sh('ip -4 -o addr show eth0 | grep -o "inet [0-9.]*"; ip route | grep default', {
      network: 'bt-cni',
      publish: [`127.0.0.1:${port}:80`],
    });
    expect(r.stdout).toMatch(new RegExp(`^inet ${subnets[4].replace(/\.0\/24$/, '').replace(/\./g, '\\.')}\\.\\d+\ndefault via `));
    expect(leases(roots.runRoot, 'bt-cni')).toEqual([]);

    const broken = new Berth({ root: roots.root, runRoot: roots.runRoot, cniPath: [path.join(roots.base, 'no-cni')] });
    const count = broken.ps({ all: true }).length;
    await expect(broken.run({ ...base, network: 'bt-cni', cmd: ['true'] } as SpawnOptions)).rejects.toThrow(
      /CNI plugin "bridge" not found in .*: install the Debian package containernetworking-plugins/,
    );
    expect(broken.ps({ all: true }).length).toBe(count);
    expect(leases(roots.runRoot, 'bt-cni')).toEqual([]);
    berth.removeNetwork('bt-cni');
    expect(fs.existsSync(`/sys/class/net/${bridge(4)}`)).toBe(false);
    // what the plugins keep for good (portmap's base chains) is undone by afterAll
    expect(netChanges(snap).filter((c) => !/CNI-/.test(c))).toEqual([]);
  });

  it('detached containers have their network before their command runs, keep it across restarts and leave it when stopped', async () => {
    const snap = netSnapshot();
    // the command prints its address first thing; the shim restarts it once (exit 3), in the same namespace
    await berth.runDetached({
      image: 'busybox',
      name: 'bt-detached',
      network: NET,
      restart: 'on-failure:1',
      cmd: ['sh', '-c', 'ip -4 -o addr show eth0 | grep -o "inet [0-9.]*"; test -e /restarted && exec sleep 60; touch /restarted; exit 3'],
    });
    await retry(
      async () => berth.inspect('bt-detached').state,
      (s) => s.restartCount === 1 && s.status === 'running',
    );
    const ip = berth.inspect('bt-detached').network!.ip;
    const logged = await retry(
      async () => {
        const out: string[] = [];
        for await (const e of berth.logs('bt-detached')) out.push(e.log);
        return out;
      },
      (l) => l.length === 2,
    );
    expect(logged).toEqual([`inet ${ip}\n`, `inet ${ip}\n`]);
    expect(leases(roots.runRoot, NET).length).toBe(1);
    await berth.stop('bt-detached', { timeout: 0 });
    expect(leases(roots.runRoot, NET)).toEqual([]);
    expect(netChanges(snap)).toEqual([]);
    expect(fs.readdirSync(path.join(roots.runRoot, 'netns'))).toEqual([]);
    // started again: a new namespace, an address again
    await berth.start('bt-detached');
    expect(berth.inspect('bt-detached').network?.ip).toMatch(/^10\.231\./);
    await berth.remove('bt-detached', { force: true });
    expect(leases(roots.runRoot, NET)).toEqual([]);
    expect(netChanges(snap)).toEqual([]);
  });

  it("a detached container that exits by itself leaves its network at once (the shim's exit command), --rm too", async () => {
    const snap = netSnapshot();
    await berth.runDetached({
      image: 'busybox',
      name: 'bt-brief',
      network: NET,
      publish: [`${freeHostPort(38500)}:80`],
      cmd: ['sleep', '0.2'],
    });
    await berth.runDetached({ image: 'busybox', name: 'bt-brief-rm', network: NET, rm: true, cmd: ['sleep', '0.2'] });
    expect(leases(roots.runRoot, NET).length).toBe(2);
    // no berth call in between: only the shims' exit commands can have released them
    const left = await retry(
      async () => ({ leases: leases(roots.runRoot, NET), net: netChanges(snap), netns: fs.readdirSync(path.join(roots.runRoot, 'netns')) }),
      (s) => s.leases.length === 0 && s.net.length === 0 && s.netns.length === 0,
    );
    expect(left).toEqual({ leases: [], net: [], netns: [] });
    expect(berth.inspect('bt-brief').state).toMatchObject({ status: 'exited', exitCode: 0 });
    expect(() => berth.inspect('bt-brief-rm')).toThrow(/No such container/);
    await berth.remove('bt-brief');
  });

  it("a SIGKILLed shim: the next command releases its container's network, ports included", async () => {
    const snap = netSnapshot();
    const info = await berth.runDetached({
      image: 'busybox',
      name: 'bt-shimkill',
      network: NET,
      publish: [`${freeHostPort(38400)}:80`],
      cmd: ['sleep', '60'],
    });
    expect(netChanges(snap).length).toBeGreaterThan(0);
    process.kill(info.state.shimPid!, 'SIGKILL');
    await retry(
      async () => berth.ps().length,
      (n) => n === 0,
    );
    expect(leases(roots.runRoot, NET)).toEqual([]);
    expect(netChanges(snap)).toEqual([]);
    expect(fs.readdirSync(path.join(roots.runRoot, 'netns'))).toEqual([]);
    await berth.remove('bt-shimkill');
  });

  it("a berth killed before it handed a detached container's network to the shim: the next sweep gives it to the shim", async () => {
    const info = await berth.runDetached({ image: 'busybox', name: 'bt-orphaned', network: NET, cmd: ['sleep', '60'] });
    // as a crash between the shim's start and setOwner leaves it: owned by a process that is gone
    const file = path.join(roots.runRoot, 'cni', 'attachments', `${info.config.id}.json`);
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), pid: dead.pid, pidStartTime: 1 }));
    expect(berth.ps().map((c) => c.config.name)).toContain('bt-orphaned'); // sweeps
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(rec.pid).toBe(info.state.shimPid);
    expect(leases(roots.runRoot, NET).length).toBe(1);
    expect(await execOut('bt-orphaned', ['ip', '-4', 'addr', 'show', 'eth0'])).toContain(
      `inet ${berth.inspect('bt-orphaned').network!.ip}/`,
    );
    // a second start of the same container, while the first lives, takes nothing of its network
    const c = berth.inspect('bt-orphaned').config;
    expect(() => berth.runtime.attachNetworks(c, berth.runtime.store.containerDir(c.id))).toThrow(/already running or being started/);
    expect(leases(roots.runRoot, NET).length).toBe(1);
    // the shim's exit command, given something that is not a container ID: one line, exit 125
    const bad = await runCli(['container', 'cleanup', 'nope'], { roots });
    expect([bad.code, bad.stderr]).toEqual([125, 'berth: Expected a full container ID but received "nope"\n']);
    await berth.remove('bt-orphaned', { force: true });
    expect(leases(roots.runRoot, NET)).toEqual([]);
  });

  it('network connect/disconnect: a running container gets an interface on another network, and loses it', async () => {
    const snap = netSnapshot();
    serve('bt-inner2', { network: INTERNAL }, 'hello from the inside');
    await berth.runDetached({
      image: 'busybox',
      name: 'bt-roamer',
      network: NET,
      dns: ['127.0.0.1'],
      cmd: ['sh', '-c', `${FILES_ONLY}; exec sleep 60`],
    });
    expect(berth.connectNetwork(INTERNAL, 'bt-roamer').config.connected).toEqual([{ name: INTERNAL }]);
    const nets = berth.inspect('bt-roamer').networks!;
    expect(nets.map((n) => n.network)).toEqual([NET, INTERNAL]);
    expect(await execOut('bt-roamer', ['ip', '-4', 'addr', 'show', 'eth1'])).toContain(`inet ${nets[1].ip}/24`);
    // by name, over the new interface; the peer's /etc/hosts has it too
    expect(await execOut('bt-roamer', ['sh', '-c', NC_GET('bt-inner2')])).toMatch(/hello from the inside/);
    expect(await execOut('bt-inner2', ['cat', '/etc/hosts'])).toMatch(/\tbt-roamer\n/);
    expect(() => berth.connectNetwork(INTERNAL, 'bt-roamer')).toThrow(/already connected to network "bt-internal"/);
    expect(() => berth.disconnectNetwork(NET, 'bt-roamer')).toThrow(/created on network "bt-net"/);
    expect(() => berth.disconnectNetwork('bt-nope', 'bt-roamer')).toThrow(/not connected to network "bt-nope"/);
    // bad input: one clear error each, and the container's networks as they were
    expect(() => berth.connectNetwork('bt-nope', 'bt-roamer')).toThrow(
      'Network bt-nope not found; create it with berth network create bt-nope',
    );
    expect(() => berth.connectNetwork(INTERNAL, 'bt-roamer', { ip: '10.231.999.1' })).toThrow(/Expected an IPv4 address for --ip/);
    expect(berth.inspect('bt-roamer').networks!.map((n) => n.network)).toEqual([NET, INTERNAL]);

    const cli = (args: string[]) => runCli(args, { roots });
    expect((await cli(['network', 'disconnect', INTERNAL, 'bt-roamer'])).code).toBe(0);
    expect(await execOut('bt-roamer', ['ip', '-o', 'link'])).not.toMatch(/eth1/);
    expect(await execOut('bt-inner2', ['cat', '/etc/hosts'])).not.toMatch(/bt-roamer/);
    expect(leases(roots.runRoot, INTERNAL).length).toBe(1); // bt-inner2's only: the address is free again

    // a connection is part of the container: made again on every start
    expect((await cli(['network', 'connect', INTERNAL, 'bt-roamer'])).code).toBe(0);
    await berth.stop('bt-roamer', { timeout: 0 });
    expect(leases(roots.runRoot, INTERNAL).length).toBe(1);
    await berth.start('bt-roamer');
    expect(berth.inspect('bt-roamer').networks!.map((n) => n.network)).toEqual([NET, INTERNAL]);
    const none = await berth.runDetached({ image: 'busybox', name: 'bt-loner', cmd: ['sleep', '60'] });
    expect(() => berth.connectNetwork(INTERNAL, none.config.id)).toThrow(/--network none: only a container created on a bridge network/);
    await berth.remove('bt-loner', { force: true });
    await berth.remove('bt-roamer', { force: true });
    expect(leases(roots.runRoot, NET)).toEqual([]);
    expect(leases(roots.runRoot, INTERNAL).length).toBe(1);
    for (const p of running.splice(0)) {
      p.kill('SIGKILL');
      await p.wait();
    }
    expect(netChanges(snap)).toEqual([]);
  });

  it('without iptables, a bridge network fails naming the Debian package, leaving nothing behind', async () => {
    // iptables hidden in a mount namespace of the CLI's own: a non-executable file bound over each copy
    const blank = path.join(roots.base, 'not-iptables');
    fs.writeFileSync(blank, '', { mode: 0o644 });
    const copies = [
      ...new Set(
        ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
          .map((d) => path.join(d, 'iptables'))
          .filter((f) => fs.existsSync(f))
          .map((f) => fs.realpathSync(f)),
      ),
    ];
    const hide = copies.map((f) => `mount --bind "${blank}" "${f}"`).join(' && ');
    const count = berth.ps({ all: true }).length;
    const r = await runCli(['--help'], { roots }); // the CLI path and environment, reused below
    expect(r.code).toBe(0);
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        'unshare',
        [
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          `${hide} && exec "$0" "$@"`,
          process.execPath,
          CLI_PATH,
          'run',
          '--rm',
          '--network',
          NET,
          'busybox',
          'true',
        ],
        { env: { ...process.env, BERTH_ROOT: roots.root, BERTH_RUNROOT: roots.runRoot }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(out.stderr).toMatch(/iptables not found: .*install the Debian package iptables/);
    expect(out.code).toBe(125);
    expect(berth.ps({ all: true }).length).toBe(count);
    expect(leases(roots.runRoot, NET)).toEqual([]);
  });
});
