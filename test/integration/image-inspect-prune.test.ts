/** berth image inspect and berth image prune. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { busyboxTar } from '../helpers/fixtures';
import { commitChangedImage, imageLifecycleFixture, ls, sh } from '../helpers/image-lifecycle';

// The host is checked after every test (imageLifecycleFixture): mounts, cgroups, networks as before.
const ctx = imageLifecycleFixture();
const { freshBerth, berthCli } = ctx;
let berth: Berth;
beforeAll(() => ({ berth } = ctx));
// committed:v1, which the commit tests make (test/integration/image-commit-export.test.ts)
beforeAll(() => commitChangedImage(berth));

describe('berth image inspect and berth image prune', () => {
  it('inspects an image: ID, names, config, and each layer as diff ID, chain ID and blob', async () => {
    const image = berth.images.resolve('committed:v1');
    const info = berth.inspectImage('committed:v1');
    expect(info).toMatchObject({
      id: image.id,
      names: ['docker.io/library/committed:v1'],
      repoDigests: [],
      size: image.size,
      config: image.config,
    });
    expect(info.layers.map((l) => [l.diffId, l.chainId, l.digest, l.mediaType])).toEqual(
      image.chainIds.map((c, i) => [
        image.config.rootfs.diff_ids[i],
        c,
        image.config.rootfs.diff_ids[i],
        'application/vnd.oci.image.layer.v1.tar',
      ]),
    );
    const cli = await berthCli(['image', 'inspect', 'committed:v1']);
    expect([cli.code, cli.stderr]).toEqual([0, '']);
    expect(JSON.parse(cli.stdout)).toEqual([JSON.parse(JSON.stringify(info))]);
    const missing = await berthCli(['image', 'inspect', 'nosuch']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/^berth: No such image: "nosuch:latest"; pull it with/);
  });

  it('prunes unnamed images no container uses, then layers and blobs nothing references; keeps everything in use', async () => {
    const { berth: b, roots: r } = freshBerth();
    await b.importImage(busyboxTar(), 'busybox');
    const keep = await b.run({ image: 'busybox', name: 'keeper', cmd: ['sh', '-c', 'echo k > /k'] });
    const drop = await b.run({ image: 'busybox', name: 'dropper', cmd: ['sh', '-c', 'echo d > /d'] });
    expect([keep.exitCode, drop.exitCode]).toEqual([0, 0]);
    const unnamed = await b.commit('dropper');
    const named = await b.commit('keeper', 'kept:v1');
    // In use by a container and forcibly untagged: unnamed, but kept while that container exists.
    await b.run({ image: 'kept:v1', name: 'user', cmd: ['true'] });
    b.removeImage('kept:v1', { force: true });
    expect(b.images.resolve(named.id).names).toEqual([]);
    // Debris a crash could leave: a blob and a layer directory no image references.
    fs.writeFileSync(path.join(r.root, 'blobs/sha256', 'ab'.repeat(32)), 'orphan');

    const first = b.pruneImages();
    expect(first.images).toEqual([unnamed.id]);
    expect(first.layers).toEqual([unnamed.chainIds[1]]);
    expect(first.blobs.sort()).toEqual(
      [`sha256:${'ab'.repeat(32)}`, unnamed.id, unnamed.manifestDigest, unnamed.config.rootfs.diff_ids[1]].sort(),
    );
    expect(first.reclaimed).toBeGreaterThan(0);
    expect(() => b.images.resolve(unnamed.id)).toThrow(/No such image/);
    expect((await b.run({ image: named.id, cmd: ['cat', '/k'], rm: true })).stdout).toBe('k\n');

    await b.remove('user');
    const cli = await berthCli(['image', 'prune', '-f'], { roots: r });
    expect([cli.code, cli.stderr]).toEqual([0, '']);
    expect(cli.stdout).toBe(
      `Deleted Images:\ndeleted: ${named.id}\n\nDeleted Layers:\ndeleted: ${named.chainIds[1]}\n\nTotal reclaimed space: ${cli.stdout.split('Total reclaimed space: ')[1]}`,
    );
    expect(b.listImages().map((i) => i.names)).toEqual([['docker.io/library/busybox:latest']]);
    expect(ls(path.join(r.root, 'layers'))).toEqual([b.images.resolve('busybox').chainIds[0].slice(7)]);
    expect((await sh(b, 'busybox', 'cat /etc/berth-fixture')).stdout).toBe('busybox fixture\n');
    const again = b.pruneImages();
    expect(again).toEqual({ images: [], layers: [], blobs: [], reclaimed: 0 });
  });
});
