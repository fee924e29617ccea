// src/util/lock.ts against other processes: the other side is a child node process running the
// same helper from dist/ (the global setup rebuilds it from src/), with the native addon's flock.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLock, withLockSync } from '../../src/util/lock';
import { REPO_ROOT } from '../helpers/paths';

const DIST = path.join(REPO_ROOT, 'dist');

/**
 * The child: takes the lock on FILE with withLockSync, says "held", then (WAIT_FOR) waits until a
 * waiter is blocked on that very file ("blocked": /proc/locks lists it with "->") or until a line
 * on stdin ("stdin"). With SWAP it then does what a release does: unlinks the file while holding
 * it, and a newcomer (a raw flock here) creates and locks a new file at the path before the old
 * lock is released. It keeps the lock (the new one with SWAP) for HOLD_MS more, writes MARKER and
 * releases.
 */
const HOLDER = `
const fs = require('node:fs');
const { withLockSync } = require(${JSON.stringify(path.join(DIST, 'util', 'lock.js'))});
const { native } = require(${JSON.stringify(path.join(DIST, 'native', 'index.js'))});
const [file, marker, holdMs, waitFor, swap] = process.argv.slice(1);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const blockedOn = (ino) => fs.readFileSync('/proc/locks', 'utf8').split('\\n')
  .some((l) => l.includes('->') && l.split(/\\s+/).some((f) => f.endsWith(':' + ino)));
let newcomer;
withLockSync(file, () => {
  process.stdout.write('held\\n');
  if (waitFor === 'blocked') {
    const ino = fs.statSync(file).ino;
    while (!blockedOn(ino)) sleep(5);
  } else if (waitFor === 'stdin') {
    fs.readSync(0, Buffer.alloc(16));
  }
  if (swap === 'swap') {
    fs.unlinkSync(file);
    newcomer = fs.openSync(file, 'a');
    native().flock(newcomer, true, true);
  }
  if (!newcomer) { sleep(Number(holdMs)); fs.writeFileSync(marker, 'released'); }
});
if (newcomer) { sleep(Number(holdMs)); fs.writeFileSync(marker, 'released'); fs.closeSync(newcomer); }
`;

interface Holder {
  child: ChildProcess;
  /** Resolved once the child holds the lock. */
  held: Promise<void>;
  exited: Promise<number | null>;
}

function startHolder(file: string, marker: string, opts: { holdMs: number; waitFor?: 'blocked' | 'stdin'; swap?: boolean }): Holder {
  const child = spawn(process.execPath, ['-e', HOLDER, file, marker, String(opts.holdMs), opts.waitFor ?? '-', opts.swap ? 'swap' : '-'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const held = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('held\n')) resolve();
    });
    void exited.then((code) => reject(new Error(`the holder exited (${code}) before it held the lock`)));
  });
  return { child, held, exited };
}

let dir: string;
let file: string;
let marker: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-lock-'));
  file = path.join(dir, 'x.lock');
  marker = path.join(dir, 'released');
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('withLockSync', () => {
  it('waits while another process holds the lock', async () => {
    const h = startHolder(file, marker, { holdMs: 300 });
    await h.held;
    const t0 = Date.now();
    withLockSync(file, () => expect(fs.existsSync(marker)).toBe(true));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(await h.exited).toBe(0);
  });

  it('takes the lock again on the new file when the one it waited on was unlinked under it', async () => {
    // without the inode check, this waiter would enter as soon as the old file's lock is released,
    // while the newcomer holds the new one
    const h = startHolder(file, marker, { holdMs: 300, waitFor: 'blocked', swap: true });
    await h.held;
    withLockSync(file, () => expect(fs.readFileSync(marker, 'utf8')).toBe('released'));
    expect(await h.exited).toBe(0);
  });

  it('refuses to wait for a lock this process holds in a pending async call (it would never end)', async () => {
    let release!: () => void;
    const holding = withLock(file, () => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(() => withLockSync(file, () => 1)).toThrow(/already held by this process/);
    release();
    await holding;
    expect(withLockSync(file, () => 2)).toBe(2);
  });
});

describe('withLock', () => {
  it('waits without blocking the event loop: timers fire while another process holds the lock', async () => {
    const h = startHolder(file, marker, { holdMs: 400 });
    await h.held;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    try {
      const ticksInside = await withLock(file, () => {
        expect(fs.existsSync(marker)).toBe(true);
        return ticks;
      });
      expect(ticksInside).toBeGreaterThanOrEqual(5);
    } finally {
      clearInterval(timer);
    }
    expect(await h.exited).toBe(0);
  });

  it('takes the lock again on the new file when the one it waited on was unlinked under it', async () => {
    const h = startHolder(file, marker, { holdMs: 300, waitFor: 'stdin', swap: true });
    await h.held;
    // the first (failing) attempt on the old file happens before withLock returns its promise
    const entered = withLock(file, () => fs.readFileSync(marker, 'utf8'));
    h.child.stdin!.end('go\n');
    expect(await entered).toBe('released');
    expect(await h.exited).toBe(0);
  });

  it('serializes pending calls of one process (each its own open file, so they exclude each other)', async () => {
    const log: string[] = [];
    const task = (name: string) =>
      withLock(file, async () => {
        log.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        log.push(`${name} out`);
      });
    await Promise.all([task('a'), task('b'), task('c')]);
    expect(log).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  });

  it('excludes another process doing the same read-modify-write (a counter reaches exactly the sum)', async () => {
    const counter = path.join(dir, 'counter');
    fs.writeFileSync(counter, '0');
    const rounds = 30;
    const bump = `
      const fs = require('node:fs');
      const { withLockSync } = require(${JSON.stringify(path.join(DIST, 'util', 'lock.js'))});
      const [file, counter, rounds] = process.argv.slice(1);
      for (let i = 0; i < Number(rounds); i++) withLockSync(file, () => {
        const n = Number(fs.readFileSync(counter, 'utf8'));
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        fs.writeFileSync(counter, String(n + 1));
      });`;
    const child = spawn(process.execPath, ['-e', bump, file, counter, String(rounds)], { stdio: 'inherit' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    for (let i = 0; i < rounds; i++) {
      await withLock(file, async () => {
        const n = Number(fs.readFileSync(counter, 'utf8'));
        await new Promise((resolve) => setTimeout(resolve, 2));
        fs.writeFileSync(counter, String(n + 1));
      });
    }
    expect(await exited).toBe(0);
    expect(fs.readFileSync(counter, 'utf8')).toBe(String(2 * rounds));
  });
});
