/** unpackLayer: what a layer tarball becomes on disk (contents, attributes, links, special files). */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { unpackLayer } from '../../src/image/archive/unpack';
import { BerthError } from '../../src/errors';
import { MTIME, has, isRoot, majorOf, minorOf, rawTar, unpackDirs } from '../helpers/layer-tar';

const dirs = unpackDirs();
const { writeTar, unpackBuffer } = dirs;
let tmp: string;
let work: string;
let target: string;
let outside: string;
beforeEach(() => ({ tmp, work, target, outside } = dirs));

describe('unpackLayer: content and attributes', () => {
  it('keeps contents, modes including setuid/setgid/sticky, owners and mtimes, whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      const tar = rawTar([
        { path: './', type: 'Directory', mode: 0o755 },
        { path: './bin/', type: 'Directory', mode: 0o755 },
        { path: './bin/su', mode: 0o4755, body: '#!/bin/true\n', uid: 0, gid: 0 },
        { path: './bin/wall', mode: 0o2755, body: 'wall', gid: 5 },
        { path: './tmp/', type: 'Directory', mode: 0o1777 },
        { path: './ro/', type: 'Directory', mode: 0o555, mtime: new Date(900_000_000_000) },
        { path: './ro/file', mode: 0o444, body: 'read only' },
        { path: './home/user/', type: 'Directory', mode: 0o700, uid: 1234, gid: 5678 },
        { path: './home/user/notes', mode: 0o600, body: 'hello', uid: 1234, gid: 5678 },
        { path: './empty', mode: 0o640, body: '' },
      ]);
      const result = await unpackBuffer(tar);
      expect(result.size).toBe('#!/bin/true\n'.length + 4 + 9 + 5);
      const mode = (p: string): number => fs.lstatSync(path.join(target, p)).mode & 0o7777;
      expect(fs.readFileSync(path.join(target, 'bin/su'), 'utf8')).toBe('#!/bin/true\n');
      expect(mode('bin/su')).toBe(0o4755);
      expect(mode('bin/wall')).toBe(0o2755);
      expect(mode('tmp')).toBe(0o1777);
      expect(mode('ro')).toBe(0o555);
      expect(mode('ro/file')).toBe(0o444);
      expect(mode('home/user')).toBe(0o700);
      expect(mode('empty')).toBe(0o640);
      expect(mode('')).toBe(0o755);
      expect(fs.readFileSync(path.join(target, 'home/user/notes'), 'utf8')).toBe('hello');
      expect(fs.statSync(path.join(target, 'bin/su')).mtimeMs).toBe(MTIME.getTime());
      // Directory times survive the creation of their children.
      expect(fs.statSync(path.join(target, 'ro')).mtimeMs).toBe(900_000_000_000);
      if (isRoot) {
        const st = fs.statSync(path.join(target, 'home/user/notes'));
        expect([st.uid, st.gid]).toEqual([1234, 5678]);
        expect(fs.statSync(path.join(target, 'home/user')).uid).toBe(1234);
        expect(fs.statSync(path.join(target, 'bin/wall')).gid).toBe(5);
      }
    } finally {
      process.umask(old);
    }
  });

  it('creates symlinks with their literal target, owner and mtime', async () => {
    await unpackBuffer(
      rawTar([
        { path: 'etc/', type: 'Directory' },
        { path: 'etc/localtime', type: 'SymbolicLink', linkpath: '/usr/share/zoneinfo/UTC', uid: 7, gid: 8 },
        { path: 'lib', type: 'SymbolicLink', linkpath: 'usr/lib' },
        { path: 'up', type: 'SymbolicLink', linkpath: '../..' },
      ]),
    );
    expect(fs.readlinkSync(path.join(target, 'etc/localtime'))).toBe('/usr/share/zoneinfo/UTC');
    expect(fs.readlinkSync(path.join(target, 'lib'))).toBe('usr/lib');
    expect(fs.readlinkSync(path.join(target, 'up'))).toBe('../..');
    const st = fs.lstatSync(path.join(target, 'etc/localtime'));
    expect(st.mtimeMs).toBe(MTIME.getTime());
    if (isRoot) expect([st.uid, st.gid]).toEqual([7, 8]);
  });

  it('creates hard links that share the inode, also to a symlink', async () => {
    await unpackBuffer(
      rawTar([
        { path: 'bin/busybox', mode: 0o755, body: 'BB' },
        { path: 'bin/sh', type: 'Link', linkpath: 'bin/busybox' },
        { path: './usr/bin/ls', type: 'Link', linkpath: './bin/busybox' },
        { path: 'abs-link', type: 'SymbolicLink', linkpath: '/etc/passwd' },
        { path: 'abs-link2', type: 'Link', linkpath: 'abs-link' },
      ]),
    );
    const ino = fs.statSync(path.join(target, 'bin/busybox')).ino;
    expect(fs.statSync(path.join(target, 'bin/sh')).ino).toBe(ino);
    expect(fs.statSync(path.join(target, 'usr/bin/ls')).ino).toBe(ino);
    expect(fs.statSync(path.join(target, 'bin/busybox')).nlink).toBe(3);
    // link(2) links the symlink itself, it does not follow it to the host's /etc/passwd.
    const l = fs.lstatSync(path.join(target, 'abs-link2'));
    expect(l.isSymbolicLink()).toBe(true);
    expect(l.ino).toBe(fs.lstatSync(path.join(target, 'abs-link')).ino);
  });

  it('replaces an earlier entry of the same name without writing through it', async () => {
    fs.writeFileSync(path.join(outside, 'victim'), 'original');
    await unpackBuffer(
      rawTar([
        { path: 'x', type: 'SymbolicLink', linkpath: path.join(outside, 'victim') },
        { path: 'x', body: 'replaced' },
        { path: 'd/', type: 'Directory' },
        { path: 'd/f', body: 'in d' },
        { path: 'd', body: 'now a file' },
        { path: 'f', body: 'file' },
        { path: 'f/', type: 'Directory' },
        { path: 's', type: 'SymbolicLink', linkpath: outside },
        { path: 's/', type: 'Directory' },
        { path: 's/inside', body: 'stays in the layer' },
      ]),
    );
    expect(fs.readdirSync(outside)).toEqual(['victim']);
    expect(fs.lstatSync(path.join(target, 's')).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(target, 's/inside'), 'utf8')).toBe('stays in the layer');
    expect(fs.readFileSync(path.join(outside, 'victim'), 'utf8')).toBe('original');
    expect(fs.lstatSync(path.join(target, 'x')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(target, 'x'), 'utf8')).toBe('replaced');
    expect(fs.readFileSync(path.join(target, 'd'), 'utf8')).toBe('now a file');
    expect(fs.lstatSync(path.join(target, 'f')).isDirectory()).toBe(true);
  });

  it('orders entries that depend on files still queued for the writer threads', async () => {
    const big = randomBytes(9 << 20); // more than a writer's ring: the queue fills and waits
    const many = Array.from({ length: 300 }, (_, i) => ({ path: `d/f${i}`, body: `file ${i}` }));
    await unpackBuffer(
      rawTar([
        { path: 'd/', type: 'Directory' },
        ...many,
        { path: 'big', body: big },
        { path: 'big-link', type: 'Link', linkpath: 'big' },
        { path: 'd/f7', body: 'second' },
        { path: 'd/f7', body: 'third' },
        { path: 'e/', type: 'Directory' },
        { path: 'e/queued', body: 'gone with e' },
        { path: 'e', type: 'SymbolicLink', linkpath: outside },
      ]),
    );
    expect(fs.readdirSync(path.join(target, 'd'))).toHaveLength(300);
    expect(fs.readFileSync(path.join(target, 'd/f299'), 'utf8')).toBe('file 299');
    expect(fs.readFileSync(path.join(target, 'd/f7'), 'utf8')).toBe('third');
    expect(fs.readFileSync(path.join(target, 'big-link')).equals(big)).toBe(true);
    expect(fs.statSync(path.join(target, 'big-link')).ino).toBe(fs.statSync(path.join(target, 'big')).ino);
    expect(fs.lstatSync(path.join(target, 'e')).isSymbolicLink()).toBe(true);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('creates fifos, and device nodes when root', async () => {
    const result = await unpackBuffer(
      rawTar([
        { path: 'dev/', type: 'Directory' },
        { path: 'dev/null', type: 'CharacterDevice', mode: 0o666, devmaj: 1, devmin: 3 },
        { path: 'dev/loop0', type: 'BlockDevice', mode: 0o660, devmaj: 7, devmin: 0, gid: 6 },
        { path: 'run/initctl', type: 'FIFO', mode: 0o600 },
      ]),
    );
    const fifo = fs.lstatSync(path.join(target, 'run/initctl'));
    expect(fifo.isFIFO()).toBe(true);
    expect(fifo.mode & 0o7777).toBe(0o600);
    if (!isRoot) {
      expect(result.notes.join('\n')).toMatch(/dev\/null/);
      return;
    }
    const nul = fs.lstatSync(path.join(target, 'dev/null'));
    expect(nul.isCharacterDevice()).toBe(true);
    expect([majorOf(nul.rdev), minorOf(nul.rdev)]).toEqual([1, 3]);
    expect(nul.mode & 0o7777).toBe(0o666);
    const loop = fs.lstatSync(path.join(target, 'dev/loop0'));
    expect(loop.isBlockDevice()).toBe(true);
    expect([majorOf(loop.rdev), minorOf(loop.rdev), loop.gid]).toEqual([7, 0, 6]);
    expect(result.notes).toEqual([]);
  });

  // Whiteout devices and trusted.* xattrs need root.
  it.skipIf(!isRoot)('turns OCI whiteouts into overlayfs whiteout devices', async () => {
    await unpackBuffer(
      rawTar([
        { path: 'etc/', type: 'Directory' },
        { path: 'etc/motd', body: 'replaced by the whiteout below' },
        { path: 'etc/.wh.motd', body: '' },
        { path: 'usr/.wh.games', body: '' },
        { path: '.wh..wh.plnk', type: 'Directory' },
      ]),
    );
    for (const rel of ['etc/motd', 'usr/games']) {
      const wh = fs.lstatSync(path.join(target, rel));
      expect(wh.isCharacterDevice(), rel).toBe(true);
      expect(wh.rdev, rel).toBe(0);
    }
    expect(fs.readdirSync(path.join(target, 'etc'))).toEqual(['motd']);
    expect(fs.existsSync(path.join(target, '.wh..wh.plnk'))).toBe(false);
  });

  // setfattr comes from the Debian package attr, which a machine may lack.
  it.skipIf(!isRoot || !has('setfattr') || !has('getfattr'))('marks opaque directories with trusted.overlay.opaque', async () => {
    await unpackBuffer(
      rawTar([
        { path: 'var/cache/.wh..wh..opq', body: '' },
        { path: 'var/cache/new', body: 'n' },
      ]),
    );
    expect(fs.readdirSync(path.join(target, 'var/cache'))).toEqual(['new']);
    const out = execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', path.join(target, 'var/cache')], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out.toString()).toBe('y');
  });

  it.skipIf(!isRoot)('says which Debian package to install when setfattr is missing, and keeps nothing', async () => {
    const oldPath = process.env.PATH;
    process.env.PATH = path.join(tmp, 'empty-path');
    try {
      const err = await unpackBuffer(rawTar([{ path: 'd/.wh..wh..opq', body: '' }])).catch((e: unknown) => e);
      expect((err as BerthError).code).toBe('UNSUPPORTED');
      expect((err as BerthError).message).toMatch(/setfattr was not found; install the Debian package "attr"/);
    } finally {
      process.env.PATH = oldPath;
    }
    expect(fs.readdirSync(work)).toEqual([]);
  });

  // GNU tar rather than tar.create: node-tar's packer throws "write after end" on hard links
  // (isaacs/node-tar#460), an unhandled error that would fail the run.
  it.skipIf(!has('tar'))('unpacks a docker-export style tar (leading "./") made by GNU tar, gzip-compressed or not', async () => {
    const src = path.join(tmp, 'rootfs');
    fs.mkdirSync(path.join(src, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(src, 'bin/tool'), 'tool');
    fs.chmodSync(path.join(src, 'bin/tool'), 0o4711);
    fs.symlinkSync('tool', path.join(src, 'bin/alias'));
    fs.linkSync(path.join(src, 'bin/tool'), path.join(src, 'bin/hard'));
    const plain = path.join(tmp, 'plain.tar');
    execFileSync('tar', ['--numeric-owner', '-C', src, '-cf', plain, '.']);
    const gz = writeTar('rootfs.tar.gz', zlib.gzipSync(fs.readFileSync(plain)));
    for (const file of [plain, gz]) {
      await unpackLayer(file, target);
      expect(fs.readFileSync(path.join(target, 'bin/tool'), 'utf8')).toBe('tool');
      expect(fs.statSync(path.join(target, 'bin/tool')).mode & 0o7777).toBe(0o4711);
      expect(fs.readlinkSync(path.join(target, 'bin/alias'))).toBe('tool');
      expect(fs.statSync(path.join(target, 'bin/hard')).ino).toBe(fs.statSync(path.join(target, 'bin/tool')).ino);
      fs.rmSync(target, { recursive: true });
    }
  });

  it('streams large bodies intact', async () => {
    const big = randomBytes(5 * 1024 * 1024 + 123);
    const file = writeTar(
      'big.tar',
      rawTar([
        { path: 'big.bin', body: big },
        { path: 'after', body: 'ok' },
      ]),
    );
    const result = await unpackLayer(file, target);
    const got = fs.readFileSync(path.join(target, 'big.bin'));
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    expect(fs.readFileSync(path.join(target, 'after'), 'utf8')).toBe('ok');
    expect(result.size).toBe(big.length + 2);
  });

  it('names the path of a missing archive', async () => {
    const missing = path.join(tmp, 'nope.tar');
    await expect(unpackLayer(missing, target)).rejects.toThrow(`"${missing}"`);
    expect(fs.readdirSync(work)).toEqual([]);
  });
});
