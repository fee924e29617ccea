import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uncompressed } from '../../src/image/archive/compression';
import { ImageStore } from '../../src/image/store/store';
import type { StoreLock } from '../../src/image/store/store-lock';
import { sha256, tarOf } from '../fixtures/registry/fake-registry';

const noLock: StoreLock = { sync: (_f, fn) => fn(), async: (_f, fn) => fn() };

let tmp: string;
let root: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-zstd-'));
  root = path.join(tmp, 'root');
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ls = (rel: string): string[] => (fs.existsSync(path.join(root, rel)) ? fs.readdirSync(path.join(root, rel)).sort() : []);

/** What uncompressed() makes of `data` fed in slices of `slice` bytes. */
async function inflate(data: Buffer, slice = data.length): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += slice) chunks.push(data.subarray(i, i + slice));
  const out: Buffer[] = [];
  for await (const c of uncompressed(Readable.from(chunks), 'test data')) out.push(c as Buffer);
  return Buffer.concat(out);
}

function zstdCli(data: Buffer, ...args: string[]): Buffer {
  return execFileSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 64 << 20 });
}

/** A zstd frame header: no checksum, no content size, the window 2^windowLog. */
function frameHeader(windowLog: number): Buffer {
  return Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3]);
}

/** An RLE block: `size` copies of `byte` from four bytes of input. */
function rleBlock(size: number, byte: number, last: boolean): Buffer {
  const h = (size << 3) | (1 << 1) | (last ? 1 : 0);
  return Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, byte]);
}

/** `blocks` RLE blocks of 128 KiB of zeros in one frame with the largest window berth takes: 32 KiB that inflate to 1 GiB. */
function zstdBomb(blocks = 8192): Buffer {
  return Buffer.concat([frameHeader(23), ...Array.from({ length: blocks }, (_, i) => rleBlock(128 << 10, 0, i === blocks - 1))]);
}

function kib(field: 'VmRSS' | 'VmHWM'): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]);
}

describe('zstd decoding', () => {
  // Layer-like tars: text (compressed blocks) and random bytes (raw blocks).
  const tar = tarOf({ 'etc/text': 'line of text\n'.repeat(100_000), 'bin/noise': randomBytes(1 << 20) });
  const smallTar = tarOf({ 'etc/text': 'line of text\n'.repeat(3000), 'bin/noise': randomBytes(8 << 10) });

  it('decodes what the zstd CLI writes, fed in any slices: checksums, several frames, single-segment and skippable frames', async () => {
    const small = Buffer.from('a small file that gets a single-segment frame\n');
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), Buffer.from('skip!')]);
    const cases: Array<[Buffer, Buffer, number[]]> = [
      [zstdCli(tar), tar, [4096, Infinity]],
      [zstdCli(tar, '-19', '--no-check'), tar, [65536]],
      [zstdCli(small), small, [1, Infinity]],
      [
        Buffer.concat([zstdCli(smallTar), skippable, zstdCli(small, '--no-check')]),
        Buffer.concat([smallTar, small]),
        [1, 13, 4096, Infinity],
      ],
    ];
    for (const [compressed, expected, slices] of cases) {
      for (const slice of slices)
        expect((await inflate(compressed, Math.min(slice, compressed.length))).equals(expected), `slices of ${slice}`).toBe(true);
    }
  });

  it('refuses a window past 8 MiB before allocating it: zstd --long, a 2 GiB descriptor, a single-segment frame of 1 GiB', async () => {
    await expect(inflate(zstdCli(smallTar, '--long=27'))).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message:
        "The test data is zstd data that needs a 128 MiB window to decode, more than the 8 MiB berth accepts (RFC 8878's recommended limit); recompress it without zstd --long or --ultra",
    });
    await expect(inflate(Buffer.concat([frameHeader(31), rleBlock(16, 0, true)]))).rejects.toThrow(/needs a 2 GiB window/);
    const singleSegment = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0x40, ...rleBlock(16, 0, true)]);
    await expect(inflate(singleSegment)).rejects.toThrow(/needs a 1 GiB window/);
  });

  it('refuses blocks past 128 KiB and a stream that ends in a frame, in one line', async () => {
    await expect(inflate(Buffer.concat([frameHeader(20), rleBlock((2 << 20) - 1, 0, true)]))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: "The test data is not valid zstd data (a block claims 2097151 bytes, more than zstd's 128 KiB)",
    });
    const cut = zstdCli(smallTar);
    await expect(inflate(cut.subarray(0, cut.length - 100))).rejects.toThrow(
      'The test data is not valid zstd data (it ends in the middle of a frame)',
    );
  });
});

describe('the uncompressed-size cap', () => {
  it('stops a zstd bomb (32 KiB that inflate to 1 GiB) at the cap, in bounded memory, keeping nothing', async () => {
    const bomb = path.join(tmp, 'bomb.tar.zst');
    fs.writeFileSync(bomb, zstdBomb());
    const store = new ImageStore(root, { lock: noLock, maxLayerSize: 64 << 20 });
    // Peak RSS from here on: writing 5 to clear_refs resets VmHWM to the current RSS.
    fs.writeFileSync('/proc/self/clear_refs', '5');
    const before = kib('VmRSS');
    await expect(store.import(bomb, 'bomb')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `The image archive ${JSON.stringify(bomb)} inflates past the 64 MiB limit of uncompressed layer size; raise it with BERTH_MAX_LAYER_SIZE (like 100g)`,
    });
    // Decoding the bomb a whole input chunk at a time held the gigabyte at once.
    expect((kib('VmHWM') - before) / 1024).toBeLessThan(150);
    expect([ls('tmp'), ls('layers'), ls('images'), ls('blobs/sha256')]).toEqual([[], [], [], []]);
  });

  it('imports a bomb under the cap (a tar, then 256 MiB of zeros past its end) in bounded memory', async () => {
    const file = path.join(tmp, 'tail.tar.zst');
    fs.writeFileSync(file, Buffer.concat([zstdCli(tarOf({ 'etc/hello': 'hello\n' })), zstdBomb(2048)]));
    const store = new ImageStore(root, { lock: noLock });
    fs.writeFileSync('/proc/self/clear_refs', '5');
    const before = kib('VmRSS');
    const image = await store.import(file, 'tail');
    // node-tar kept everything after the end-of-archive blocks in one buffer, copied again per chunk.
    expect((kib('VmHWM') - before) / 1024).toBeLessThan(150);
    expect(fs.readFileSync(path.join(store.layerDirs(image)[0], 'etc/hello'), 'utf8')).toBe('hello\n');
    expect(ls('tmp')).toEqual([]);
  });

  it('reads the cap from BERTH_MAX_LAYER_SIZE, for gzip too, and names a bad value', async () => {
    const file = path.join(tmp, 'rootfs.tar.gz');
    fs.writeFileSync(file, zlib.gzipSync(tarOf({ 'big.bin': Buffer.alloc(3 << 20) })));
    const saved = process.env.BERTH_MAX_LAYER_SIZE;
    try {
      process.env.BERTH_MAX_LAYER_SIZE = '2m';
      const store = new ImageStore(root, { lock: noLock });
      await expect(store.import(file, 'big')).rejects.toThrow(
        `The image archive ${JSON.stringify(file)} inflates past the 2 MiB limit of uncompressed layer size`,
      );
      process.env.BERTH_MAX_LAYER_SIZE = '2 parsecs';
      await expect(store.import(file, 'big')).rejects.toThrow(
        'Expected a size like 64g, 512m or a number of bytes for BERTH_MAX_LAYER_SIZE but received "2 parsecs"',
      );
      process.env.BERTH_MAX_LAYER_SIZE = '4m';
      expect((await store.import(file, 'big')).names).toEqual(['docker.io/library/big:latest']);
    } finally {
      if (saved === undefined) delete process.env.BERTH_MAX_LAYER_SIZE;
      else process.env.BERTH_MAX_LAYER_SIZE = saved;
    }
  });

  it('applies to load: a docker-archive layer that inflates past the cap is refused, nothing kept', async () => {
    const layer = tarOf({ 'zeros.bin': Buffer.alloc(8 << 20) });
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } });
    const dir = path.join(tmp, 'archive');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'layer.tar.gz'), zlib.gzipSync(layer));
    fs.writeFileSync(path.join(dir, 'config.json'), config);
    fs.writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify([{ Config: 'config.json', RepoTags: ['bomb:1'], Layers: ['layer.tar.gz'] }]),
    );
    const archive = path.join(tmp, 'archive.tar');
    execFileSync('tar', ['-C', dir, '-cf', archive, 'manifest.json', 'config.json', 'layer.tar.gz']);
    const store = new ImageStore(root, { lock: noLock, maxLayerSize: 4 << 20 });
    await expect(store.load(archive)).rejects.toThrow(
      `The layer 1 of docker.io/library/bomb:1 in ${JSON.stringify(archive)} inflates past the 4 MiB limit of uncompressed layer size`,
    );
    expect([ls('tmp'), ls('layers'), ls('images'), ls('blobs/sha256')]).toEqual([[], [], [], []]);
    // Raised, the same archive loads.
    expect((await new ImageStore(root, { lock: noLock, maxLayerSize: 16 << 20 }).load(archive)).images[0].names).toEqual([
      'docker.io/library/bomb:1',
    ]);
  });
});
