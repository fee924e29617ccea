// The Engine API's network converters: berth's networks and the host/none modes in docker's
// schema, lookup by ID, name and prefix in docker's order, GET /networks' filters, and
// POST /networks/create's body as createNetwork options (refusing what berth cannot honour).
import { describe, expect, it } from 'vitest';
import {
  checkNetworkFilters,
  findNetwork,
  matchesNetworkFilters,
  modeNetworkId,
  networkJson,
  parseNetworkCreate,
  type ApiNetwork,
} from '../../src/api/docker/network-json';
import { ApiError } from '../../src/api/http/errors';
import { buildConflist, networkInfo } from '../../src/network/config';
import type { NetworkInfo } from '../../src/network/types';

const info = (name: string, id: string, extra: Partial<NetworkInfo> = {}): NetworkInfo => ({
  name,
  id,
  created: '2026-01-02T03:04:05.000Z',
  driver: 'bridge',
  bridge: `br-${id.slice(0, 12)}`,
  subnet: '10.90.1.0/24',
  gateway: '10.90.1.1',
  internal: false,
  configFile: `/r/networks/${name}.conflist`,
  ...extra,
});

const defaultNet: ApiNetwork = { kind: 'berth', info: info('berth', 'a'.repeat(64), { bridge: 'berth0' }) };
const userNet: ApiNetwork = { kind: 'berth', info: info('app', 'ab'.padEnd(64, '1'), { labels: { project: 'p' } }) };
const host: ApiNetwork = { kind: 'mode', name: 'host' };
const none: ApiNetwork = { kind: 'mode', name: 'none' };
const all = [defaultNet, userNet, host, none];

const status = (fn: () => unknown): number => {
  try {
    fn();
  } catch (e) {
    return e instanceof ApiError ? e.status : -1;
  }
  return 0;
};

describe('networkJson', () => {
  it('shows the default network as docker shows bridge', () => {
    const d = networkJson(defaultNet);
    expect(d).toMatchObject({
      Name: 'bridge',
      Id: 'a'.repeat(64),
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.90.1.0/24', Gateway: '10.90.1.1' }] },
      Internal: false,
      ConfigFrom: { Network: '' },
      Containers: {},
      Options: { 'com.docker.network.bridge.name': 'berth0', 'com.docker.network.bridge.default_bridge': 'true' },
      Labels: {},
    });
    // docker's field order
    expect(Object.keys(d).slice(0, 6)).toEqual(['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv6']);
  });

  it('lists running members with their address and prefix length', () => {
    const d = networkJson(userNet, [
      { id: 'c'.repeat(64), name: 'web', network: 'app', ip: '10.90.1.5', prefixLength: 24, mac: '02:42:0a:5a:01:05', ports: [] },
    ]);
    expect(d.Labels).toEqual({ project: 'p' });
    expect(d.Containers['c'.repeat(64)]).toEqual({
      Name: 'web',
      EndpointID: `${'c'.repeat(32)}app`,
      MacAddress: '02:42:0a:5a:01:05',
      IPv4Address: '10.90.1.5/24',
      IPv6Address: '',
    });
  });

  it('shows host and none with stable IDs and no IPAM pool', () => {
    expect(networkJson(host)).toMatchObject({ Name: 'host', Driver: 'host', IPAM: { Config: [] } });
    expect(networkJson(none)).toMatchObject({ Name: 'none', Driver: 'null' });
    expect(modeNetworkId('host')).toBe(modeNetworkId('host'));
    expect(modeNetworkId('host')).not.toBe(modeNetworkId('none'));
  });

  it('keeps the labels a network was created with in its conflist', () => {
    const spec = {
      name: 'l',
      id: 'e'.repeat(64),
      created: 'now',
      bridge: 'brl',
      subnet: { base: 0x0a010200, prefix: 24 },
      gateway: 0x0a010201,
    };
    const list = buildConflist({ ...spec, internal: false, firewall: false, labels: { a: 'b' } });
    expect(networkInfo(list, '/r/l.conflist', new Date()).labels).toEqual({ a: 'b' });
    expect(networkInfo(buildConflist({ ...spec, internal: false, firewall: false }), '/r/l.conflist', new Date()).labels).toBeUndefined();
  });

  it('leaves the gateway out of an internal network', () => {
    const d = networkJson({ kind: 'berth', info: info('priv', 'f'.repeat(64), { internal: true }) });
    expect(d.IPAM.Config).toEqual([{ Subnet: '10.90.1.0/24' }]);
    expect(d.Internal).toBe(true);
  });
});

describe('findNetwork', () => {
  it('finds by full ID, by name (bridge and berth alike), by unique ID prefix', () => {
    expect(findNetwork(all, 'a'.repeat(64))).toBe(defaultNet);
    expect(findNetwork(all, 'bridge')).toBe(defaultNet);
    expect(findNetwork(all, 'berth')).toBe(defaultNet);
    expect(findNetwork(all, 'app')).toBe(userNet);
    expect(findNetwork(all, 'ab1')).toBe(userNet);
    expect(findNetwork(all, 'host')).toBe(host);
    expect(findNetwork(all, modeNetworkId('none').slice(0, 12))).toBe(none);
  });

  it('answers 404 for an unknown network and 400 for an ambiguous prefix', () => {
    expect(status(() => findNetwork(all, 'nope'))).toBe(404);
    expect(status(() => findNetwork(all, 'a'))).toBe(400);
  });
});

describe('GET /networks filters', () => {
  const match = (f: Record<string, string[]>, n: ApiNetwork, inUse = false) => matchesNetworkFilters(f, networkJson(n), inUse);

  it('matches name and id as docker does (exact or regular expression), driver exactly', () => {
    expect(match({ name: ['^bridge$'] }, defaultNet)).toBe(true);
    expect(match({ name: ['ap'] }, userNet)).toBe(true);
    expect(match({ name: ['^ap$'] }, userNet)).toBe(false);
    expect(match({ id: ['ab1'] }, userNet)).toBe(true);
    expect(match({ driver: ['null'] }, none)).toBe(true);
    expect(match({ driver: ['bridge'] }, host)).toBe(false);
  });

  it('types, labels and dangling', () => {
    expect(all.filter((n) => match({ type: ['builtin'] }, n))).toEqual([defaultNet, host, none]);
    expect(all.filter((n) => match({ type: ['custom'] }, n))).toEqual([userNet]);
    expect(match({ label: ['project'] }, userNet)).toBe(true);
    expect(match({ label: ['project=p'] }, userNet)).toBe(true);
    expect(match({ label: ['project=q'] }, userNet)).toBe(false);
    expect(match({ dangling: ['true'] }, userNet)).toBe(true);
    expect(match({ dangling: ['true'] }, userNet, true)).toBe(false);
    expect(match({ dangling: ['true'] }, defaultNet)).toBe(false);
    expect(match({ dangling: ['false'] }, defaultNet)).toBe(true);
  });

  it('refuses unknown keys and values', () => {
    expect(status(() => checkNetworkFilters({ colour: ['red'] }))).toBe(400);
    expect(status(() => checkNetworkFilters({ type: ['other'] }))).toBe(400);
    expect(status(() => checkNetworkFilters({ name: ['x'], dangling: ['1'] }))).toBe(0);
  });
});

describe('parseNetworkCreate', () => {
  it('takes what the docker CLI sends at its zero values', () => {
    const body = {
      Name: 'app',
      Driver: 'bridge',
      Scope: '',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '10.1.2.0/24', Gateway: '10.1.2.254' }] },
      Internal: true,
      Attachable: false,
      Ingress: false,
      ConfigOnly: false,
      ConfigFrom: null,
      Options: { 'com.docker.network.bridge.name': 'brapp' },
      Labels: { 'com.docker.compose.project': 'p' },
      CheckDuplicate: true,
    };
    expect(parseNetworkCreate(body)).toEqual({
      name: 'app',
      internal: true,
      subnet: '10.1.2.0/24',
      gateway: '10.1.2.254',
      bridge: 'brapp',
      labels: { 'com.docker.compose.project': 'p' },
    });
    expect(parseNetworkCreate({ Name: 'c', Driver: 'cni' })).toEqual({ name: 'c', driver: 'cni' });
  });

  it('refuses what berth cannot honour, with docker statuses', () => {
    expect(status(() => parseNetworkCreate({}))).toBe(400);
    expect(status(() => parseNetworkCreate({ Name: 'bridge' }))).toBe(403);
    expect(status(() => parseNetworkCreate({ Name: 'x', Driver: 'overlay' }))).toBe(404);
    expect(status(() => parseNetworkCreate({ Name: 'x', EnableIPv6: true }))).toBe(400);
    expect(status(() => parseNetworkCreate({ Name: 'x', IPAM: { Config: [{ Subnet: 'fd00::/64' }] } }))).toBe(400);
    expect(status(() => parseNetworkCreate({ Name: 'x', IPAM: { Config: [{ Subnet: '10.0.0.0/24' }, { Subnet: '10.0.1.0/24' }] } }))).toBe(
      400,
    );
    expect(status(() => parseNetworkCreate({ Name: 'x', Options: { 'com.docker.network.driver.mtu': '9000' } }))).toBe(400);
    expect(status(() => parseNetworkCreate({ Name: 'x', Ingress: true }))).toBe(400);
  });
});
