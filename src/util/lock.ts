import * as fs from 'node:fs';
import { native } from '../native';

/** Hold an exclusive flock on `file` (created if missing) while fn runs. Released on close, also on crash. */
export function withLockSync<T>(file: string, fn: () => T): T {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    native().flock(fd, true, true);
    return fn();
  } finally {
    fs.closeSync(fd);
  }
}

/** Same as withLockSync for async work; the lock is held until the promise settles. */
export async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    native().flock(fd, true, true);
    return await fn();
  } finally {
    fs.closeSync(fd);
  }
}
