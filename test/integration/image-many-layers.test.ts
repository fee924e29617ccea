/** Images with many layers: the overlay mount option stays within one page. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { busyboxTar } from '../helpers/fixtures';
import { rootfsMount } from '../../src/runtime/rootfs';
import { buildRawImage, initLayout } from '../fixtures/registry/images';
import { imageLifecycleFixture, ls, run } from '../helpers/image-lifecycle';

// The host is checked after every test (imageLifecycleFixture): mounts, cgroups, networks as before.
const ctx = imageLifecycleFixture();
const { freshBerth } = ctx;
let work: string;
beforeAll(() => ({ work } = ctx));

describe('images with many layers', () => {
  it('loads a 100-layer image whose short layer paths fit one mount option page, and overlayfs mounts them', async () => {
    const layout = path.join(work, 'deep-layout');
    const tars = [busyboxTar()];
    for (let i = 1; i < 100; i++) {
      const dir = path.join(work, 'deep', String(i));
      fs.mkdirSync(path.join(dir, 'layers'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'layers', String(i)), `${i}\n`);
      if (i === 99) fs.writeFileSync(path.join(dir, 'layers', '.wh.1'), ''); // the top layer deletes layer 1's file
      tars.push(path.join(work, 'deep', `${i}.tar`));
      run('tar', ['-cf', tars[i], '-C', dir, '--numeric-owner', '--owner=0', '--group=0', '.']);
    }
    initLayout(layout);
    // umoci init writes "manifests": null, which buildRawImage cannot append to.
    const indexFile = path.join(layout, 'index.json');
    fs.writeFileSync(indexFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(indexFile, 'utf8')), manifests: [] }));
    buildRawImage(layout, 'deep', tars, 'none');
    const archive = path.join(work, 'deep.tar');
    run('tar', ['-cf', archive, '-C', layout, '.']);

    const { berth: b, roots: r } = freshBerth();
    const [loaded] = (await b.loadImages(archive)).images;
    expect(loaded.names).toEqual([]); // a bare "deep" ref.name names no repository
    const image = b.images.resolve(loaded.id);
    expect(image.chainIds).toHaveLength(100);

    const short = b.images.shortLayerDirs(image);
    const long = b.images.layerDirs(image);
    expect(short).toHaveLength(100);
    short.forEach((s, i) => {
      expect(s).toMatch(new RegExp(`^${r.root}/l/[A-Z0-9]{8}$`));
      expect(fs.realpathSync(s)).toBe(long[i]);
    });
    expect(new Set(short).size).toBe(100);
    // Asking again changes nothing (the names are recorded with the layers).
    expect(b.images.shortLayerDirs(image)).toEqual(short);

    const scratch = path.join(r.base, 'c');
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(scratch, d), { recursive: true });
    const layout100 = {
      lowers: short,
      upper: path.join(scratch, 'upper'),
      work: path.join(scratch, 'work'),
      merged: path.join(scratch, 'merged'),
    };
    const { data } = rootfsMount('overlay', layout100);
    expect(Buffer.byteLength(data)).toBeLessThan(4096);
    expect(() => rootfsMount('overlay', { ...layout100, lowers: long })).toThrow(/too many for one overlay mount option string/);

    // The kernel takes it: mounted in a private mount namespace of its own, gone when that process exits.
    const merged = layout100.merged;
    const out = run('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t overlay overlay -o "$1" "$2" && ls "$2/layers" | wc -l && cat "$2/layers/2" "$2/layers/99" && test ! -e "$2/layers/1" && echo gone && cat "$2/etc/berth-fixture"`,
      'sh',
      data,
      merged,
    ]);
    expect(out).toBe('98\n2\n99\ngone\nbusybox fixture\n');

    // Removing the image removes the short links with the layers.
    b.removeImage(image.id);
    expect(ls(path.join(r.root, 'l'))).toEqual([]);
  });
});
