// Parsing of the smaller run/create flags, ps filters and update, without containers.
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/command';
import { CONTAINER_FLAGS } from '../../src/cli/container-flags';
import {
  checkNetworkExtras,
  exposeKey,
  linkHostEntries,
  splitLink,
  withExposed,
  withSearchAndOptions,
} from '../../src/network/run-network-extras';
import { filterContainers, filtersNeedAll, parseContainerFilters } from '../../src/runtime/container-filters';
import { updatedConfig } from '../../src/runtime/container-update';
import { checkRunMisc, platformMatches } from '../../src/runtime/run-misc-options';
import { stopAnnotations, stopConfig, stopPlan } from '../../src/runtime/stop-options';
import type { ContainerConfig, ContainerInfo } from '../../src/runtime/types';

const config = (over: Partial<ContainerConfig>): ContainerConfig =>
  ({
    id: 'a'.repeat(64),
    name: 'c',
    image: 'busybox',
    imageId: `sha256:${'b'.repeat(64)}`,
    created: '2026-01-01T00:00:00.000Z',
    argv: ['true'],
    volumes: [],
    limits: {},
    ...over,
  }) as ContainerConfig;

describe('flag values that start with "-"', () => {
  it('--memory-swap -1 and --pids-limit -1 are values after a space', () => {
    const a = parseFlags(CONTAINER_FLAGS, ['--memory-swap', '-1', '--pids-limit', '-1', '--stop-timeout', '-1', 'busybox'], true, 'x');
    expect([a.memorySwap, a.pidsLimit, a.stopTimeout, a._]).toEqual(['-1', '-1', '-1', ['busybox']]);
  });
});

describe('ps filters', () => {
  const list: ContainerInfo[] = [
    {
      config: config({ id: '1'.repeat(64), name: 'web', labels: { env: 'prod' }, created: '2026-01-01T00:00:03.000Z' }),
      state: { status: 'exited', exitCode: 2 },
    },
    {
      config: config({ id: '2'.repeat(64), name: 'db', labels: { env: 'dev' }, image: 'alpine:3', created: '2026-01-01T00:00:02.000Z' }),
      state: { status: 'created' },
    },
    {
      config: config({
        id: '3'.repeat(64),
        name: 'cache',
        network: { mode: 'bridge', name: 'appnet' },
        volumes: [{ hostPath: '', containerPath: '/data', readonly: false, volume: 'v1' }],
        created: '2026-01-01T00:00:01.000Z',
      }),
      state: { status: 'exited', exitCode: 0 },
    },
  ];
  const names = (f: string[] | Record<string, string | string[]>) =>
    filterContainers(list, parseContainerFilters(f)).map((c) => c.config.name);

  it('ORs one key, ANDs keys', () => {
    expect(names(['label=env'])).toEqual(['web', 'db']);
    // label values must all hold (docker's MatchKVList), unlike the other keys' values
    expect(names(['label=env=prod', 'label=env=dev'])).toEqual([]);
    expect(names(['label=env', 'label=env=prod'])).toEqual(['web']);
    expect(names(['label=env', 'status=created'])).toEqual(['db']);
    expect(names({ exited: ['0', '2'] })).toEqual(['web', 'cache']);
    expect(names(['ancestor=alpine:3'])).toEqual(['db']);
    expect(names(['ancestor=busybox'])).toEqual(['web', 'cache']);
    expect(names([`ancestor=${'b'.repeat(12)}`])).toEqual(['web', 'db', 'cache']);
    expect(names(['volume=v1'])).toEqual(['cache']);
    expect(names(['volume=/data'])).toEqual(['cache']);
    expect(names(['network=appnet'])).toEqual(['cache']);
    expect(names(['network=none'])).toEqual(['web', 'db']);
    expect(names(['before=web'])).toEqual(['db', 'cache']);
    expect(names(['since=cache'])).toEqual(['web', 'db']);
    expect(names(['name=^c'])).toEqual(['cache']);
    expect(names([`id=${'2'.repeat(5)}`])).toEqual(['db']);
  });

  it('status and exited filters look at every container', () => {
    expect(filtersNeedAll(parseContainerFilters(['status=exited']))).toBe(true);
    expect(filtersNeedAll(parseContainerFilters(['exited=1']))).toBe(true);
    expect(filtersNeedAll(parseContainerFilters(['label=x']))).toBe(false);
  });

  it('refuses unknown keys and bad values', () => {
    expect(() => parseContainerFilters(['foo=bar'])).toThrow(/Invalid filter "foo"/);
    expect(() => parseContainerFilters(['status=asleep'])).toThrow(/--filter status/);
    expect(() => parseContainerFilters(['exited=one'])).toThrow(/--filter exited/);
    expect(() => parseContainerFilters(['label'])).toThrow(/KEY=VALUE/);
    expect(() => filterContainers(list, parseContainerFilters(['since=nosuch']))).toThrow(/No such container: nosuch/);
  });
});

describe('network extras', () => {
  it('--expose keys and ranges; -P sees them with the image’s', () => {
    expect(['80', '53/udp', '8000-8002/tcp'].map(exposeKey)).toEqual(['80/tcp', '53/udp', '8000-8002/tcp']);
    expect(() => exposeKey('0')).toThrow(/--expose/);
    expect(() => exposeKey('90-80')).toThrow(/--expose/);
    expect(withExposed({ '22/tcp': {} }, ['80'])).toEqual({ '22/tcp': {}, '80/tcp': {} });
    expect(withExposed(undefined, undefined)).toBeUndefined();
  });

  it('--link NAME[:ALIAS]', () => {
    expect(splitLink('db')).toEqual({ name: 'db', alias: 'db' });
    expect(splitLink('db:data')).toEqual({ name: 'db', alias: 'data' });
    expect(() => splitLink('a:b:c')).toThrow(/--link/);
    expect(linkHostEntries([{ id: 'x', name: 'db', alias: 'data' }], () => '10.0.0.2')).toEqual([{ host: 'data db', ip: '10.0.0.2' }]);
    expect(() => linkHostEntries([{ id: 'x', name: 'db', alias: 'db' }], () => undefined)).toThrow(/non running container: db/);
  });

  it('resolv.conf search and options replace the host’s lines', () => {
    const host = 'nameserver 10.0.0.1\nsearch corp.example\noptions ndots:5\n';
    expect(withSearchAndOptions(host, ['a.test', 'b.test'], ['ndots:1'])).toBe(
      'nameserver 10.0.0.1\nsearch a.test b.test\noptions ndots:1\n',
    );
    expect(withSearchAndOptions(host, ['.'])).toBe('nameserver 10.0.0.1\noptions ndots:5\n');
    expect(withSearchAndOptions(host)).toBe(host);
  });

  it('--ip6 is refused; bad aliases and options too', () => {
    expect(() => checkNetworkExtras({ ip6: 'fd00::1' })).toThrow(/IPv4 only/);
    expect(() => checkNetworkExtras({ networkAliases: ['-x'] })).toThrow(/--network-alias/);
    expect(() => checkNetworkExtras({ dnsOptions: ['a b'] })).toThrow(/--dns-option/);
  });
});

describe('stop signal and timeout', () => {
  it('the flag over the image’s STOPSIGNAL, SIGTERM and 10s by default; stop -t over --stop-timeout', () => {
    expect(stopConfig({})).toEqual({});
    expect(stopConfig({}, 'SIGQUIT')).toEqual({ stopSignal: 3 });
    expect(stopConfig({ stopSignal: 'USR1' }, 'SIGQUIT')).toEqual({ stopSignal: 10 });
    expect(stopConfig({ stopSignal: 'TERM', stopTimeout: '3' })).toEqual({ stopTimeout: 3 });
    expect(() => stopConfig({ stopSignal: 'NOPE' })).toThrow(/--stop-signal/);
    expect(() => stopConfig({ stopTimeout: '1.5' })).toThrow(/--stop-timeout/);
    expect(stopPlan(config({}))).toEqual({ signal: 15, timeoutMs: 10_000 });
    expect(stopPlan(config({ stopSignal: 10, stopTimeout: 2 }))).toEqual({ signal: 10, timeoutMs: 2000 });
    expect(stopPlan(config({ stopTimeout: 2 }), 0)).toEqual({ signal: 15, timeoutMs: 0 });
    expect(stopPlan(config({ stopTimeout: -1 })).timeoutMs).toBe(Infinity);
    expect(stopAnnotations({ stopSignal: 10 })).toEqual({ 'org.opencontainers.image.stopSignal': 'SIGUSR1' });
  });
});

describe('--platform and --runtime', () => {
  it('matches os, architecture and a given variant', () => {
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64' })).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'amd64' })).toBe(false);
    expect(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm', variant: 'v6' }, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(
      false,
    );
    expect(() => checkRunMisc({ runtime: 'runc' })).toThrow(/--runtime berth or berth-oci/);
    expect(() => checkRunMisc({ runtime: 'berth' })).not.toThrow();
    expect(() => checkRunMisc({ platform: 'linux' })).toThrow(/--platform/);
  });
});

describe('update merge', () => {
  const MiB = 1024 * 1024;
  it('merges over the config; a new memory limit drops a swap limit not given; --cpus drops a --cpu-period', () => {
    const c = config({ limits: { memory: 64 * MiB, memorySwap: 128 * MiB, cpus: 1, cpuPeriod: 50000, pidsLimit: 10 } });
    const u = updatedConfig(c, { memory: '256m', cpus: '0.5' });
    expect(u.limits).toEqual({ memory: 256 * MiB, cpus: 0.5, pidsLimit: 10 });
    expect(updatedConfig(c, { memorySwap: '512m' }).limits).toMatchObject({ memory: 64 * MiB, memorySwap: 512 * MiB });
    expect(() => updatedConfig(c, { memorySwap: '32m' })).toThrow(/--memory-swap/);
    expect(updatedConfig(c, { restart: 'always' }).restart).toEqual({ name: 'always', maxRetries: 0 });
    expect(() => updatedConfig(config({ autoRemove: true }), { restart: 'always' })).toThrow(/AutoRemove/);
    // the container's config is not changed
    expect(c.limits.memory).toBe(64 * MiB);
  });
});

describe('--network-alias in the peers of /etc/hosts', () => {
  it('a peer is listed by its name and, on its primary network only, by its aliases', async () => {
    const { peersOf } = await import('../../src/network/hosts-sync');
    const attachment = (network: string, ip: string) => ({ network, endpoint: { ip } }) as never;
    const record = (id: string, name: string, attachments: never[], aliases?: string[]) =>
      ({ containerId: id.repeat(64), name, attachments, ...(aliases ? { aliases } : {}) }) as never;
    const me = record('a', 'me', [attachment('front', '10.0.0.2'), attachment('back', '10.1.0.2')]);
    const db = record('b', 'db', [attachment('back', '10.1.0.3'), attachment('front', '10.0.0.3')], ['data', 'pg']);
    const web = record('c', 'web', [attachment('front', '10.0.0.4')], ['www']);
    expect(peersOf(me, [me, db, web])).toEqual([
      { host: 'db', ip: '10.0.0.3' },
      { host: 'web', ip: '10.0.0.4' },
      { host: 'www', ip: '10.0.0.4' },
      { host: 'data', ip: '10.1.0.3' },
      { host: 'pg', ip: '10.1.0.3' },
    ]);
  });
});
