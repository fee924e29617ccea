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
import { freeHostPort, leases, netChanges, netSnapshot, removeCniBaseChains, restoreIpForward, testSubnets, type NetSnapshot } from '../helpers/network';

const haveCni = fs.existsSync('/usr/lib/cni/bridge') && fs.existsSync('/usr/lib/cni/portmap') && fs.existsSync('/usr/lib/cni/host-local');

let roots: TempRoots;
let berth: Berth;
let initial: NetSnapshot;
let before: HostSnapshot;
let subnets: string[];
// Bridges are host-wide: a per-run tag keeps two runs (two checkouts) from fighting over one name.
const TAG = Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0');
const bridge = (n: number) => `bt${TAG}b${n}`;
const NET = 'bt-net';
const INTERNAL = 'bt-internal';
const running: ContainerProcess[] = [];

/** Name lookups stay in /etc/hosts: glibc's default without nsswitch.conf asks DNS first. */
const FILES_ONLY = 'echo "hosts: files" > /etc/nsswitch.conf';
const base: Partial<SpawnOptions> = { image: 'busybox', rm: true, dns: ['127.0.0.1'] };

const sh = (script: string, opts: Partial<SpawnOptions> = {}) => berth.run({ ...base, cmd: ['sh', '-c', `${FILES_ONLY}; ${script}`], ...opts } as SpawnOptions);

function serve(name: string, opts: Partial<SpawnOptions> = {}, body = `hello from ${name}`): ContainerProcess {
  const p = berth.spawn({
    ...base, name, network: NET, ...opts,
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
const NC_GET = (host: string) => `for i in $(seq 50); do printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 ${host} 8080 && break; sleep 0.1; done`;

describe.skipIf(!haveCni)('bridge networks (CNI)', () => {
  beforeAll(async () => {
    initial = netSnapshot();
    roots = tempRoots();
    berth = new Berth({ root: roots.root, runRoot: roots.runRoot });
    await berth.importImage(busyboxTar(), 'busybox');
    subnets = testSubnets(3);
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
    const reply = await retry(() => httpGet('127.0.0.1', port), (s) => s.includes('hello from bt-published'));
    expect(reply).toContain('hello from bt-published');
    const ports = berth.port(server.id);
    expect(ports[0]).toEqual({ hostIP: '127.0.0.1', hostPort: port, containerPort: 8080, protocol: 'tcp' });
    // the second mapping got a free host port of the ephemeral range
    expect(ports[1].hostPort).toBeGreaterThanOrEqual(32768);
    expect(await retry(() => httpGet('127.0.0.1', ports[1].hostPort), (s) => s.includes('hello'))).toContain('hello from bt-published');
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

  it('--network host shares the host\'s network namespace', async () => {
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
      network: NET, ip, mac: '02:42:0a:e7:00:c8', dns: ['10.231.255.53'], addHosts: ['db:10.231.255.5', 'gw:host-gateway'],
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

    // the CLI dies with SIGKILL: its container dies with it (parent death signal), nobody runs DEL
    const cli = spawn(process.execPath, [CLI_PATH, 'run', '--name', 'bt-orphan', '--network', NET, '-p', `${freeHostPort(38300)}:80`, 'busybox', 'sleep', '60'], {
      env: { ...process.env, BERTH_ROOT: roots.root, BERTH_RUNROOT: roots.runRoot }, stdio: 'ignore',
    });
    await retry(async () => leases(roots.runRoot, NET).length, (n) => n === 1);
    await retry(async () => berth.ps().length, (n) => n === 1);
    cli.kill('SIGKILL');
    await new Promise((r) => cli.once('exit', r));
    await retry(async () => berth.ps().length, (n) => n === 0); // ps repairs: DEL without the namespace
    expect(leases(roots.runRoot, NET)).toEqual([]);
    expect(netChanges(snap)).toEqual([]);
    await berth.remove('bt-orphan');
  });

  it('refuses to remove a network in use; CLI network create/ls/inspect/rm', async () => {
    serve('bt-user');
    expect(() => berth.removeNetwork(NET)).toThrow(/in use by container bt-user/);
    const cli = (args: string[]) => runCli(args, { roots });
    const created = await cli(['network', 'create', '--subnet', subnets[2], '--bridge', bridge(2), 'bt-cli']);
    expect(created.code).toBe(0);
    expect((await cli(['network', 'ls'])).stdout).toMatch(new RegExp(`bt-cli\\s+bridge\\s+${subnets[2].replace(/\./g, '\\.')}\\s+${bridge(2)}\\s+false`));
    const inspected = JSON.parse((await cli(['network', 'inspect', NET])).stdout);
    expect(inspected[0].containers.map((c: { name: string }) => c.name)).toEqual(['bt-user']);
    const dup = await cli(['network', 'create', '--subnet', subnets[2], 'bt-cli2']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toMatch(/overlaps network bt-cli/);
    expect((await cli(['run', '--rm', '--network', 'bt-cli', 'busybox', 'sh', '-c', 'ip -4 addr show eth0 | grep -o "inet [0-9.]*"'])).stdout).toMatch(/^inet 10\.231\./);
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
    expect(berth.listNetworks().filter((n) => n.name !== 'berth').every((n) => !overlaps(parseSubnet(n.subnet), subnet))).toBe(true);
    expect(() => berth.createNetwork({ name: 'bridge' })).toThrow(/reserved/);
    berth.removeNetwork('berth');
    expect(berth.listNetworks().map((n) => n.name)).not.toContain('berth');
  });

  it('a missing plugin fails with the Debian package to install, leaving nothing behind', async () => {
    const broken = new Berth({ root: roots.root, runRoot: roots.runRoot, cniPath: [path.join(roots.base, 'no-cni')] });
    const count = broken.ps({ all: true }).length;
    await expect(broken.run({ ...base, network: NET, cmd: ['true'] } as SpawnOptions)).rejects.toThrow(
      /CNI plugin "bridge" not found in .*: install the Debian package containernetworking-plugins/,
    );
    expect(broken.ps({ all: true }).length).toBe(count);
    expect(leases(roots.runRoot, NET)).toEqual([]);
  });

  it('detached containers join their network after the shim starts them, and leave it when stopped', async () => {
    const snap = netSnapshot();
    const info = await berth.runDetached({ image: 'busybox', name: 'bt-detached', network: NET, cmd: ['sleep', '60'] });
    expect(info.state.status).toBe('running');
    const ip = berth.inspect('bt-detached').network!.ip;
    expect(await execOut('bt-detached', ['ip', '-4', 'addr', 'show', 'eth0'])).toContain(`inet ${ip}/`);
    await berth.stop('bt-detached', { timeout: 0 });
    berth.ps({ all: true }); // whoever looks next releases the network of the stopped container
    expect(leases(roots.runRoot, NET)).toEqual([]);
    expect(netChanges(snap)).toEqual([]);
    await berth.remove('bt-detached');
  });
});

