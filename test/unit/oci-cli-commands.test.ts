// berth-oci's command line against a fake runtime: the output formats of list, ps and events,
// the limits update sends, and the features and spec documents.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Spec, State } from '../../src/oci/spec';
import { filterPs, tabwriter } from '../../src/oci-cli/inspect';
import { parseDuration, statsEvent } from '../../src/oci-cli/inspect';
import { ramInBytes } from '../../src/oci-cli/update';
import { FakeRuntime, cli, expectOneLineError } from '../helpers/oci-fake-runtime';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-oci-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('list, ps, events, update', () => {
  function twoContainers(rt: FakeRuntime) {
    rt.states.set('a', { ociVersion: '1.1.0', id: 'a', status: 'running', pid: 10, bundle: '/bundles/a' });
    const created = '2024-05-01T10:00:00.5Z';
    rt.states.set('long-container-id', {
      ociVersion: '1.1.0',
      id: 'long-container-id',
      status: 'stopped',
      pid: 0,
      bundle: '/b',
      created,
    } as State);
  }

  it("list prints runc's table (tabwriter columns), -q the ids, json the entries", async () => {
    const rt = new FakeRuntime();
    twoContainers(rt);
    const table = (await cli(['--root', dir, 'list'], rt)).stdout.split('\n');
    // each column as wide as its widest cell plus 3, at least 12; the last one unpadded
    const row = (...c: string[]) => c[0].padEnd(20) + c[1].padEnd(12) + c[2].padEnd(12) + c[3].padEnd(13) + c[4].padEnd(25) + c[5];
    expect(table[0]).toBe(row('ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'));
    expect(table[2]).toBe(row('long-container-id', '0', 'stopped', '/b', '2024-05-01T10:00:00.5Z', ''));
    expect((await cli(['list', '-q'], rt)).stdout).toBe('a\nlong-container-id\n');
    const json = JSON.parse((await cli(['list', '--format', 'json'], rt)).stdout) as Array<Record<string, unknown>>;
    expect(json.map((e) => Object.keys(e).sort())[0]).toEqual([
      'bundle',
      'created',
      'id',
      'ociVersion',
      'owner',
      'pid',
      'rootfs',
      'status',
    ]);
    expect(json[1]).toMatchObject({ id: 'long-container-id', created: '2024-05-01T10:00:00.5Z', status: 'stopped' });
    expect((await cli(['list', '-f', 'json'], new FakeRuntime())).stdout).toBe('[]\n');
    expectOneLineError(await cli(['list', '-f', 'yaml'], rt), 'invalid format option');
    expect(
      tabwriter([
        ['ID', 'PID'],
        ['x', '1'],
      ]),
    ).toBe('ID          PID\nx           1\n');
  });

  it("list owner is the state directory's", async () => {
    const rt = new FakeRuntime();
    rt.states.set('a', { ociVersion: '1.1.0', id: 'a', status: 'running', pid: 10, bundle: '/b' });
    fs.mkdirSync(path.join(dir, 'a'));
    const json = JSON.parse((await cli(['--root', dir, 'list', '--format=json'], rt)).stdout) as Array<{ owner: string; created: string }>;
    expect(json[0].owner).toBe(os.userInfo().username);
    expect(json[0].created).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  });

  it("ps --format json prints the pids; the table keeps ps's header and the container's lines", async () => {
    const rt = new FakeRuntime();
    expect((await cli(['ps', '-f', 'json', 'c1'], rt)).stdout).toBe('[1,4242]\n');
    const ps =
      'UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 10:00 ?        00:00:01 init\nroot         200       1  0 10:00 ?        00:00:00 other\nroot        4242       1  0 10:00 ?        00:00:00 sh\n';
    expect(filterPs(ps, [1, 4242])).toBe(
      ps
        .split('\n')
        .filter((l) => !l.includes('other'))
        .join('\n'),
    );
    expect(() => filterPs('USER COMMAND\nroot x\n', [1])).toThrow("couldn't find PID field in ps output");
    // the table through the real ps: our own process is not in the container
    const r = await cli(['ps', 'c1', '-o', 'pid,comm'], rt);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0].trim()).toBe('PID COMMAND');
    expect(r.stdout).not.toContain(` ${process.pid} `);
  });

  it('events --stats prints one stats object; --interval takes Go durations', async () => {
    const r = await cli(['events', '--stats', 'c1']);
    expect(JSON.parse(r.stdout)).toEqual({ type: 'stats', id: 'c1', data: { memory: { usage: { usage: 1 } } } });
    // bare statistics from the runtime are put in runc's envelope
    expect(statsEvent('c1', { memory: {} })).toEqual({ type: 'stats', id: 'c1', data: { memory: {} } });
    expect(parseDuration('5s', 'interval')).toBe(5000);
    expect(parseDuration('1m30s', 'interval')).toBe(90_000);
    expect(parseDuration('250ms', 'interval')).toBe(250);
    expectOneLineError(await cli(['events', '--interval', '1x', 'c1']), 'invalid value "1x" for flag -interval: parse error');
  });

  it("update sends only the limits given, with runc's units", async () => {
    const rt = new FakeRuntime();
    await cli(
      [
        'update',
        '--memory',
        '32m',
        '--memory-swap',
        '-1',
        '--cpu-share',
        '512',
        '--cpu-quota',
        '-1',
        '--cpu-period',
        '100000',
        '--cpuset-cpus',
        '0-1',
        '--cpuset-mems',
        '0',
        '--pids-limit',
        '20',
        'c1',
      ],
      rt,
    );
    await cli(['update', 'c1', '--cpu-shares', '100', '--memory-reservation=1GiB', '--blkio-weight', '500'], rt);
    expect(rt.calls).toEqual([
      [
        'update',
        'c1',
        {
          memory: { limit: 32 * 1024 ** 2, swap: -1 },
          cpu: { shares: 512, quota: -1, period: 100000, cpus: '0-1', mems: '0' },
          pids: { limit: 20 },
        },
      ],
      ['update', 'c1', { memory: { reservation: 1024 ** 3 }, cpu: { shares: 100 }, blockIO: { weight: 500 } }],
    ]);
    expect(ramInBytes('1.5k', 'memory')).toBe(1536);
    expectOneLineError(await cli(['update', '--memory', '12q', 'c1'], rt), 'invalid value for memory');
    expectOneLineError(await cli(['update', '--cpu-period', '-5', 'c1'], rt), 'invalid value for cpu-period');
    expectOneLineError(await cli(['update', '--l3-cache-schema', 'L3:0=f', 'c1'], rt), 'Intel RDT is not supported');
  });

  it('update --resources reads a file or stdin, ignoring the other flags', async () => {
    const rt = new FakeRuntime();
    const file = path.join(dir, 'r.json');
    const resources = { memory: { limit: 1048576 }, pids: { limit: 5 } };
    fs.writeFileSync(file, JSON.stringify(resources));
    await cli(['update', '-r', file, '--memory', '1g', 'c1'], rt);
    await cli(['update', '--resources', '-', 'c1'], rt, JSON.stringify({ cpu: { shares: 2 } }));
    expect(rt.calls).toEqual([
      ['update', 'c1', resources],
      ['update', 'c1', { cpu: { shares: 2 } }],
    ]);
    expectOneLineError(await cli(['update', '--resources', '-', 'c1'], rt, '{"memory":'), 'resources from stdin');
    expectOneLineError(await cli(['update', '--resources', '-', 'c1'], rt, '[1]'), 'expected a JSON object');
  });
});

describe('features and spec', () => {
  it('features is the runtime-spec features document', async () => {
    const r = await cli(['features']);
    expect(r.code).toBe(0);
    const f = JSON.parse(r.stdout) as {
      ociVersionMin: string;
      ociVersionMax: string;
      hooks: string[];
      mountOptions: string[];
      linux: {
        namespaces: string[];
        capabilities: string[];
        cgroup: Record<string, boolean>;
        seccomp: { enabled: boolean };
        apparmor: { enabled: boolean };
      };
    };
    expect(f.ociVersionMin).toBe('1.0.0');
    expect(f.ociVersionMax).toBe('1.1.0');
    expect(f.hooks).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    expect(f.mountOptions).toEqual(expect.arrayContaining(['rbind', 'ro', 'rprivate', 'nosuid']));
    expect(f.linux.namespaces).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']);
    expect(f.linux.capabilities).toContain('CAP_SYS_ADMIN');
    expect(f.linux.cgroup).toMatchObject({ v1: true, v2: true, systemd: false });
    expect(f.linux.apparmor.enabled).toBe(false);
  });

  it("spec writes runc's example config.json, parseable as a Spec, and never overwrites one", async () => {
    expect((await cli(['spec', '--bundle', dir])).code).toBe(0);
    const text = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    expect(text).toContain('\n\t"process": {');
    const spec = JSON.parse(text) as Spec;
    expect(spec.ociVersion).toBe('1.1.0');
    expect(spec.process).toMatchObject({ args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 }, terminal: true });
    expect(spec.root).toEqual({ path: 'rootfs', readonly: true });
    expect(spec.mounts?.map((m) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/shm',
      '/dev/mqueue',
      '/sys',
      '/sys/fs/cgroup',
    ]);
    expect(spec.linux?.namespaces?.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(spec.linux?.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux?.readonlyPaths).toContain('/proc/sys');
    expectOneLineError(await cli(['spec', '-b', dir]), 'File config.json exists. Remove it first');
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe(text);
  });

  it('spec --rootless maps the caller to root in a user namespace, without a network namespace', async () => {
    expect((await cli(['spec', '--rootless', '-b', dir])).code).toBe(0);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Spec;
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'user']);
    expect(spec.linux?.uidMappings).toEqual([{ containerID: 0, hostID: process.geteuid?.(), size: 1 }]);
    expect(spec.mounts?.find((m) => m.destination === '/sys')).toEqual({
      destination: '/sys',
      type: 'none',
      source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
    });
    expect(spec.mounts?.find((m) => m.destination === '/dev/pts')?.options).not.toContain('gid=5');
    expect(spec.linux?.resources).toBeUndefined();
  });
});
