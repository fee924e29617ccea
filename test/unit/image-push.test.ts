/**
 * The pure parts of push (upload URLs, mount sources, docker's progress lines and words, which tags
 * a request pushes) and a push to an in-memory registry that hands out bearer tokens: the token
 * is asked for with push scope, blobs go up once, the manifest keeps its bytes and digest.
 */
import * as fs from 'node:fs';
import http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageStore } from '../../src/image/store/store';
import type { StoreLock } from '../../src/image/store/store-lock';
import { withDigest } from '../../src/image/registry/push-blobs';
import { mountSources } from '../../src/image/registry/push-mounts';
import type { PushEvent } from '../../src/image/registry/push-options';
import { PushProgress, pushReferences } from '../../src/api/routes/push';
import { layerId, layerStatus } from '../../src/cli/push';
import { ApiError } from '../../src/api/http/errors';
import { FakeRegistry, sha256, tarOf } from '../fixtures/registry/fake-registry';

const noLock: StoreLock = { sync: (_f, fn) => fn(), async: (_f, fn) => fn() };
const D = `sha256:${'ab'.repeat(32)}`;
type LayerEvent = Extract<PushEvent, { type: 'layer' }>;
const layer = (status: LayerEvent['status'], extra: Partial<LayerEvent> = {}): LayerEvent => ({
  type: 'layer',
  digest: D,
  diffId: `sha256:${'cd'.repeat(32)}`,
  status,
  total: 2000,
  ...extra,
});

describe('push: the pure parts', () => {
  it('adds the digest to an upload URL, keeping the registry state in its query', () => {
    expect(withDigest('/v2/a/blobs/uploads/u1?_state=xyz', D)).toBe(`/v2/a/blobs/uploads/u1?_state=xyz&digest=sha256%3A${'ab'.repeat(32)}`);
    expect(withDigest('http://h/v2/a/blobs/uploads/u1', D)).toBe(`http://h/v2/a/blobs/uploads/u1?digest=sha256%3A${'ab'.repeat(32)}`);
  });

  it('mounts a blob from the other repositories of the registry whose images list it', () => {
    const L = `sha256:${'11'.repeat(32)}`;
    const other = `sha256:${'22'.repeat(32)}`;
    const images = [
      { id: 'sha256:1', manifestDigest: 'm1', repoDigests: [`h:5000/src/app@${D}`, `other:5000/x@${D}`] },
      { id: 'sha256:2', manifestDigest: 'm2', repoDigests: [] },
      { id: 'sha256:3', manifestDigest: 'm3', repoDigests: [`h:5000/unrelated@${D}`] },
    ];
    const manifests: Record<string, string[]> = { m1: [L], m2: [L, other], m3: [other] };
    const parts = {
      records: { all: () => images },
      repositories: { read: () => ({ 'h:5000/named:1': 'sha256:1', 'h:5000/dst:2': 'sha256:2', 'h:5000/base:1': 'sha256:2' }) },
      blobs: { read: (m: string) => Buffer.from(JSON.stringify({ layers: manifests[m].map((digest) => ({ digest })) })) },
    };
    const found = mountSources(parts as never, { registry: 'h:5000', repository: 'dst', tag: '2' }, [L, other, 'sha256:2']);
    expect(Object.fromEntries([...found].map(([d, r]) => [d, r.sort()]))).toEqual({
      [L]: ['base', 'named', 'src/app'],
      [other]: ['base', 'unrelated'],
      'sha256:2': ['base'],
    });
  });

  it("speaks docker's words: short diff IDs, statuses, JSON lines with throttled Pushing", () => {
    expect(layerId(`sha256:${'cd'.repeat(32)}`)).toBe('cdcdcdcdcdcd');
    expect(['preparing', 'exists', 'pushed'].map((s) => layerStatus(layer(s as LayerEvent['status'])))).toEqual([
      'Preparing',
      'Layer already exists',
      'Pushed',
    ]);
    expect(layerStatus(layer('mounted', { from: 'library/busybox' }))).toBe('Mounted from library/busybox');

    const p = new PushProgress();
    const resolved: PushEvent = { type: 'resolved', name: 'h/a:1', repository: 'h/a', tag: '1', layers: 1 };
    expect(p.messages(resolved)).toEqual([{ status: 'The push refers to repository [h/a]' }]);
    expect(p.messages(resolved)).toEqual([]); // once for all the tags of a push
    expect(p.messages(layer('preparing'))).toEqual([{ status: 'Preparing', progressDetail: {}, id: 'cdcdcdcdcdcd' }]);
    const pushing = p.messages(layer('pushing', { current: 1000 }), 1000);
    expect(pushing).toEqual([
      {
        status: 'Pushing',
        progressDetail: { current: 1000, total: 2000 },
        progress: expect.stringMatching(/^\[=+>\s+\]\s+1kB\/2kB$/),
        id: 'cdcdcdcdcdcd',
      },
    ]);
    expect(p.messages(layer('pushing', { current: 1500 }), 1050)).toEqual([]);
    expect(p.messages(layer('pushing', { current: 1600 }), 1200)).toHaveLength(1);
    expect(p.finish({ name: 'h/a:1', tag: '1', digest: D, size: 527 })).toEqual([
      { status: `1: digest: ${D} size: 527` },
      { progressDetail: {}, aux: { Tag: '1', Digest: D, Size: 527 } },
    ]);
  });

  it('pushes the tag asked for, the one in the name, or every local tag of the repository', () => {
    const local = ['h:5000/app:2', 'h:5000/app:1', 'h:5000/apple:1'];
    expect(pushReferences('h:5000/app', 'x', local)).toEqual(['h:5000/app:x']);
    expect(pushReferences('h:5000/app:3', null, local)).toEqual(['h:5000/app:3']);
    expect(pushReferences('h:5000/app', '', local)).toEqual(['h:5000/app:1', 'h:5000/app:2']);
    expect(() => pushReferences('h:5000/none', null, local)).toThrow(ApiError);
  });
});

/** A registry that answers only bearer token T, handed out for the scope asked, and takes uploads. */
async function bearerRegistry() {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { type: string; body: Buffer }>();
  const scopes: string[] = [];
  const uploads = new Map<string, Buffer[]>();
  const requests: string[] = [];
  let n = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url!, 'http://x');
    const host = req.headers.host!;
    if (url.pathname === '/token') {
      scopes.push(url.searchParams.get('scope') ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'T' }));
      return;
    }
    const m = /^\/v2\/(.+?)\/(blobs|manifests)\/(.*)$/.exec(url.pathname);
    if (req.headers.authorization !== 'Bearer T') {
      const scope = m ? `,scope="repository:${m[1]}:pull"` : '';
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fake"${scope}` }).end();
      return;
    }
    requests.push(`${req.method} ${url.pathname.replace(/uploads\/\d+/, 'uploads/N')}`);
    if (!m) return void res.writeHead(200).end('{}');
    const [, repo, kind, rest] = m;
    if (kind === 'manifests' && req.method === 'PUT') {
      const body = Buffer.concat(chunks);
      manifests.set(`${repo}:${rest}`, { type: String(req.headers['content-type']), body });
      return void res.writeHead(201, { 'docker-content-digest': sha256(body) }).end();
    }
    if (rest === 'uploads/' && req.method === 'POST') {
      const id = String(++n);
      uploads.set(id, []);
      return void res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${id}?_state=s` }).end();
    }
    const up = /^uploads\/(\d+)$/.exec(rest);
    if (up && req.method === 'PATCH') {
      uploads.get(up[1])!.push(...chunks);
      return void res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${up[1]}?_state=t` }).end();
    }
    if (up && req.method === 'PUT') {
      const body = Buffer.concat(uploads.get(up[1])!);
      if (sha256(body) !== url.searchParams.get('digest')) return void res.writeHead(400).end();
      blobs.set(sha256(body), body);
      return void res.writeHead(201, { 'docker-content-digest': sha256(body) }).end();
    }
    if (req.method === 'HEAD') return void res.writeHead(blobs.has(rest) ? 200 : 404).end();
    res.writeHead(405).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return { host, blobs, manifests, scopes, requests, stop: () => new Promise((r) => server.close(r)) };
}

describe('ImageStore.push to a registry with token auth', () => {
  let tmp: string;
  let store: ImageStore;
  let source: FakeRegistry;

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-push-unit-'));
    store = new ImageStore(path.join(tmp, 'root'), { lock: noLock });
    source = await new FakeRegistry().start();
  });
  afterEach(async () => {
    await source.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('asks for pull,push scope, uploads each blob once and puts the manifest bytes as pulled', async () => {
    source.image('app', '1', [{ tar: tarOf({ 'a.txt': 'a\n' }) }, { tar: tarOf({ 'b.txt': 'b\n' }), compression: 'none' }]);
    const pulled = await store.pull(`${source.host}/app:1`);
    const dest = await bearerRegistry();
    try {
      store.tag(pulled.name, `${dest.host}/team/app:1`);
      const events: PushEvent[] = [];
      const r = await store.push(`${dest.host}/team/app:1`, { onProgress: (e) => events.push(e) });
      expect(r).toEqual({ name: `${dest.host}/team/app:1`, tag: '1', digest: pulled.digest, size: expect.any(Number) });
      expect(new Set(dest.scopes)).toEqual(new Set(['repository:team/app:pull,push']));
      const stored = dest.manifests.get('team/app:1')!;
      expect(sha256(stored.body)).toBe(pulled.digest);
      expect(stored.type).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(dest.blobs.size).toBe(3); // two layers and the config
      expect(events.filter((e) => e.type === 'layer' && e.status === 'pushed')).toHaveLength(2);
      expect(store.inspect(pulled.image.id).repoDigests).toContain(`${dest.host}/team/app@${pulled.digest}`);

      dest.requests.length = 0;
      await store.push(`${dest.host}/team/app:1`);
      expect(dest.requests.filter((q) => !q.startsWith('HEAD') && !q.startsWith('PUT /v2/team/app/manifests'))).toEqual([]);
    } finally {
      await dest.stop();
    }
  });
});
