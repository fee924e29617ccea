// src/volume/: docker's volume names, the ls/prune filters, the store on a temp root (no
// containers: usersOf is a stub) and the copy-up's merge of image layers (whiteouts, opaque
// directories, symlinks resolved inside the image).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyImageContent, imageDirectory } from '../../src/volume/copy-up';
import { matchesVolumeFilters, parseVolumeFilters } from '../../src/volume/filters';
import { ANONYMOUS_LABEL, checkVolumeName, parseVolumeLabels } from '../../src/volume/names';
import { VolumeStore, type VolumeUser } from '../../src/volume/store';
import { caught } from '../helpers/caught';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-volumes-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('volume names', () => {
  it.each(['ab', 'a1', '1a', 'my_vol.2-x', 'A'.repeat(200)])('takes %j', (n) => expect(() => checkVolumeName(n)).not.toThrow());

  it.each(['a', '', '_ab', '.ab', '-ab', 'a/b', 'a b', 'a:b', 'é1'])('refuses %j in one line', (n) => {
    const e = caught(() => checkVolumeName(n));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^".*" includes invalid characters for a local volume name/);
    expect(e.message).not.toMatch(/\n/);
  });

  it('reads --label KEY=VALUE and KEY, refuses an empty key', () => {
    expect(parseVolumeLabels(['a=b', 'c', 'd=e=f'])).toEqual({ a: 'b', c: '', d: 'e=f' });
    expect(caught(() => parseVolumeLabels(['=x'])).message).toBe('Expected KEY=VALUE for --label but received "=x"');
  });
});

describe('volume filters', () => {
  const v = (name: string, labels: Record<string, string> = {}, inUse = false) => ({ name, driver: 'local', labels, inUse });

  it('name matches part of the name; several names are alternatives', () => {
    const f = parseVolumeFilters(['name=data', 'name=cache']);
    expect(matchesVolumeFilters(f, v('app-data-1'))).toBe(true);
    expect(matchesVolumeFilters(f, v('cache'))).toBe(true);
    expect(matchesVolumeFilters(f, v('logs'))).toBe(false);
  });

  it('label=KEY needs the label, label=KEY=VALUE its value; every label filter must match', () => {
    const f = parseVolumeFilters(['label=app', 'label=tier=db']);
    expect(matchesVolumeFilters(f, v('x1', { app: '', tier: 'db' }))).toBe(true);
    expect(matchesVolumeFilters(f, v('x1', { app: 'y', tier: 'web' }))).toBe(false);
    expect(matchesVolumeFilters(f, v('x1', { tier: 'db' }))).toBe(false);
  });

  it('dangling=true keeps unused volumes, false used ones; keys combine with and', () => {
    expect(matchesVolumeFilters(parseVolumeFilters(['dangling=true']), v('x1', {}, false))).toBe(true);
    expect(matchesVolumeFilters(parseVolumeFilters(['dangling=1']), v('x1', {}, true))).toBe(false);
    expect(matchesVolumeFilters(parseVolumeFilters(['dangling=false']), v('x1', {}, true))).toBe(true);
    expect(matchesVolumeFilters(parseVolumeFilters(['dangling=false', 'name=y']), v('x1', {}, true))).toBe(false);
    expect(matchesVolumeFilters(parseVolumeFilters(['driver=local']), v('x1'))).toBe(true);
    expect(matchesVolumeFilters(parseVolumeFilters(['driver=nfs']), v('x1'))).toBe(false);
  });

  it('refuses unknown keys, values without a key and non-boolean dangling values', () => {
    for (const bad of ['size=1', 'name', 'dangling=maybe']) expect(caught(() => parseVolumeFilters([bad])).code).toBe('INVALID_ARGUMENT');
    expect(caught(() => parseVolumeFilters(['dangling=true', 'dangling=false'])).message).toMatch(/Conflicting filters/);
    expect(caught(() => parseVolumeFilters(['name=x'], ['label'])).message).toBe('Invalid filter "name=x"; expected label=...');
  });
});

describe('VolumeStore', () => {
  let users: Record<string, VolumeUser[]>;
  let store: VolumeStore;
  beforeEach(() => {
    users = {};
    store = new VolumeStore(tmp, (n) => users[n] ?? []);
  });

  it('creates <root>/volumes/NAME/_data with its record; a second create returns the same volume', () => {
    const { record, created } = store.create({ name: 'data', labels: { a: 'b' } });
    expect(created).toBe(true);
    expect(record).toMatchObject({ name: 'data', driver: 'local', labels: { a: 'b' }, anonymous: false });
    expect(fs.statSync(path.join(tmp, 'volumes', 'data', '_data')).mode & 0o7777).toBe(0o755);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'volumes', 'data', 'volume.json'), 'utf8'))).toEqual(record);
    fs.writeFileSync(path.join(store.mountpoint('data'), 'f'), 'kept');
    expect(store.create({ name: 'data' })).toEqual({ record, created: false });
    expect(fs.readFileSync(path.join(store.mountpoint('data'), 'f'), 'utf8')).toBe('kept');
    // nothing but the volume and the lock file: the temp dir was renamed into place
    expect(fs.readdirSync(store.dir).sort()).toEqual(['.lock', 'data']);
  });

  it("names anonymous volumes with 64 hex digits and docker's anonymous label", () => {
    const { record } = store.create({ anonymous: true, container: 'c'.repeat(64) });
    expect(record.name).toMatch(/^[0-9a-f]{64}$/);
    expect(record.labels).toEqual({ [ANONYMOUS_LABEL]: '' });
    expect(store.info(record)).toEqual({
      Name: record.name,
      Driver: 'local',
      Mountpoint: path.join(tmp, 'volumes', record.name, '_data'),
      Labels: { [ANONYMOUS_LABEL]: '' },
      Scope: 'local',
      CreatedAt: record.createdAt,
      Options: {},
    });
  });

  it('refuses to remove a volume in use, naming the container; a missing one unless force', () => {
    store.create({ name: 'data' });
    users.data = [{ id: 'f'.repeat(64), name: 'web' }];
    const e = caught(() => store.remove('data'));
    expect(e.message).toBe('Volume "data" is in use by container "web" (ffffffffffff); remove the container first (berth rm web)');
    expect(store.read('data')).toBeDefined();
    users.data = [];
    expect(store.remove('data')?.name).toBe('data');
    expect(fs.existsSync(path.join(store.dir, 'data'))).toBe(false);
    expect(caught(() => store.remove('data')).message).toBe('No such volume: "data"');
    expect(store.remove('data', { force: true })).toBeUndefined();
  });

  it('prunes unused anonymous volumes only, every unused one with all, and reports the bytes', () => {
    const anon = store.create({ anonymous: true }).record.name;
    const used = store.create({ anonymous: true }).record.name;
    users[used] = [{ id: 'a'.repeat(64), name: 'c1' }];
    store.create({ name: 'named', labels: { keep: 'no' } });
    fs.writeFileSync(path.join(store.mountpoint(anon), 'f'), 'x'.repeat(1000));
    expect(store.prune()).toEqual({ removed: [anon], spaceReclaimed: 1000 });
    expect(store.prune({ all: true, filters: parseVolumeFilters(['label=keep=yes']) }).removed).toEqual([]);
    expect(store.prune({ all: true }).removed).toEqual(['named']);
    expect(store.list().map((v) => v.name)).toEqual([used]);
    // leftovers of a crash mid-create or mid-remove go with a prune
    fs.mkdirSync(path.join(store.dir, '.tmp-crashed', '_data'), { recursive: true });
    fs.mkdirSync(path.join(store.dir, '.rm-gone-1234'));
    store.prune();
    expect(fs.readdirSync(store.dir).sort()).toEqual(['.lock', used]);
  });

  it('lists with filters, dangling from the users', () => {
    store.create({ name: 'aa', labels: { x: '1' } });
    store.create({ name: 'bb' });
    users.bb = [{ id: 'b'.repeat(64), name: 'c' }];
    expect(store.list().map((v) => v.name)).toEqual(['aa', 'bb']);
    expect(store.list(parseVolumeFilters(['dangling=true'])).map((v) => v.name)).toEqual(['aa']);
    expect(store.list(parseVolumeFilters(['label=x'])).map((v) => v.name)).toEqual(['aa']);
  });
});

describe('copy-up from image layers', () => {
  const isRoot = process.getuid?.() === 0;
  /** Two layers, top first: the lower has /data/{a,b,sub/c} and /etc/x; the upper whites out
   *  /data/b, replaces /data/a, makes /etc opaque with /etc/y, and links /link -> /data. */
  let layers: string[];
  beforeEach(() => {
    const lower = path.join(tmp, 'lower');
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(path.join(lower, 'data', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(lower, 'data', 'a'), 'lower a');
    fs.writeFileSync(path.join(lower, 'data', 'b'), 'lower b');
    fs.writeFileSync(path.join(lower, 'data', 'sub', 'c'), 'c');
    fs.chmodSync(path.join(lower, 'data', 'sub', 'c'), 0o640);
    fs.chmodSync(path.join(lower, 'data'), 0o750);
    fs.mkdirSync(path.join(lower, 'etc'));
    fs.writeFileSync(path.join(lower, 'etc', 'x'), 'x');
    fs.mkdirSync(path.join(upper, 'data'), { recursive: true });
    fs.chmodSync(path.join(upper, 'data'), 0o750);
    fs.writeFileSync(path.join(upper, 'data', 'a'), 'upper a');
    fs.symlinkSync('/etc/passwd', path.join(upper, 'data', 'passwd'));
    fs.symlinkSync('../../../../data', path.join(upper, 'link'));
    if (isRoot) {
      execFileSync('mknod', [path.join(upper, 'data', 'b'), 'c', '0', '0']);
      fs.mkdirSync(path.join(upper, 'etc'));
      execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(upper, 'etc')]);
      fs.writeFileSync(path.join(upper, 'etc', 'y'), 'y');
      fs.lchownSync(path.join(upper, 'data', 'passwd'), 1000, 1000);
      fs.chownSync(path.join(upper, 'data', 'a'), 1000, 1001);
    }
    layers = [upper, lower];
  });
  const tree = (dir: string): string[] =>
    fs
      .readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((n) => {
        const st = fs.lstatSync(path.join(dir, n));
        const kind = st.isSymbolicLink()
          ? `-> ${fs.readlinkSync(path.join(dir, n))}`
          : st.isDirectory()
            ? 'dir'
            : fs.readFileSync(path.join(dir, n), 'utf8');
        return `${n} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${kind}`;
      })
      .sort();

  it.runIf(isRoot)('merges the layers as overlayfs does: top wins, whiteouts hide, links stay links, owners and modes kept', () => {
    const dest = path.join(tmp, 'vol');
    fs.mkdirSync(dest);
    expect(copyImageContent(layers, '/data', dest)).toBe(true);
    expect(tree(dest)).toEqual(['a 644 1000:1001 upper a', 'passwd 777 1000:1000 -> /etc/passwd', 'sub 755 0:0 dir', 'sub/c 640 0:0 c']);
    expect(fs.statSync(dest).mode & 0o7777).toBe(0o750);
    const etc = path.join(tmp, 'etc');
    fs.mkdirSync(etc);
    expect(copyImageContent(layers, '/etc', etc)).toBe(true);
    expect(fs.readdirSync(etc)).toEqual(['y']); // the opaque upper /etc hides the lower's x
  });

  it.runIf(isRoot)('keeps hard links as links and extended attributes, but not overlay markers', () => {
    const lower = layers[1];
    fs.linkSync(path.join(lower, 'data', 'sub', 'c'), path.join(lower, 'data', 'sub', 'c2'));
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'kept', path.join(lower, 'data', 'sub', 'c')]);
    const dest = path.join(tmp, 'vol4');
    fs.mkdirSync(dest);
    expect(copyImageContent(layers, '/data/sub', dest)).toBe(true);
    expect(fs.statSync(path.join(dest, 'c')).ino).toBe(fs.statSync(path.join(dest, 'c2')).ino);
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.note', path.join(dest, 'c')]).toString()).toBe('kept');
    const etc = path.join(tmp, 'etc2');
    fs.mkdirSync(etc);
    copyImageContent(layers, '/', etc);
    expect(execFileSync('getfattr', ['-d', '-m', '-', path.join(etc, 'etc')]).toString()).not.toMatch(/overlay/);
  });

  it('resolves symlinks on the way inside the image, never out of it', () => {
    // /link -> ../../../../data climbs no higher than the image's root: /data
    expect(imageDirectory(layers, '/link')?.rel).toBe('data');
    expect(imageDirectory(layers, '/link/sub')?.rel).toBe('data/sub');
    const host = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-host-'));
    try {
      fs.writeFileSync(path.join(host, 'secret'), 's');
      fs.symlinkSync(host, path.join(layers[0], 'escape'));
      expect(imageDirectory(layers, '/escape')).toBeUndefined(); // the image has no such directory
      const dest = path.join(tmp, 'vol2');
      fs.mkdirSync(dest);
      expect(copyImageContent(layers, '/escape', dest)).toBe(false);
      expect(fs.readdirSync(dest)).toEqual([]);
    } finally {
      fs.rmSync(host, { recursive: true, force: true });
    }
  });

  it('copies nothing into a volume that has content, or where the image has no directory', () => {
    const dest = path.join(tmp, 'vol3');
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, 'mine'), 'm');
    expect(copyImageContent(layers, '/data', dest)).toBe(false);
    expect(fs.readdirSync(dest)).toEqual(['mine']);
    fs.rmSync(path.join(dest, 'mine'));
    expect(copyImageContent(layers, '/data/a', dest)).toBe(false); // a file
    expect(copyImageContent(layers, '/nope', dest)).toBe(false);
    expect(fs.readdirSync(dest)).toEqual([]);
  });
});
