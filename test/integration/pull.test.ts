import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth, BerthError } from '../../src/index';
import type { PullEvent } from '../../src/image/registry/pull';
import { busyboxTar } from '../helpers/fixtures';
import { CLI_PATH, runCli, tempRoots, type TempRoots } from '../helpers/env';
import { missingTools, startRegistry, type TestRegistry } from '../helpers/registry';
import { buildImage, buildIndex, buildRawImage, layersOf, layerTar, manifestOf, push } from '../fixtures/registry/images';
import { startStallProxy } from '../fixtures/registry/stall-proxy';
import { debris, ls, stagedBytes } from '../fixtures/registry/store-debris';

let work: string;
let registry: TestRegistry;
let layout: string;
const roots: TempRoots[] = [];
/** Layer digests the tests need to find in the registry's storage. */
const digests: { tamperLayer?: string; bigLayer?: string; multi?: string } = {};
const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
const otherArch = hostArch === 'amd64' ? 'arm64' : 'amd64';

/** A fresh store per test: pulls into one store must not hide what another test checks. */
function freshBerth(): { berth: Berth; roots: TempRoots } {
  const r = tempRoots();
  roots.push(r);
  return { berth: new Berth({ root: r.root, runRoot: r.runRoot }), roots: r };
}

function write(dir: string, rel: string, content: string, mode = 0o644): void {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
}

/** Layers 2 and 3 of the multi-layer image: 3 deletes, replaces, links and sets modes over what 2 made. */
function multiLayerTars(): [string, string] {
  const l2 = path.join(work, 'l2');
  write(l2, 'data/keep.txt', 'keep\n');
  write(l2, 'data/gone.txt', 'gone\n');
  write(l2, 'data/old/a.txt', 'a\n');
  write(l2, 'data/old/b.txt', 'b\n');
  write(l2, 'data/olddir/x', 'x\n');
  const l3 = path.join(work, 'l3');
  write(l3, 'data/.wh.gone.txt', ''); // whiteout of a file
  write(l3, 'data/.wh.olddir', ''); // whiteout of a directory
  write(l3, 'etc/.wh.berth-fixture', ''); // whiteout of a file of the base layer
  write(l3, 'data/old/.wh..wh..opq', ''); // opaque: a.txt and b.txt disappear
  write(l3, 'data/old/new.txt', 'new\n');
  fs.symlinkSync('keep.txt', path.join(l3, 'data/link'));
  write(l3, 'data/hard1', 'hard\n');
  fs.linkSync(path.join(l3, 'data/hard1'), path.join(l3, 'data/hard2'));
  write(l3, 'data/suid', '#!/bin/sh\n', 0o4755);
  fs.mkdirSync(path.join(l3, 'data/sticky'));
  fs.chmodSync(path.join(l3, 'data/sticky'), 0o1777);
  return [layerTar(l2, path.join(work, 'l2.tar')), layerTar(l3, path.join(work, 'l3.tar'))];
}

function oneFileLayer(name: string, rel: string, content: string | Buffer): string {
  const dir = path.join(work, name);
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
  return layerTar(dir, path.join(work, `${name}.tar`));
}

beforeAll(async () => {
  const missing = missingTools();
  if (missing.length) throw new Error(`the pull tests need the Debian packages ${missing.join(', ')}`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pull-'));
  registry = await startRegistry(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-')));
  layout = path.join(work, 'layout');
  const bb = busyboxTar();
  const host = registry.host;

  buildImage(layout, 'busybox', [bb]);
  push(layout, 'busybox', `${host}/busybox:latest`, { format: 'v2s2' }); // Docker schema 2
  buildImage(layout, 'layers', [bb, ...multiLayerTars()]);
  push(layout, 'layers', `${host}/layers:latest`, { format: 'oci' });

  buildImage(layout, `plat-${hostArch}`, [bb, oneFileLayer(`plat-${hostArch}`, 'etc/platform', `${hostArch}\n`)], hostArch);
  buildImage(layout, `plat-${otherArch}`, [bb, oneFileLayer(`plat-${otherArch}`, 'etc/platform', `${otherArch}\n`)], otherArch);
  // The other platform first: picking the first entry would be wrong.
  const index = buildIndex(layout, 'multi', [
    { tag: `plat-${otherArch}`, architecture: otherArch },
    { tag: `plat-${hostArch}`, architecture: hostArch },
  ]);
  digests.multi = index.digest;
  push(layout, 'multi', `${host}/multi:latest`, { all: true, format: 'oci' });

  buildRawImage(layout, 'zstd', [bb, oneFileLayer('zstd-extra', 'etc/compressed', 'zstd\n')], 'zstd');
  push(layout, 'zstd', `${host}/zstd:latest`, { format: 'oci' });

  buildImage(layout, 'tamper', [bb, oneFileLayer('tamper', 'etc/tamper', 'x'.repeat(100_000))]);
  digests.tamperLayer = layersOf(layout, 'tamper')[1].digest;
  push(layout, 'tamper', `${host}/tamper:latest`, { format: 'oci' });

  // Incompressible, so the layer blob is large enough to be cut in the middle.
  buildImage(layout, 'big', [
    bb,
    oneFileLayer('big', 'big.bin', Buffer.from(Array.from({ length: 4 << 20 }, (_, i) => (i * 2654435761) >>> 24))),
  ]);
  digests.bigLayer = layersOf(layout, 'big')[1].digest;
  push(layout, 'big', `${host}/big:latest`, { format: 'oci' });
}, 180_000);

afterAll(async () => {
  await registry?.stop();
  for (const r of roots) r.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('pull from a registry', () => {
  it('pulls a single-layer Docker schema 2 image, runs it, and skips everything the second time', async () => {
    const { berth, roots: r } = freshBerth();
    const ref = `${registry.host}/busybox:latest`;
    const events: PullEvent[] = [];
    const first = await berth.pullImage(ref, { onProgress: (e) => events.push(e) });
    expect(first.name).toBe(ref);
    expect(first.upToDate).toBe(false);
    expect(first.image.names).toEqual([ref]);
    expect(first.image.repoDigests).toEqual([`${registry.host}/busybox@${first.digest}`]);
    expect(first.image.chainIds).toHaveLength(1);
    const manifest = JSON.parse(fs.readFileSync(path.join(r.root, 'blobs/sha256', first.image.manifestDigest.slice(7)), 'utf8'));
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(events.filter((e) => e.type === 'layer' && e.status === 'done')).toHaveLength(1);
    // The layer blob (compressed, under its own digest), the config and the manifest.
    expect(ls(path.join(r.root, 'blobs/sha256'))).toHaveLength(3);

    const run = await berth.run({ image: ref, cmd: ['cat', '/etc/berth-fixture'], rm: true });
    expect([run.exitCode, run.stdout]).toEqual([0, 'busybox fixture\n']);

    const again: PullEvent[] = [];
    const second = await berth.pullImage(ref, { onProgress: (e) => again.push(e) });
    expect(second.upToDate).toBe(true);
    expect(second.image.id).toBe(first.image.id);
    expect(again.filter((e) => e.type === 'layer').map((e) => (e as { status: string }).status)).toEqual(['exists']);
    // By digest, the image is found without a registry round trip.
    expect(berth.images.resolve(`${registry.host}/busybox@${first.digest}`).id).toBe(first.image.id);
    expect(debris(r.root)).toEqual([]);
  });

  it('unpacks a multi-layer image: whiteouts, opaque dirs, symlinks, hardlinks and setuid files, merged exactly', async () => {
    const { berth, roots: r } = freshBerth();
    const { image } = await berth.pullImage(`${registry.host}/layers:latest`);
    expect(image.chainIds).toHaveLength(3);
    // Layer by layer, as overlayfs will see them: the top layer holds 0/0 character devices and an opaque dir.
    const [top] = berth.images.layerDirs(image);
    const wh = fs.lstatSync(path.join(top, 'data/gone.txt'));
    expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
    expect(fs.lstatSync(path.join(top, 'etc/berth-fixture')).isCharacterDevice()).toBe(true);
    expect(ls(path.join(top, 'data/old'))).toEqual(['new.txt']);

    const script = [
      'cd /data',
      'for f in $(find . | sort); do stat -c "%n %A" "$f"; done',
      'stat -c %h hard1 hard2',
      'readlink link; cat link; cat old/new.txt',
      '[ "$(stat -c %i hard1)" = "$(stat -c %i hard2)" ] && echo same-inode',
      'test -e /etc/berth-fixture || echo fixture-deleted',
    ].join('; ');
    const run = await berth.run({ image: `${registry.host}/layers`, cmd: ['sh', '-c', script], rm: true });
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n')).toEqual([
      '. drwxr-xr-x',
      './hard1 -rw-r--r--',
      './hard2 -rw-r--r--',
      './keep.txt -rw-r--r--',
      './link lrwxrwxrwx',
      './old drwxr-xr-x',
      './old/new.txt -rw-r--r--',
      './sticky drwxrwxrwt',
      './suid -rwsr-xr-x',
      '2',
      '2',
      'keep.txt',
      'keep',
      'new',
      'same-inode',
      'fixture-deleted',
      '',
    ]);
    expect(debris(r.root)).toEqual([]);
  });

  it(`resolves a multi-platform index to the host (${hostArch}), or to --platform`, async () => {
    const { berth } = freshBerth();
    const ref = `${registry.host}/multi:latest`;
    const host = await berth.pullImage(ref);
    expect(host.digest).toBe(digests.multi);
    expect(host.image.config.architecture).toBe(hostArch);
    const run = await berth.run({ image: ref, cmd: ['cat', '/etc/platform'], rm: true });
    expect(run.stdout).toBe(`${hostArch}\n`);

    const other = await berth.pullImage(ref, { platform: `linux/${otherArch}` });
    expect(other.image.config.architecture).toBe(otherArch);
    expect(other.image.id).not.toBe(host.image.id);
    // The base layer is shared between both platforms' images: unpacked once.
    expect(other.image.chainIds[0]).toBe(host.image.chainIds[0]);
    const [top] = berth.images.layerDirs(other.image);
    expect(fs.readFileSync(path.join(top, 'etc/platform'), 'utf8')).toBe(`${otherArch}\n`);

    // By the index digest: no tag, found again by that digest.
    const byDigest = await berth.pullImage(`${registry.host}/multi@${digests.multi}`);
    expect(byDigest.image.id).toBe(host.image.id);
    expect(berth.images.resolve(`${registry.host}/multi@${digests.multi}`).id).toBe(host.image.id);

    await expect(berth.pullImage(ref, { platform: 'linux/s390x' })).rejects.toThrow(
      new RegExp(`has no image for linux/s390x \\(it has linux/${otherArch}, linux/${hostArch}\\); choose one with --platform`),
    );
  });

  it('pulls zstd-compressed layers', async () => {
    const { berth } = freshBerth();
    const { image } = await berth.pullImage(`${registry.host}/zstd:latest`);
    const manifest = JSON.parse(fs.readFileSync(path.join(berth.root, 'blobs/sha256', image.manifestDigest.slice(7)), 'utf8'));
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(
      Array(2).fill('application/vnd.oci.image.layer.v1.tar+zstd'),
    );
    const run = await berth.run({ image: `${registry.host}/zstd`, cmd: ['cat', '/etc/compressed', '/etc/berth-fixture'], rm: true });
    expect(run.stdout).toBe('zstd\nbusybox fixture\n');
  });

  it('fails on a tampered blob with DIGEST_MISMATCH and keeps nothing of the image', async () => {
    const { berth, roots: r } = freshBerth();
    const file = registry.blobFile(digests.tamperLayer!);
    const original = fs.readFileSync(file);
    const bad = Buffer.from(original);
    for (let i = 100; i < 110; i++) bad[Math.floor(bad.length / 2) + i] ^= 0xff;
    fs.writeFileSync(file, bad);
    try {
      const err = await berth.pullImage(`${registry.host}/tamper:latest`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BerthError);
      expect((err as BerthError).code).toBe('DIGEST_MISMATCH');
      expect((err as BerthError).message).toContain(`layer ${digests.tamperLayer} of ${registry.host}/tamper:latest`);
      expect((err as BerthError).message).toMatch(/the registry sent corrupt or tampered data/);
    } finally {
      fs.writeFileSync(file, original);
    }
    expect(ls(path.join(r.root, 'blobs/sha256'))).toEqual([]);
    expect(ls(path.join(r.root, 'layers'))).toEqual([]);
    expect(ls(path.join(r.root, 'images'))).toEqual([]);
    expect(berth.listImages()).toEqual([]);
    expect(debris(r.root)).toEqual([]);
  });

  it('recovers from a pull killed mid-layer: the next pull completes and no temp file remains', async () => {
    const { berth, roots: r } = freshBerth();
    const proxy = await startStallProxy(registry.host, `/blobs/${digests.bigLayer}`);
    try {
      const ref = `${proxy.host}/big:latest`;
      const child = spawn(process.execPath, [CLI_PATH, 'pull', ref], {
        env: { ...process.env, BERTH_ROOT: r.root, BERTH_RUNROOT: r.runRoot },
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await Promise.race([proxy.stalled, exited.then(() => Promise.reject(new Error('the pull ended before the proxy cut the layer')))]);
      // Wait until the partial layer is on disk, then kill the puller as a crash would.
      let partial = 0;
      for (let i = 0; i < 200 && partial === 0; i++) {
        partial = stagedBytes(path.join(r.root, 'tmp'));
        if (partial === 0) await new Promise((res) => setTimeout(res, 25));
      }
      expect(partial).toBeGreaterThan(0);
      child.kill('SIGKILL');
      await exited;
      expect(berth.listImages()).toEqual([]);
      expect(ls(path.join(r.root, 'layers'))).toEqual([]);
      expect(debris(r.root)).toEqual([expect.stringMatching(/^tmp\/pull-/)]); // what the crash left, only under tmp/

      proxy.passThrough();
      const cli = await runCli(['pull', ref], { roots: r });
      expect(cli.stderr).toBe('');
      expect(cli.code).toBe(0);
      expect(berth.images.resolve(ref).chainIds).toHaveLength(2);
      expect(debris(r.root)).toEqual([]);
      const run = await berth.run({ image: ref, cmd: ['wc', '-c', '/big.bin'], rm: true });
      expect(run.stdout.trim()).toBe(`${4 << 20} /big.bin`);
    } finally {
      await proxy.close();
    }
  });

  it('completes two concurrent pulls of images sharing a base layer, which is unpacked once', async () => {
    const { berth, roots: r } = freshBerth();
    const [a, b] = await Promise.all([
      runCli(['pull', '-q', `${registry.host}/busybox:latest`], { roots: r }),
      runCli(['pull', '-q', `${registry.host}/layers:latest`], { roots: r }),
    ]);
    expect([a.code, a.stderr, b.code, b.stderr]).toEqual([0, '', 0, '']);
    const [one, three] = [berth.images.resolve(`${registry.host}/busybox`), berth.images.resolve(`${registry.host}/layers`)];
    expect(three.chainIds[0]).toBe(one.chainIds[0]);
    expect(ls(path.join(r.root, 'layers'))).toHaveLength(3);
    expect(debris(r.root)).toEqual([]);
  });

  it('names a missing image or tag, and an unknown platform spelling', async () => {
    const { berth } = freshBerth();
    await expect(berth.pullImage(`${registry.host}/busybox:nosuchtag`)).rejects.toMatchObject({
      code: 'IMAGE_NOT_FOUND',
      message: expect.stringMatching(
        new RegExp(`^The registry ${registry.host} has no ${registry.host}/busybox:nosuchtag \\("MANIFEST_UNKNOWN`),
      ),
    });
    await expect(berth.pullImage(`${registry.host}/nosuchrepo:latest`)).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    await expect(berth.pullImage(`${registry.host}/busybox`, { platform: 'linux' })).rejects.toThrow(
      'Expected a platform like linux/amd64 or linux/arm64/v8 for --platform but received "linux"',
    );
  });
});

describe('berth pull and berth tag (CLI)', () => {
  it('prints one line per layer when not on a terminal, only the name with -q; tag adds a name', async () => {
    const { roots: r, berth } = freshBerth();
    const ref = `${registry.host}/layers:latest`;
    const out = await runCli(['pull', ref], { roots: r });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Pulling ${ref}`);
    expect(lines.slice(1, 4)).toEqual(layersOf(layout, 'layers').map((l) => `${l.digest.slice(0, 19)} done`));
    expect(lines[4]).toBe(`Digest: ${manifestOf(layout, 'layers').digest}`);
    expect(lines[5]).toBe(`Status: Downloaded newer image for ${ref}`);
    expect(lines[6]).toBe(ref);

    const quiet = await runCli(['pull', '-q', ref], { roots: r });
    expect([quiet.code, quiet.stdout]).toEqual([0, `${ref}\n`]);

    expect((await runCli(['tag', ref, 'mine:v1'], { roots: r })).code).toBe(0);
    expect(berth.images.resolve('mine:v1').id).toBe(berth.images.resolve(ref).id);
    const images = await runCli(['images'], { roots: r });
    expect(images.stdout).toMatch(/^mine\s+v1\s/m);

    const bad = await runCli(['pull', '--platform', 'linux', ref], { roots: r });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: Expected a platform like linux\/amd64/);
  });
});

describe('berth pull on a terminal', () => {
  it('draws a progress bar per layer', async () => {
    const { spawnSync } = await import('node:child_process');
    const { CLI_PATH } = await import('../helpers/env');
    const { roots: r } = freshBerth();
    const ref = `${registry.host}/layers:latest`;
    // script(1) gives the CLI a pseudo-terminal, as a user's shell would
    const out = spawnSync('script', ['-qfec', `${process.execPath} ${CLI_PATH} pull ${ref}`, '/dev/null'], {
      env: { ...process.env, BERTH_ROOT: r.root, BERTH_RUNROOT: r.runRoot },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out.status).toBe(0);
    // the progress bars' ANSI escapes
    // eslint-disable-next-line no-control-regex
    const text = out.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    for (const layer of layersOf(layout, 'layers')) {
      expect(text).toMatch(new RegExp(`${layer.digest.slice(0, 19)} \\[█+\\] [\\d.]+/[\\d.]+ MB done`));
    }
  });
});

describe('run pulls what it lacks (--pull)', () => {
  it('pulls a missing image on run, never with --pull never, again with --pull always', async () => {
    const { roots: r, berth } = freshBerth();
    const ref = `${registry.host}/busybox:latest`;
    const never = await runCli(['run', '--rm', '--pull', 'never', ref, 'true'], { roots: r });
    expect(never.code).toBe(125);
    expect(never.stderr).toMatch(/No such image/);
    const first = await runCli(['run', '--rm', ref, 'cat', '/etc/berth-fixture'], { roots: r });
    expect([first.code, first.stdout]).toEqual([0, 'busybox fixture\n']);
    expect(berth.images.resolve(ref).names).toEqual([ref]);
    const api = await berth.run({ image: ref, pull: 'always', cmd: ['true'], rm: true });
    expect(api.exitCode).toBe(0);
    const missing = await runCli(['run', '--rm', `${registry.host}/nosuch:latest`, 'true'], { roots: r });
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/Unable to find image ".*nosuch:latest" locally, and pulling it failed/);
  });
});
