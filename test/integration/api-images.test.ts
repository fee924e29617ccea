// The Engine API's images, driven by the real docker CLI against `berth system service` on a
// temporary socket and state root, with Debian's docker-registry on 127.0.0.1 as the registry:
// pull with docker's progress, images/inspect/history/tag/rmi with docker's conflicts, save ->
// rmi -> load -> run, a missing repository, system df; and over raw HTTP what berth does not do
// (search, build), bad filters, and X-Registry-Auth against a registry that wants a login.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import { tempRoots, type TempRoots } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';
import { missingTools, startRegistry, type TestRegistry } from '../helpers/registry';
import { docker as dockerCli, request, startTestService, type TestService } from '../helpers/service';
import { buildImage, layerTar, layersOf, push } from '../fixtures/registry/images';
import { startStallProxy } from '../fixtures/registry/stall-proxy';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
let roots: TempRoots;
let service: TestService;
let registry: TestRegistry;
let authRegistry: TestRegistry;
let work: string;
/** The second layer of `stall`, the image whose pull a client abandons midway. */
let stallLayer: string;
const USER = 'berth';
const PASSWORD = 's3cret-pass';

beforeAll(async () => {
  const missing = missingTools();
  if (missing.length) throw new Error(`the image API tests need the Debian packages ${missing.join(', ')}`);
  roots = fixture.roots;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-images-'));
  registry = await startRegistry(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-')));
  const layout = path.join(work, 'layout');
  buildImage(layout, 'busybox', [busyboxTar()]);
  push(layout, 'busybox', `${registry.host}/busybox:latest`, { format: 'v2s2' });
  // incompressible, so that the blob is large enough to be cut in the middle
  const extra = path.join(work, 'extra');
  fs.mkdirSync(extra);
  fs.writeFileSync(path.join(extra, 'noise.bin'), Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) >>> 24)));
  buildImage(layout, 'stall', [busyboxTar(), layerTar(extra, path.join(work, 'extra.tar'))]);
  stallLayer = layersOf(layout, 'stall')[1].digest;
  push(layout, 'stall', `${registry.host}/stall:latest`, { format: 'oci' });
  const htpasswd = path.join(work, 'htpasswd');
  fs.writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', USER, PASSWORD]));
  authRegistry = await startRegistry(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-auth-')), { htpasswd });
  execFileSync('skopeo', [
    '--insecure-policy',
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    '--dest-creds',
    `${USER}:${PASSWORD}`,
    `oci:${layout}:busybox`,
    `docker://${authRegistry.host}/private/busybox:1`,
  ]);
  service = await startTestService(roots);
}, 120_000);
afterAll(async () => {
  await service?.stop();
  await registry?.stop();
  await authRegistry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const docker = (args: string[], opts: { timeoutMs?: number } = {}) => dockerCli(service, roots, args, opts);
const api = (method: string, p: string, body?: unknown, headers?: Record<string, string>) =>
  request(service.socket, method, p, body, headers);
/** What the store's tmp/ holds: a pull, load or save must leave nothing there. */
const tmpEntries = () => (fs.existsSync(path.join(roots.root, 'tmp')) ? fs.readdirSync(path.join(roots.root, 'tmp')) : []);
const repoTags = async () => (await docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n').sort();

describe('images through berth system service', () => {
  it('pulls with docker pull, showing docker progress, and lists, inspects and shows the history of the image', async () => {
    const ref = `${registry.host}/busybox`;
    const pulled = await docker(['pull', ref]);
    expect(pulled.stderr).toBe('');
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toContain('latest: Pulling from busybox');
    expect(pulled.stdout).toMatch(/[0-9a-f]{12}: Pull complete/);
    expect(pulled.stdout).toMatch(/Digest: sha256:[0-9a-f]{64}/);
    expect(pulled.stdout).toContain(`Status: Downloaded newer image for ${ref}:latest`);
    expect(pulled.stdout.trim().split('\n').at(-1)).toBe(`${ref}:latest`);
    const again = await docker(['pull', ref]);
    expect(again.stdout).toContain(`Status: Image is up to date for ${ref}:latest`);
    expect(await repoTags()).toEqual([`${ref}:latest`, 'busybox:latest'].sort());
    expect(tmpEntries()).toEqual([]);

    // the progress lines as docker sends them, over HTTP
    const raw = await api('POST', `/v1.43/images/create?fromImage=${encodeURIComponent(ref)}&tag=latest`);
    expect(raw.status).toBe(200);
    expect(raw.headers['content-type']).toBe('application/json');
    const lines = raw.body
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: string; id?: string });
    expect(lines[0]).toEqual({ status: 'Pulling from busybox', id: 'latest' });
    expect(lines.some((l) => l.status === 'Already exists' && /^[0-9a-f]{12}$/.test(l.id ?? ''))).toBe(true);

    const inspected = await docker(['image', 'inspect', ref]);
    expect(inspected.code).toBe(0);
    const [doc] = JSON.parse(inspected.stdout) as Array<{
      Id: string;
      RepoTags: string[];
      RepoDigests: string[];
      RootFS: { Layers: string[] };
      Size: number;
    }>;
    expect(doc.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(doc.RepoTags).toEqual([`${ref}:latest`]);
    expect(doc.RepoDigests[0]).toMatch(new RegExp(`^${ref.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`));
    expect(doc).toMatchObject({ Os: 'linux', RootFS: { Type: 'layers' }, GraphDriver: { Name: 'overlay2' }, Config: { Cmd: ['sh'] } });
    expect(doc.RootFS.Layers).toHaveLength(1);
    expect(doc.Size).toBeGreaterThan(0);
    const byShortId = await docker(['image', 'inspect', '--format', '{{.Id}}', doc.Id.slice(7, 19)]);
    expect(byShortId.stdout.trim()).toBe(doc.Id);
    const formatted = await docker(['images', '--format', '{{.ID}} {{.Size}}', ref]);
    expect(formatted.stdout.trim()).toMatch(new RegExp(`^${doc.Id.slice(7, 19)} \\d`));

    const history = await docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.Size}}', ref]);
    expect(history.code).toBe(0);
    expect(history.stdout.trim().split('\n')[0]).toMatch(new RegExp(`^${doc.Id}\\|`));

    const missing = await docker(['image', 'inspect', 'no-such-image:1']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No such image: no-such-image:1');
  });

  it('tags, and removes with docker rmi as docker does: untag, delete, and 409 for an image a container uses', async () => {
    const tagged = await docker(['tag', 'busybox', 'mine/box:v1']);
    expect(tagged).toMatchObject({ code: 0, stderr: '' });
    expect(await repoTags()).toContain('mine/box:v1');
    const untag = await docker(['rmi', 'mine/box:v1']);
    expect(untag).toMatchObject({ code: 0, stdout: 'Untagged: mine/box:v1\n' });

    const created = await docker(['create', 'busybox', 'true']);
    expect(created.code).toBe(0);
    const cid = created.stdout.trim();
    const byName = await docker(['rmi', 'busybox']);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toMatch(
      new RegExp(
        `conflict: unable to remove repository reference "busybox" \\(must force\\) - container ${cid.slice(0, 12)} is using its referenced image [0-9a-f]{12}`,
      ),
    );
    const id = (await docker(['image', 'inspect', '--format', '{{.Id}}', 'busybox'])).stdout.trim();
    const byId = await docker(['rmi', id.slice(7, 19)]);
    expect(byId.stderr).toContain(
      `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is being used by stopped container ${cid.slice(0, 12)}`,
    );
    const status = await api('DELETE', '/images/busybox');
    expect(status.status).toBe(409);
    expect(await repoTags()).toContain('busybox:latest');
    expect((await docker(['rm', cid])).code).toBe(0);
  });

  it('saves with docker save, and loads what it saved with docker load after docker rmi; the image runs', async () => {
    const ref = `${registry.host}/busybox:latest`;
    const file = path.join(work, 'saved.tar');
    const saved = await docker(['save', '-o', file, ref]);
    expect(saved).toMatchObject({ code: 0, stderr: '' });
    expect(fs.statSync(file).size).toBeGreaterThan(100_000);
    const id = (await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();

    const removed = await docker(['rmi', ref]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(`Untagged: ${ref}\n`);
    expect(removed.stdout).toContain(`Untagged: ${registry.host}/busybox@sha256:`);
    expect(removed.stdout).toContain(`Deleted: ${id}\n`);
    expect(await repoTags()).toEqual(['busybox:latest']);

    const loaded = await docker(['load', '-i', file]);
    expect(loaded).toMatchObject({ code: 0, stdout: `Loaded image: ${ref}\n` });
    expect((await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim()).toBe(id);
    const ran = await docker(['run', '--rm', ref, 'echo', 'ok']);
    expect(ran).toMatchObject({ code: 0, stdout: 'ok\n' });

    // several at once, by the query's names, and one by its path
    const both = await api('GET', `/images/get?names=busybox&names=${encodeURIComponent(ref)}`);
    expect([both.status, both.headers['content-type']]).toEqual([200, 'application/x-tar']);
    expect((await api('GET', '/images/no-such:1/get')).status).toBe(404);
    expect(tmpEntries()).toEqual([]);
  });

  it('fails docker pull of a missing repository with the registry message, and leaves nothing', async () => {
    const before = await repoTags();
    const r = await docker(['pull', `${registry.host}/nope`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`manifest for ${registry.host}/nope:latest not found: manifest unknown`);
    expect(await repoTags()).toEqual(before);
    expect(tmpEntries()).toEqual([]);
    const raw = await api('POST', `/images/create?fromImage=${registry.host}/nope&tag=latest`);
    expect(raw.status).toBe(404);
  });

  it('stops a pull whose client went away, and leaves nothing of it', async () => {
    const proxy = await startStallProxy(registry.host, `/blobs/${stallLayer}`);
    try {
      const lines: string[] = [];
      const req = http.request({
        socketPath: service.socket,
        method: 'POST',
        path: `/images/create?fromImage=${proxy.host}/stall&tag=latest`,
      });
      req.on('response', (res) => res.on('data', (b: Buffer) => lines.push(b.toString())));
      req.on('error', () => {});
      req.end();
      await proxy.stalled;
      expect(tmpEntries().length).toBeGreaterThan(0); // the pull's staging, half a layer in it
      req.destroy();
      for (let i = 0; i < 100 && tmpEntries().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(tmpEntries()).toEqual([]);
      expect(lines.join('')).toContain('Pulling fs layer');
      expect(await repoTags()).not.toContain(`${proxy.host}/stall:latest`);
      expect((await api('GET', '/_ping')).status).toBe(200);
    } finally {
      await proxy.close();
    }
  });

  it('passes X-Registry-Auth to a registry that wants a login; without it, docker’s access denied', async () => {
    const q = `/images/create?fromImage=${authRegistry.host}/private/busybox&tag=1`;
    const denied = await api('POST', q);
    expect(denied.status).toBe(404);
    expect((denied.json as { message: string }).message).toContain(
      `pull access denied for ${authRegistry.host}/private/busybox, repository does not exist or may require 'docker login'`,
    );
    const auth = Buffer.from(JSON.stringify({ username: USER, password: PASSWORD, serveraddress: authRegistry.host })).toString(
      'base64url',
    );
    const pulled = await api('POST', q, undefined, { 'X-Registry-Auth': auth });
    expect(pulled.status).toBe(200);
    // the same content as the image pulled before: nothing new to download, as dockerd would say
    expect(pulled.body.toString()).toContain(`Status: Image is up to date for ${authRegistry.host}/private/busybox:1`);
    expect(await repoTags()).toContain(`${authRegistry.host}/private/busybox:1`);
    expect((await docker(['rmi', `${authRegistry.host}/private/busybox:1`])).code).toBe(0);

    // dockerode encodes its authconfig the same way, and follows the progress to its end
    const client = new Docker({ socketPath: service.socket });
    const stream = await client.pull(`${authRegistry.host}/private/busybox:1`, { authconfig: { username: USER, password: PASSWORD } });
    const events = await new Promise<Array<{ status?: string }>>((resolve, reject) =>
      client.modem.followProgress(stream, (err: Error | null, out: Array<{ status?: string }>) => (err ? reject(err) : resolve(out))),
    );
    expect(events.at(-1)?.status).toMatch(/^Status: /);
    const info = await client.getImage(`${authRegistry.host}/private/busybox:1`).inspect();
    expect(info.RepoTags).toContain(`${authRegistry.host}/private/busybox:1`);
    await client.getImage(`${authRegistry.host}/private/busybox:1`).remove();
    const failed = client.pull(`${authRegistry.host}/private/busybox:1`);
    await expect(failed).rejects.toMatchObject({ statusCode: 404 });
  });

  it('shows docker system df, and answers /system/df in docker’s shape', async () => {
    const volume = await docker(['volume', 'create', 'df-data']);
    expect(volume.code).toBe(0);
    const c = await docker(['create', '-v', 'df-data:/data', 'busybox', 'true']);
    expect(c.code).toBe(0);
    const df = await docker(['system', 'df']);
    expect(df.code).toBe(0);
    expect(df.stdout).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE/);
    expect(df.stdout).toMatch(/Images\s+2\s+1\s/);
    expect(df.stdout).toMatch(/Containers\s+1\s+0\s/);
    expect(df.stdout).toMatch(/Local Volumes\s+1\s+1\s/);
    expect(df.stdout).toMatch(/Build Cache\s+0\s+0\s/);
    const raw = (await api('GET', '/system/df')).json as {
      LayersSize: number;
      Images: Array<{ Containers: number }>;
      Containers: unknown[];
      Volumes: unknown[];
      BuildCache: unknown[];
    };
    expect(raw.LayersSize).toBeGreaterThan(0);
    expect(raw.Images.map((i) => i.Containers).sort()).toEqual([0, 1]);
    expect(raw.Containers[0]).toMatchObject({ Id: c.stdout.trim(), SizeRw: expect.any(Number) });
    expect(raw.Volumes).toEqual([expect.objectContaining({ Name: 'df-data', Driver: 'local', UsageData: { Size: 0, RefCount: 1 } })]);
    expect(raw.BuildCache).toEqual([]);
    const images = (await api('GET', '/system/df?type=image')).json as Record<string, unknown>;
    expect(Object.keys(images).sort()).toEqual(['Images', 'LayersSize']);
    expect((await docker(['rm', c.stdout.trim()])).code).toBe(0);
    expect((await docker(['volume', 'rm', 'df-data'])).code).toBe(0);
  });

  it('imports a rootfs tar with docker import, and refuses an upload over the size bound with 413', async () => {
    const imported = await docker(['import', '-m', 'from the API', busyboxTar(), 'imported:1']);
    expect(imported.code).toBe(0);
    expect(imported.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await docker(['image', 'inspect', '--format', '{{.Comment}}', 'imported:1'])).stdout.trim()).toBe('from the API');
    expect((await docker(['run', '--rm', 'imported:1', 'echo', 'imported'])).stdout).toBe('imported\n');
    expect((await docker(['rmi', 'imported:1'])).code).toBe(0);
    const unnamed = await api('POST', '/images/create?fromSrc=-', fs.readFileSync(busyboxTar()), { 'Content-Type': 'application/x-tar' });
    expect(unnamed.status).toBe(400);

    // a service whose bound is 64 KiB: a bigger load is refused, nothing stays in tmp/, and it serves on
    const small = tempRoots();
    const bounded = await startTestService(small, { env: { BERTH_MAX_LAYER_SIZE: '64k' } });
    try {
      const big = await request(bounded.socket, 'POST', '/images/load', Buffer.alloc(256 * 1024), { 'Content-Type': 'application/x-tar' });
      expect(big.status).toBe(413);
      expect(fs.existsSync(path.join(small.root, 'tmp')) ? fs.readdirSync(path.join(small.root, 'tmp')) : []).toEqual([]);
      expect((await request(bounded.socket, 'GET', '/_ping')).status).toBe(200);
    } finally {
      await bounded.stop();
      small.cleanup();
    }
  });

  it('filters images, prunes, and refuses what berth does not do with docker statuses', async () => {
    const list = async (filters: unknown) => api('GET', `/images/json?filters=${encodeURIComponent(JSON.stringify(filters))}`);
    const byRef = (await list({ reference: ['busybox'] })).json as Array<{ RepoTags: string[] }>;
    expect(byRef.map((i) => i.RepoTags)).toEqual([['busybox:latest']]);
    expect(((await list({ reference: [`${registry.host}/*`] })).json as unknown[]).length).toBe(1);
    expect(((await list({ dangling: ['true'] })).json as unknown[]).length).toBe(0);
    const unknown = await list({ colour: ['blue'] });
    expect([unknown.status, (unknown.json as { message: string }).message]).toEqual([400, "invalid filter 'colour'"]);
    expect((await list({ dangling: ['maybe'] })).status).toBe(400);
    expect((await api('GET', '/images/json?filters=not-json')).status).toBe(400);

    const search = await api('GET', '/images/search?term=busybox');
    expect(search.status).toBe(501);
    expect((search.json as { message: string }).message).toMatch(/berth does not search registries/);
    const build = await api('POST', '/build');
    expect(build.status).toBe(501);
    expect((build.json as { message: string }).message).toMatch(/berth does not build images yet/);

    // nothing dangling: the default prune removes nothing; -a removes the unused pulled image
    const nothing = (await api('POST', '/images/prune')).json as { ImagesDeleted: unknown; SpaceReclaimed: number };
    expect(nothing).toEqual({ ImagesDeleted: null, SpaceReclaimed: 0 });
    const c = await docker(['create', 'busybox', 'true']);
    const all = await docker(['image', 'prune', '-a', '-f']);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(`untagged: ${registry.host}/busybox:latest`);
    expect(all.stdout).toMatch(/Total reclaimed space: [1-9]/);
    expect(await repoTags()).toEqual(['busybox:latest']);
    expect((await docker(['rm', c.stdout.trim()])).code).toBe(0);
  });
});
