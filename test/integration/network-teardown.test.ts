/**
 * A berth root thrown away takes its networks with it: Berth.removeAllNetworks (and tempRoots'
 * cleanup, which calls the same library code) removes every network of the root, the default
 * `berth` included, with its bridge. The default network's bridge (berthN, the first free name) is
 * host-wide and outlives the root's directory: before this, every test root whose container joined
 * the default network left a berthN behind. These tests make the real default network of their own
 * roots, on a bridge name and subnet chosen as berth chooses them, and leave nothing of it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Berth, type ContainerProcess } from '../../src/index';
import { hostChanges, hostSnapshot, tempRoots, type TempRoots } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';
import { leases, netChanges, netSnapshot, removeCniBaseChains, restoreIpForward, testSubnets, type NetSnapshot } from '../helpers/network';

const haveCni = fs.existsSync('/usr/lib/cni/bridge') && fs.existsSync('/usr/lib/cni/host-local');

let roots: TempRoots;
let berth: Berth;
let initial: NetSnapshot;
let cleaned: boolean;
const running: ContainerProcess[] = [];

/** A container on the default network, running until killed; resolves once it has its address. */
async function onDefaultNetwork(name: string): Promise<ContainerProcess> {
  const p = berth.spawn({ image: 'busybox', name, rm: true, network: 'bridge', cmd: ['sleep', '60'] });
  running.push(p);
  for (let i = 0; i < 100 && !berth.runtime.networks.endpoint(p.id); i++) await new Promise((r) => setTimeout(r, 50));
  expect(berth.runtime.networks.endpoint(p.id)?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  return p;
}

async function stop(p: ContainerProcess): Promise<void> {
  p.kill('SIGKILL');
  await p.wait();
  running.splice(running.indexOf(p), 1);
}

const bridgeExists = (name: string) => fs.existsSync(`/sys/class/net/${name}`);

describe.skipIf(!haveCni)('removing every network of a root', () => {
  beforeEach(async () => {
    initial = netSnapshot();
    roots = tempRoots();
    cleaned = false;
    berth = new Berth({ root: roots.root, runRoot: roots.runRoot });
    await berth.importImage(busyboxTar(), 'busybox');
  });

  afterEach(async () => {
    for (const p of running.splice(0)) {
      p.kill('SIGKILL');
      await p.wait();
    }
    try {
      if (!cleaned) roots.cleanup();
    } finally {
      // what the plugins keep for good once used (ip_forward, base chains): undone as network.test does
      removeCniBaseChains(initial);
      restoreIpForward(initial);
    }
    expect(netChanges(initial, netSnapshot(), { ipForward: true })).toEqual([]);
  });

  it("tempRoots' cleanup removes the default network's bridge, which hostChanges reports while it is there", async () => {
    const before = hostSnapshot();
    const p = await onDefaultNetwork('td-default');
    const { bridge } = berth.inspectNetwork('berth');
    expect(bridge).toMatch(/^berth\d+$/);
    const changes = hostChanges(before);
    expect(changes).toContain(`link added: ${bridge}`);
    // the bridge plugin's masquerading rules of the container name the network
    expect(changes.some((c) => /^iptables rule added: nat .*berth/.test(c))).toBe(true);

    const { id } = berth.inspectNetwork('berth');
    await stop(p);
    // the container's release took its veth; the bridge and the network's own chains (installed
    // once per network, not per container) stay until the network goes
    const left = hostChanges(before);
    expect(left[0]).toBe(`link added: ${bridge}`);
    expect(left.slice(1).length).toBeGreaterThan(0);
    for (const c of left.slice(1)) expect(c).toMatch(new RegExp(`^iptables rule added: .*BERTH-(NAT|DNAT|FWD)-${id.slice(0, 12)}`));
    roots.cleanup();
    cleaned = true;
    expect(bridgeExists(bridge)).toBe(false);
    expect(hostChanges(before)).toEqual([]);
  });

  it('removeAllNetworks: a network in use stays and is named, the others go; then the default goes too', async () => {
    const [subnet] = testSubnets(1);
    const userBridge = `bt${process.pid.toString(16).slice(-4)}td`;
    berth.createNetwork({ name: 'td-user', subnet, bridge: userBridge });
    const p = await onDefaultNetwork('td-busy');
    const { bridge } = berth.inspectNetwork('berth');

    expect(() => berth.removeAllNetworks()).toThrow(/^Not every network was removed: Network berth is in use by container td-busy;/);
    expect(berth.listNetworks().map((n) => n.name)).toEqual(['berth']);
    expect(bridgeExists(bridge)).toBe(true);

    await stop(p);
    expect(berth.removeAllNetworks().map((n) => n.name)).toEqual(['berth']);
    expect(berth.listNetworks()).toEqual([]);
    expect(bridgeExists(bridge)).toBe(false);
    expect(leases(roots.runRoot, 'berth')).toEqual([]);
    expect(fs.readdirSync(path.join(roots.root, 'networks')).filter((f) => f.endsWith('.conflist'))).toEqual([]);
    // nothing left: the helper's cleanup finds nothing to do
    expect(berth.removeAllNetworks()).toEqual([]);
  });

  it("a bridge of the default network's name that carries another address is someone else's and stays", () => {
    // configured, never used: this root never made its bridge, so a link of that name is not its own
    const { info } = berth.runtime.networks.store.get('bridge');
    const [subnet] = testSubnets(1);
    const foreignGateway = subnet.replace(/0\/24$/, '1/24');
    execFileSync('ip', ['link', 'add', 'name', info.bridge, 'type', 'bridge']);
    try {
      execFileSync('ip', ['addr', 'add', foreignGateway, 'dev', info.bridge]);
      expect(berth.removeAllNetworks().map((n) => n.name)).toEqual(['berth']);
      expect(bridgeExists(info.bridge)).toBe(true);
    } finally {
      execFileSync('ip', ['link', 'delete', 'dev', info.bridge]);
    }
  });
});
