/** unpackLayer: PAX SCHILY.xattr.* records become the unpacked files' extended attributes, within limits. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ReadEntry } from 'tar';
import * as tar from 'tar';
import { entryXattrs, PaxXattrReader } from '../../src/image/archive/pax-xattrs';
import { tarEntries } from '../../src/image/archive/tar-entries';
import { unpackLayer } from '../../src/image/archive/unpack';
import { isRoot, rawTar, unpackDirs } from '../helpers/layer-tar';
import { CAP_NET_RAW, fileCaps, paxMember, withXattrs, xattrsOf } from '../helpers/xattr-tar';

const dirs = unpackDirs();
const { unpackBuffer } = dirs;
let tmp: string;
let target: string;
let outside: string;
beforeEach(() => ({ tmp, target, outside } = dirs));

const CAPS = fileCaps([CAP_NET_RAW]);
const getcap = (file: string): string => execFileSync('getcap', [file]).toString().trim();

describe.runIf(isRoot)('unpackLayer: extended attributes', () => {
  it('sets security.capability and user.* attributes, binary values intact, after chown and the body', async () => {
    const binary = Buffer.from([0, 1, 0x0a, 0x3d, 0xff, 0x20, 0x0a]); // NUL, newline, "=", a non-UTF-8 byte
    const result = await unpackBuffer(
      rawTar([
        { path: './', type: 'Directory' },
        ...withXattrs({ path: './bin/', type: 'Directory' }, { 'user.dir': 'a directory' }),
        // owned by 1000: the chown comes before the capability, which a chown would clear
        ...withXattrs({ path: './bin/ping', mode: 0o755, uid: 1000, gid: 1000, body: 'x'.repeat(70_000) }, { 'security.capability': CAPS }),
        ...withXattrs({ path: './notes', body: 'hello' }, { 'user.binary': binary, 'user.mime_type': 'text/plain' }),
        ...withXattrs({ path: './fifo', type: 'FIFO' }, { 'trusted.kind': 'fifo' }),
        { path: './plain', body: 'no attributes' },
      ]),
    );
    expect(result.notes).toEqual([]);
    expect(xattrsOf(path.join(target, 'bin/ping'))).toEqual({ 'security.capability': CAPS });
    expect(getcap(path.join(target, 'bin/ping'))).toMatch(/cap_net_raw[=+]ep/);
    expect(fs.statSync(path.join(target, 'bin/ping')).uid).toBe(1000);
    expect(xattrsOf(path.join(target, 'notes'))).toEqual({ 'user.binary': binary, 'user.mime_type': Buffer.from('text/plain') });
    expect(xattrsOf(path.join(target, 'bin'))).toEqual({ 'user.dir': Buffer.from('a directory') });
    expect(xattrsOf(path.join(target, 'fifo'))).toEqual({ 'trusted.kind': Buffer.from('fifo') });
    expect(xattrsOf(path.join(target, 'plain'))).toEqual({});
    // getfattr, the tool an operator would use, sees the same
    const dump = execFileSync('getfattr', ['-d', '-m', '-', '--absolute-names', path.join(target, 'notes')]).toString();
    expect(dump).toContain('user.mime_type="text/plain"');
  });

  it('reads the attributes GNU tar --xattrs writes', async () => {
    const src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(src, 'etc/conf'), 'conf');
    execFileSync('setfattr', ['-n', 'user.origin', '-v', 'gnu-tar', path.join(src, 'etc/conf')]);
    execFileSync('setfattr', ['-n', 'user.dir', '-v', 'etc', path.join(src, 'etc')]);
    const tarFile = path.join(tmp, 'gnu.tar');
    execFileSync('tar', ['--xattrs', '--xattrs-include=user.*', '-C', src, '-cf', tarFile, '.']);
    await unpackBuffer(fs.readFileSync(tarFile));
    expect(xattrsOf(path.join(target, 'etc/conf'))).toEqual({ 'user.origin': Buffer.from('gnu-tar') });
    expect(xattrsOf(path.join(target, 'etc'))).toEqual({ 'user.dir': Buffer.from('etc') });
  });

  it("never takes overlayfs' own attributes from a layer: no faked opaque dir or whiteout", async () => {
    const result = await unpackBuffer(
      rawTar([
        ...withXattrs({ path: 'etc/', type: 'Directory' }, { 'trusted.overlay.opaque': 'y', 'user.overlay.opaque': 'y', 'user.kept': '1' }),
        ...withXattrs(
          { path: 'etc/passwd', body: 'root:x:0:0::/:/bin/sh\n' },
          { 'trusted.overlay.whiteout': '', 'trusted.overlay.redirect': '/x' },
        ),
        ...withXattrs({ path: 'etc/label' }, { 'security.selinux': 'system_u:object_r:etc_t:s0', 'system.posix_acl_access': 'x' }),
      ]),
    );
    expect(xattrsOf(path.join(target, 'etc'))).toEqual({ 'user.kept': Buffer.from('1') });
    expect(xattrsOf(path.join(target, 'etc/passwd'))).toEqual({});
    expect(xattrsOf(path.join(target, 'etc/label'))).toEqual({});
    expect(result.notes.join('\n')).toContain('"trusted.overlay.opaque" of "etc/"');
    expect(result.notes.join('\n')).toContain('"trusted.overlay.whiteout" of "etc/passwd"');
    expect(result.notes).toHaveLength(6);
  });

  it('sets an attribute on a symlink itself, never on what it points to, even outside the layer', async () => {
    const victim = path.join(outside, 'victim');
    fs.writeFileSync(victim, 'host file');
    const result = await unpackBuffer(
      rawTar([
        ...withXattrs({ path: 'link', type: 'SymbolicLink', linkpath: victim }, { 'trusted.on_link': 'link', 'user.on_link': 'refused' }),
        // a file with attributes, then replaced by a symlink out of the layer: the attributes went
        // to the file before it was replaced, nothing goes through the link
        ...withXattrs({ path: 'swap', body: 'first' }, { 'user.first': '1' }),
        { path: 'swap', type: 'SymbolicLink', linkpath: victim },
        ...withXattrs({ path: 'dir/', type: 'Directory' }, { 'user.dir': '1' }),
        { path: 'dir', type: 'SymbolicLink', linkpath: outside },
      ]),
    );
    expect(xattrsOf(victim)).toEqual({});
    expect(xattrsOf(outside)).toEqual({});
    expect(xattrsOf(path.join(target, 'link'))).toEqual({ 'trusted.on_link': Buffer.from('link') });
    expect(result.notes.join('\n')).toMatch(/skipped extended attribute "user.on_link" of "link"/);
    expect(fs.readlinkSync(path.join(target, 'swap'))).toBe(victim);
  });

  it('gives a hardlink entry’s attributes to the shared inode', async () => {
    await unpackBuffer(
      rawTar([{ path: 'a', body: 'shared' }, ...withXattrs({ path: 'b', type: 'Link', linkpath: 'a' }, { 'user.via_link': '1' })]),
    );
    expect(xattrsOf(path.join(target, 'a'))).toEqual({ 'user.via_link': Buffer.from('1') });
  });

  it('keeps each entry its own attributes across GNU long names, PAX sizes and any chunking of the stream', async () => {
    const long = `${'deep/'.repeat(30)}file`;
    // a PAX size record overrides the header's: the header says 0 bytes, the body is 5
    const sizedHeader = rawTar([{ path: 'sized', body: '' }], { end: false });
    const sizedBody = Buffer.concat([Buffer.from('fives'), Buffer.alloc(507)]);
    const tar = Buffer.concat([
      rawTar(
        [
          { path: 'deep/', type: 'Directory' },
          ...withXattrs({ path: 'first', body: 'one' }, { 'user.n': '1' }),
          { path: 'no-attrs', body: 'zero' },
          paxMember('sized', [
            ['size', '5'],
            ['SCHILY.xattr.user.n', '2'],
          ]),
        ],
        { end: false },
      ),
      sizedHeader,
      sizedBody,
      rawTar([
        { path: '././@LongLink', type: 'NextFileHasLongPath', body: `${long}\0` },
        ...withXattrs({ path: long.slice(0, 99) }, { 'user.n': '3' }),
        ...withXattrs({ path: 'last', body: 'three' }, { 'user.n': '4' }),
      ]),
    ]);
    for (const chunk of [7, 511, 4096]) {
      fs.rmSync(target, { recursive: true, force: true });
      const pieces: Buffer[] = [];
      for (let off = 0; off < tar.length; off += chunk) pieces.push(tar.subarray(off, off + chunk));
      await unpackLayer(Readable.from(pieces), target);
      expect(xattrsOf(path.join(target, 'first'))).toEqual({ 'user.n': Buffer.from('1') });
      expect(xattrsOf(path.join(target, 'no-attrs'))).toEqual({});
      expect(fs.readFileSync(path.join(target, 'sized'), 'utf8')).toBe('fives');
      expect(xattrsOf(path.join(target, 'sized'))).toEqual({ 'user.n': Buffer.from('2') });
      expect(xattrsOf(path.join(target, long))).toEqual({ 'user.n': Buffer.from('3') });
      expect(xattrsOf(path.join(target, 'last'))).toEqual({ 'user.n': Buffer.from('4') });
    }
  });

  it("reads GNU tar's gnu, posix (PAX) and v7 formats in step with node-tar, attributes on the right entries", async () => {
    const src = path.join(tmp, 'tree');
    const long = `${'a-rather-long-directory-name/'.repeat(5)}leaf`;
    fs.mkdirSync(path.join(src, long), { recursive: true });
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, long, `f${i}`), 'x'.repeat(i * 300));
    fs.symlinkSync('f1', path.join(src, long, 'link'));
    execFileSync('setfattr', ['-n', 'user.which', '-v', 'f7', path.join(src, long, 'f7')]);
    for (const format of ['gnu', 'posix', 'v7']) {
      const file = path.join(tmp, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '--xattrs', '--xattrs-include=user.*', '-C', src, '-cf', file, '.']);
      const seen: Record<string, string> = {};
      for await (const e of tarEntries(Readable.from([fs.readFileSync(file)]))) {
        const x = entryXattrs(e);
        if (x) seen[e.path] = x.get('user.which')!.toString();
      }
      // GNU tar adds PAX headers for the attributes whatever the format
      expect(seen, format).toEqual({ [`./${long}/f7`]: 'f7' });
    }
  });

  it('refuses to hand an entry attributes read for another header', () => {
    const reader = new PaxXattrReader(tar);
    reader.write(rawTar([...withXattrs({ path: 'a', body: 'one' }, { 'user.n': '1' })]));
    const other = { path: 'a', header: { cksum: 1, size: 3 } } as unknown as ReadEntry;
    expect(() => reader.attach(other)).toThrow(/read out of step/);
  });

  it('refuses a layer whose attribute the kernel rejects (a malformed capability), keeping nothing', async () => {
    const err = await unpackBuffer(
      rawTar([...withXattrs({ path: 'f', body: 'x' }, { 'security.capability': Buffer.from([1, 2, 3]) })]),
    ).catch((e: unknown) => e as Error);
    expect((err as Error).message).toBe(
      'Cannot set the extended attribute "security.capability" of "f" in the layer: the kernel refuses it (Invalid argument)',
    );
    expect(fs.readdirSync(path.dirname(target))).toEqual([]);
  });
});
