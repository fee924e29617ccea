/**
 * The native bridge driver (src/network/native-bridge.ts, native/core/netlink.cc) on a real bridge:
 * while a container runs, its veth (host end on the bridge, container end eth0 with the address,
 * MAC and default route), its lease, its published port's chain and the network's own chains are
 * there; after a stop, and after a kill -9 of its shim and the next command, the container's part
 * is gone; after network rm, the network's too. The network is the test's own (bridge bt*, a
 * subnet of 10.231.0.0/16 no host route overlaps); traffic only from 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/index';
import { hostIfname } from '../../src/network/native-bridge';
import { dnatChain, natChain, portChain } from '../../src/network/native-rules';
import { tempRoots, type TempRoots } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';
import { freeHostPort, leases, netChanges, netSnapshot, restoreIpForward, testSubnets, type NetSnapshot } from '../helpers/network';

const haveTools = fs.existsSync('/usr/sbin/iptables-restore') || fs.existsSync('/sbin/iptables-restore');
const TAG = Math.floor(Math.random() * 0xffff)
  .toString(16)
  .padStart(4, '0');
const BRIDGE = `bt${TAG}nat`;
const NET = 'bt-native';

let roots: TempRoots;
let berth: Berth;
let initial: NetSnapshot;
let subnet: string;

const nat = () => execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' });

async function eventually<T>(fn: () => T, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  let v = fn();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    v = fn();
  }
  return v;
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.setTimeout(3000, () => s.destroy(new Error('timeout')));
    s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', (b) => chunks.push(b));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

async function execOut(ref: string, cmd: string[]): Promise<string> {
  const p = berth.exec(ref, { cmd });
  const out: Buffer[] = [];
  p.stdout?.on('data', (b: Buffer) => out.push(b));
  await p.wait();
  return Buffer.concat(out).toString();
}

/** What of one container exists on the host: its veth, its port chain, its lease. */
function containerTraces(id: string) {
  const veth = hostIfname(id, 'eth0');
  return {
    veth: fs.existsSync(`/sys/class/net/${veth}`),
    chain: nat().includes(`:${portChain(id)} `),
    leases: leases(roots.runRoot, NET).length,
  };
}

async function serve(name: string, port: number) {
  return berth.runDetached({
    image: 'busybox',
    name,
    network: NET,
    publish: [`127.0.0.1:${port}:8080`],
    cmd: ['sh', '-c', `mkdir -p /srv && echo "hello from ${name}" > /srv/index.html && exec httpd -f -p 8080 -h /srv`],
  });
}

describe.skipIf(!haveTools)('native bridge driver', () => {
  beforeAll(async () => {
    initial = netSnapshot();
    roots = tempRoots();
    berth = new Berth({ root: roots.root, runRoot: roots.runRoot });
    await berth.importImage(busyboxTar(), 'busybox');
    [subnet] = testSubnets(1);
  });

  afterAll(async () => {
    try {
      for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true });
      for (const n of berth.listNetworks()) berth.removeNetwork(n.name);
    } finally {
      restoreIpForward(initial);
      roots.cleanup();
    }
    expect(netChanges(initial, netSnapshot(), { ipForward: true })).toEqual([]);
  });

  it("installs the network's chains at create; a container's veth, address, route and port rules exist while it runs and go when it stops", async () => {
    const info = berth.createNetwork({ name: NET, subnet, bridge: BRIDGE });
    expect(info.driver).toBe('bridge');
    const id12 = info.id.slice(0, 12);
    expect(nat()).toContain(`-A ${natChain(info)} -s ${subnet} ! -o ${BRIDGE} -j MASQUERADE`);
    expect(nat()).toMatch(new RegExp(`-A POSTROUTING .*-j BERTH-NAT-${id12}`));

    const port = freeHostPort(38700);
    const c = await serve('bt-nat-web', port);
    const ep = berth.inspect(c.config.id).network!;
    const veth = hostIfname(c.config.id, 'eth0');
    // host end on the bridge, up, hairpin on
    expect(fs.readlinkSync(`/sys/class/net/${veth}/master`)).toMatch(new RegExp(`/${BRIDGE}$`));
    expect(fs.readFileSync(`/sys/class/net/${veth}/operstate`, 'utf8').trim()).not.toBe('down');
    expect(fs.readFileSync(`/sys/class/net/${veth}/brport/hairpin_mode`, 'utf8').trim()).toBe('1');
    // the bridge has the gateway; the container end is eth0 with the address, MAC and default route
    expect(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', BRIDGE], { encoding: 'utf8' })).toContain(`inet ${ep.gateway}/24`);
    const inside = await execOut(c.config.id, ['sh', '-c', 'ip -4 -o addr show eth0; cat /sys/class/net/eth0/address; ip route']);
    expect(inside).toContain(`inet ${ep.ip}/24`);
    expect(inside).toContain(`${ep.mac}\n`);
    expect(inside).toContain(`default via ${ep.gateway} dev eth0`);
    // the published port: its own chain, hung off the network's DNAT chain, and it answers
    expect(nat()).toContain(`-A ${dnatChain(info)} -j ${portChain(c.config.id)}`);
    expect(nat()).toContain(`--to-destination ${ep.ip}:8080`);
    let reply = '';
    for (let i = 0; i < 50 && !reply.includes('hello'); i++) {
      reply = await httpGet(port).catch(() => '');
      if (!reply.includes('hello')) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reply).toContain('hello from bt-nat-web');
    expect(containerTraces(c.config.id)).toEqual({ veth: true, chain: true, leases: 1 });
    berth.runtime.networks.check(c.config.id);

    await berth.stop(c.config.id, { timeout: 0 });
    expect(
      await eventually(
        () => containerTraces(c.config.id),
        (t) => !t.veth,
      ),
    ).toEqual({ veth: false, chain: false, leases: 0 });
    await berth.remove(c.config.id);
  });

  it("after kill -9 of a container's shim, the next command removes its veth, port rules and lease", async () => {
    const port = freeHostPort(38800);
    const c = await serve('bt-nat-victim', port);
    expect(containerTraces(c.config.id)).toEqual({ veth: true, chain: true, leases: 1 });
    process.kill(c.state.shimPid!, 'SIGKILL');
    // the container's init dies with its shim (parent death signal); the next command sweeps
    let left = containerTraces(c.config.id);
    for (let i = 0; i < 100 && (left.chain || left.leases); i++) {
      berth.ps();
      await new Promise((r) => setTimeout(r, 50));
      left = containerTraces(c.config.id);
    }
    expect(
      await eventually(
        () => containerTraces(c.config.id),
        (t) => !t.veth,
      ),
    ).toEqual({ veth: false, chain: false, leases: 0 });
    await berth.remove(c.config.id, { force: true });
  });

  it("the next command removes a veth on the network's bridge whose container has no record", () => {
    const leaked = hostIfname('e'.repeat(64), 'eth0');
    execFileSync('ip', ['link', 'add', 'name', leaked, 'type', 'veth', 'peer', 'name', `${leaked}p`]);
    execFileSync('ip', ['link', 'set', leaked, 'master', BRIDGE]);
    // a veth of that pattern on another bridge (or none) is not ours: it stays
    const stranger = hostIfname('d'.repeat(64), 'eth0');
    execFileSync('ip', ['link', 'add', 'name', stranger, 'type', 'veth', 'peer', 'name', `${stranger}p`]);
    try {
      berth.ps();
      expect(fs.existsSync(`/sys/class/net/${leaked}`)).toBe(false);
      expect(fs.existsSync(`/sys/class/net/${leaked}p`)).toBe(false);
      expect(fs.existsSync(`/sys/class/net/${stranger}`)).toBe(true);
    } finally {
      execFileSync('ip', ['link', 'delete', stranger]);
      if (fs.existsSync(`/sys/class/net/${leaked}`)) execFileSync('ip', ['link', 'delete', leaked]);
    }
  });

  it("network rm removes the network's chains and bridge, and a container chain a crash left", () => {
    const info = berth.inspectNetwork(NET);
    // debris as a berth killed between the port batch and its record would leave
    const leaked = portChain('f'.repeat(64));
    execFileSync('iptables-restore', ['-w', '--noflush'], {
      input: `*nat\n:${leaked} - [0:0]\n-A ${dnatChain(info)} -j ${leaked}\nCOMMIT\n`,
    });
    berth.removeNetwork(NET);
    expect(nat()).not.toMatch(new RegExp(`BERTH-(NAT|DNAT)-${info.id.slice(0, 12)}|${leaked}`));
    expect(execFileSync('iptables-save', ['-t', 'filter'], { encoding: 'utf8' })).not.toContain(info.id.slice(0, 12));
    expect(fs.existsSync(`/sys/class/net/${BRIDGE}`)).toBe(false);
  });
});
