/**
 * Cross-process mutual exclusion: an exclusive flock(2) on a lock file, held while a function runs.
 * The kernel drops it when the fd is closed, also when the holder dies, so a crash never leaves a
 * lock held.
 *
 * Lock files may be unlinked by whoever is done with them (a container's network lock goes with its
 * sandbox), always while holding the lock. A waiter blocked on the old file then gets a lock that
 * nobody else can see any more, while a newcomer creates a new file at the path and locks that one:
 * both would "hold" it. So every acquisition checks that the fd is still the file at the path (same
 * device and inode) and, if it is not, takes the lock again on the file that is there now. (An
 * unlink after the release could come between a waiter's check and a newcomer's open: hence only
 * while holding.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { native } from '../native';

/** The async variant's wait between attempts starts here and doubles up to the cap: short waits
 *  stay short, a long one costs one syscall per cap. */
const FIRST_RETRY_MS = 2;
const MAX_RETRY_MS = 50;

/** Lock files this process holds now, with how many holders (two, only when a file was unlinked
 *  and recreated while one held it). Another open of one of them conflicts with our own lock (flock
 *  locks belong to the open file description): a blocking wait for it could never end. */
const heldHere = new Map<string, number>();

/**
 * Holds the lock on `file` (created if missing) while fn runs, blocking the thread while another
 * process holds it. For callers that are synchronous by design (the network code runs inside the
 * synchronous `spawn`, the image store's sync mutations): they could not yield the event loop anyway.
 */
export function withLockSync<T>(file: string, fn: () => T): T {
  const key = path.resolve(file);
  if (heldHere.has(key)) {
    throw new BerthError(
      'INTERNAL',
      `Lock ${key} is already held by this process (a pending operation of it): waiting for it here would never end`,
    );
  }
  const fd = lockSync(key);
  markHeld(key, 1);
  try {
    return fn();
  } finally {
    markHeld(key, -1);
    fs.closeSync(fd);
  }
}

/**
 * Holds the lock on `file` (created if missing) until fn's promise settles. Never blocks the event
 * loop: while another process (or another pending call of this one) holds the lock it retries a
 * non-blocking flock with a bounded backoff.
 */
export async function withLock<T>(file: string, fn: () => T | Promise<T>): Promise<T> {
  const key = path.resolve(file);
  const fd = await lockAsync(key);
  markHeld(key, 1);
  try {
    return await fn();
  } finally {
    markHeld(key, -1);
    fs.closeSync(fd);
  }
}

function markHeld(key: string, delta: 1 | -1): void {
  const n = (heldHere.get(key) ?? 0) + delta;
  if (n > 0) heldHere.set(key, n);
  else heldHere.delete(key);
}

function openLockFile(file: string): number {
  return fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
}

/** Whether fd is still the file at `file`, not one unlinked (or replaced) while we waited for it. */
function isAtPath(fd: number, file: string): boolean {
  const now = fs.statSync(file, { throwIfNoEntry: false });
  if (!now) return false;
  const held = fs.fstatSync(fd);
  return now.ino === held.ino && now.dev === held.dev;
}

function lockSync(file: string): number {
  for (;;) {
    const fd = openLockFile(file);
    try {
      native().flock(fd, true, true);
      if (isAtPath(fd, file)) return fd;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    fs.closeSync(fd); // unlinked under us: again, on the file there now
  }
}

async function lockAsync(file: string): Promise<number> {
  let delay = FIRST_RETRY_MS;
  for (;;) {
    const fd = openLockFile(file);
    try {
      while (!tryFlock(fd)) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
      if (isAtPath(fd, file)) return fd;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    fs.closeSync(fd); // unlinked under us: again, on the file there now
  }
}

/** A non-blocking exclusive flock: false while someone else holds it. */
function tryFlock(fd: number): boolean {
  try {
    native().flock(fd, true, false);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).errno === os.constants.errno.EWOULDBLOCK) return false;
    throw e;
  }
}
