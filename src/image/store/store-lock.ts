import { withLock, withLockSync } from '../../util/lock';

/**
 * How the image store serializes mutations across processes. The default is an flock on root/store.lock
 * (through the native addon); tests and embedders without the addon can pass their own.
 */
export interface StoreLock {
  sync<T>(file: string, fn: () => T): T;
  async<T>(file: string, fn: () => Promise<T>): Promise<T>;
}

export const flockStoreLock: StoreLock = {
  sync: withLockSync,
  async: withLock,
};
