// The start lease of an --ipc shareable container's /dev/shm (src/runtime/ipc-shm.ts): while a
// live process holds it, a repair must not unmount the fresh tmpfs; a dead holder's lease is void.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseShmStart, shmStartInProgress } from '../../src/runtime/ipc-shm';
import { processStartTime } from '../../src/util/proc';

const shareable = { namespaces: { ipc: 'shareable' as const } };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function containerDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-shm-lease-'));
  dirs.push(d);
  return d;
}

describe('the /dev/shm start lease', () => {
  it('stands while its holder lives and is gone once released', () => {
    const dir = containerDir();
    expect(shmStartInProgress(dir)).toBe(false);
    fs.writeFileSync(path.join(dir, 'shm.starting'), `${process.pid} ${processStartTime(process.pid)}`);
    expect(shmStartInProgress(dir)).toBe(true);
    releaseShmStart(shareable, dir);
    expect(shmStartInProgress(dir)).toBe(false);
  });

  it('is void when its holder died, or when a reused pid started at another time', () => {
    const dir = containerDir();
    const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(dir, 'shm.starting'), `${Number(child.stdout)} 1`);
    expect(shmStartInProgress(dir)).toBe(false);
    fs.writeFileSync(path.join(dir, 'shm.starting'), `${process.pid} ${(processStartTime(process.pid) ?? 0) + 1}`);
    expect(shmStartInProgress(dir)).toBe(false);
  });
});
