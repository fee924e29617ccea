// The Engine API's networks and volumes, driven by the real docker CLI against `berth system
// service` on a temporary socket and state root: network create/ls/inspect/connect/disconnect/rm/
// prune with containers resolving each other by name and alias, volumes shared between containers,
// refused while in use, pruned; a published port reached from the host; docker's statuses for the
// predefined networks, unknown ones and bad bodies. After each test the host is as it was: no
// links (berth's bridges, br-<id> of the test's networks), iptables rules or mounts left.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import type { TempRoots } from '../helpers/env';
import { docker as dockerCli, request, startTestService, type TestService } from '../helpers/service';

/** Bridges of this root's user networks left behind (hostSnapshot names only berth* links); only
 *  this root's, so networks of tests running beside this one do not count. */
const leftBridges = (bridges: string[]) => bridges.filter((b) => fs.existsSync(`/sys/class/net/${b}`));
const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true, volumes: true });
    const bridges = b.listNetworks().flatMap((n) => (n.name === 'berth' ? [] : [n.bridge]));
    for (const n of b.listNetworks()) if (n.name !== 'berth') b.removeNetwork(n.name);
    for (const v of b.listVolumes()) b.removeVolume(v.Name, { force: true });
    expect(leftBridges([...bridges, ...removedBridges.splice(0)])).toEqual([]);
  },
});
/** Bridges of networks the test itself removed (docker network rm, prune), checked after it. */
const removedBridges: string[] = [];
let roots: TempRoots;
let service: TestService;
beforeAll(async () => {
  roots = fixture.roots;
  service = await startTestService(roots);
  // the default network's bridge and rules stay once used (as docker0 does): made here, before the
  // first test's host snapshot, and removed with the roots
  // (test/setup.ts makes `none` the default network: containers here name `bridge` when they need it)
  const warm = await dockerCli(service, roots, [
    'run',
    '-d',
    '--network',
    'bridge',
    '-p',
    '127.0.0.1::80',
    '--name',
    'warm',
    'busybox',
    'sleep',
    '60',
  ]);
  expect(warm.code, warm.stderr).toBe(0);
  expect((await dockerCli(service, roots, ['rm', '-f', 'warm'])).code).toBe(0);
});
afterAll(async () => {
  await service?.stop();
});

const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) => dockerCli(service, roots, args, opts);
const api = (method: string, path: string, body?: unknown) => request(service.socket, method, path, body);
const ok = async (args: string[]) => {
  const r = await docker(args);
  expect(r.stderr, `docker ${args.join(' ')}`).toBe('');
  expect(r.code, `docker ${args.join(' ')}`).toBe(0);
  return r.stdout;
};

describe('networks through berth system service', () => {
  it('lists the predefined networks as docker does, and inspects bridge', async () => {
    const ls = await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    expect(ls.split('\n').filter(Boolean)).toEqual(['bridge bridge local', 'host host local', 'none null local']);
    const [bridge] = JSON.parse(await ok(['network', 'inspect', 'bridge']));
    expect(bridge).toMatchObject({ Name: 'bridge', Scope: 'local', Driver: 'bridge', EnableIPv6: false, Internal: false });
    expect(bridge.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(bridge.IPAM.Config[0].Subnet).toMatch(/^\d+\.\d+\.\d+\.0\/24$/);
    // the same ID on every listing, and the ID (or its prefix) finds it too
    expect((await ok(['network', 'inspect', '-f', '{{.Name}}', bridge.Id.slice(0, 12)])).trim()).toBe('bridge');
    expect((await ok(['network', 'ls', '-q', '--no-trunc', '--filter', 'name=^bridge$'])).trim()).toBe(bridge.Id);
    expect((await ok(['network', 'ls', '--format', '{{.Name}}', '--filter', 'type=custom'])).trim()).toBe('');
  });

  it('creates a network, runs containers on it that resolve each other by name and alias, connects and disconnects', async () => {
    const id = (await ok(['network', 'create', '--subnet', '10.123.45.0/24', '--label', 'project=t', 'apinet'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const dup = await docker(['network', 'create', 'apinet']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('network with name apinet already exists');
    const ls = await ok(['network', 'ls', '--filter', 'label=project=t', '--format', '{{.ID}} {{.Name}} {{.Driver}}']);
    expect(ls.trim()).toBe(`${id.slice(0, 12)} apinet bridge`);

    const a = (
      await ok(['run', '-d', '--network', 'apinet', '--network-alias', 'web', '--name', 'alpha', 'busybox', 'sleep', '60'])
    ).trim();
    const [inspected] = JSON.parse(await ok(['network', 'inspect', 'apinet']));
    expect(inspected).toMatchObject({
      Name: 'apinet',
      Id: id,
      Labels: { project: 't' },
      IPAM: { Config: [{ Subnet: '10.123.45.0/24', Gateway: '10.123.45.1' }] },
    });
    expect(inspected.Containers[a]).toMatchObject({ Name: 'alpha', IPv6Address: '' });
    expect(inspected.Containers[a].IPv4Address).toMatch(/^10\.123\.45\.\d+\/24$/);
    const ip = inspected.Containers[a].IPv4Address.split('/')[0];

    // by its name, and by the alias given at create (NetworkingConfig's Aliases)
    for (const host of ['alpha', 'web']) {
      const ping = await docker(['run', '--rm', '--network', 'apinet', 'busybox', 'ping', '-c1', '-W2', host]);
      expect(ping.stdout, `ping ${host}: ${ping.stderr}`).toContain(`(${ip})`);
      expect(ping.code).toBe(0);
    }

    // connect a container of the default network to apinet, then disconnect it
    await ok(['run', '-d', '--network', 'bridge', '--name', 'beta', 'busybox', 'sleep', '60']);
    await ok(['network', 'connect', '--ip', '10.123.45.77', 'apinet', 'beta']);
    const addr = await ok(['exec', 'beta', 'ip', '-4', '-o', 'addr']);
    expect(addr).toContain('10.123.45.77/24');
    const pingFromB = await docker(['exec', 'beta', 'ping', '-c1', '-W2', 'alpha']);
    expect(pingFromB.code, pingFromB.stderr).toBe(0);
    const members = JSON.parse(await ok(['network', 'inspect', 'apinet']))[0].Containers;
    expect(
      Object.values(members)
        .map((m) => (m as { Name: string }).Name)
        .sort(),
    ).toEqual(['alpha', 'beta']);
    await ok(['network', 'disconnect', 'apinet', 'beta']);
    expect(await ok(['exec', 'beta', 'ip', '-4', '-o', 'addr'])).not.toContain('10.123.45.77');

    // in use: docker's 403 and wording; after the container, removed
    const busy = await docker(['network', 'rm', 'apinet']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(`error while removing network: network apinet id ${id} has active endpoints`);
    await ok(['rm', '-f', 'alpha', 'beta']);
    expect((await ok(['network', 'rm', id.slice(0, 12)])).trim()).toBe(id.slice(0, 12));
    removedBridges.push(`br-${id.slice(0, 12)}`);
    const gone = await docker(['network', 'inspect', 'apinet']);
    expect(gone.stderr).toContain('network apinet not found');
  });

  it('prunes the unused custom networks only', async () => {
    await ok(['network', 'create', 'keep']);
    for (const name of ['drop1', 'drop2'])
      removedBridges.push(`br-${(await ok(['network', 'create', '--label', 'x=1', name])).slice(0, 12)}`);
    await ok(['run', '-d', '--network', 'keep', '--name', 'keeper', 'busybox', 'sleep', '60']);
    const pruned = await ok(['network', 'prune', '-f']);
    expect(pruned).toContain('drop1');
    expect(pruned).toContain('drop2');
    expect(pruned).not.toContain('keep');
    const left = await ok(['network', 'ls', '--format', '{{.Name}}']);
    expect(left.split('\n').filter(Boolean).sort()).toEqual(['bridge', 'host', 'keep', 'none']);
    await ok(['rm', '-f', 'keeper']);
  });

  it('answers docker statuses: bridge cannot go (403), an unknown network is 404, a bad body 400', async () => {
    for (const name of ['bridge', 'host', 'none']) {
      const r = await api('DELETE', `/v1.43/networks/${name}`);
      expect(r.status).toBe(403);
      expect(r.json).toEqual({ message: `${name} is a pre-defined network and cannot be removed` });
    }
    const create = await api('POST', '/v1.43/networks/create', { Name: 'host' });
    expect(create.status).toBe(403);
    const unknown = await api('GET', '/v1.43/networks/nosuchnet');
    expect(unknown).toMatchObject({ status: 404, json: { message: 'network nosuchnet not found' } });
    expect((await api('DELETE', '/v1.43/networks/nosuchnet')).status).toBe(404);
    const malformed = await api('POST', '/v1.43/networks/create', '{"Name": ');
    expect(malformed.status).toBe(400);
    expect((malformed.json as { message: string }).message).toMatch(/invalid JSON/);
    expect((await api('POST', '/v1.43/networks/create', { Name: 'v6', EnableIPv6: true })).status).toBe(400);
    expect((await api('POST', '/v1.43/volumes/create', '[1,')).status).toBe(400);
    // nothing was made by the refused requests
    expect((await api('GET', '/v1.43/networks')).json).toHaveLength(3);
    // the service still serves
    expect((await api('GET', '/_ping')).status).toBe(200);
  });
});

describe('volumes through berth system service', () => {
  it('creates, lists, inspects a volume shared by two containers; refuses rm while used; removes it', async () => {
    expect((await ok(['volume', 'create', '--label', 'k=v', 'data'])).trim()).toBe('data');
    // creating it again answers the existing one, as docker does
    expect((await ok(['volume', 'create', 'data'])).trim()).toBe('data');
    expect((await ok(['volume', 'ls', '--format', '{{.Name}} {{.Driver}}', '--filter', 'label=k=v'])).trim()).toBe('data local');
    const [v] = JSON.parse(await ok(['volume', 'inspect', 'data']));
    expect(v).toMatchObject({ Name: 'data', Driver: 'local', Scope: 'local', Labels: { k: 'v' } });
    expect(v.Mountpoint.startsWith(roots.root)).toBe(true);

    await ok(['run', '--rm', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo x > /data/f']);
    expect(await ok(['run', '--rm', '-v', 'data:/data:ro', 'busybox', 'cat', '/data/f'])).toBe('x\n');
    expect(fs.readFileSync(`${v.Mountpoint}/f`, 'utf8')).toBe('x\n');

    const user = (await ok(['create', '-v', 'data:/data', 'busybox', 'true'])).trim();
    const busy = await docker(['volume', 'rm', 'data']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(`remove data: volume is in use - [${user}]`);
    const raw = await api('DELETE', '/v1.43/volumes/data');
    expect(raw.status).toBe(409);
    await ok(['rm', user]);
    expect((await ok(['volume', 'rm', 'data'])).trim()).toBe('data');
    const missing = await api('GET', '/v1.43/volumes/data');
    expect(missing).toMatchObject({ status: 404, json: { message: 'get data: no such volume' } });
    expect((await api('DELETE', '/v1.43/volumes/data?force=1')).status).toBe(204);
  });

  it('prunes anonymous volumes only, and named ones with --all', async () => {
    await ok(['volume', 'create', 'named']);
    const anon = (await ok(['create', '-v', '/scratch', 'busybox', 'true'])).trim();
    const anonName = JSON.parse(await ok(['inspect', anon]))[0].Mounts[0].Name as string;
    expect(anonName).toMatch(/^[0-9a-f]{64}$/);
    await ok(['rm', anon]); // without -v: the anonymous volume stays
    const pruned = await ok(['volume', 'prune', '-f']);
    expect(pruned).toContain(anonName);
    expect(pruned).not.toContain('named');
    expect((await ok(['volume', 'ls', '-q'])).trim()).toBe('named');
    const all = await ok(['volume', 'prune', '-f', '--all']);
    expect(all).toContain('named');
    expect((await ok(['volume', 'ls', '-q'])).trim()).toBe('');
  });
});

describe('published ports through berth system service', () => {
  it('publishes a port on 127.0.0.1 that docker port shows and the host reaches', async () => {
    await ok([
      'run',
      '-d',
      '--network',
      'bridge',
      '-p',
      '127.0.0.1::80',
      '--name',
      'srv',
      'busybox',
      'nc',
      '-ll',
      '-p',
      '80',
      '-e',
      'echo',
      'hi',
    ]);
    const port = (await ok(['port', 'srv', '80'])).trim();
    expect(port).toMatch(/^127\.0\.0\.1:\d+$/);
    const hostPort = Number(port.split(':')[1]);
    const inspected = JSON.parse(await ok(['inspect', 'srv']))[0];
    expect(inspected.NetworkSettings.Ports['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(hostPort) }]);
    let reply = '';
    for (let i = 0; i < 50 && !reply.includes('hi'); i++) {
      reply = await readFrom(hostPort).catch(() => '');
      if (!reply.includes('hi')) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reply).toBe('hi\n');
    await ok(['rm', '-f', 'srv']);
  });
});

/** What a TCP server on 127.0.0.1:port sends before it closes (at most 2 s). */
function readFrom(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(2000, () => s.destroy(new Error('timeout')));
    s.on('data', (b) => (data += b.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}
