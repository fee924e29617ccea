/**
 * The tars berth writes (commit's diff tar, export's flat tar) carry the files' extended attributes as
 * PAX SCHILY.xattr.* records, which GNU tar and berth's own unpack read back; overlay's own stay out.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeDiffTar } from '../../src/image/archive/diff-tar';
import { entryXattrs } from '../../src/image/archive/pax-xattrs';
import { markOpaque } from '../../src/image/archive/special-files';
import { tarEntries } from '../../src/image/archive/tar-entries';
import { TarWriter } from '../../src/image/archive/tar-writer';
import { unpackLayer } from '../../src/image/archive/unpack';
import { writeFlatTar } from '../../src/image/transfer/flatten';
import { native } from '../../src/native';
import { CAP_NET_RAW, fileCaps, xattrsOf } from '../helpers/xattr-tar';

const isRoot = process.getuid?.() === 0;
const CAPS = fileCaps([CAP_NET_RAW]);
let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-xattr-write-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function writeTar(file: string, write: (w: TarWriter) => void): void {
  const fd = fs.openSync(file, 'w');
  try {
    const w = new TarWriter(fd);
    write(w);
    w.finish();
  } finally {
    fs.closeSync(fd);
  }
}

/** Each entry's attributes as berth's reader sees them, by entry name; entries without any are left out. */
async function tarXattrs(file: string): Promise<Record<string, Record<string, Buffer>>> {
  const out: Record<string, Record<string, Buffer>> = {};
  for await (const e of tarEntries(Readable.from([fs.readFileSync(file)]))) {
    const x = entryXattrs(e);
    if (x) out[e.path] = Object.fromEntries(x);
  }
  return out;
}

/** A tree with attributes of every kind a layer keeps and one it must not. */
function makeTree(dir: string): void {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'bin/ping'), 'ping');
  native().setXattr(path.join(dir, 'bin/ping'), 'security.capability', CAPS);
  fs.writeFileSync(path.join(dir, 'notes'), 'notes');
  native().setXattr(path.join(dir, 'notes'), 'user.mime_type', Buffer.from('text/plain'));
  native().setXattr(path.join(dir, 'notes'), 'user.binary', Buffer.from([0, 0x0a, 0xff, 0x3d]));
  native().setXattr(path.join(dir, 'bin'), 'trusted.dir', Buffer.from('d'));
  // overlayfs' bookkeeping in an upper dir: never image content
  native().setXattr(path.join(dir, 'notes'), 'trusted.overlay.origin', Buffer.from([1, 2, 3]));
  fs.linkSync(path.join(dir, 'notes'), path.join(dir, 'notes-link'));
}

const EXPECTED = {
  bin: { 'trusted.dir': Buffer.from('d') },
  'bin/ping': { 'security.capability': CAPS },
  notes: { 'user.binary': Buffer.from([0, 0x0a, 0xff, 0x3d]), 'user.mime_type': Buffer.from('text/plain') },
};

describe.runIf(isRoot)('written tars carry extended attributes', () => {
  it("commit's diff tar: SCHILY.xattr.* records that GNU tar and berth's unpack restore, without overlay's own", async () => {
    const upper = path.join(tmp, 'upper');
    makeTree(upper);
    fs.mkdirSync(path.join(upper, 'opaque'));
    markOpaque(path.join(upper, 'opaque'));
    const file = path.join(tmp, 'diff.tar');
    writeTar(file, (w) => writeDiffTar(upper, w, { driver: 'overlay' }));

    const byEntry = await tarXattrs(file);
    expect(byEntry).toEqual({ 'bin/': EXPECTED.bin, 'bin/ping': EXPECTED['bin/ping'], notes: EXPECTED.notes });
    expect(fs.readFileSync(file).includes('trusted.overlay')).toBe(false);
    // GNU tar's listing reads the same records
    const listing = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', file]).toString();
    expect(listing).toMatch(/bin\/ping\n\s+x: 20 security.capability\n/);
    expect(listing).toMatch(/ notes\n\s+x: 4 user.binary\n\s+x: 10 user.mime_type\n/);

    const gnu = path.join(tmp, 'gnu');
    fs.mkdirSync(gnu);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-C', gnu, '-xf', file]);
    expect(xattrsOf(path.join(gnu, 'notes'))).toEqual(EXPECTED.notes);
    expect(xattrsOf(path.join(gnu, 'bin'))).toEqual(EXPECTED.bin);

    const layer = path.join(tmp, 'layer');
    await unpackLayer(file, layer);
    for (const [rel, attrs] of Object.entries(EXPECTED)) expect(xattrsOf(path.join(layer, rel)), rel).toEqual(attrs);
    expect(xattrsOf(path.join(layer, 'opaque'))).toEqual({ 'trusted.overlay.opaque': Buffer.from('y') });
  });

  it("export's flat tar: each path's attributes from the branch it comes from", async () => {
    const lower = path.join(tmp, 'lower');
    const upper = path.join(tmp, 'upper');
    makeTree(lower);
    fs.mkdirSync(upper);
    // the upper copy of notes replaces the lower one's attributes
    fs.writeFileSync(path.join(upper, 'notes'), 'changed');
    native().setXattr(path.join(upper, 'notes'), 'user.mime_type', Buffer.from('text/markdown'));
    const file = path.join(tmp, 'flat.tar');
    writeTar(file, (w) =>
      writeFlatTar(
        [
          { dir: upper, format: 'overlay' },
          { dir: lower, format: 'overlay' },
        ],
        w,
      ),
    );
    expect(await tarXattrs(file)).toEqual({
      'bin/': EXPECTED.bin,
      'bin/ping': EXPECTED['bin/ping'],
      notes: { 'user.mime_type': Buffer.from('text/markdown') },
      // the lower name of the inode the upper notes replaced: now its first name in the archive
      'notes-link': EXPECTED.notes,
    });
  });

  it('names that need PAX for their own sake keep those records beside the attributes', async () => {
    const dir = path.join(tmp, 'tree');
    const long = `${'long-directory-name/'.repeat(6)}file-with-a-long-name`;
    fs.mkdirSync(path.dirname(path.join(dir, long)), { recursive: true });
    fs.writeFileSync(path.join(dir, long), 'x');
    native().setXattr(path.join(dir, long), 'user.k', Buffer.from('v'));
    const file = path.join(tmp, 'long.tar');
    writeTar(file, (w) => writeDiffTar(dir, w, { driver: 'overlay' }));
    expect((await tarXattrs(file))[long]).toEqual({ 'user.k': Buffer.from('v') });
    const layer = path.join(tmp, 'layer');
    await unpackLayer(file, layer);
    expect(xattrsOf(path.join(layer, long))).toEqual({ 'user.k': Buffer.from('v') });
  });
});
