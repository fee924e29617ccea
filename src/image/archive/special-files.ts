/**
 * The file types Node's fs cannot create. Until the native addon grows mknod (and the opaque marker moves
 * to its setXattr), berth runs the standard tools: `mknod` (Debian package coreutils) and `setfattr`
 * (Debian package attr).
 */
// Loaded on first use: `berth run` reads the store but never needs node:child_process, and loading it costs
// milliseconds on every start.
const childprocess = (): typeof import('node:child_process') => require('node:child_process');
import { BerthError } from '../../errors';
import { quote } from '../../util/quote';

function run(tool: string, pkg: string, args: string[], what: string): void {
  try {
    childprocess().execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') {
      throw new BerthError('UNSUPPORTED', `Cannot ${what}: ${tool} was not found; install the Debian package "${pkg}"`, { cause: e });
    }
    const detail = err.stderr?.toString().trim();
    throw new BerthError('INTERNAL', `Cannot ${what}${detail ? `: ${detail}` : ''}`, { cause: e });
  }
}

export type NodeKind = 'char' | 'block' | 'fifo';

/**
 * Create a device node or fifo with permission bits `mode & 0777` (mknod -m is not filtered by the umask,
 * but refuses setuid/setgid/sticky bits: callers chmod afterwards, after chown, which would clear them).
 */
export function makeNode(file: string, kind: NodeKind, mode: number, major = 0, minor = 0): void {
  const args = ['-m', (mode & 0o777).toString(8), '--', file];
  if (kind === 'fifo') args.push('p');
  else args.push(kind === 'char' ? 'c' : 'b', String(major), String(minor));
  run('mknod', 'coreutils', args, `create ${kind === 'fifo' ? 'fifo' : `${kind} device`} ${quote(file)}`);
}

/** overlayfs' whiteout: a character device 0/0 hides the same name in lower layers. */
export function makeWhiteout(file: string): void {
  makeNode(file, 'char', 0, 0, 0);
}

/** overlayfs' opaque directory: lower layers' content of this directory is hidden. Needs CAP_SYS_ADMIN. */
export function markOpaque(dir: string): void {
  run('setfattr', 'attr', ['-h', '-n', 'trusted.overlay.opaque', '-v', 'y', '--', dir], `mark ${quote(dir)} opaque for overlayfs`);
}
