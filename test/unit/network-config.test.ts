import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerAddress, findPlugin, pluginErrorText, pluginInput, type CniCall } from '../../src/network/cni';
import { buildConflist, needsIptables, networkInfo, runtimeConflist } from '../../src/network/config';
import { parseNetworkOptions } from '../../src/network/options';
import {
  chooseSubnet,
  contains,
  formatCidr,
  hostPrefixes,
  isHostAddress,
  overlaps,
  parseIPv4,
  parseSubnet,
} from '../../src/network/subnet';
import { spawnPlan } from '../../src/runtime/plan';
import type { ContainerConfig } from '../../src/runtime/types';

const spec = {
  name: 'web',
  id: 'f'.repeat(64),
  created: '2026-01-01T00:00:00.000Z',
  bridge: 'br-web',
  subnet: parseSubnet('10.231.5.0/24'),
  gateway: parseIPv4('10.231.5.1')!,
  internal: false,
  firewall: false,
};

describe('berth conflists', () => {
  it('chains bridge (gateway, masquerade, hairpin, host-local with a default route) and portmap', () => {
    const list = buildConflist(spec);
    expect(list).toEqual({
      cniVersion: '1.0.0',
      name: 'web',
      plugins: [
        {
          type: 'bridge',
          bridge: 'br-web',
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.231.5.0/24', gateway: '10.231.5.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
      berth: { id: spec.id, created: spec.created },
    });
    expect(needsIptables(list)).toBe(true);
    expect(buildConflist({ ...spec, firewall: true }).plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'firewall']);
  });

  it('an internal network: no gateway, no masquerade, no default route, no port mapping', () => {
    const list = buildConflist({ ...spec, internal: true, firewall: true });
    expect(list.plugins).toHaveLength(1);
    expect(list.plugins[0]).toMatchObject({ isGateway: false, ipMasq: false });
    expect(list.plugins[0].ipam?.routes).toBeUndefined();
    expect(needsIptables(list)).toBe(false);
  });

  it('reads the network back from the plugins', () => {
    expect(networkInfo(buildConflist(spec), '/r/networks/web.conflist', new Date(0))).toEqual({
      name: 'web',
      id: spec.id,
      created: spec.created,
      driver: 'bridge',
      bridge: 'br-web',
      subnet: '10.231.5.0/24',
      gateway: '10.231.5.1',
      internal: false,
      configFile: '/r/networks/web.conflist',
    });
    expect(() => networkInfo({ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'macvlan' }] }, '/x', new Date(0))).toThrow(
      /no bridge plugin/,
    );
  });

  it("gives host-local its lease directory at run time, and drops berth's own key", () => {
    const rt = runtimeConflist(buildConflist(spec), '/run/berth/cni/networks');
    expect(rt.plugins[0].ipam?.dataDir).toBe('/run/berth/cni/networks');
    expect(rt.plugins[1]).not.toHaveProperty('dataDir');
    expect(rt).not.toHaveProperty('berth');
    // the stored list is not modified
    expect(buildConflist(spec).plugins[0].ipam).not.toHaveProperty('dataDir');
  });
});

describe('CNI invocation', () => {
  const list = buildConflist(spec);
  const call: CniCall = {
    containerId: 'c'.repeat(64),
    netns: '/proc/1/ns/net',
    ifname: 'eth0',
    runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' }] },
  };

  it('gives each plugin its config with name, version, prevResult, and only the runtimeConfig its capabilities ask for', () => {
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.231.5.2/24' }] };
    expect(pluginInput(list, list.plugins[0], call)).toEqual({ ...list.plugins[0], cniVersion: '1.0.0', name: 'web' });
    expect(pluginInput(list, list.plugins[1], call, prev)).toEqual({
      ...list.plugins[1],
      cniVersion: '1.0.0',
      name: 'web',
      prevResult: prev,
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' }] },
    });
  });

  it("turns the spec's error object into one line", () => {
    expect(pluginErrorText('{"cniVersion":"1.0.0","code":7,"msg":"failed to allocate","details":"range full\\nreally"}', '', 1, null)).toBe(
      'failed to allocate: range full; really',
    );
    expect(pluginErrorText('', 'panic: oops\n', 2, null)).toBe('panic: oops');
    expect(pluginErrorText('', '', null, 'SIGKILL')).toBe('killed by SIGKILL');
  });

  it('names the Debian package when a plugin is missing', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cni-'));
    try {
      expect(() => findPlugin('bridge', [empty])).toThrow(
        `CNI plugin "bridge" not found in ${empty}: install the Debian package containernetworking-plugins`,
      );
      expect(() => findPlugin('../bridge', [empty])).toThrow(/Invalid CNI plugin type/);
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });

  it("reads the container's address and MAC from an ADD result", () => {
    const result = {
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'br-web', mac: 'aa:aa:aa:aa:aa:aa' },
        { name: 'veth1', mac: 'bb:bb:bb:bb:bb:bb' },
        { name: 'eth0', mac: '02:42:0a:e7:05:02', sandbox: '/proc/9/ns/net' },
      ],
      ips: [{ interface: 2, address: '10.231.5.2/24', gateway: '10.231.5.1' }],
    };
    expect(containerAddress(result, 'eth0')).toEqual({
      ip: '10.231.5.2',
      prefixLength: 24,
      gateway: '10.231.5.1',
      mac: '02:42:0a:e7:05:02',
    });
    expect(() => containerAddress({ cniVersion: '1.0.0' }, 'eth0')).toThrow(/no IPv4 address/);
  });
});

describe('subnets', () => {
  it('parses aligned IPv4 subnets of /8 to /30', () => {
    expect(formatCidr(parseSubnet('10.231.0.0/16'))).toBe('10.231.0.0/16');
    expect(() => parseSubnet('10.231.1.5/24')).toThrow('Invalid subnet 10.231.1.5/24 for --subnet: it should be 10.231.1.0/24');
    for (const bad of ['10.231.1.0', '10.231.1.0/31', '10.0.0.0/7', '010.1.1.0/24', '10.1.1.256/24', 'fd00::/64'])
      expect(() => parseSubnet(bad)).toThrow(/Expected an IPv4 subnet/);
  });

  it('overlap, containment, host addresses', () => {
    const a = parseSubnet('10.231.0.0/16');
    expect(overlaps(a, parseSubnet('10.231.7.0/24'))).toBe(true);
    expect(overlaps(parseSubnet('10.231.7.0/24'), a)).toBe(true);
    expect(overlaps(a, parseSubnet('10.232.0.0/24'))).toBe(false);
    const c = parseSubnet('10.231.7.0/24');
    expect(contains(c, parseIPv4('10.231.7.9')!)).toBe(true);
    expect(isHostAddress(c, parseIPv4('10.231.7.0')!)).toBe(false);
    expect(isHostAddress(c, parseIPv4('10.231.7.255')!)).toBe(false);
    expect(isHostAddress(c, parseIPv4('10.231.7.254')!)).toBe(true);
  });

  it('chooses the first /24 of the pools that overlaps nothing taken', () => {
    expect(formatCidr(chooseSubnet([])!)).toBe('10.90.0.0/24');
    expect(formatCidr(chooseSubnet([parseSubnet('10.90.0.0/24'), parseSubnet('10.90.1.0/24')])!)).toBe('10.90.2.0/24');
    // a host route covering all of 10/8 (a VPN): the next pool
    expect(formatCidr(chooseSubnet([parseSubnet('10.0.0.0/8')])!)).toBe('172.30.0.0/24');
    expect(chooseSubnet([parseSubnet('10.0.0.0/8')], [['10.1.0.0', '10.1.255.0']])).toBeUndefined();
  });

  it("reads the host's prefixes from its routes, default routes excluded", () => {
    const prefixes = hostPrefixes();
    expect(prefixes.every((p) => p.prefix > 0)).toBe(true);
    // never proposes a subnet the host uses
    const chosen = chooseSubnet(prefixes)!;
    expect(prefixes.some((p) => overlaps(p, chosen))).toBe(false);
  });
});

describe('network options', () => {
  const exists = (n: string) => n === 'web' || n === 'berth';
  const parse = (o: Parameters<typeof parseNetworkOptions>[0], exposed?: Record<string, object>) => parseNetworkOptions(o, exposed, exists);

  it('the default network unless another is given; with a default of none, ports still ask for the bridge', () => {
    expect(parse({ dns: ['10.0.0.53'] })).toEqual({ network: { mode: 'bridge', name: 'berth' }, dns: ['10.0.0.53'] });
    expect(parseNetworkOptions({}, undefined, exists, 'web').network).toEqual({ mode: 'bridge', name: 'web' });
    expect(parseNetworkOptions({ dns: ['10.0.0.53'] }, undefined, exists, 'none')).toEqual({
      network: { mode: 'none' },
      dns: ['10.0.0.53'],
    });
    expect(parseNetworkOptions({ publish: ['8080:80'] }, undefined, exists, 'none').network).toEqual({
      mode: 'bridge',
      name: 'berth',
      ports: [{ hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    });
    expect(() => parseNetworkOptions({}, undefined, exists, 'nope')).toThrow('Network nope not found');
    expect(parse({ publish: ['8080:80'] }).network).toEqual({
      mode: 'bridge',
      name: 'berth',
      ports: [{ hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    });
    expect(parse({ network: 'bridge' }).network).toEqual({ mode: 'bridge', name: 'berth' });
    expect(parse({ network: 'host' }).network).toEqual({ mode: 'host' });
    expect(parse({ network: 'web', ip: '10.231.5.9', mac: '02:42:AC:11:00:02' }).network).toEqual({
      mode: 'bridge',
      name: 'web',
      ip: '10.231.5.9',
      mac: '02:42:ac:11:00:02',
    });
  });

  it('-P adds the exposed ports not published explicitly', () => {
    expect(parse({ publishAll: true, publish: ['8080:80'] }, { '80/tcp': {}, '443/tcp': {} }).network.ports).toEqual([
      { hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIP: '', hostPort: 0, containerPort: 443, protocol: 'tcp' },
    ]);
  });

  it('refuses what cannot work, one line each', () => {
    expect(() => parse({ network: 'nope' })).toThrow('Network nope not found; create it with berth network create nope');
    expect(() => parse({ network: 'none', publish: ['80'] })).toThrow(/Conflicting options: -p\/-P and --network none/);
    expect(() => parse({ network: 'host', mac: '02:00:00:00:00:01' })).toThrow(
      /Conflicting options: --ip\/--mac-address and --network host/,
    );
    expect(() => parse({ ip: '10.231.5.9' })).toThrow('--ip needs a user-defined network: add --network NAME');
    expect(() => parse({ network: 'bridge', ip: '10.231.5.9' })).toThrow(/user-defined networks only/);
    expect(() => parse({ network: 'web', ip: '10.231.5' })).toThrow('Expected an IPv4 address for --ip but received "10.231.5"');
    expect(() => parse({ network: 'web', mac: '01:00:00:00:00:01' })).toThrow(/unicast/);
    expect(() => parse({ network: 'web', mac: 'zz' })).toThrow(/MAC address like/);
    expect(() => parse({ network: 'none', addHosts: ['gw:host-gateway'] })).toThrow(/needs a bridge network/);
  });
});

describe('plan', () => {
  it("--network host leaves the network namespace out, and the host's loopback alone", () => {
    const config = {
      id: 'x',
      name: 'x',
      image: 'i',
      imageId: 'i',
      created: '',
      argv: ['true'],
      env: [],
      workdir: '/',
      uid: 0,
      gid: 0,
      groups: [0],
      hostname: 'h',
      tty: false,
      interactive: false,
      autoRemove: false,
      volumes: [],
      limits: {},
      storageDriver: 'overlay',
      layers: ['/l'],
    } as ContainerConfig;
    const cg = { dirs: [], writes: [], procs: [] };
    const stdio = { fds: [0, 1, 2] as [number, number, number], tty: false, ttySize: [24, 80] as [number, number] };
    const host = spawnPlan({ ...config, network: { mode: 'host' } }, '/c', cg, stdio);
    expect(host.namespaces).not.toContain('net');
    expect(host.loopbackUp).toBe(false);
    for (const mode of ['none', 'bridge'] as const) {
      const p = spawnPlan({ ...config, network: { mode } }, '/c', cg, stdio);
      expect(p.namespaces).toContain('net');
      expect(p.loopbackUp).toBe(true);
    }
    expect(spawnPlan(config, '/c', cg, stdio).namespaces).toContain('net');
  });
});
