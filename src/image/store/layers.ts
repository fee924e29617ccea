import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { writeJsonAtomic, readJsonIfExists } from '../../util/fs';
import { digestHex } from '../digest';
import { ShortLinks } from './short-links';
import { ensureTmp, stagingName } from './staging';

/** root/layers/<chain-hex>/layer.json */
interface LayerRecord {
  diffId: string;
  chainId: string;
  /** Chain ID of the layer below, null for a base layer. */
  parent: string | null;
  /** Bytes of regular file content in this layer alone. */
  size: number;
}

/** A layer unpacked into the store's tmp dir, not yet visible under layers/. */
export interface StagedLayer {
  dir: string;
  record: LayerRecord;
}

/**
 * Unpacked layers, one directory per chain ID: root/layers/<hex>/{diff/, layer.json}. The diff dir is an
 * overlay lowerdir, so a layer is immutable once visible. It becomes visible by one rename of a complete
 * directory (diff and layer.json together) and disappears by one rename out of the way before deletion:
 * nobody ever sees half a layer.
 */
export class LayerStore {
  readonly dir: string;
  /** Short symlinks to diff dirs (see short-links.ts). */
  readonly links: ShortLinks;
  private readonly tmp: string;

  constructor(root: string, tmp: string) {
    this.dir = path.join(root, 'layers');
    this.tmp = tmp;
    this.links = new ShortLinks(root, this.dir);
  }

  path(chainId: string): string {
    return path.join(this.dir, digestHex(chainId));
  }

  diffDir(chainId: string): string {
    return path.join(this.path(chainId), 'diff');
  }

  get(chainId: string): LayerRecord | undefined {
    return readJsonIfExists<LayerRecord>(path.join(this.path(chainId), 'layer.json'));
  }

  /** Unpack `tarFile` (the layer's uncompressed tar) as the layer `chainId` on top of `parent`. */
  async create(tarFile: string, diffId: string, chainId: string, parent: string | null): Promise<LayerRecord> {
    return this.commit(await this.stage(tarFile, diffId, chainId, parent));
  }

  /**
   * Unpack a layer into a staging directory under `tmpDir` (default the store's tmp), not yet visible: a
   * pull unpacks every layer first and publishes them only once all are verified. The caller verifies the
   * stream (its diff ID) by making `source` fail, which removes the staging directory.
   */
  async stage(source: string | Readable, diffId: string, chainId: string, parent: string | null, tmpDir = this.tmp): Promise<StagedLayer> {
    if (tmpDir === this.tmp) ensureTmp(tmpDir);
    const dir = path.join(tmpDir, stagingName('layer'));
    fs.mkdirSync(dir, 0o700);
    try {
      // Loaded here: reading the store (every `berth run`) must not pay for the unpacker.
      const { unpackLayer } = await import('../archive/unpack');
      const { size } = await unpackLayer(source, path.join(dir, 'diff'));
      const record: LayerRecord = { diffId, chainId, parent, size };
      writeJsonAtomic(path.join(dir, 'layer.json'), record, 0o644, true);
      return { dir, record };
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Make a staged layer visible by one rename. A layer of that chain ID is the same content: keep the existing one. */
  commit(staged: StagedLayer): LayerRecord {
    this.ensureDir();
    const existing = this.get(staged.record.chainId);
    if (existing) {
      fs.rmSync(staged.dir, { recursive: true, force: true });
      return existing;
    }
    try {
      // The short name is chosen before the rename, so a visible layer always has one; its symlink follows.
      this.links.name(staged.dir);
      fs.renameSync(staged.dir, this.path(staged.record.chainId));
    } catch (e) {
      fs.rmSync(staged.dir, { recursive: true, force: true });
      throw e;
    }
    this.links.ensure(this.path(staged.record.chainId));
    return staged.record;
  }

  remove(chainId: string): void {
    ensureTmp(this.tmp);
    const doomed = path.join(this.tmp, stagingName('removed'));
    try {
      fs.renameSync(this.path(chainId), doomed);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    this.links.drop(doomed);
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  /**
   * 0700: a layer holds the image's setuid binaries and world-writable dirs; an unprivileged host user must
   * not be able to reach them through the store (the mistake behind CVE-2021-41091).
   */
  private ensureDir(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.dir, 0o700);
  }
}
