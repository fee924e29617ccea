import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, WORK_DIR } from './paths';

const BUSYBOX_SCRIPT = path.join(REPO_ROOT, 'test', 'fixtures', 'build-busybox.sh');

/**
 * Path of the busybox rootfs tarball (docker-export style, see
 * test/fixtures/build-busybox.sh), built on first use.
 *
 * Each vitest file runs in its own worker, so "once" is decided on disk: the
 * tar is reused while it is newer than the script that builds it. The script
 * renames its output into place, so a concurrent build never exposes a
 * half-written file.
 */
export function busyboxTar(): string {
  const out = path.join(WORK_DIR, 'busybox.tar');
  if (isFresh(out, BUSYBOX_SCRIPT)) return out;
  fs.mkdirSync(WORK_DIR, { recursive: true });
  execFileSync('bash', [BUSYBOX_SCRIPT, out], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 30_000 });
  return out;
}

function isFresh(output: string, source: string): boolean {
  try {
    return fs.statSync(output).mtimeMs >= fs.statSync(source).mtimeMs;
  } catch {
    return false;
  }
}
