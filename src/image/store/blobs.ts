import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { digestHex, sha256Digest } from '../digest';
import { ensureTmp, stagingName } from './staging';
import { writeHashed } from '../verify';

/** A blob written to a staging file and hashed on the way, not yet visible under blobs/. */
export interface StagedBlob {
  digest: string;
  size: number;
  file: string;
}

/**
 * Content-addressed blobs: root/blobs/sha256/<hex>. A blob appears under its name only by rename(2) of a
 * complete, fsynced file, so its name always matches its content.
 */
export class BlobStore {
  readonly dir: string;
  private readonly tmp: string;

  constructor(root: string, tmp: string) {
    this.dir = path.join(root, 'blobs', 'sha256');
    this.tmp = tmp;
  }

  path(digest: string): string {
    return path.join(this.dir, digestHex(digest));
  }

  has(digest: string): boolean {
    return fs.existsSync(this.path(digest));
  }

  read(digest: string): Buffer {
    return fs.readFileSync(this.path(digest));
  }

  /** Copy a stream into `dir` (default the store's tmp dir), hashing it. Commit or discard the result. */
  stage(input: Readable, dir = this.tmp): Promise<StagedBlob> {
    if (dir === this.tmp) ensureTmp(dir);
    return writeHashed(input, path.join(dir, stagingName('blob')));
  }

  /** Make a staged blob visible. Content addressing makes an existing blob of that digest identical: keep it. */
  commit(staged: StagedBlob): string {
    fs.mkdirSync(this.dir, { recursive: true });
    const dest = this.path(staged.digest);
    if (fs.existsSync(dest)) fs.rmSync(staged.file, { force: true });
    else fs.renameSync(staged.file, dest);
    return staged.digest;
  }

  /** Store a small blob (config, manifest) given as bytes. */
  put(data: Buffer | string): { digest: string; size: number } {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const digest = sha256Digest(buf);
    if (!this.has(digest)) {
      ensureTmp(this.tmp);
      const file = path.join(this.tmp, stagingName('blob'));
      const fd = fs.openSync(file, 'wx', 0o644);
      try {
        fs.writeSync(fd, buf);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      this.commit({ digest, size: buf.length, file });
    }
    return { digest, size: buf.length };
  }

  remove(digest: string): void {
    fs.rmSync(this.path(digest), { force: true });
  }
}
