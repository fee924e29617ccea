import * as fs from 'node:fs';
import * as path from 'node:path';
import { MOUNT_POINT_FILES } from '../archive/diff-tar';
import {
  entryAttributes,
  fileInfo,
  HardlinkTracker,
  isWhiteoutDevice,
  joinName,
  sortedNames,
  writeObject,
  type FileInfo,
} from '../archive/fs-entries';
import { opaqueDirs } from '../archive/overlay-xattrs';
import type { TarWriter } from '../archive/tar-writer';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../archive/whiteouts';

/** One branch of a union: an image layer's diff dir or a container's write layer. */
export interface Branch {
  dir: string;
  /** How deletions are recorded: overlay (0/0 devices, opaque xattr) or aufs (.wh. files). */
  format: 'overlay' | 'aufs';
  /** Empty regular files at these paths are left out (the write layer's bind-mount targets). */
  skipEmptyFiles?: string[];
}

interface Layer extends Branch {
  opaque: Set<string>;
  skip: Set<string>;
}

/**
 * The merged view of `branches` (top first) as one flat archive, the way overlayfs would show it, computed
 * from the branch directories without mounting anything: a path comes from the topmost branch that has it,
 * unless a whiteout or an opaque directory in a branch above hides it; a directory merges the same
 * directory of every branch below it down to the first opaque one (or the first branch where that name
 * is not a directory). Entries are sorted, parents first, with no entry for the root: `docker export`'s shape.
 */
export function writeFlatTar(branches: Branch[], w: TarWriter): void {
  const layers: Layer[] = branches.map((b) => {
    // Short layer links (root/l/XXXXXXXX) lead to the diff dirs; getfattr's physical walk would not enter them.
    const dir = realpathOrSelf(b.dir);
    return { ...b, dir, opaque: b.format === 'overlay' ? opaqueDirs(dir) : new Set<string>(), skip: new Set(b.skipEmptyFiles ?? []) };
  });
  const links = new HardlinkTracker();

  const merge = (rel: string, stack: Layer[]): void => {
    const chosen = new Map<string, { layer: number; info: FileInfo }>();
    const hidden = new Set<string>();
    for (let i = 0; i < stack.length; i++) {
      const layer = stack[i];
      const dir = path.join(layer.dir, rel);
      for (const name of sortedNames(dir)) {
        if (layer.format === 'aufs' && name.startsWith(WHITEOUT_PREFIX)) {
          if (!name.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) hidden.add(name.slice(WHITEOUT_PREFIX.length));
          continue;
        }
        if (chosen.has(name) || hidden.has(name)) continue;
        const info = fileInfo(path.join(dir, name));
        if (!info) continue;
        if (layer.format === 'overlay' && isWhiteoutDevice(info.st)) {
          hidden.add(name);
          continue;
        }
        if (info.st.isFile() && info.st.size === 0n && layer.skip.has(joinName(rel, name))) continue;
        chosen.set(name, { layer: i, info });
      }
      if (isOpaque(layer, rel)) break;
    }
    for (const name of [...chosen.keys()].sort()) {
      const { layer, info } = chosen.get(name)!;
      const entry = joinName(rel, name);
      if (info.st.isDirectory()) {
        w.directory(entry, entryAttributes(path.join(stack[layer].dir, entry), info));
        merge(entry, dirStack(stack, layer, entry));
      } else {
        writeObject(w, entry, path.join(stack[layer].dir, entry), info, links);
      }
    }
  };
  merge('', layers);
}

/** The branches that contribute to directory `rel`, found as a directory in stack[top]. */
function dirStack(stack: Layer[], top: number, rel: string): Layer[] {
  const out = [stack[top]];
  if (isOpaque(stack[top], rel)) return out;
  const base = path.posix.basename(rel);
  for (let j = top + 1; j < stack.length; j++) {
    const layer = stack[j];
    const abs = path.join(layer.dir, rel);
    if (layer.format === 'aufs' && fileInfo(path.join(path.dirname(abs), `${WHITEOUT_PREFIX}${base}`))) break;
    const info = fileInfo(abs);
    if (!info) continue; // absent in this branch: it neither adds nor hides anything
    if (!info.st.isDirectory()) break; // a file or whiteout here ends the directory for all branches below
    out.push(layer);
    if (isOpaque(layer, rel)) break;
  }
  return out;
}

function realpathOrSelf(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return dir; // a write layer that was never created: an empty branch
  }
}

function isOpaque(layer: Layer, rel: string): boolean {
  if (layer.format === 'aufs') return rel !== '' && fileInfo(path.join(layer.dir, rel, OPAQUE_MARKER)) !== undefined;
  return layer.opaque.has(rel);
}

/** The branches of a container: its write layer (in `driver`'s format) over its image layers (overlay format). */
export function containerBranches(upper: string, driver: 'overlay' | 'aufs', imageLayers: string[]): Branch[] {
  return [
    { dir: upper, format: driver, skipEmptyFiles: MOUNT_POINT_FILES },
    ...imageLayers.map((dir) => ({ dir, format: 'overlay' as const })),
  ];
}
