import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageStore } from '../../src/image/store/store';
import type { StoreLock } from '../../src/image/store/store-lock';
import { FakeRegistry, sha256, tarOf } from '../fixtures/registry/fake-registry';

const noLock: StoreLock = { sync: (_f, fn) => fn(), async: (_f, fn) => fn() };

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
    reg.image('app', 'many', [
      { tar: base },
      same,
      { tar: tarOf({ x: '1' }) },
      { tar: tarOf({ y: '2' }) },
      { tar: tarOf({ z: '3' }) },
      same,
    ]);
    reg.blobDelayMs = 30;
    const r = await store.pull(`${reg.host}/app:many`, { concurrency: 2 });
    expect(reg.maxInFlight).toBe(2);
    // config + five distinct layer blobs: the repeated one travels once.
    expect(reg.blobRequests).toHaveLength(6);
    expect(r.image.chainIds).toHaveLength(6);
    expect(ls('layers')).toHaveLength(6);
  });

  it('refuses a layer whose content does not match the config diff ID, keeping nothing', async () => {
    reg.image('app', 'liar', [{ tar: base }, { tar: tarOf({ evil: '1' }), diffId: sha256('something else') }]);
    await expect(store.pull(`${reg.host}/app:liar`)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringContaining('(diff ID) does not match its digest'),
    });
    expect([ls('layers'), ls('blobs/sha256'), ls('images'), ls('tmp')]).toEqual([[], [], [], []]);
  });

  it('refuses a blob that differs from its digest or runs past its size, keeping nothing', async () => {
    const img = reg.image('app', 'bad', [{ tar: base }, { tar: tarOf({ f: '1' }) }]);
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
