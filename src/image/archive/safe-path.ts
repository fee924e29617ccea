import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../errors';
import { quote } from '../../util/quote';

export function refuseEntry(entry: string, why = 'it escapes the layer directory'): BerthError {
  return new BerthError('UNSAFE_ARCHIVE', `Refusing layer entry ${quote(entry)}: ${why}`);
}

/**
 * The components of an archive member name below the layer root. Unsafe names are refused rather than
 * repaired: node-tar's own unpacker strips "/" and ".." with only a warning, which would silently put
 * content somewhere the image author did not intend.
 */
export function memberComponents(name: string, entry = name): string[] {
  if (name.startsWith('/')) throw refuseEntry(entry, 'it escapes the layer directory (absolute path)');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuseEntry(entry);
  return parts;
}

// throwIfNoEntry rather than a caught ENOENT: every new file of a layer takes this path, and a
// thrown error (with its stack trace) costs more than the lstat itself.
function lstatOrUndefined(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false });
}

/**
 * What a writer knows of the tree it writes: the directories it made or checked, and every other name it
 * created. A writer that starts from an empty directory of its own and records everything it creates and
 * removes knows the whole tree: a name in neither set does not exist, and needs no lstat to prove it.
 */
export interface KnownTree {
  dirs: Set<string>;
  others: Set<string>;
}

function absent(tree: KnownTree | undefined, p: string): boolean {
  return tree !== undefined && !tree.dirs.has(p) && !tree.others.has(p);
}

/**
 * Absolute path of the directory that will hold `parts`' last component. Every ancestor must be a real
 * directory: an archive that plants `link -> /etc` (or `-> ../..`) and then writes `link/passwd` is refused
 * here, because the kernel would follow the link on open. An ancestor not known to the tree is checked with
 * lstat. Missing ancestors are created (0755, as docker does) when `create`; otherwise a missing one is an error.
 */
export function parentDir(root: string, parts: string[], entry: string, create: boolean, what = 'it', tree?: KnownTree): string {
  let cur = root;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = path.join(cur, parts[i]);
    // A directory this writer created or checked stays one until clearFor removes it (the writer
    // is the only one writing the staging dir): no need to lstat it again for every entry below.
    if (tree?.dirs.has(cur)) continue;
    const shown = parts.slice(0, i + 1).join('/');
    const st = absent(tree, cur) ? undefined : lstatOrUndefined(cur);
    if (!st) {
      if (!create) throw refuseEntry(entry, `${what} goes through ${quote(shown)}, which does not exist in the layer`);
      fs.mkdirSync(cur);
      fs.chmodSync(cur, 0o755); // mkdir's mode is filtered by the umask
      tree?.dirs.add(cur);
      continue;
    }
    if (st.isSymbolicLink()) {
      throw refuseEntry(entry, `${what} passes through the symbolic link ${quote(shown)} and could escape the layer directory`);
    }
    if (!st.isDirectory()) throw refuseEntry(entry, `${what} goes through ${quote(shown)}, which is not a directory`);
    tree?.dirs.add(cur);
  }
  return cur;
}

/**
 * Remove whatever an entry is about to replace, without following a symlink that sits at its name. Returns
 * the stats of a directory kept (`keepDirectory`), else undefined; the tree forgets what was removed.
 */
export function clearFor(abs: string, keepDirectory: boolean, tree?: KnownTree): fs.Stats | undefined {
  if (absent(tree, abs)) return undefined;
  const st = lstatOrUndefined(abs);
  if (!st) return undefined;
  if (st.isDirectory()) {
    if (keepDirectory) return st;
    fs.rmSync(abs, { recursive: true, force: true });
    // whatever stood at or below it is gone: parentDir must look again
    if (tree) {
      for (const set of [tree.dirs, tree.others]) for (const d of set) if (d === abs || d.startsWith(`${abs}/`)) set.delete(d);
    }
  } else {
    fs.unlinkSync(abs);
    tree?.others.delete(abs);
  }
  return undefined;
}

export { lstatOrUndefined };
