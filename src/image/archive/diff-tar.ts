import * as path from 'node:path';
import { entryAttributes, fileInfo, HardlinkTracker, isWhiteoutDevice, joinName, sortedNames, writeObject } from './fs-entries';
import { opaqueDirs } from './overlay-xattrs';
import type { TarWriter } from './tar-writer';
import { AUFS_META, OPAQUE_MARKER, WHITEOUT_PREFIX } from './whiteouts';

/**
 * Files the runtime creates in a container's write layer as bind-mount targets for /etc/hostname, /etc/hosts
 * and /etc/resolv.conf when the image lacks them. Empty, they are artifacts of running, not changes a user
 * made (docker leaves them out of a commit too).
 */
export const MOUNT_POINT_FILES = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf'];

interface DiffTarOptions {
  /** overlay: whiteouts are 0/0 character devices and opaque dirs an xattr; aufs: both are .wh. files already. */
  driver: 'overlay' | 'aufs';
  /** Relative paths left out when they are empty regular files. Default MOUNT_POINT_FILES. */
  skipEmptyFiles?: string[];
}

/**
 * A container's write layer (overlay upperdir, or aufs' rw branch) as an OCI layer: changed and added files
 * as they are, deleted ones as `.wh.NAME` entries, directories whose lower content was replaced as a
 * `.wh..wh..opq` entry after the directory's own entry. Entries come sorted, parents first.
 */
export function writeDiffTar(upper: string, w: TarWriter, opts: DiffTarOptions): void {
  const opaque = opts.driver === 'overlay' ? opaqueDirs(upper) : new Set<string>();
  const skip = new Set(opts.skipEmptyFiles ?? MOUNT_POINT_FILES);
  const links = new HardlinkTracker();

  const walk = (rel: string): void => {
    if (opaque.has(rel)) w.bytesFile(joinName(rel, OPAQUE_MARKER), Buffer.alloc(0), { mode: 0o600 });
    for (const name of sortedNames(path.join(upper, rel))) {
      const abs = path.join(upper, rel, name);
      const entry = joinName(rel, name);
      const info = fileInfo(abs);
      if (!info) continue;
      const { st, attrs } = info;
      if (opts.driver === 'aufs' && name.startsWith(AUFS_META) && name !== OPAQUE_MARKER) continue;
      if (opts.driver === 'overlay' && isWhiteoutDevice(st)) {
        w.bytesFile(joinName(rel, `${WHITEOUT_PREFIX}${name}`), Buffer.alloc(0), { ...attrs, mode: 0o600 });
        continue;
      }
      if (st.isDirectory()) {
        w.directory(entry, entryAttributes(abs, info));
        walk(entry);
        continue;
      }
      if (st.isFile() && st.size === 0n && skip.has(entry)) continue;
      writeObject(w, entry, abs, info, links);
    }
  };
  walk('');
}
