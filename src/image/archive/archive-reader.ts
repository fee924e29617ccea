import * as fs from 'node:fs';
import * as path from 'node:path';
import * as posix from 'node:path/posix';
// Loaded on first use, as in blobs.ts.
const crypto = (): typeof import('node:crypto') => require('node:crypto');
import { BerthError } from '../../errors';
import { uncompressed } from './compression';
import { formatSize, MAX_LAYER_SIZE_ENV } from '../limits';
import { memberComponents } from './safe-path';
import { tarEntries } from './tar-entries';
import { openArchive } from './unpack';
import { quote } from '../../util/quote';

/** A regular file of the archive, copied to the work dir and hashed on the way. */
export interface ArchiveFile {
  file: string;
  digest: string;
  size: number;
}

const MAX_JSON_BYTES = 8 << 20;
const MAX_LINK_HOPS = 16;

/**
 * The files of an image archive (`docker save` or OCI layout tar, plain or gzip), copied into `work` under
 * generated names, so that no name in the archive ever becomes a path on this machine. Symlinks between
 * members (docker's legacy archives link repeated layers) are followed within the archive only.
 */
export class ArchiveFiles {
  private readonly files = new Map<string, ArchiveFile>();
  private readonly links = new Map<string, string>();

  private constructor(private readonly source: string) {}

  /** `maxMember`: bytes one member may have (a layer blob cannot be larger than its uncompressed layer). */
  static async read(source: string, work: string, maxMember = Infinity): Promise<ArchiveFiles> {
    const archive = new ArchiveFiles(source);
    let n = 0;
    const input = await openArchive(source, 'image archive');
    for await (const entry of tarEntries(uncompressed(input, `image archive ${quote(source)}`), `image archive ${quote(source)}`)) {
      const name = memberComponents(entry.path, entry.path).join('/');
      if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
        const target = entry.linkpath ?? '';
        // A symlink's target is relative to its directory; a hardlink's to the archive root.
        archive.links.set(name, entry.type === 'Link' ? posix.normalize(target) : posix.normalize(posix.join(posix.dirname(name), target)));
        continue;
      }
      if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') continue;
      const file = path.join(work, `member-${n++}`);
      if ((entry.size ?? 0) > maxMember) {
        throw new BerthError(
          'INVALID_ARGUMENT',
          `The member ${quote(name)} of the image archive ${quote(source)} is ${formatSize(entry.size ?? 0)}, past the ${formatSize(maxMember)} limit of uncompressed layer size; raise it with ${MAX_LAYER_SIZE_ENV} (like 100g)`,
        );
      }
      archive.files.set(name, await copyHashed(entry, file));
    }
    return archive;
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  /** A member by its name in the archive ("blobs/sha256/ab12…", "./manifest.json" and "manifest.json" alike). */
  get(name: string, what: string): ArchiveFile {
    const found = this.lookup(name);
    if (!found)
      throw new BerthError(
        'INVALID_ARGUMENT',
        `The image archive ${quote(this.source)} lacks ${what} (${quote(name)}); it is incomplete or not made by docker save, podman save or skopeo`,
      );
    return found;
  }

  /** A small JSON member, parsed. */
  json<T>(name: string, what: string): T {
    const f = this.get(name, what);
    if (f.size > MAX_JSON_BYTES)
      throw new BerthError(
        'UNSUPPORTED',
        `The ${what} in ${quote(this.source)} is ${f.size} bytes, more than the ${MAX_JSON_BYTES} berth accepts`,
      );
    try {
      return JSON.parse(fs.readFileSync(f.file, 'utf8')) as T;
    } catch (e) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `The ${what} (${quote(name)}) in the image archive ${quote(this.source)} is not valid JSON`,
        { cause: e },
      );
    }
  }

  private lookup(name: string): ArchiveFile | undefined {
    let cur = posix.normalize(name).replace(/^(\.\/)+/, '');
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const f = this.files.get(cur);
      if (f) return f;
      const next = this.links.get(cur);
      if (next === undefined || next.startsWith('..') || posix.isAbsolute(next)) return undefined;
      cur = next;
    }
    return undefined;
  }
}

async function copyHashed(entry: AsyncIterable<Buffer>, file: string): Promise<ArchiveFile> {
  const hash = crypto().createHash('sha256');
  let size = 0;
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    for await (const chunk of entry) {
      hash.update(chunk);
      size += chunk.length;
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { file, digest: `sha256:${hash.digest('hex')}`, size };
}
