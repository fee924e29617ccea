/** berth save and berth load: OCI layouts and docker archives, digests kept, tampering refused. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { busyboxTar } from '../helpers/fixtures';
import { CHECK, CHECKED, commitChangedImage, imageLifecycleFixture, ls, run, sh, tarNames } from '../helpers/image-lifecycle';

// The host is checked after every test (imageLifecycleFixture): mounts, cgroups, networks as before.
const ctx = imageLifecycleFixture();
const { freshBerth, berthCli } = ctx;
let berth: Berth;
let work: string;
beforeAll(() => ({ berth, work } = ctx));
// committed:v1, which the commit tests make (test/integration/image-commit-export.test.ts)
beforeAll(() => commitChangedImage(berth));

describe('berth save and berth load', () => {
  it('saves an OCI image layout tar that skopeo and umoci read: same digests, same files', async () => {
    const image = berth.images.resolve('committed:v1');
    const file = path.join(work, 'committed.tar');
    await berth.saveImages(['committed:v1'], file);
    expect(await tarNames(file)).toEqual(
      expect.arrayContaining(['oci-layout', 'index.json', 'manifest.json', `blobs/sha256/${image.id.slice(7)}`]),
    );

    const inspected = JSON.parse(run('skopeo', ['inspect', `oci-archive:${file}:v1`]));
    expect(inspected.Digest).toBe(image.manifestDigest);
    expect(inspected.Layers).toEqual(image.config.rootfs.diff_ids); // uncompressed layers: blob digest = diff ID
    const copied = path.join(work, 'skopeo-dir');
    run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci-archive:${file}`, `dir:${copied}`]);
    expect(ls(copied)).toEqual(expect.arrayContaining(['manifest.json', image.id.slice(7)]));

    const layout = path.join(work, 'layout');
    fs.mkdirSync(layout);
    run('tar', ['-xf', file, '-C', layout]);
    const bundle = path.join(work, 'bundle');
    run('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect(fs.readFileSync(path.join(rootfs, 'etc/new.txt'), 'utf8')).toBe('new\n');
    expect(fs.existsSync(path.join(rootfs, 'etc/berth-fixture'))).toBe(false);
    expect(ls(path.join(rootfs, 'home'))).toEqual(['only']);
    expect(fs.statSync(path.join(rootfs, 'data/h1')).mode & 0o7777).toBe(0o4755);
    expect(fs.readlinkSync(path.join(rootfs, 'data/link'))).toBe('/etc/new.txt');
  });

  it('loads what it saved into another store: same image ID and name, layers shared between images, the same files', async () => {
    const file = path.join(work, 'two.tar');
    await berth.saveImages(['busybox', 'committed:v1'], file);
    const { berth: other, roots: r } = freshBerth();
    const result = await other.loadImages(file);
    expect(result.images.map((i) => [i.id, i.names])).toEqual([
      [berth.images.resolve('busybox').id, ['docker.io/library/busybox:latest']],
      [berth.images.resolve('committed:v1').id, ['docker.io/library/committed:v1']],
    ]);
    expect(ls(path.join(r.root, 'layers'))).toHaveLength(2); // the base layer once
    expect(other.images.resolve('committed:v1').manifestDigest).toBe(berth.images.resolve('committed:v1').manifestDigest);
    expect((await sh(other, 'committed:v1', CHECK)).stdout).toBe(CHECKED);
    expect((await other.run({ image: 'committed:v1', rm: true })).stdout).toBe('new\n');
    expect(ls(path.join(r.root, 'tmp'))).toEqual([]);
  });

  it('loads a docker-archive (manifest.json, RepoTags, uncompressed layers) as skopeo and docker save write it', async () => {
    const file = path.join(work, 'docker-archive.tar');
    run('skopeo', [
      '--insecure-policy',
      'copy',
      '--quiet',
      `oci-archive:${path.join(work, 'committed.tar')}:v1`,
      `docker-archive:${file}:team/app:2`,
    ]);
    const names = await tarNames(file);
    expect(names).toContain('manifest.json');
    expect(names).not.toContain('index.json');
    const { berth: other } = freshBerth();
    const result = await other.loadImages(file);
    expect(result.images.map((i) => i.names)).toEqual([['docker.io/team/app:2']]);
    expect((await sh(other, 'team/app:2', CHECK)).stdout).toBe(CHECKED);
  });

  it('refuses a tampered archive with DIGEST_MISMATCH and keeps nothing of it', async () => {
    const good = path.join(work, 'committed.tar');
    const bad = path.join(work, 'tampered.tar');
    const bytes = fs.readFileSync(good);
    const layer = berth.images.resolve('committed:v1').config.rootfs.diff_ids[1].slice(7);
    // Flip bytes inside the body of the top layer's blob: the member after its 512-byte header.
    const at = bytes.lastIndexOf(Buffer.from(`blobs/sha256/${layer}`)) + 512 + 700;
    for (let i = 0; i < 8; i++) bytes[at + i] ^= 0xff;
    fs.writeFileSync(bad, bytes);
    const { berth: other, roots: r } = freshBerth();
    await expect(other.loadImages(bad)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringMatching(/^The blob sha256:[0-9a-f]{64} in .* does not match its digest/),
    });
    expect(other.listImages()).toEqual([]);
    expect(ls(path.join(r.root, 'layers'))).toEqual([]);
    expect(ls(path.join(r.root, 'images'))).toEqual([]);
    expect(ls(path.join(r.root, 'tmp'))).toEqual([]);
  });

  it('berth save -o / berth load -i (CLI) print what docker prints; a flat rootfs tar is refused with the fix', async () => {
    const file = path.join(work, 'cli-save.tar');
    const saved = await berthCli(['save', '-o', file, 'committed:v1']);
    expect([saved.code, saved.stderr, saved.stdout]).toEqual([0, '', '']);
    const { roots: r } = freshBerth();
    const loaded = await berthCli(['load', '-i', file], { roots: r });
    expect([loaded.code, loaded.stderr, loaded.stdout]).toEqual([0, '', 'Loaded image: committed:v1\n']);
    const notImage = await berthCli(['load', '-i', busyboxTar()], { roots: r });
    expect(notImage.code).toBe(125);
    expect(notImage.stderr).toBe(
      `berth: ${JSON.stringify(busyboxTar())} is neither an OCI image layout (no index.json) nor a docker save archive (no manifest.json); to import a flat rootfs tar use berth import\n`,
    );
  });
});
