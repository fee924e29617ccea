import * as fs from 'node:fs';
import * as path from 'node:path';
import { MOUNT_POINT_FILES } from './diff-tar';
import { fileInfo, isWhiteoutDevice, joinName, sortedNames } from './fs-entries';
import { opaqueDirs } from './overlay-xattrs';
import { AUFS_META, OPAQUE_MARKER, WHITEOUT_PREFIX } from './whiteouts';

/** docker's change kinds, the numbers its API uses (GET /containers/{id}/changes). */
export const CHANGE_MODIFIED = 0;
export const CHANGE_ADDED = 1;
export const CHANGE_DELETED = 2;
export type ChangeKind = typeof CHANGE_MODIFIED | typeof CHANGE_ADDED | typeof CHANGE_DELETED;

/** One line of `docker diff`: an absolute path inside the container and what happened to it. */
export interface Change {
  Path: string;
  Kind: ChangeKind;
}

/**
 * `docker diff`: what a container's write layer changed against its image, read from the write layer and
 * the image's layer directories (top first) without mounting anything. A path the image has is C when the
 * write layer holds it, D when the write layer whites it out; a path only the write layer has is A, and
 * so is everything under an added directory. The entries a directory made opaque hid are D. The runtime's
 * empty bind-mount targets (/etc/hostname, hosts, resolv.conf) are not changes. Sorted by path.
 */
export function writeLayerChanges(upper: string, driver: 'overlay' | 'aufs', imageLayers: string[]): Change[] {
  const out: Change[] = [];
  const opaque = driver === 'overlay' ? opaqueDirs(upper) : new Set<string>();
  const skip = new Set(MOUNT_POINT_FILES);
  const inImage = (rel: string): boolean => imageHas(imageLayers, rel);
  const add = (rel: string, Kind: ChangeKind): void => void out.push({ Path: `/${rel}`, Kind });

  const walk = (rel: string): void => {
    const names = sortedNames(path.join(upper, rel));
    const isOpaque = opaque.has(rel) || (driver === 'aufs' && names.includes(OPAQUE_MARKER));
    if (isOpaque) {
      const kept = new Set(names);
      for (const name of imageNames(imageLayers, rel)) if (!kept.has(name)) add(joinName(rel, name), CHANGE_DELETED);
    }
    for (const name of names) {
      const entry = joinName(rel, name);
      if (driver === 'aufs' && name.startsWith(WHITEOUT_PREFIX)) {
        if (!name.startsWith(AUFS_META)) add(joinName(rel, name.slice(WHITEOUT_PREFIX.length)), CHANGE_DELETED);
        continue;
      }
      const info = fileInfo(path.join(upper, entry));
      if (!info) continue;
      if (driver === 'overlay' && isWhiteoutDevice(info.st)) {
        add(entry, CHANGE_DELETED);
        continue;
      }
      if (info.st.isFile() && info.st.size === 0n && skip.has(entry)) continue;
      const existed = inImage(entry);
      add(entry, existed ? CHANGE_MODIFIED : CHANGE_ADDED);
      if (info.st.isDirectory()) walk(entry);
    }
  };
  walk('');
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}

/**
 * Whether the image's merged view has `rel`: the topmost layer holding the name decides (a 0/0 device there
 * is a whiteout). Image layers are stored in overlay's format. An opaque directory in a lower layer is not
 * looked at: it can only hide names, so a path it hid would be reported C instead of A.
 */
function imageHas(layers: string[], rel: string): boolean {
  for (const dir of layers) {
    let st: fs.BigIntStats;
    try {
      st = fs.lstatSync(path.join(dir, rel), { bigint: true });
    } catch {
      continue; // not in this layer (ENOENT), or a parent is not a directory here (ENOTDIR)
    }
    return !isWhiteoutDevice(st);
  }
  return false;
}

/** The names the image's merged view shows in directory `rel` (its layers, top first). */
function imageNames(layers: string[], rel: string): string[] {
  const seen = new Map<string, boolean>();
  for (const dir of layers) {
    for (const name of sortedNames(path.join(dir, rel))) {
      if (seen.has(name)) continue;
      const info = fileInfo(path.join(dir, rel, name));
      seen.set(name, !!info && !isWhiteoutDevice(info.st));
    }
  }
  return [...seen].filter(([, visible]) => visible).map(([name]) => name);
}
