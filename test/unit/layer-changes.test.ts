/** writeLayerChanges on hand-made layer directories: both whiteout forms, opaque dirs, nested additions. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeLayerChanges } from '../../src/image/archive/changes';

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function tree(root: string, files: Record<string, string | null>): string {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    if (content === null) fs.mkdirSync(abs, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, content);
    }
  }
  return root;
}

const lines = (changes: { Path: string; Kind: number }[]): string[] => changes.map((c) => `${'CAD'[c.Kind]} ${c.Path}`);

describe('writeLayerChanges', () => {
  it('reads an aufs write layer: .wh. files are deletions, .wh..wh..opq hides what the image had, aufs metadata is skipped', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'changes-'));
    const lower = tree(path.join(dir, 'lower'), { 'etc/a': 'a', 'etc/b': 'b', 'opt/x': 'x', 'opt/y': 'y', 'var/': null });
    const upper = tree(path.join(dir, 'upper'), {
      'etc/.wh.a': '',
      'etc/b': 'changed',
      'opt/.wh..wh..opq': '',
      'opt/y': 'new y',
      'new/deep/file': 'n',
      '.wh..wh.plnk/': null,
      'etc/hosts': '', // an empty bind-mount target of the runtime: not a change
    });
    expect(lines(writeLayerChanges(upper, 'aufs', [lower]))).toEqual([
      'C /etc',
      'D /etc/a',
      'C /etc/b',
      'A /new',
      'A /new/deep',
      'A /new/deep/file',
      'C /opt',
      'D /opt/x',
      'C /opt/y',
    ]);
  });

  it('reads an overlay write layer: a 0/0 device is a deletion; the topmost image layer decides what existed', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'changes-'));
    const bottom = tree(path.join(dir, 'l0'), { 'srv/gone': 'g', 'srv/kept': 'k' });
    const top = tree(path.join(dir, 'l1'), { 'srv/': null });
    // The top image layer deleted srv/gone: a file the container writes there is new to it.
    execFileSync('mknod', [path.join(top, 'srv/gone'), 'c', '0', '0']);
    const upper = tree(path.join(dir, 'upper'), { 'srv/gone': 'again', 'srv/new': 'n' });
    execFileSync('mknod', [path.join(upper, 'srv/kept'), 'c', '0', '0']);
    expect(lines(writeLayerChanges(upper, 'overlay', [top, bottom]))).toEqual(['C /srv', 'A /srv/gone', 'D /srv/kept', 'A /srv/new']);
    expect(writeLayerChanges(path.join(dir, 'never-started'), 'overlay', [top])).toEqual([]);
  });
});
