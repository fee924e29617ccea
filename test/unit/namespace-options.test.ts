// The namespace flags' parsing (--pid, --ipc, --uts, --userns, --cgroupns, --network container:X)
// and what the OCI config gets from them: no root, no containers.
import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import {
  cgroupfsMount,
  checkJoinedNetwork,
  namespaceJoins,
  namespaceList,
  parseNamespaceOptions,
  resolveJoinedContainers,
} from '../../src/runtime/namespace-options';
import type { ContainerInfo } from '../../src/runtime/types';
import { caught } from '../helpers/caught';

describe('parseNamespaceOptions', () => {
  it('records only what is not the container’s own', () => {
    expect(parseNamespaceOptions({})).toEqual({});
    expect(parseNamespaceOptions({ ipc: 'private', cgroupns: 'private', userns: 'host' })).toEqual({});
    expect(parseNamespaceOptions({ pid: 'host', ipc: 'host', uts: 'host', cgroupns: 'host' })).toEqual({
      pid: 'host',
      ipc: 'host',
      uts: 'host',
      cgroup: 'host',
    });
    expect(parseNamespaceOptions({ pid: 'container:web', ipc: 'container:db' })).toEqual({ pid: 'container:web', ipc: 'container:db' });
    expect(parseNamespaceOptions({ ipc: 'shareable' })).toEqual({ ipc: 'shareable' });
  });

  it('refuses what docker refuses, naming the flag and what it takes', () => {
    expect(caught(() => parseNamespaceOptions({ pid: 'private' })).message).toBe(
      'Expected host or container:NAME_OR_ID for --pid but received "private"',
    );
    expect(caught(() => parseNamespaceOptions({ ipc: 'none' })).message).toBe(
      'Expected host, private, shareable or container:NAME_OR_ID for --ipc but received "none"',
    );
    expect(caught(() => parseNamespaceOptions({ uts: 'container:x' })).message).toBe('Expected host for --uts but received "container:x"');
    expect(caught(() => parseNamespaceOptions({ cgroupns: 'x' })).message).toBe('Expected host or private for --cgroupns but received "x"');
    expect(caught(() => parseNamespaceOptions({ pid: 'container:' })).message).toMatch(/--pid container: needs a container name/);
    expect(caught(() => parseNamespaceOptions({ userns: 'auto' })).message).toMatch(/^--userns auto is not supported/);
    expect(caught(() => parseNamespaceOptions({ uts: 'host', hostname: 'x' })).message).toMatch(
      /^Conflicting options: --hostname and --uts host/,
    );
    expect(caught(() => parseNamespaceOptions({ ipc: 'container:x', sysctls: ['kernel.msgmax=1'] })).message).toMatch(
      /kernel\.msgmax is not allowed with --ipc container:x/,
    );
    expect(caught(() => parseNamespaceOptions({ network: 'container:x', sysctls: { 'net.ipv4.ip_forward': '1' } })).message).toMatch(
      /net\.ipv4\.ip_forward is not allowed with --network container:x/,
    );
    expect(caught(() => parseNamespaceOptions({ pid: 'container:x', restart: 'always' })).message).toMatch(
      /^Conflicting options: --restart always and container:x/,
    );
    expect(caught(() => parseNamespaceOptions({ pid: 'nope' }))).toBeInstanceOf(BerthError);
  });
});

describe('checkJoinedNetwork', () => {
  it('returns the container named, undefined for other networks', () => {
    expect(checkJoinedNetwork({ network: 'container:web' })).toBe('web');
    expect(checkJoinedNetwork({ network: 'bridge', publish: ['80'] })).toBeUndefined();
  });
  it.each([
    [{ publish: ['80'] }, '-p/-P'],
    [{ publishAll: true }, '-p/-P'],
    [{ dns: ['1.1.1.1'] }, '--dns'],
    [{ mac: '02:42:ac:11:00:02' }, '--ip/--mac-address'],
    [{ hostname: 'h' }, '--hostname'],
    [{ addHosts: ['a:1.2.3.4'] }, '--add-host'],
  ])('%j conflicts with container:X', (o, what) => {
    expect(caught(() => checkJoinedNetwork({ network: 'container:web', ...o })).message).toMatch(
      new RegExp(`^Conflicting options: ${what.replace(/[/-]/g, '\\$&')} and --network container:web; `),
    );
  });
});

const info = (id: string, name: string, state: ContainerInfo['state'], hostname = 'h'): ContainerInfo =>
  ({ config: { id, name, hostname }, state }) as unknown as ContainerInfo;

describe('resolveJoinedContainers and namespaceJoins', () => {
  const x = info('a'.repeat(64), 'x', { status: 'running', pid: process.pid, pidStartTime: undefined }, 'xhost');
  const resolve = (ref: string) => {
    if (ref === 'x' || ref === x.config.id) return x;
    throw new BerthError('CONTAINER_NOT_FOUND', `No such container: "${ref}"`);
  };

  it('names X by its ID, and takes its hostname with its network', () => {
    const out = resolveJoinedContainers(
      {
        namespaces: { pid: 'container:x' },
        network: { mode: 'container', container: 'x' },
        hostname: '0123456789ab',
        env: ['PATH=/bin', 'HOSTNAME=0123456789ab'],
      },
      resolve,
    );
    expect(out).toEqual({
      namespaces: { pid: `container:${x.config.id}` },
      network: { mode: 'container', container: x.config.id },
      hostname: 'xhost',
      env: ['PATH=/bin', 'HOSTNAME=xhost'],
    });
    expect(caught(() => resolveJoinedContainers({ namespaces: { ipc: 'container:y' }, hostname: 'h', env: [] }, resolve)).message).toBe(
      'No such container: "y"',
    );
  });

  it('refuses an X that does not run, or whose pid is not the recorded process any more', () => {
    const stopped = info('b'.repeat(64), 'stopped', { status: 'exited' });
    expect(
      caught(() =>
        namespaceJoins(
          { namespaces: { pid: `container:${stopped.config.id}` } },
          () => stopped,
          () => '/d',
        ),
      ).message,
    ).toMatch(/^Cannot join the namespaces of container "stopped" \(--pid container:bbbbbbbbbbbb\): it is not running/);
    // a recorded start time that is not the process's: a reused pid is never joined
    const reused = info('c'.repeat(64), 'reused', { status: 'running', pid: process.pid, pidStartTime: 1 });
    expect(
      caught(() =>
        namespaceJoins(
          { network: { mode: 'container', container: 'c' } },
          () => reused,
          () => '/d',
        ),
      ).code,
    ).toBe('INVALID_STATE');
  });
});

describe('namespaceList', () => {
  it('leaves out the host’s namespaces and joins by path', () => {
    expect(namespaceList({}).map((n) => n.type)).toEqual(['pid', 'mount', 'uts', 'ipc', 'network', 'cgroup']);
    expect(namespaceList({ namespaces: { pid: 'host', uts: 'host', ipc: 'host', cgroup: 'host' }, network: { mode: 'host' } })).toEqual([
      { type: 'mount' },
    ]);
    expect(namespaceList({ network: { mode: 'bridge' } }, '/run/netns/n')).toContainEqual({ type: 'network', path: '/run/netns/n' });
    const joined = namespaceList({}, undefined, { pid: '/proc/9/ns/pid', ipc: '/proc/9/ns/ipc', network: '/proc/9/ns/net' });
    expect(joined.filter((n) => n.path)).toEqual([
      { type: 'pid', path: '/proc/9/ns/pid' },
      { type: 'ipc', path: '/proc/9/ns/ipc' },
      { type: 'network', path: '/proc/9/ns/net' },
    ]);
  });

  it('/sys/fs/cgroup: a cgroup mount, read-only unless privileged', () => {
    expect(cgroupfsMount({}).options).toContain('ro');
    expect(cgroupfsMount({ privileged: true }).options).toContain('rw');
    expect(cgroupfsMount({}).type).toBe('cgroup');
  });
});
