// The native bridge driver's decisions, without touching the host: host-local-format leases
// (round robin, exclusive, released only by their holder), the names it gives links and chains,
// and the iptables-restore batches (one per network, one per container with ports).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildConflist, networkInfo } from '../../src/network/config';
import { hostIfname, macFor } from '../../src/network/native-bridge';
import { NativeIpam } from '../../src/network/native-ipam';
import { networkRulesBatch, portsBatch, portsRemovalBatch } from '../../src/network/native-rules';
import { parseIPv4, parseSubnet } from '../../src/network/subnet';
import type { NetworkInfo } from '../../src/network/types';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const info: NetworkInfo = {
  name: 'web',
  id: '0123456789abcdef'.repeat(4),
  created: '',
  driver: 'bridge',
  bridge: 'br-web',
  subnet: '10.231.5.0/29',
  gateway: '10.231.5.1',
  internal: false,
  configFile: '',
};

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ipam-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('native IPAM (host-local format)', () => {
  it('gives out addresses round robin past the gateway, in host-local files, and runs out clearly', () => {
    const ipam = new NativeIpam(dir);
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ip = ipam.choose(info, `${i}`.repeat(64));
      ipam.reserve('web', ip, `${i}`.repeat(64), 'eth0');
      got.push(ip);
    }
    // /29: .0 network, .1 gateway, .7 broadcast
    expect(got).toEqual(['10.231.5.2', '10.231.5.3', '10.231.5.4', '10.231.5.5', '10.231.5.6']);
    expect(fs.readFileSync(path.join(dir, 'web', '10.231.5.2'), 'utf8')).toBe(`${'0'.repeat(64)}\r\neth0`);
    expect(() => ipam.choose(info, A)).toThrow(/No free address left on network web/);
    // a freed address is not the next one given: the round robin goes on from the last
    ipam.release('web', '10.231.5.3', '1'.repeat(64));
    ipam.release('web', '10.231.5.2', '0'.repeat(64));
    expect(ipam.choose(info, A)).toBe('10.231.5.2');
    ipam.reserve('web', '10.231.5.2', A, 'eth0');
    expect(ipam.choose(info, B)).toBe('10.231.5.3');
  });

  it('a lease is exclusive and released only by the container that holds it', () => {
    const ipam = new NativeIpam(dir);
    ipam.reserve('web', '10.231.5.4', A, 'eth0');
    expect(() => ipam.reserve('web', '10.231.5.4', B, 'eth0')).toThrow(/already leased/);
    expect(() => ipam.choose(info, B, '10.231.5.4')).toThrow(/already in use/);
    ipam.reserve('web', '10.231.5.4', A, 'eth0'); // the holder again (a retried attach): fine
    ipam.release('web', '10.231.5.4', B);
    expect(fs.existsSync(path.join(dir, 'web', '10.231.5.4'))).toBe(true);
    ipam.release('web', '10.231.5.4', A);
    expect(fs.existsSync(path.join(dir, 'web', '10.231.5.4'))).toBe(false);
  });
});

describe('native driver names and rules', () => {
  it('names links by container id and derives the MAC from the address', () => {
    expect(hostIfname(A, 'eth0')).toBe('bvaaaaaaaaaa0');
    expect(hostIfname(A, 'eth12').length).toBeLessThanOrEqual(15);
    expect(macFor('10.231.0.200')).toBe('02:42:0a:e7:00:c8');
  });

  it("the network's batch declares its chains (so that running it twice gives the same rules)", () => {
    expect(networkRulesBatch(info).split('\n')).toEqual([
      '*nat',
      ':BERTH-NAT-0123456789ab - [0:0]',
      ':BERTH-DNAT-0123456789ab - [0:0]',
      '-A BERTH-NAT-0123456789ab -s 10.231.5.0/29 ! -o br-web -j MASQUERADE',
      '-A BERTH-NAT-0123456789ab -s 127.0.0.0/8 -o br-web -j MASQUERADE',
      '-A BERTH-NAT-0123456789ab -s 10.231.5.0/29 -o br-web -m conntrack --ctstate DNAT -j MASQUERADE',
      'COMMIT',
      '*filter',
      ':BERTH-FWD-0123456789ab - [0:0]',
      '-A BERTH-FWD-0123456789ab -i br-web -j ACCEPT',
      '-A BERTH-FWD-0123456789ab -o br-web -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT',
      'COMMIT',
      '',
    ]);
  });

  it("a container's ports: one chain of DNAT rules hung off the network's, removed exactly", () => {
    const batch = portsBatch(info, A, '10.231.5.2', [
      { hostIP: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIP: '', hostPort: 5353, containerPort: 53, protocol: 'udp' },
    ]);
    expect(batch.split('\n')).toEqual([
      '*nat',
      ':BERTH-P-aaaaaaaaaaaaaaaa - [0:0]',
      '-A BERTH-P-aaaaaaaaaaaaaaaa -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.231.5.2:80',
      '-A BERTH-P-aaaaaaaaaaaaaaaa -p udp -m udp --dport 5353 -j DNAT --to-destination 10.231.5.2:53',
      '-A BERTH-DNAT-0123456789ab -j BERTH-P-aaaaaaaaaaaaaaaa',
      'COMMIT',
      '',
    ]);
    expect(portsRemovalBatch('BERTH-DNAT-0123456789ab', A).split('\n')).toEqual([
      '*nat',
      '-D BERTH-DNAT-0123456789ab -j BERTH-P-aaaaaaaaaaaaaaaa',
      '-F BERTH-P-aaaaaaaaaaaaaaaa',
      '-X BERTH-P-aaaaaaaaaaaaaaaa',
      'COMMIT',
      '',
    ]);
  });

  it('a network is native unless created with --driver cni', () => {
    const base = {
      name: 'web',
      id: info.id,
      created: '',
      bridge: 'br-web',
      subnet: parseSubnet('10.231.5.0/24'),
      gateway: parseIPv4('10.231.5.1')!,
      internal: false,
      firewall: false,
    };
    expect(networkInfo(buildConflist(base), 'f', new Date()).driver).toBe('bridge');
    const cni = buildConflist({ ...base, cni: true });
    expect(cni.berth?.driver).toBe('cni');
    expect(networkInfo(cni, 'f', new Date()).driver).toBe('cni');
  });
});
