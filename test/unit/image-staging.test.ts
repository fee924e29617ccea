import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageStore } from '../../src/image/store/store';
import { stagingName } from '../../src/image/store/staging';
import type { StoreLock } from '../../src/image/store/store-lock';
import { processStartTime } from '../../src/util/proc';

const noLock: StoreLock = { sync: (_f, fn) => fn(), async: (_f, fn) => fn() };

let tmp: string;
let root: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-staging-'));
  root = path.join(tmp, 'root');
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ls = (rel: string): string[] => (fs.existsSync(path.join(root, rel)) ? fs.readdirSync(path.join(root, rel)).sort() : []);

/** A staging entry of tmp/ with some content, as a download in progress leaves it. */
function entry(name: string, dir = true): string {
  const abs = path.join(root, 'tmp', name);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  if (dir) {
    fs.mkdirSync(path.join(abs, 'layer-x', 'diff'), { recursive: true });
    fs.writeFileSync(path.join(abs, 'blob-partial'), Buffer.alloc(64 << 10));
  } else fs.writeFileSync(abs, 'partial');
  return name;
}

describe('tmp/ debris', () => {
  it('any opening of the store removes entries whose owner is dead or whose pid was reused; live ones stay', () => {
    const child = spawnSync('true');
    const deadPid = child.pid!; // exited and reaped: no such process (or, reused, another start time)
    const start = processStartTime(process.pid)!;
    const dead = entry(`pull-p${deadPid}-s12345-00aa11bb22cc33dd`);
    const reused = entry(`blob-p${process.pid}-s${start + 1}-0123456789abcdef`, false);
    const live = entry(`pull-p${process.pid}-s${start}-fedcba9876543210`);
    const liveFile = entry(stagingName('commit', '.tar'), false);
    const unowned = entry('blob-0123abcd', false); // berth before owners: only a mutation (under the lock) removes it

    // A read-only use: list images.
    expect(new ImageStore(root, { lock: noLock }).list()).toEqual([]);
    expect(ls('tmp')).toEqual([unowned, live, liveFile].sort());
    expect(ls('tmp')).not.toContain(dead);
    expect(ls('tmp')).not.toContain(reused);

    // A mutation (logout) also clears what carries no owner; still not what a live process stages.
    const store = new ImageStore(root, { lock: noLock });
    expect(store.logout('registry.example')).toBe(false);
    expect(ls('tmp')).toEqual([live, liveFile].sort());
    expect(fs.statSync(path.join(root, 'tmp')).mode & 0o777).toBe(0o700);
  });

  it('names what it stages after this process (pid and start time), and a failed import leaves nothing', async () => {
    const name = stagingName('import');
    expect(name).toMatch(new RegExp(`^import-p${process.pid}-s${processStartTime(process.pid)}-[0-9a-f]{16}$`));
    const store = new ImageStore(root, { lock: noLock });
    const junk = path.join(tmp, 'junk.tar');
    fs.writeFileSync(junk, 'not a tar\n'.repeat(200));
    await expect(store.import(junk, 'junk')).rejects.toThrow(/not a valid tar/);
    expect(ls('tmp')).toEqual([]);
  });
});
