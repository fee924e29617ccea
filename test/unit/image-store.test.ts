import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Header } from 'tar';
import { ImageStore } from '../../src/image/store/store';
import type { StoreLock } from '../../src/image/store/store-lock';
import { ociArchitecture } from '../../src/image/oci';
import { BerthError } from '../../src/errors';

/** Stands in for the flock (the native addon may not be built): records use and catches re-entry. */
class RecordingLock implements StoreLock {
  files: string[] = [];
  private held = false;
  sync<T>(file: string, fn: () => T): T {
    this.enter(file);
    try {
      return fn();
    } finally {
      this.held = false;
    }
  }
  async async<T>(file: string, fn: () => Promise<T>): Promise<T> {
    this.enter(file);
    try {
      return await fn();
    } finally {
      this.held = false;
    }
  }
  private enter(file: string): void {
    if (this.held) throw new Error('store lock taken twice');
    this.held = true;
    this.files.push(file);
  }
}

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hex = (digest: string): string => digest.slice(7);

let tmp: string;
let root: string;
let lock: RecordingLock;
let store: ImageStore;
let rootfsTar: string;

/** A docker-export style tarball: GNU tar of a directory, names starting with "./". */
function makeRootfsTar(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, `${name}-rootfs`);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  const file = path.join(tmp, `${name}.tar`);
  execFileSync('tar', ['--numeric-owner', '--mtime=@1000000000', '-C', dir, '-cf', file, '.']);
  return file;
}

function rawTar(members: Array<{ path: string; type?: string; body?: string; linkpath?: string }>): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const body = Buffer.from(m.body ?? '');
    const h = new Header({
      path: m.path,
      type: (m.type ?? 'File') as Header['type'],
      mode: 0o644,
      size: body.length,
      linkpath: m.linkpath,
      mtime: new Date(0),
    });
    const block = Buffer.alloc(512);
    h.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const ls = (rel: string): string[] => {
  try {
    return fs.readdirSync(path.join(root, rel)).sort();
  } catch {
    return [];
  }
};

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-store-'));
  root = path.join(tmp, 'var-lib-berth');
  lock = new RecordingLock();
  store = new ImageStore(root, { lock });
  rootfsTar = makeRootfsTar('busybox', { 'bin/sh': '#!shell\n', 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n' });
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ImageStore.import', () => {
  it('imports a rootfs tar as a one-layer OCI image, content-addressed on disk', async () => {
    const tarBytes = fs.readFileSync(rootfsTar);
    const diffId = sha256(tarBytes);
    const image = await store.import(rootfsTar, 'busybox', { message: 'from a test' });

    expect(image.names).toEqual(['docker.io/library/busybox:latest']);
    expect(image.chainIds).toEqual([diffId]); // one layer: chain ID = diff ID
    expect(image.config).toMatchObject({
      architecture: ociArchitecture(),
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created_by: 'import', comment: 'from a test' }],
    });
    expect(image.size).toBe('#!shell\n'.length + 'root:x:0:0::/root:/bin/sh\n'.length);

    // The ID is the digest of the config blob; the manifest describes config and layer.
    const blob = (d: string): Buffer => fs.readFileSync(path.join(root, 'blobs/sha256', hex(d)));
    expect(sha256(blob(image.id))).toBe(image.id);
    expect(JSON.parse(blob(image.id).toString())).toEqual(image.config);
    const manifest = JSON.parse(blob(image.manifestDigest).toString());
    expect(sha256(blob(image.manifestDigest))).toBe(image.manifestDigest);
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: image.id, size: blob(image.id).length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, size: tarBytes.length }],
    });
    expect(blob(diffId).equals(tarBytes)).toBe(true);

    const layerDir = path.join(root, 'layers', hex(diffId));
    expect(JSON.parse(fs.readFileSync(path.join(layerDir, 'layer.json'), 'utf8'))).toEqual({
      diffId,
      chainId: diffId,
      parent: null,
      size: image.size,
    });
    expect(fs.readFileSync(path.join(layerDir, 'diff/bin/sh'), 'utf8')).toBe('#!shell\n');
    expect(fs.statSync(path.join(root, 'layers')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'repositories.json'), 'utf8'))).toEqual({
      'docker.io/library/busybox:latest': image.id,
    });
    expect(ls('images')).toEqual([`${hex(image.id)}.json`]);
    expect(ls('tmp')).toEqual([]);
    expect(lock.files).toEqual([path.join(root, 'store.lock')]);
  });

  it('reads gzip input, with the diff ID of the uncompressed tar', async () => {
    const gz = path.join(tmp, 'busybox.tar.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(rootfsTar)));
    const image = await store.import(gz, 'busybox:gz');
    expect(image.config.rootfs.diff_ids).toEqual([sha256(fs.readFileSync(rootfsTar))]);
    expect(fs.readFileSync(path.join(store.layerDirs(image)[0], 'etc/passwd'), 'utf8')).toContain('root:x:0:0');
  });

  it('shares the layer between imports of the same content, plain or compressed', async () => {
    const a = await store.import(rootfsTar, 'a:1', { message: 'a' });
    const gz = path.join(tmp, 'again.tar.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(rootfsTar)));
    const b = await store.import(gz, 'b:1', { message: 'b' });
    expect(b.id).not.toBe(a.id);
    expect(b.chainIds).toEqual(a.chainIds);
    expect(ls('layers')).toEqual([hex(a.chainIds[0])]);
    expect(store.layerDirs(a)).toEqual(store.layerDirs(b));
    expect(ls('tmp')).toEqual([]);
  });

  it('moves a name to the newly imported image, leaving the old one nameless', async () => {
    const first = await store.import(rootfsTar, 'app', { message: '1' });
    const second = await store.import(makeRootfsTar('v2', { v2: 'two' }), 'app', { message: '2' });
    expect(store.resolve('app').id).toBe(second.id);
    expect(store.resolve(first.id).names).toEqual([]);
    expect(
      store
        .list()
        .map((i) => i.id)
        .sort(),
    ).toEqual([first.id, second.id].sort());
  });

  it('names a missing or unreadable file, and creates nothing', async () => {
    const missing = path.join(tmp, 'missing.tar');
    await expect(store.import(missing, 'x')).rejects.toThrow(`"${missing}"`);
    await expect(store.import(tmp, 'x')).rejects.toThrow(/is a directory/);
    expect(fs.existsSync(root)).toBe(false);
    expect(lock.files).toEqual([]);
  });

  it('refuses an invalid name before reading anything', async () => {
    const err = await store.import(rootfsTar, 'Bad Name').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
    expect((err as BerthError).message).toContain('"Bad Name"');
    await expect(store.import(rootfsTar, `busybox@sha256:${'a'.repeat(64)}`)).rejects.toThrow(/digest/);
    expect(fs.existsSync(root)).toBe(false);
  });

  it('leaves no trace of a refused or broken archive', async () => {
    const unsafe = path.join(tmp, 'unsafe.tar');
    fs.writeFileSync(
      unsafe,
      rawTar([
        { path: 'ok', body: 'fine' },
        { path: 'link', type: 'SymbolicLink', linkpath: '/etc' },
        { path: 'link/passwd', body: 'evil' },
      ]),
    );
    const err = await store.import(unsafe, 'evil').catch((e: unknown) => e);
    expect((err as BerthError).code).toBe('UNSAFE_ARCHIVE');
    expect((err as BerthError).message).toContain('"link/passwd"');

    const junk = path.join(tmp, 'junk.tar');
    fs.writeFileSync(junk, 'definitely not a tar file\n'.repeat(100));
    await expect(store.import(junk, 'junk')).rejects.toThrow(/not a valid tar/);

    for (const dir of ['tmp', 'layers', 'images', 'blobs/sha256']) expect(ls(dir)).toEqual([]);
    expect(store.list()).toEqual([]);
    expect(fs.existsSync(path.join(root, 'repositories.json'))).toBe(false);
  });

  it('clears what a crashed operation left in tmp on the next mutation', async () => {
    fs.mkdirSync(path.join(root, 'tmp/layer-dead/diff/usr'), { recursive: true });
    fs.writeFileSync(path.join(root, 'tmp/blob-dead'), 'partial');
    fs.mkdirSync(path.join(root, 'images'), { recursive: true });
    fs.writeFileSync(path.join(root, 'images', `.${'a'.repeat(64)}.json.123.tmp`), '{"trunc');
    const image = await store.import(rootfsTar, 'busybox');
    expect(ls('tmp')).toEqual([]);
    expect(ls('images')).toEqual([`${hex(image.id)}.json`]);
    expect(fs.statSync(path.join(root, 'tmp')).mode & 0o777).toBe(0o700);
  });
});

describe('ImageStore.resolve, list, tag, layerDirs', () => {
  it('resolves names, IDs and ID prefixes', async () => {
    const image = await store.import(rootfsTar, 'busybox:latest');
    for (const ref of [
      'busybox',
      'busybox:latest',
      'docker.io/library/busybox:latest',
      image.id,
      hex(image.id),
      hex(image.id).slice(0, 12),
      `sha256:${hex(image.id).slice(0, 5)}`,
      `busybox@${image.manifestDigest}`,
    ]) {
      expect(store.resolve(ref).id, ref).toBe(image.id);
    }
    expect(store.resolve('busybox').names).toEqual(['docker.io/library/busybox:latest']);
  });

  it('says how to get a missing image', async () => {
    await store.import(rootfsTar, 'busybox');
    let err: unknown;
    try {
      store.resolve('busybox:1.36');
    } catch (e) {
      err = e;
    }
    expect((err as BerthError).code).toBe('IMAGE_NOT_FOUND');
    expect((err as BerthError).message).toBe(
      'No such image: "busybox:1.36"; pull it with `berth pull busybox:1.36` or import it with `berth import FILE.tar busybox:1.36`',
    );
    expect(() => store.resolve(`sha256:${'f'.repeat(64)}`)).toThrow(`No such image: "sha256:${'f'.repeat(64)}"`);
    expect(() => store.resolve('Not A Ref')).toThrow(/Expected an image reference/);
  });

  it('refuses an ambiguous ID prefix', async () => {
    const a = await store.import(rootfsTar, 'a', { message: 'a' });
    // Give a second record an ID sharing a's first 10 hex digits, and differing in the 11th.
    const eleventh = hex(a.id)[10] === '0' ? '1' : '0';
    const twin = `sha256:${hex(a.id).slice(0, 10)}${eleventh}${'0'.repeat(53)}`;
    const stored = JSON.parse(fs.readFileSync(path.join(root, 'images', `${hex(a.id)}.json`), 'utf8'));
    fs.writeFileSync(path.join(root, 'images', `${hex(twin)}.json`), JSON.stringify({ ...stored, id: twin }));
    expect(() => store.resolve(hex(a.id).slice(0, 10))).toThrow(/matches 2 images/);
    expect(store.resolve(hex(a.id).slice(0, 11)).id).toBe(a.id);
  });

  it('tags, and lists images with all their names', async () => {
    const image = await store.import(rootfsTar, 'busybox');
    store.tag('busybox', 'localhost:5000/tools/bb:v1');
    store.tag(hex(image.id).slice(0, 12), 'bb');
    expect(store.resolve('localhost:5000/tools/bb:v1').id).toBe(image.id);
    const [listed] = store.list();
    expect(listed.names).toEqual(['docker.io/library/bb:latest', 'docker.io/library/busybox:latest', 'localhost:5000/tools/bb:v1']);
    expect(() => store.tag('nothere', 'x')).toThrow(/No such image: "nothere:latest"/);
    expect(() => store.tag('busybox', 'UPPER')).toThrow(/lowercase/);
  });

  it('gives layer dirs top layer first', async () => {
    const image = await store.import(rootfsTar, 'busybox');
    // A two-layer record, as a pull will write: reuse the one layer as a fake base under it.
    const dirs = store.layerDirs(image);
    expect(dirs).toEqual([path.join(root, 'layers', hex(image.chainIds[0]), 'diff')]);
    expect(fs.readdirSync(dirs[0]).sort()).toEqual(['bin', 'etc']);
    const base = await store.import(makeRootfsTar('base', { 'base-file': 'b' }), 'base');
    const stacked = { ...image, chainIds: [base.chainIds[0], image.chainIds[0]] };
    expect(store.layerDirs(stacked)).toEqual([dirs[0], store.layerDirs(base)[0]]);
    expect(() => store.layerDirs({ ...image, chainIds: [`sha256:${'9'.repeat(64)}`] })).toThrow(/missing its layer/);
  });
});

describe('ImageStore.remove', () => {
  it('round trip: import, resolve, layerDirs, remove leaves an empty store', async () => {
    const image = await store.import(rootfsTar, 'busybox');
    const dir = store.layerDirs(store.resolve('busybox'))[0];
    expect(fs.existsSync(path.join(dir, 'bin/sh'))).toBe(true);
    const result = store.remove('busybox');
    expect(result).toEqual({ untagged: ['docker.io/library/busybox:latest'], deleted: [image.id, image.chainIds[0]] });
    expect(fs.existsSync(dir)).toBe(false);
    for (const d of ['layers', 'images', 'blobs/sha256', 'tmp']) expect(ls(d), d).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'repositories.json'), 'utf8'))).toEqual({});
    expect(() => store.resolve('busybox')).toThrow(BerthError);
  });

  it('only untags while other names remain', async () => {
    const image = await store.import(rootfsTar, 'busybox');
    store.tag('busybox', 'other:1');
    expect(store.remove('busybox')).toEqual({ untagged: ['docker.io/library/busybox:latest'], deleted: [] });
    expect(store.resolve('other:1').id).toBe(image.id);
    expect(store.layerDirs(image)).toHaveLength(1);
  });

  it('keeps layers and blobs another image still uses', async () => {
    const a = await store.import(rootfsTar, 'a', { message: 'a' });
    const b = await store.import(rootfsTar, 'b', { message: 'b' });
    expect(store.remove('a')).toEqual({ untagged: ['docker.io/library/a:latest'], deleted: [a.id] });
    expect(fs.existsSync(store.layerDirs(b)[0])).toBe(true);
    expect(ls('blobs/sha256')).toContain(hex(b.chainIds[0]));
    expect(ls('blobs/sha256')).not.toContain(hex(a.id));
    expect(store.remove('b').deleted).toEqual([b.id, b.chainIds[0]]);
    expect(ls('layers')).toEqual([]);
    expect(ls('blobs/sha256')).toEqual([]);
  });

  it('refuses an image a container uses unless forced, and then keeps its content', async () => {
    const image = await store.import(rootfsTar, 'busybox');
    const asked: string[] = [];
    const inUse = (id: string): boolean => {
      asked.push(id);
      return true;
    };
    let err: unknown;
    try {
      store.remove('busybox', { inUse });
    } catch (e) {
      err = e;
    }
    expect((err as BerthError).code).toBe('IMAGE_IN_USE');
    expect((err as BerthError).message).toContain('busybox:latest');
    expect(asked).toEqual([image.id]);
    expect(store.resolve('busybox').id).toBe(image.id);

    expect(store.remove('busybox', { inUse, force: true })).toEqual({ untagged: ['docker.io/library/busybox:latest'], deleted: [] });
    expect(fs.existsSync(store.layerDirs(store.resolve(image.id))[0])).toBe(true);
    // Once nothing uses it, the nameless image goes by ID.
    expect(store.remove(image.id, { inUse: () => false }).deleted).toEqual([image.id, image.chainIds[0]]);
    expect(ls('layers')).toEqual([]);
  });

  it('by ID refuses an image with several names unless forced', async () => {
    const image = await store.import(rootfsTar, 'busybox');
    store.tag('busybox', 'bb:1');
    expect(() => store.remove(hex(image.id).slice(0, 12))).toThrow(/several names \(bb:1, busybox:latest\)/);
    expect(store.remove(hex(image.id).slice(0, 12), { force: true })).toEqual({
      untagged: ['docker.io/library/bb:1', 'docker.io/library/busybox:latest'],
      deleted: [image.id, image.chainIds[0]],
    });
  });

  it('reports a missing image', () => {
    expect(() => store.remove('ghost')).toThrow(/No such image: "ghost:latest"/);
  });
});
