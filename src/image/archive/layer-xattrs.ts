import { BerthError } from '../../errors';
import { native } from '../../native';
import { quote } from '../../util/quote';
import type { Xattrs } from './pax-xattrs';

/** The kernel's limits (XATTR_NAME_MAX, XATTR_SIZE_MAX): anything longer cannot be set anyway. */
const MAX_NAME_BYTES = 255;
const MAX_VALUE_BYTES = 65536;

/**
 * Whether an extended attribute is image content, which layers carry (unpack, commit, export):
 * user.*, trusted.* and security.* (security.capability is how `ping` runs unprivileged).
 *
 * Never overlayfs' own attributes (trusted.overlay.*, and user.overlay.* of a userxattr mount): in a
 * lower dir they mean whiteouts, opaque directories, redirects and metacopy, so a layer that could set
 * them would hide or redirect another layer's files behind the OCI whiteout rules; in an upper dir
 * they are the kernel's bookkeeping (origin, impure), meaningless in another tree. Not
 * security.selinux: labels are the host policy's, not the image's (containers/storage leaves it out
 * too). Not system.*: POSIX ACLs travel as SCHILY.acl.* records in tar, which berth does not keep.
 */
export function isLayerXattr(name: string): boolean {
  if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) return false;
  if (name === 'security.selinux') return false;
  return ['user.', 'trusted.', 'security.'].some((ns) => name.startsWith(ns) && name.length > ns.length);
}

/** Errors that mean "this kernel or filesystem will not take this attribute here", not a broken layer. */
const REFUSED_BY_KERNEL = new Set(['EPERM', 'EACCES', 'ENOTSUP', 'EOPNOTSUPP']);

/**
 * Set an entry's extended attributes on the file the writer made for it at `abs` (lsetxattr: a symlink
 * there gets the attribute itself; nothing is followed). `abs` must be a path the writer validated and
 * that nothing replaced since. What cannot be applied is noted, as docker logs it: trusted.* and
 * security.* without root, user.* on a symlink or on a filesystem without user xattrs.
 */
export function applyXattrs(abs: string, entry: string, xattrs: Xattrs, privileged: boolean, notes: string[]): void {
  for (const [name, value] of xattrs) {
    const shown = `extended attribute ${quote(name)} of ${quote(entry)}`;
    if (!isLayerXattr(name) || name.includes('\0')) {
      notes.push(`ignored ${shown}: not one a layer may set`);
      continue;
    }
    if (Buffer.byteLength(name) > MAX_NAME_BYTES || value.length > MAX_VALUE_BYTES) {
      notes.push(`ignored ${shown}: longer than the kernel allows`);
      continue;
    }
    if (!privileged && !name.startsWith('user.')) {
      notes.push(`skipped ${shown}: it needs root`);
      continue;
    }
    try {
      native().setXattr(abs, name, value);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      // the strerror text only: the path is the staging directory's, which means nothing to the reader
      const message = (e as Error).message;
      const reason = message.slice(message.lastIndexOf(': ') + 2);
      if (REFUSED_BY_KERNEL.has(code)) {
        notes.push(`skipped ${shown}: ${reason}`);
        continue;
      }
      throw new BerthError('INVALID_ARGUMENT', `Cannot set the ${shown} in the layer: the kernel refuses it (${reason})`, { cause: e });
    }
  }
}

/**
 * The layer attributes of `abs` itself (not a symlink's target), sorted by name so that the same tree
 * gives the same archive; undefined when it has none, when the filesystem has no xattrs, or when the
 * file vanished meanwhile (a running container).
 */
export function readLayerXattrs(abs: string): Xattrs | undefined {
  let all: Array<[string, Buffer]>;
  try {
    all = native().listXattrs(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return undefined;
    throw e;
  }
  const kept = all.filter(([name]) => isLayerXattr(name)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return kept.length > 0 ? new Map(kept) : undefined;
}
