import * as fs from 'node:fs';
import http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Header } from 'tar';
import { ImageStore } from '../../src/image/store';
import type { StoreLock } from '../../src/image/store-lock';

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const noLock: StoreLock = { sync: (_f, fn) => fn(), async: (_f, fn) => fn() };

function tarOf(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    const block = Buffer.alloc(512);
    new Header({ path: name, type: 'File', mode: 0o644, size: body.length, mtime: new Date(0) }).encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

interface Layer {
  tar: Buffer;
  compression?: 'gzip' | 'none';
  mediaType?: string;
  /** Claimed diff ID, to test a config that lies about the layer. */
  diffId?: string;
}

/** An in-memory registry: blobs and manifests by digest and tag, with hooks to slow or count blob requests. */
class FakeRegistry {
  blobs = new Map<string, Buffer>();
  manifests = new Map<string, { type: string; body: Buffer }>();
  blobRequests: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  blobDelayMs = 0;
  /** A blob whose download breaks off halfway. */
  drop?: string;
  private server = http.createServer((req, res) => void this.handle(req, res));
  host = '';

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.host = `127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  image(repo: string, tag: string, layers: Layer[]): { config: string; layers: string[] } {
    const descs = layers.map((l) => {
      const body = l.compression === 'none' ? l.tar : zlib.gzipSync(l.tar);
      this.blobs.set(sha256(body), body);
      const mediaType = l.mediaType ?? (l.compression === 'none' ? 'application/vnd.oci.image.layer.v1.tar' : 'application/vnd.oci.image.layer.v1.tar+gzip');
      return { mediaType, digest: sha256(body), size: body.length };
    });
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId ?? sha256(l.tar)) } }));
    this.blobs.set(sha256(config), config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: descs,
      }),
    );
    const entry = { type: 'application/vnd.oci.image.manifest.v1+json', body: manifest };
    this.manifests.set(`${repo}:${tag}`, entry);
    this.manifests.set(`${repo}:${sha256(manifest)}`, entry);
    return { config: sha256(config), layers: descs.map((d) => d.digest) };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(req.url ?? '');
    if (req.url === '/v2/') return void res.end('{}');
    if (m?.[2] === 'manifests') {
      const found = this.manifests.get(`${m[1]}:${m[3]}`);
      if (!found) return void res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
      return void res.writeHead(200, { 'content-type': found.type }).end(found.body);
    }
    if (m?.[2] === 'blobs' && this.blobs.has(m[3])) {
      this.blobRequests.push(m[3]);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      if (this.blobDelayMs) await new Promise((r) => setTimeout(r, this.blobDelayMs));
      this.inFlight--;
      const body = this.blobs.get(m[3])!;
      if (this.drop === m[3]) {
        // Headers promise the whole blob, half of it arrives, then the connection dies.
        res.writeHead(200, { 'content-length': body.length });
        res.write(body.subarray(0, body.length >> 1));
        return void setTimeout(() => res.socket?.destroy(), 20);
      }
      return void res.writeHead(200).end(body);
    }
    res.writeHead(404).end();
  }
}

let tmp: string;
let root: string;
let store: ImageStore;
let reg: FakeRegistry;

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pull-unit-'));
  root = path.join(tmp, 'root');
  store = new ImageStore(root, { lock: noLock });
  reg = await new FakeRegistry().start();
});

afterEach(async () => {
  await reg.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ls = (rel: string): string[] => (fs.existsSync(path.join(root, rel)) ? fs.readdirSync(path.join(root, rel)).sort() : []);
const base = tarOf({ 'etc/os-release': 'fake\n' });

describe('ImageStore.pull', () => {
  it('pulls gzip and uncompressed layers, skipping blobs and layers the store has', async () => {
    const a = reg.image('app', 'a', [{ tar: base }, { tar: tarOf({ 'a.txt': 'a\n' }), compression: 'none' }]);
    const r = await store.pull(`${reg.host}/app:a`);
    expect(r.image.id).toBe(a.config);
    expect(fs.readFileSync(path.join(store.layerDirs(r.image)[0], 'a.txt'), 'utf8')).toBe('a\n');
    expect(ls('blobs/sha256')).toHaveLength(4); // two layers, config, manifest
    expect(ls('tmp')).toEqual([]);

    // A second image on the same base: only its own layer travels.
    const b = reg.image('app', 'b', [{ tar: base }, { tar: tarOf({ 'b.txt': 'b\n' }) }]);
    reg.blobRequests = [];
    const rb = await store.pull(`${reg.host}/app:b`);
    expect(reg.blobRequests.sort()).toEqual([b.config, b.layers[1]].sort());
    expect(rb.image.chainIds[0]).toBe(r.image.chainIds[0]);
    expect(ls('layers')).toHaveLength(3);
  });

  it('downloads at most `concurrency` layers at once and unpacks a repeated layer blob once per chain', async () => {
    const same = { tar: tarOf({ 'same.txt': 's\n' }) };
    reg.image('app', 'many', [{ tar: base }, same, { tar: tarOf({ 'x': '1' }) }, { tar: tarOf({ 'y': '2' }) }, { tar: tarOf({ 'z': '3' }) }, same]);
    reg.blobDelayMs = 30;
    const r = await store.pull(`${reg.host}/app:many`, { concurrency: 2 });
    expect(reg.maxInFlight).toBe(2);
    // config + five distinct layer blobs: the repeated one travels once.
    expect(reg.blobRequests).toHaveLength(6);
    expect(r.image.chainIds).toHaveLength(6);
    expect(ls('layers')).toHaveLength(6);
  });

  it('refuses a layer whose content does not match the config diff ID, keeping nothing', async () => {
    reg.image('app', 'liar', [{ tar: base }, { tar: tarOf({ 'evil': '1' }), diffId: sha256('something else') }]);
    await expect(store.pull(`${reg.host}/app:liar`)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringContaining('(diff ID) does not match its digest'),
    });
    expect([ls('layers'), ls('blobs/sha256'), ls('images'), ls('tmp')]).toEqual([[], [], [], []]);
  });

  it('refuses a blob that differs from its digest or runs past its size, keeping nothing', async () => {
    const img = reg.image('app', 'bad', [{ tar: base }, { tar: tarOf({ 'f': '1' }) }]);
    reg.blobs.set(img.layers[1], Buffer.concat([reg.blobs.get(img.layers[1])!, Buffer.from('trailing')]));
    await expect(store.pull(`${reg.host}/app:bad`)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringContaining(`The layer ${img.layers[1]} of ${reg.host}/app:bad does not match its digest`),
    });
    expect([ls('layers'), ls('blobs/sha256'), ls('images'), ls('tmp')]).toEqual([[], [], [], []]);
  });

  it('names the layer and registry when a download breaks off, keeping nothing', async () => {
    const big = tarOf({ 'big.bin': 'x'.repeat(200_000) });
    const img = reg.image('app', 'drop', [{ tar: base }, { tar: big, compression: 'none' }]);
    reg.drop = img.layers[1];
    await expect(store.pull(`${reg.host}/app:drop`)).rejects.toThrow(
      new RegExp(`^Downloading layer ${img.layers[1]} from ${reg.host} failed: .+`),
    );
    expect([ls('layers'), ls('blobs/sha256'), ls('images'), ls('tmp')]).toEqual([[], [], [], []]);
  });

  it('refuses a layer media type it cannot unpack before downloading any layer', async () => {
    reg.image('app', 'win', [{ tar: base, mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' }]);
    await expect(store.pull(`${reg.host}/app:win`)).rejects.toThrow(/foreign layer/);
    expect(reg.blobRequests).toEqual([]);
  });

  it('pulls by manifest digest without naming the image, and finds it by that digest', async () => {
    reg.image('app', 'd', [{ tar: base }]);
    const digest = sha256(reg.manifests.get('app:d')!.body);
    const r = await store.pull(`${reg.host}/app@${digest}`);
    expect(r.image.names).toEqual([]);
    expect(r.digest).toBe(digest);
    expect(store.resolve(`${reg.host}/app@${digest}`).id).toBe(r.image.id);
  });
});
