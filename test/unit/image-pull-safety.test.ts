import * as fs from 'node:fs';
import net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { native } from '../../src/native';
import { ImageStore } from '../../src/image/store/store';
import { FakeRegistry, sha256, tarOf } from '../fixtures/registry/fake-registry';

// These tests use the real store lock (flock on root/store.lock), as the CLI does.
let tmp: string;
let root: string;
let store: ImageStore;
let reg: FakeRegistry;

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pull-safety-'));
  root = path.join(tmp, 'root');
  store = new ImageStore(root);
  reg = await new FakeRegistry().start();
});

afterEach(async () => {
  await reg.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ls = (rel: string): string[] => (fs.existsSync(path.join(root, rel)) ? fs.readdirSync(path.join(root, rel)).sort() : []);
const nothingKept = (): string[][] => [ls('layers'), ls('blobs/sha256'), ls('images'), ls('tmp')];
const base = tarOf({ 'etc/os-release': 'fake\n' });

/** Whether another process could take the store lock right now (flock without waiting). */
function lockIsFree(): boolean {
  const fd = fs.openSync(path.join(root, 'store.lock'), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    native().flock(fd, true, false);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EWOULDBLOCK' || (e as NodeJS.ErrnoException).code === 'EAGAIN') return false;
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

function rootfsTar(): string {
  const file = path.join(tmp, 'rootfs.tar');
  fs.writeFileSync(file, tarOf({ 'bin/sh': '#!shell\n' }));
  return file;
}

describe('registry timeouts', () => {
  it('fails a blob download that goes silent after its headers, naming registry, blob and variable; keeps nothing', async () => {
    const img = reg.image('app', 'stall', [{ tar: base }, { tar: tarOf({ 'big.bin': 'x'.repeat(300_000) }), compression: 'none' }]);
    reg.stall.add(img.layers[1]);
    await expect(store.pull(`${reg.host}/app:stall`, { registryTimeouts: { idle: 1 } })).rejects.toMatchObject({
      name: 'RegistryError',
      failure: 'timeout',
      message: `Registry ${reg.host} sent nothing for 1 s while downloading blob ${img.layers[1]} of ${reg.host}/app; check the registry or raise BERTH_REGISTRY_TIMEOUT`,
    });
    expect(nothingKept()).toEqual([[], [], [], []]);
  });

  it('fails a registry that accepts the connection and never answers (BERTH_REGISTRY_CONNECT_TIMEOUT)', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const host = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const saved = process.env.BERTH_REGISTRY_CONNECT_TIMEOUT;
    process.env.BERTH_REGISTRY_CONNECT_TIMEOUT = '1';
    try {
      await expect(store.pull(`${host}/app:x`)).rejects.toMatchObject({
        failure: 'timeout',
        message: `Registry ${host} did not answer within 1 s while berth asked for /v2/; check the registry or raise BERTH_REGISTRY_CONNECT_TIMEOUT`,
      });
      process.env.BERTH_REGISTRY_CONNECT_TIMEOUT = 'soon';
      await expect(store.pull(`${host}/app:x`)).rejects.toThrow(
        'Expected a number of seconds like 60 for BERTH_REGISTRY_CONNECT_TIMEOUT but received "soon"',
      );
    } finally {
      if (saved === undefined) delete process.env.BERTH_REGISTRY_CONNECT_TIMEOUT;
      else process.env.BERTH_REGISTRY_CONNECT_TIMEOUT = saved;
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
    expect(nothingKept()).toEqual([[], [], [], []]);
  });
});

describe('pull and the store lock', () => {
  it('holds no lock while it downloads: import and rmi of the same root complete meanwhile', async () => {
    const old = await store.import(rootfsTar(), 'old');
    const img = reg.image('app', 'slow', [{ tar: base }, { tar: tarOf({ 'slow.txt': 'slow\n' }) }]);
    const held = reg.hold(img.layers[1]);
    const pulling = store.pull(`${reg.host}/app:slow`);
    await held.requested;
    expect(lockIsFree()).toBe(true);
    const other = new ImageStore(root); // as another berth command would open it
    expect((await other.import(rootfsTar(), 'new')).names).toEqual(['docker.io/library/new:latest']);
    expect(other.remove('old').deleted).toContain(old.id);
    expect(ls('tmp')).toHaveLength(1); // the pull's own staging directory, untouched by their cleanup
    held.release();
    const pulled = await pulling;
    expect(fs.readFileSync(path.join(store.layerDirs(pulled.image)[0], 'slow.txt'), 'utf8')).toBe('slow\n');
    expect(ls('tmp')).toEqual([]);
  });

  it('two pulls of the same layer at once: one publishes it, the other finds it and drops its copy', async () => {
    const img = reg.image('app', 'twice', [{ tar: base }, { tar: tarOf({ 'shared.txt': 'shared\n' }) }]);
    const held = reg.hold(img.layers[1]);
    const first = store.pull(`${reg.host}/app:twice`);
    await held.requested;
    expect(lockIsFree()).toBe(true); // else the second pull would wait for the first forever
    // The second pull downloads the same blobs, unpacks and publishes while the first is still downloading.
    const second = await new ImageStore(root).pull(`${reg.host}/app:twice`);
    held.release();
    const one = await first;
    expect(one.image.chainIds).toEqual(second.image.chainIds);
    expect(ls('layers')).toEqual(one.image.chainIds.map((c) => c.slice(7)).sort());
    expect(reg.blobRequests.filter((d) => d === img.layers[1])).toHaveLength(2);
    expect(fs.readFileSync(path.join(store.layerDirs(one.image)[0], 'shared.txt'), 'utf8')).toBe('shared\n');
    expect(ls('tmp')).toEqual([]);
  });

  it('downloads a layer again that an rmi removed while the pull was downloading the others', async () => {
    reg.image('app', 'base', [{ tar: base }]);
    await store.pull(`${reg.host}/app:base`);
    const img = reg.image('app', 'more', [{ tar: base }, { tar: tarOf({ 'more.txt': 'more\n' }) }]);
    const held = reg.hold(img.layers[1]);
    const pulling = store.pull(`${reg.host}/app:more`);
    await held.requested;
    expect(lockIsFree()).toBe(true);
    new ImageStore(root).remove(`${reg.host}/app:base`); // the base layer and blob go: nothing else uses them yet
    expect(ls('layers')).toEqual([]);
    reg.blobRequests = [];
    held.release();
    const pulled = await pulling;
    expect(reg.blobRequests).toContain(img.layers[0]);
    expect(store.layerDirs(pulled.image).every((d) => fs.existsSync(d))).toBe(true);
    expect(ls('tmp')).toEqual([]);
  });
});

describe('pull verifies before it publishes', () => {
  it('refuses a blob that unpacks to the right diff ID but is not the blob the manifest names, keeping nothing', async () => {
    const img = reg.image('app', 'regzip', [{ tar: base }, { tar: tarOf({ 'f.txt': 'same content\n' }) }]);
    const original = reg.blobs.get(img.layers[1])!;
    // The same tar, the same length, another gzip header (mtime): it decompresses to the config's diff ID.
    const other = Buffer.from(original);
    other.writeUInt32LE(1_000_000_000, 4);
    expect(zlib.gunzipSync(other).equals(zlib.gunzipSync(original))).toBe(true);
    reg.blobs.set(img.layers[1], other);
    await expect(store.pull(`${reg.host}/app:regzip`)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: `The layer ${img.layers[1]} of ${reg.host}/app:regzip does not match its digest ${img.layers[1]} (received digest ${sha256(other)}): the registry sent corrupt or tampered data, and nothing of it was kept`,
    });
    expect(nothingKept()).toEqual([[], [], [], []]);
  });

  it('counts bytes after the end of the tar toward the diff ID: they are read, not parsed', async () => {
    const clean = tarOf({ 'f.txt': 'f\n' });
    const tail = Buffer.concat([clean, Buffer.alloc(4 << 20), Buffer.from('appended')]);
    reg.image('app', 'tail', [{ tar: tail, diffId: sha256(clean) }]);
    await expect(store.pull(`${reg.host}/app:tail`)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringContaining('(diff ID) does not match'),
    });
    expect(nothingKept()).toEqual([[], [], [], []]);
    reg.image('app', 'tail2', [{ tar: tail }]);
    const pulled = await store.pull(`${reg.host}/app:tail2`);
    expect(fs.readFileSync(path.join(store.layerDirs(pulled.image)[0], 'f.txt'), 'utf8')).toBe('f\n');
  });

  it('stops a layer that inflates past the cap, naming the layer, keeping nothing', async () => {
    const img = reg.image('app', 'bomb', [{ tar: tarOf({ 'zeros.bin': Buffer.alloc(4 << 20) }) }]);
    const capped = new ImageStore(root, { maxLayerSize: 1 << 20 });
    await expect(capped.pull(`${reg.host}/app:bomb`)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `The layer ${img.layers[0]} of ${reg.host}/app:bomb inflates past the 1 MiB limit of uncompressed layer size; raise it with BERTH_MAX_LAYER_SIZE (like 100g)`,
    });
    expect(nothingKept()).toEqual([[], [], [], []]);
  });
});
