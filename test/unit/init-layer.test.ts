import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureInitLayer } from '../../src/runtime/init-layer';

// Layers laid out as berth's store has them (<root>/layers/<chain>/diff), top first.
let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-init-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function layer(name: string, build: (dir: string) => void = () => undefined): string {
  const dir = path.join(root, 'layers', name, 'diff');
  fs.mkdirSync(dir, { recursive: true });
  build(dir);
  return dir;
}
const tree = (dir: string) =>
  execFileSync('find', ['.', '-printf', '%y %m %p\n'], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean).sort();

describe('ensureInitLayer', () => {
  it('makes the missing mount targets once, beside the top layer, with /etc as the image has it', () => {
    const base = layer('base', (d) => {
      fs.mkdirSync(path.join(d, 'etc'), { mode: 0o750 });
      fs.chmodSync(path.join(d, 'etc'), 0o750);
      fs.chownSync(path.join(d, 'etc'), 0, 42);
      fs.mkdirSync(path.join(d, 'proc'));
      fs.writeFileSync(path.join(d, 'etc', 'hosts'), '127.0.0.1 localhost\n');
      fs.utimesSync(path.join(d, 'etc'), 1000, 2000);
    });
    const top = layer('top', (d) => fs.writeFileSync(path.join(d, 'app'), 'x'));
    const init = ensureInitLayer([top, base]);
    expect(init).toBe(path.join(root, 'layers', 'top', 'init'));
    // hosts is the image's own; proc exists; sys and dev do not
    expect(tree(init!)).toEqual(
      ['d 755 .', 'd 750 ./etc', 'd 755 ./dev', 'd 755 ./sys', 'f 644 ./etc/hostname', 'f 644 ./etc/resolv.conf'].sort(),
    );
    const st = fs.statSync(path.join(init!, 'etc'));
    expect([st.gid, st.mtimeMs]).toEqual([42, 2000_000]);
    // made once: a second call finds it
    fs.writeFileSync(path.join(init!, 'marker'), '');
    expect(ensureInitLayer([top, base])).toBe(init);
    expect(fs.existsSync(path.join(init!, 'marker'))).toBe(true);
  });

  it('adds nothing for an image that has every target, and nothing where the image has a symlink', () => {
    const full = layer('full', (d) => {
      for (const dir of ['proc', 'sys', 'dev', 'etc']) fs.mkdirSync(path.join(d, dir));
      fs.writeFileSync(path.join(d, 'etc', 'hostname'), '');
      fs.writeFileSync(path.join(d, 'etc', 'hosts'), '');
      fs.symlinkSync('../run/resolv.conf', path.join(d, 'etc', 'resolv.conf'));
    });
    expect(ensureInitLayer([full])).toBeUndefined();
    // a symlinked /etc: its files are not shadowed by a real directory
    const linked = layer('linked', (d) => {
      for (const dir of ['proc', 'sys', 'dev', 'private/etc']) fs.mkdirSync(path.join(d, dir), { recursive: true });
      fs.symlinkSync('private/etc', path.join(d, 'etc'));
    });
    expect(ensureInitLayer([linked])).toBeUndefined();
  });

  it('treats a whiteout as absent and stops at an opaque directory', () => {
    const base = layer('wbase', (d) => {
      for (const dir of ['proc', 'sys', 'dev', 'etc']) fs.mkdirSync(path.join(d, dir));
      for (const f of ['hostname', 'hosts', 'resolv.conf']) fs.writeFileSync(path.join(d, 'etc', f), '');
    });
    const top = layer('wtop', (d) => {
      fs.mkdirSync(path.join(d, 'etc'));
      execFileSync('mknod', [path.join(d, 'etc', 'hosts'), 'c', '0', '0']); // deleted in this layer
    });
    expect(tree(ensureInitLayer([top, base])!)).toContain('f 644 ./etc/hosts');
    const opaque = layer('wopaque', (d) => {
      fs.mkdirSync(path.join(d, 'etc'));
      fs.writeFileSync(path.join(d, 'etc', 'hostname'), '');
      execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(d, 'etc')]);
    });
    const files = tree(ensureInitLayer([opaque, base])!).filter((l) => l.startsWith('f '));
    expect(files).toEqual(['f 644 ./etc/hosts', 'f 644 ./etc/resolv.conf']);
  });

  it('removes what a start killed while building left', () => {
    const top = layer('crashed', (d) => fs.mkdirSync(path.join(d, 'etc')));
    const debris = path.join(root, 'layers', 'crashed', 'init.tmp-999999999-abcd1234');
    fs.mkdirSync(path.join(debris, 'etc'), { recursive: true });
    const init = ensureInitLayer([top])!;
    expect(fs.readdirSync(path.dirname(init)).sort()).toEqual(['diff', 'init']);
  });

  it('is nothing for layers outside a layer store', () => {
    const plain = path.join(root, 'rootfs');
    fs.mkdirSync(plain);
    expect(ensureInitLayer([plain])).toBeUndefined();
    expect(ensureInitLayer([])).toBeUndefined();
  });
});
