/**
 * The locks of the network code: flock files in <runRoot>/cni/locks, always taken in this order so
 * that no two processes wait for each other:
 *   1. a container's (.ctr-ID) around changes to its sandbox record,
 *   2. a network's (NAME) around CNI ADD/DEL on it and the hosts files of its members,
 *   3. .ports around choosing host ports (host-wide, across every network).
 * The names cannot collide: network names start with a letter or digit.
 *
 * Synchronous by design: the network is set up inside the synchronous `spawn` (a container's
 * network is in place before its process exists), so these callers could not yield anyway.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withLockSync } from '../util/lock';

const PORTS_LOCK = '.ports';

export class NetworkLocks {
  constructor(private readonly dir: string) {}

  container<T>(containerId: string, fn: () => T): T {
    return this.hold(containerLockName(containerId), fn);
  }

  network<T>(name: string, fn: () => T): T {
    return this.hold(name, fn);
  }

  ports<T>(fn: () => T): T {
    return this.hold(PORTS_LOCK, fn);
  }

  /** The lock file goes with the container's sandbox. Only while holding it: a waiter that gets
   *  the lock on the unlinked file then sees that it is not the file at the path any more and takes
   *  the lock again on the one a newcomer creates (util/lock). Unlinked after the release, a waiter
   *  could take the old file's lock just before and a newcomer the new file's just after. */
  removeContainerLock(containerId: string): void {
    fs.rmSync(this.file(containerLockName(containerId)), { force: true });
  }

  /** The lock file goes with the network; only while holding it (as removeContainerLock). */
  removeNetworkLock(name: string): void {
    fs.rmSync(this.file(name), { force: true });
  }

  private hold<T>(name: string, fn: () => T): T {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    return withLockSync(this.file(name), fn);
  }

  private file(name: string): string {
    return path.join(this.dir, `${name}.lock`);
  }
}

function containerLockName(containerId: string): string {
  return `.ctr-${containerId}`;
}
