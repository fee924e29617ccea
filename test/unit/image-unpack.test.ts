import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Header, Pax } from 'tar';
import { unpackLayer } from '../../src/image/archive/unpack';
import { BerthError } from '../../src/errors';

/** One tar member, written as a raw header so the test can say things no well-behaved packer would. */
interface Member {
  path: string;
  type?: string;
  mode?: number;
  body?: string | Buffer;
  linkpath?: string;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmaj?: number;
  devmin?: number;
}

const MTIME = new Date(1_000_000_000_000); // whole seconds: tar keeps second precision

function rawTar(members: Member[], { end = true } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const body = typeof m.body === 'string' ? Buffer.from(m.body) : (m.body ?? Buffer.alloc(0));
    const header = new Header({
      path: m.path,
      type: (m.type ?? 'File') as Header['type'],
      mode: m.mode ?? (m.type === 'Directory' ? 0o755 : 0o644),
      size: body.length,
      linkpath: m.linkpath,
      uid: m.uid ?? 0,
      gid: m.gid ?? 0,
      mtime: m.mtime ?? MTIME,
      devmaj: m.devmaj ?? 0,
      devmin: m.devmin ?? 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (end) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const isRoot = process.getuid?.() === 0;
const has = (tool: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const majorOf = (rdev: number): number => (rdev >> 8) & 0xfff;
const minorOf = (rdev: number): number => (rdev & 0xff) | ((rdev >> 12) & 0xfff00);

let tmp: string;
let work: string; // the parent of the layer directory: must hold nothing after a refusal
let target: string;
let outside: string; // a directory an escaping archive would write into

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-unpack-'));
  work = path.join(tmp, 'work');
  outside = path.join(tmp, 'outside');
  fs.mkdirSync(work);
  fs.mkdirSync(outside);
  target = path.join(work, 'layer');
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function writeTar(name: string, data: Buffer): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, data);
  return file;
}

async function unpackBuffer(data: Buffer) {
  return unpackLayer(Readable.from([data]), target);
}

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

describe('unpackLayer: refusing unsafe archives', () => {
  /** Unpack, expect a BerthError with `code` whose message names `entry`, and no trace of the layer. */
  async function expectRefused(members: Member[] | Buffer, entry: string | RegExp, code = 'UNSAFE_ARCHIVE'): Promise<BerthError> {
    const data = Buffer.isBuffer(members) ? members : rawTar(members);
    let err: unknown;
    try {
      await unpackBuffer(data);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BerthError);
    const be = err as BerthError;
    expect(be.code).toBe(code);
    if (typeof entry === 'string') expect(be.message).toContain(`"${entry}"`);
    else expect(be.message).toMatch(entry);
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.readdirSync(work)).toEqual([]);
    expect(fs.readdirSync(outside)).toEqual([]);
    return be;
  }

  it('refuses ".." components', async () => {
    const e = await expectRefused(
      [
        { path: 'ok', body: 'fine' },
        { path: '../x', body: 'evil' },
      ],
      '../x',
    );
    expect(e.message).toBe('Refusing layer entry "../x": it escapes the layer directory');
    await expectRefused([{ path: 'a/b/../../../outside/x', body: 'evil' }], 'a/b/../../../outside/x');
    await expectRefused([{ path: 'a/..', type: 'Directory' }], 'a/..');
  });

  it('refuses an escaping name given by a pax extended header over an innocent ustar name', async () => {
    const pax = new Pax({ path: '../pax-evil', mtime: MTIME }).encode();
    const data = Buffer.concat([rawTar([{ path: 'ok', body: 'fine' }], { end: false }), pax, rawTar([{ path: 'innocent', body: 'evil' }])]);
    await expectRefused(data, '../pax-evil');
    const longName = `${'d/'.repeat(60)}../../${'x'.repeat(20)}`;
    await expectRefused([{ path: longName, body: 'long' }], longName);
  });

  it('refuses absolute names', async () => {
    await expectRefused([{ path: path.join(outside, 'x'), body: 'evil' }], path.join(outside, 'x'));
  });

  it('refuses writing through a symlink planted earlier in the same archive', async () => {
    await expectRefused(
      [
        { path: 'link', type: 'SymbolicLink', linkpath: outside },
        { path: 'link/passwd', body: 'root::0:0::/:/bin/sh\n' },
      ],
      'link/passwd',
    );
    await expectRefused(
      [
        { path: 'link', type: 'SymbolicLink', linkpath: '../..' },
        { path: 'link/outside/x', body: 'evil' },
      ],
      'link/outside/x',
    );
    await expectRefused(
      [
        { path: 'a/', type: 'Directory' },
        { path: 'a/up', type: 'SymbolicLink', linkpath: '../../..' },
        { path: 'a/up/sub/', type: 'Directory' },
      ],
      'a/up/sub/',
    );
    // A directory written into (and so known to the writer) that a later entry replaces by a symlink
    // must be checked again: the writer's cache of verified directories forgets what was removed.
    await expectRefused(
      [
        { path: 'd/', type: 'Directory' },
        { path: 'd/sub/', type: 'Directory' },
        { path: 'd/sub/first', body: 'ok' },
        { path: 'd', type: 'SymbolicLink', linkpath: outside },
        { path: 'd/sub/second', body: 'evil' },
      ],
      'd/sub/second',
    );
    // Even a link that stays inside is refused: layer tars never legitimately write through symlinks.
    await expectRefused(
      [
        { path: 'real/', type: 'Directory' },
        { path: 'alias', type: 'SymbolicLink', linkpath: 'real' },
        { path: 'alias/f', body: 'x' },
      ],
      /"alias\/f".*symbolic link "alias"/,
    );
  });

  it('refuses hard links that leave the layer or go through a symlink', async () => {
    fs.writeFileSync(path.join(tmp, 'secret'), 'secret');
    const check = async (members: Member[], entry: string) => {
      await expectRefused(members, entry);
      fs.rmSync(path.join(outside), { recursive: true, force: true });
      fs.mkdirSync(outside);
    };
    await check([{ path: 'h', type: 'Link', linkpath: '../secret' }], 'h');
    await check([{ path: 'h', type: 'Link', linkpath: path.join(tmp, 'secret') }], 'h');
    await check(
      [
        { path: 'link', type: 'SymbolicLink', linkpath: tmp },
        { path: 'h', type: 'Link', linkpath: 'link/secret' },
      ],
      'h',
    );
    await check([{ path: 'h', type: 'Link', linkpath: 'missing' }], 'h');
    expect(fs.statSync(path.join(tmp, 'secret')).nlink).toBe(1);
  });

  it('refuses whiteouts that name ".." or "."', async () => {
    await expectRefused([{ path: 'a/.wh..', body: '' }], 'a/.wh..');
    await expectRefused([{ path: '.wh..', body: '' }], '.wh..');
  });

  it('refuses a whiteout or opaque marker inside a symlinked directory', async () => {
    await expectRefused(
      [
        { path: 'link', type: 'SymbolicLink', linkpath: outside },
        { path: 'link/.wh.x', body: '' },
      ],
      'link/.wh.x',
    );
    await expectRefused(
      [
        { path: 'link', type: 'SymbolicLink', linkpath: outside },
        { path: 'link/.wh..wh..opq', body: '' },
      ],
      'link/.wh..wh..opq',
    );
  });

  it('refuses entry types it would otherwise drop silently', async () => {
    await expectRefused([{ path: 'sparse', type: 'SparseFile', body: 'x' }], 'sparse', 'UNSUPPORTED');
  });

  it('refuses data that is not a tar, and truncated tars, keeping nothing', async () => {
    await expectRefused(Buffer.from('this is not a tar archive at all'.repeat(40)), /not a valid tar/, 'INVALID_ARGUMENT');
    const whole = rawTar(
      [
        { path: 'a', body: 'A' },
        { path: 'big', body: Buffer.alloc(4096, 1) },
      ],
      { end: false },
    );
    await expectRefused(whole.subarray(0, 512 * 3 + 100), /not a valid tar|Truncated/, 'INVALID_ARGUMENT');
    await expectRefused(zlib.gzipSync(Buffer.from('not a tar')), /not a valid tar/, 'INVALID_ARGUMENT');
    const gz = zlib.gzipSync(rawTar([{ path: 'a', body: 'A'.repeat(5000) }]));
    gz.fill(0x55, 20, 60);
    await expectRefused(gz, /not valid gzip data/, 'INVALID_ARGUMENT');
    const xz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(600)]);
    await expectRefused(xz, /xz-compressed/, 'UNSUPPORTED');
  });
});
