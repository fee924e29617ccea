import * as fs from 'node:fs';
import * as path from 'node:path';
import { processStartTime } from '../../util/proc';
import { randomHexId } from '../../util/random';

/**
 * Every entry of root/tmp/ carries its owner in its name: `<kind>-p<pid>-s<start>-<hex>[.ext]`, start being
 * the process's start time (field 22 of /proc/PID/stat), so a pid reused by another process does not pass
 * for the owner. Writers stage there without the store lock (a pull may download for minutes), so nobody
 * may clear tmp/ wholesale; instead any command removes what no live process owns (sweepStaging).
 */
const OWNED = /^[a-z]+-p(\d+)-s(\d+)-[0-9a-f]+(\.[a-z]+)?$/;

let self: string | undefined;

function owner(): string {
  self ??= `p${process.pid}-s${processStartTime(process.pid) ?? 0}`;
  return self;
}

/** A fresh name for an entry of tmp/ owned by this process. */
export function stagingName(kind: string, ext = ''): string {
  return `${kind}-${owner()}-${randomHexId().slice(0, 16)}${ext}`;
}

/** A new directory of this process's own under tmp/. */
export function makeStagingDir(tmp: string, kind: string): string {
  ensureTmp(tmp);
  const dir = path.join(tmp, stagingName(kind));
  fs.mkdirSync(dir, 0o700);
  return dir;
}

/**
 * tmp/ exists, 0700: staged layers hold an image's setuid binaries and world-writable dirs, which no
 * unprivileged host user may reach (the mistake behind CVE-2021-41091).
 */
export function ensureTmp(tmp: string): void {
  fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
  fs.chmodSync(tmp, 0o700);
}

/**
 * Remove what a dead process left in tmp/ (a pull killed mid-layer leaves its partial download). Cheap when
 * there is nothing: one existsSync and one readdir, which every command can afford. `unowned` also removes
 * entries whose name carries no owner (left by berth before owners were recorded): only under the store
 * lock, where no writer of that kind can still be at work.
 */
export function sweepStaging(tmp: string, opts: { unowned?: boolean } = {}): void {
  let names: string[];
  try {
    if (!fs.existsSync(tmp)) return;
    names = fs.readdirSync(tmp);
  } catch {
    return; // not readable by this user (a non-root `berth images`): not ours to sweep
  }
  for (const name of names) {
    const m = OWNED.exec(name);
    if (m ? processStartTime(Number(m[1])) === Number(m[2]) : !opts.unowned) continue;
    try {
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    } catch {
      // Another command sweeping the same entry, or no permission: the next command tries again.
    }
  }
}
