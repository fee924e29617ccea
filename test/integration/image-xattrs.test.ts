/**
 * Images keep their files' extended attributes: a layer holding a binary with file capabilities
 * (security.capability, cap_net_raw+ep) and a file with a user.* attribute, through load, import
 * and pull into the layer directories and into a container run as a non-root user; commit, export
 * and save write them back as PAX SCHILY.xattr.* records that load again. overlayfs' own attributes
 * in a layer (a faked opaque directory or whiteout) are never applied.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { entryXattrs } from '../../src/image/archive/pax-xattrs';
import { tarEntries } from '../../src/image/archive/tar-entries';
import { busyboxTar } from '../helpers/fixtures';
import { imageLifecycleFixture, blobPath } from '../helpers/image-lifecycle';
import { rawTar } from '../helpers/layer-tar';
import { missingTools, startRegistry } from '../helpers/registry';
import { CAP_NET_RAW, fileCaps, withXattrs, xattrsOf } from '../helpers/xattr-tar';

const ctx = imageLifecycleFixture();
const CAPS = fileCaps([CAP_NET_RAW]);
const NET_RAW_BIT = 1n << BigInt(CAP_NET_RAW);
const MOTD = { 'user.origin': Buffer.from('the image') };
const ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';

/**
 * The layer under test: a copy of busybox that has cap_net_raw+ep (busybox runs as `busybox-caps
 * APPLET`), /etc/motd with a user.* attribute, and overlay attributes that would hide the lower
 * layer's /data (opaque) and /etc/secret (an xattr whiteout, Linux 6.7+) if they were applied.
 */
function capsLayer(): Buffer {
  const busybox = execFileSync('tar', ['-xOf', busyboxTar(), 'bin/busybox'], { maxBuffer: 64 << 20 });
  return rawTar([
    { path: 'bin/', type: 'Directory' },
    ...withXattrs({ path: 'bin/busybox-caps', mode: 0o755, body: busybox }, { 'security.capability': CAPS }),
    ...withXattrs({ path: 'etc/', type: 'Directory' }, { 'trusted.overlay.whiteouts': 'y' }),
    ...withXattrs({ path: 'etc/motd', body: 'hello\n' }, { 'user.origin': 'the image' }),
    ...withXattrs({ path: 'etc/secret', body: '' }, { 'trusted.overlay.whiteout': 'y' }),
    ...withXattrs({ path: 'data/', type: 'Directory' }, { 'trusted.overlay.opaque': 'y' }),
    { path: 'data/new', body: 'new\n' },
  ]);
}

const lowerLayer = (): Buffer =>
  rawTar([
    { path: 'data/', type: 'Directory' },
    { path: 'data/keep', body: 'kept\n' },
    { path: 'etc/', type: 'Directory' },
    { path: 'etc/secret', body: 'lower secret\n' },
  ]);

/** A `docker save` archive of busybox, the lower layer and the caps layer. */
function dockerArchive(dir: string): string {
  fs.mkdirSync(dir);
  const layers = [fs.readFileSync(busyboxTar()), lowerLayer(), capsLayer()];
  const names = layers.map((l, i) => {
    fs.writeFileSync(path.join(dir, `layer${i}.tar`), l);
    return `layer${i}.tar`;
  });
  const config = {
    architecture: ARCH,
    os: 'linux',
    config: { Cmd: ['sh'], Env: ['PATH=/bin:/usr/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${crypto.createHash('sha256').update(l).digest('hex')}`) },
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify([{ Config: 'config.json', RepoTags: ['xattrs:latest'], Layers: names }]),
  );
  const file = `${dir}.tar`;
  execFileSync('tar', ['-C', dir, '-cf', file, 'manifest.json', 'config.json', ...names]);
  return file;
}

/** The unpacked file `rel` in the store's layer directories (the topmost image layer holding it). */
function inLayers(root: string, rel: string): string[] {
  const layers = path.join(root, 'layers');
  return fs
    .readdirSync(layers)
    .map((l) => path.join(layers, l, 'diff', rel))
    .filter((p) => fs.existsSync(p));
}

/** The capability sets of `busybox-caps` itself, run as uid 1000 in a container of `image`. */
async function capsAsUser(berth: Berth, image: string, program = '/bin/busybox-caps'): Promise<{ eff: bigint; prm: bigint }> {
  const r = await berth.run({ image, user: '1000', cmd: [program, 'grep', '^Cap', '/proc/self/status'], rm: true });
  expect([r.exitCode, r.stderr]).toEqual([0, '']);
  const field = (name: string): bigint => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)`, 'm').exec(r.stdout)![1]}`);
  return { eff: field('CapEff'), prm: field('CapPrm') };
}

async function expectCapsWork(berth: Berth, image: string): Promise<void> {
  const caps = await capsAsUser(berth, image);
  expect(caps.eff & NET_RAW_BIT).toBe(NET_RAW_BIT);
  expect(caps.prm & NET_RAW_BIT).toBe(NET_RAW_BIT);
  // the same program without the attribute: uid 1000 has no capabilities at all
  expect(await capsAsUser(berth, image, '/bin/busybox')).toEqual({ eff: 0n, prm: 0n });
}

/** Each entry's extended attributes in a tar file, by entry name. */
async function tarXattrs(file: string): Promise<Record<string, Record<string, Buffer>>> {
  const out: Record<string, Record<string, Buffer>> = {};
  for await (const e of tarEntries(Readable.from([fs.readFileSync(file)]))) {
    const x = entryXattrs(e);
    if (x) out[e.path] = Object.fromEntries(x);
  }
  return out;
}

let archive: string;
beforeAll(() => {
  archive = dockerArchive(path.join(ctx.work, 'xattrs-save'));
});

describe('images keep their extended attributes', () => {
  it('load: the layer directories hold the capability and the user.* attribute, a non-root process gets the capability', async () => {
    await ctx.berth.loadImages(archive);
    const [caps] = inLayers(ctx.roots.root, 'bin/busybox-caps');
    expect(xattrsOf(caps)).toEqual({ 'security.capability': CAPS });
    expect(execFileSync('getcap', [caps]).toString()).toMatch(/cap_net_raw[=+]ep/);
    const dump = execFileSync('getfattr', ['-d', '--absolute-names', inLayers(ctx.roots.root, 'etc/motd')[0]]).toString();
    expect(dump).toContain('user.origin="the image"');
    await expectCapsWork(ctx.berth, 'xattrs:latest');
  });

  it("a layer's trusted.overlay.* attributes are not applied: no faked opaque directory, no faked whiteout", async () => {
    for (const rel of ['data', 'etc', 'etc/secret']) {
      for (const file of inLayers(ctx.roots.root, rel)) {
        expect(
          Object.keys(xattrsOf(file)).filter((n) => n.startsWith('trusted.overlay.')),
          file,
        ).toEqual([]);
      }
    }
    const r = await ctx.berth.run({ image: 'xattrs:latest', cmd: ['sh', '-c', 'cat /data/keep /data/new; ls /etc/secret'], rm: true });
    expect([r.exitCode, r.stdout]).toEqual([0, 'kept\nnew\n/etc/secret\n']);
  });

  it('import of a flat tar keeps them too, and `berth run --user 1000` runs the program with the capability', async () => {
    const flat = path.join(ctx.work, 'flat.tar');
    // busybox's entries, its end-of-archive blocks dropped, then the caps layer's entries
    const bb = fs.readFileSync(busyboxTar());
    fs.writeFileSync(flat, Buffer.concat([bb.subarray(0, lastEntryEnd(bb)), capsLayer()]));
    const cli = await ctx.berthCli(['import', flat, 'xattrs:flat']);
    expect([cli.code, cli.stderr]).toEqual([0, '']);
    const run = await ctx.berthCli([
      'run',
      '--rm',
      '--user',
      '1000',
      'xattrs:flat',
      '/bin/busybox-caps',
      'grep',
      '^CapEff',
      '/proc/self/status',
    ]);
    expect(run.code).toBe(0);
    expect(BigInt(`0x${run.stdout.split(/\s+/)[1]}`) & NET_RAW_BIT).toBe(NET_RAW_BIT);
  });

  it('commit: the new layer carries the copied-up files’ attributes as SCHILY.xattr.* records, and runs with them', async () => {
    const made = await ctx.berth.run({
      image: 'xattrs:latest',
      name: 'xattr-changer',
      // chmod copies the files up into the write layer, with their attributes
      cmd: ['sh', '-c', 'chmod 0755 /bin/busybox-caps && chmod 0644 /etc/motd && echo more >> /data/new'],
    });
    expect([made.exitCode, made.stderr]).toEqual([0, '']);
    const image = await ctx.berth.commit('xattr-changer', 'xattrs:committed');
    const layers = ctx.berth.inspectImage('xattrs:committed').layers.map((l) => l.digest);
    const top = blobPath(ctx.roots.root, layers[layers.length - 1]);
    expect(image.id).toBeTruthy();
    const records = await tarXattrs(top);
    expect(records['bin/busybox-caps']).toEqual({ 'security.capability': CAPS });
    expect(records['etc/motd']).toEqual(MOTD);
    expect(fs.readFileSync(top).includes('trusted.overlay')).toBe(false);
    expect(execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', top]).toString()).toMatch(
      /busybox-caps\n\s+x: 20 security.capability/,
    );
    await expectCapsWork(ctx.berth, 'xattrs:committed');
  });

  it('export writes them in the flat tar, and importing that tar restores them', async () => {
    const out = path.join(ctx.work, 'exported.tar');
    await ctx.berth.exportContainer('xattr-changer', out);
    const records = await tarXattrs(out);
    expect(records['bin/busybox-caps']).toEqual({ 'security.capability': CAPS });
    expect(records['etc/motd']).toEqual(MOTD);
    expect(Object.values(records).flatMap((r) => Object.keys(r).filter((n) => n.startsWith('trusted.overlay.')))).toEqual([]);
    const { berth, roots } = ctx.freshBerth();
    await berth.importImage(out, 'xattrs:exported');
    expect(xattrsOf(inLayers(roots.root, 'etc/motd')[0])).toEqual(MOTD);
    await expectCapsWork(berth, 'xattrs:exported');
    await ctx.berth.remove('xattr-changer');
  });

  it('save writes the layers with their records, and a load into another store round-trips them', async () => {
    const out = path.join(ctx.work, 'saved.tar');
    await ctx.berth.saveImages(['xattrs:committed'], out);
    const layers = ctx.berth.inspectImage('xattrs:committed').layers.map((l) => l.digest);
    const blobs = path.join(ctx.work, 'saved');
    fs.mkdirSync(blobs);
    execFileSync('tar', ['-C', blobs, '-xf', out]);
    // the loaded layer as it came, and the committed one as commit wrote it
    for (const layer of [layers[2], layers[3]]) {
      const records = await tarXattrs(path.join(blobs, 'blobs/sha256', layer.slice(7)));
      expect(records['bin/busybox-caps'], layer).toEqual({ 'security.capability': CAPS });
      expect(records['etc/motd'], layer).toEqual(MOTD);
    }
    const { berth, roots } = ctx.freshBerth();
    await berth.loadImages(out);
    for (const file of inLayers(roots.root, 'bin/busybox-caps')) expect(xattrsOf(file)).toEqual({ 'security.capability': CAPS });
    await expectCapsWork(berth, 'xattrs:committed');
  });

  it.runIf(missingTools().length === 0)(
    'pull from a registry keeps them',
    async () => {
      const registry = await startRegistry(fs.mkdtempSync(path.join(ctx.work, 'registry-')));
      try {
        const ref = `${registry.host}/xattrs:latest`;
        execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${ref}`]);
        const { berth, roots } = ctx.freshBerth();
        await berth.pullImage(ref);
        expect(xattrsOf(inLayers(roots.root, 'etc/motd')[0])).toEqual(MOTD);
        await expectCapsWork(berth, ref);
      } finally {
        await registry.stop();
      }
    },
    60_000,
  );
});

/** The end of a tar's last entry: where its end-of-archive zero blocks begin. */
function lastEntryEnd(tar: Buffer): number {
  let off = 0;
  let end = 0;
  while (off + 512 <= tar.length && tar.subarray(off, off + 512).some((b) => b !== 0)) {
    const size = parseInt(
      tar
        .subarray(off + 124, off + 136)
        .toString('latin1')
        .replace(/\0.*$/, '')
        .trim() || '0',
      8,
    );
    off += 512 + Math.ceil(size / 512) * 512;
    end = off;
  }
  return end;
}
