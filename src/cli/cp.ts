import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { Berth, type PathStat } from '../index';
import { archiveHostPath, copiesContent, extractOnHost, targetFor } from '../runtime/copy/host-copy';
import { command, positionals } from './command';

/** Go's os.ModeDir and os.ModeSymlink, as PathStat.mode carries them (docker's stat). */
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const isDir = (s: PathStat) => Math.floor(s.mode / MODE_DIR) % 2 === 1;
const isSymlink = (s: PathStat) => Math.floor(s.mode / MODE_SYMLINK) % 2 === 1;

/** CONTAINER:PATH, or undefined for a host path (one with a '/' before any ':' is a host path, as docker has it). */
function containerPath(arg: string): { container: string; path: string } | undefined {
  const colon = arg.indexOf(':');
  if (colon <= 0 || arg.slice(0, colon).includes('/')) return undefined;
  const p = arg.slice(colon + 1);
  // container paths are from the container's root, the leading '/' optional
  return { container: arg.slice(0, colon), path: p.startsWith('/') ? p : `/${p}` };
}

function statOrUndefined(berth: Berth, container: string, p: string): PathStat | undefined {
  try {
    return berth.statPath(container, p);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'CONTAINER_NOT_FOUND' && e.message.startsWith('Could not find the file')) return undefined;
    throw e;
  }
}

const cp = command({
  name: 'cp',
  operands: 'CONTAINER:SRC_PATH DEST_PATH|-  or  SRC_PATH|- CONTAINER:DEST_PATH',
  summary: 'Copy files/folders between a container (running or stopped) and the local filesystem.',
  notes:
    "Use '-' as the source to read a tar archive from STDIN and extract it to a directory of the container, or as the destination to write a tar archive of the container's source to STDOUT. Container paths are from its root; its symlinks are followed as the container sees them.",
  flags: [
    { name: '--archive', short: 'a', kind: 'boolean', help: 'Archive mode (copy all uid/gid information)' },
    { name: '--follow-link', short: 'L', kind: 'boolean', help: 'Always follow symbol link in SRC_PATH' },
    { name: '--quiet', short: 'q', kind: 'boolean', help: 'Suppress progress output during copy (berth prints none)' },
  ],
  async run(args, global): Promise<number> {
    const [src, dst] = positionals(cp, args, 2);
    const from = containerPath(src);
    const to = containerPath(dst);
    if (from && to) throw new BerthError('INVALID_ARGUMENT', 'copying between containers is not supported');
    if (!from && !to) throw new BerthError('INVALID_ARGUMENT', 'must specify at least one container source');
    const berth = new Berth(global);
    if (from) {
      let p = from.path;
      let stat = berth.statPath(from.container, p);
      // the name it gets on the host: the source's own, also when -L copies what the link points to
      const wanted = path.posix.basename(p.replace(/\/\.?$/, '')) || '.';
      if (args.followLink && isSymlink(stat) && stat.linkTarget) {
        p = stat.linkTarget;
        stat = berth.statPath(from.container, p);
      }
      const content = copiesContent(from.path);
      const { archive } = berth.copyFrom(from.container, content ? p.replace(/\/?\.?$/, '/.') : p);
      if (dst === '-') {
        if (process.stdout.isTTY)
          throw new BerthError('INVALID_ARGUMENT', 'Refusing to write a tar archive to a terminal; redirect the output');
        await (await import('node:stream/promises')).pipeline(archive, process.stdout);
        return 0;
      }
      const archivedTop = path.posix.basename(p.replace(/\/\.?$/, '')) || '.';
      await extractOnHost(archive, { top: archivedTop, wanted, isDir: isDir(stat), content }, dst);
      return 0;
    }
    const target = to!;
    const options = { noOverwriteDirNonDir: true, copyUIDGID: !!args.archive };
    if (src === '-') {
      await berth.copyTo(target.container, target.path, process.stdin, options);
      return 0;
    }
    const fsStat = args.followLink ? fs.statSync(src) : fs.lstatSync(src);
    let dstStat = statOrUndefined(berth, target.container, target.path);
    if (dstStat && isSymlink(dstStat) && dstStat.linkTarget) {
      target.path = dstStat.linkTarget;
      dstStat = statOrUndefined(berth, target.container, target.path);
    }
    const content = copiesContent(src);
    const where = `${target.container}:${target.path}`;
    const t = targetFor(
      { exists: !!dstStat, isDir: !!dstStat && isDir(dstStat), path: target.path },
      { isDir: fsStat.isDirectory(), content },
      where,
    );
    const top = t.rename ?? path.basename(path.resolve(src));
    if (content && t.rename !== undefined) {
      // SRC/. to a new name: the directory is made by the archive's top entry, the content follows
      await berth.copyTo(target.container, t.dir, archiveHostPath(src.replace(/\/\.$/, ''), t.rename, !!args.followLink), options);
      return 0;
    }
    await berth.copyTo(target.container, t.dir, archiveHostPath(src, top, !!args.followLink), options);
    return 0;
  },
});

export default cp;
