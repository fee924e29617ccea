/** unpackLayer: archives that would write outside the layer, or that it cannot represent, are refused
 *  and leave nothing behind. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { Pax } from 'tar';
import { BerthError } from '../../src/errors';
import { MTIME, rawTar, unpackDirs, type Member } from '../helpers/layer-tar';

const dirs = unpackDirs();
const { unpackBuffer } = dirs;
let tmp: string;
let work: string;
let target: string;
let outside: string;
beforeEach(() => ({ tmp, work, target, outside } = dirs));

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
