import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../errors';
import { BlobStore } from './blobs';
import { chainIds, isDigest } from '../digest';
import { LayerStore } from './layers';
import { imageManifest, importConfig, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, type ImageManifest } from '../oci';
import { ImageRecords, type StoredImage } from './records';
import { familiar, formatReference, parseReference, parseTagReference } from '../reference';
import { AuthFile, registryKey } from '../registry/auth-file';
import { display, findImage, imageNotFound, nameKey, shortId } from './lookup';
import { Repositories, withNames } from './repositories';
import { flockStoreLock, type StoreLock } from './store-lock';
import { maxLayerSize, type RegistryTimeouts } from '../limits';
import { ensureTmp, makeStagingDir, sweepStaging } from './staging';
import type { PullOptions, PullResult } from '../registry/pull';
import type { PushOptions, PushResult } from '../registry/push-options';
import type { ImageInspect, ImageRecord, LoadResult, PruneResult } from '../types';
import type { Credentials } from '../registry/auth';
import type { CommitOptions, CommitSource } from '../transfer/commit';
import type { StoreParts } from './store-parts';
import { type HistoryEntry, imageHistory } from './history';
import { inspectImage } from './inspect';
import { pruneImages } from './prune';
import { quote } from '../../util/quote';
// The archive side (node:stream, node-tar, zlib) loads only when an image is written: `berth run`
// only reads the store, and loading it costs milliseconds per start.
const archive = async () => ({ ...(await import('../archive/unpack')), ...(await import('../archive/compression')) });

interface ImageStoreOptions {
  /** Cross-process lock around mutations; default flock(2) on root/store.lock via the native addon. */
  lock?: StoreLock;
  /**
   * Bytes one layer may have uncompressed (pull, import, load); more fails it. Default $BERTH_MAX_LAYER_SIZE
   * ("100g", "512m", bytes), else 64 GiB (see limits.ts).
   */
  maxLayerSize?: number;
  /** Registry timeouts in seconds, for pulls that do not give their own (see PullOptions). */
  registryTimeouts?: RegistryTimeouts;
  /** Reports what changed (docker's image events: pull, tag, untag, delete, import, load, save);
   *  the events journal (src/runtime/events-journal.ts). Must not throw. */
  onEvent?: (action: string, id: string, attributes: Record<string, string>) => void;
}

/** A stored name as docker's events name it (busybox:latest). */
function eventName(name: string): string {
  try {
    return familiar(name);
  } catch {
    return name;
  }
}

/** A publish finds a layer gone that was present when the work began (a concurrent rmi) and redoes it; this often at most. */
const MAX_PUBLISH_ATTEMPTS = 3;

interface ImportOptions {
  /** Recorded as the history comment, like `docker import --message`. */
  message?: string;
}

interface RemoveOptions {
  /** Remove even when several names point at the image (by ID) or a container uses it. */
  force?: boolean;
  /** Whether a container uses the image; the runtime knows, the image store does not. */
  inUse?: (imageId: string) => boolean;
}

export interface RemoveResult {
  /** Fully qualified names removed. */
  untagged: string[];
  /** The image ID and the chain IDs of layers deleted with it. */
  deleted: string[];
}

/**
 * Images on disk under one root (e.g. /var/lib/berth):
 *   blobs/sha256/<hex>        layer tars, config and manifest JSON, content-addressed
 *   layers/<chain-hex>/       diff/ (the unpacked layer, an overlay lowerdir) and layer.json
 *   images/<config-hex>.json  one record per image
 *   repositories.json         name -> image ID
 *   tmp/                      staging, each entry named after its owner process (staging.ts): what a dead
 *                             process left is removed by the next command of any kind
 *   store.lock                flock held while a mutation publishes
 * Every file or directory appears by rename of a complete one, so a crash leaves at worst unreferenced
 * content, never a half-visible layer or image. Reads take no lock. Writers download and unpack in
 * staging directories of their own without the lock and take it only to publish: a stalled download
 * never blocks another command.
 */
export class ImageStore {
  readonly root: string;
  private readonly tmp: string;
  private readonly lockFile: string;
  private readonly lock: StoreLock;
  private readonly blobs: BlobStore;
  private readonly layers: LayerStore;
  private readonly records: ImageRecords;
  private readonly repositories: Repositories;
  private readonly opts: ImageStoreOptions;

  constructor(root: string, opts: ImageStoreOptions = {}) {
    this.opts = opts;
    this.root = path.resolve(root);
    this.tmp = path.join(this.root, 'tmp');
    this.lockFile = path.join(this.root, 'store.lock');
    this.lock = opts.lock ?? flockStoreLock;
    this.blobs = new BlobStore(this.root, this.tmp);
    this.layers = new LayerStore(this.root, this.tmp);
    this.records = new ImageRecords(this.root);
    this.repositories = new Repositories(path.join(this.root, 'repositories.json'));
    sweepStaging(this.tmp);
  }

  /**
   * `docker import`: a flat rootfs tar (plain, gzip or zstd) becomes a one-layer image named `ref`. The tar
   * is staged and unpacked in a directory of this import's own, without the lock; the lock is taken only
   * to publish.
   */
  async import(tarPath: string, ref: string, opts: ImportOptions = {}): Promise<ImageRecord> {
    const name = formatReference(parseTagReference(ref));
    const maxBytes = this.maxLayerSize();
    const { openArchive, uncompressed } = await archive();
    const input = await openArchive(tarPath, 'image archive');
    const work = makeStagingDir(this.tmp, 'import');
    try {
      const staged = await this.blobs.stage(uncompressed(input, `image archive ${quote(tarPath)}`, { maxBytes }), work);
      const diffId = staged.digest;
      const [chainId] = chainIds([diffId]);
      const created = new Date().toISOString();
      const config = importConfig(diffId, created, tarPath, opts.message);
      for (let attempt = 0; attempt < MAX_PUBLISH_ATTEMPTS; attempt++) {
        const layer = this.layers.get(chainId) ? undefined : await this.layers.stage(staged.file, diffId, chainId, null, work);
        const image = this.mutateSync(() => {
          // Present when looked at, the layer may have been removed since (rmi): then unpack it again.
          const record = layer ? this.layers.commit(layer) : this.layers.get(chainId);
          if (!record) return undefined;
          this.blobs.commit(staged);
          const configBlob = this.blobs.put(JSON.stringify(config));
          const manifest = imageManifest({ mediaType: MEDIA_TYPE_CONFIG, ...configBlob }, [
            { mediaType: MEDIA_TYPE_LAYER_TAR, digest: diffId, size: staged.size },
          ]);
          const stored: StoredImage = {
            id: configBlob.digest,
            manifestDigest: this.blobs.put(JSON.stringify(manifest)).digest,
            config,
            chainIds: [chainId],
            size: record.size,
            created,
          };
          this.records.save(stored);
          const names = this.repositories.read();
          names[name] = stored.id;
          this.repositories.write(names);
          return withNames(stored, names);
        });
        if (image) {
          this.event('import', image.id, { name: eventName(name) });
          return image;
        }
      }
      throw storeChanged(tarPath);
    } finally {
      input.destroy();
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  /**
   * docker pull: fetch `ref` from its registry (OCI distribution v2) into the store and name it. Blobs are
   * verified while they stream and nothing is published until all of them are; see pull.ts.
   */
  async pull(ref: string, opts: PullOptions = {}): Promise<PullResult> {
    // Loaded here: the registry client and unpacker are needed only by a pull.
    const { pull } = await import('../registry/pull');
    // Credentials stored by `berth login` for the reference's registry, unless the caller brought its own.
    const credentials = opts.credentials ?? new AuthFile(this.root).get(parseReference(ref).registry);
    opts = { ...opts, credentials, registryTimeouts: opts.registryTimeouts ?? this.opts.registryTimeouts };
    const result = await pull(this.parts(), ref, opts);
    this.event('pull', eventName(result.name), { name: eventName(result.name).replace(/:[^:/@]*$/, '') });
    return result;
  }

  /** docker push: the image `ref` names to the registry it names, layers first, manifest last; see push.ts. */
  async push(ref: string, opts: PushOptions = {}): Promise<PushResult> {
    const { push } = await import('../registry/push');
    const result = await push(this.parts(), ref, { ...opts, registryTimeouts: opts.registryTimeouts ?? this.opts.registryTimeouts });
    this.event('push', eventName(result.name), { name: eventName(result.name) });
    return result;
  }

  /** `docker commit`: a container's write layer as a new image on top of its own; see commit.ts. */
  async commit(src: CommitSource, ref: string | undefined, opts: CommitOptions = {}): Promise<ImageRecord> {
    const { commitImage } = await import('../transfer/commit');
    const image = await commitImage(this.parts(), src, ref, opts);
    // docker reports a commit as the container's event (runtime side); the new name is a tag
    if (image.names[0]) this.event('tag', image.id, { name: eventName(image.names[0]) });
    return image;
  }

  /** `docker save`: the images as one OCI image layout tar; see save.ts. */
  async save(refs: string[], out: string | number): Promise<void> {
    const { saveImages } = await import('../transfer/save');
    await saveImages(this.parts(), refs, out);
    for (const ref of refs) {
      const image = this.resolve(ref);
      this.event('save', image.id, { name: eventName(image.names[0] ?? ref) });
    }
  }

  /** `docker load`: an OCI image layout or docker-archive tar; see load.ts. */
  async load(file: string): Promise<LoadResult> {
    const { loadImages } = await import('../transfer/load');
    const result = await loadImages(this.parts(), file);
    for (const image of result.images) this.event('load', image.id, { name: eventName(image.names[0] ?? image.id) });
    return result;
  }

  /** `docker image inspect`. */
  inspect(ref: string): ImageInspect {
    return inspectImage(this.parts(), this.resolve(ref));
  }

  /** `docker history`, newest first; see history.ts. */
  history(ref: string): HistoryEntry[] {
    return imageHistory(this.parts(), this.resolve(ref));
  }

  /** `docker image prune`: unnamed images no container uses, then layers and blobs no image references. */
  prune(inUse: (imageId: string) => boolean): PruneResult {
    const result = pruneImages(this.parts(), inUse);
    for (const id of result.images) this.event('delete', id, { name: id });
    if (result.images.length) this.event('prune', '', { reclaimed: String(result.reclaimed) });
    return result;
  }

  /** `docker login`: check the credentials against the registry, then store them in root/auth.json. */
  async login(registry: string | undefined, credentials: Credentials, opts: { insecureRegistries?: string[] } = {}): Promise<string> {
    const key = registryKey(registry);
    if (!credentials.username)
      throw new BerthError('INVALID_ARGUMENT', `Logging in to ${quote(key)} needs a username; give one with -u USER`);
    if (!credentials.password)
      throw new BerthError('INVALID_ARGUMENT', `Logging in to ${quote(key)} needs a password; give one with -p PASS or --password-stdin`);
    const { RegistryClient } = await import('../registry/client');
    await new RegistryClient(key, {
      credentials,
      insecureRegistries: opts.insecureRegistries,
      timeouts: this.opts.registryTimeouts,
    }).checkCredentials();
    this.mutateSync(() => new AuthFile(this.root).set(key, credentials));
    return key;
  }

  /** `docker logout`: forget the registry's credentials; false when there were none. */
  logout(registry: string | undefined): boolean {
    const key = registryKey(registry);
    return this.mutateSync(() => new AuthFile(this.root).remove(key));
  }

  /** By name, by digest reference, by full ID or by a unique ID prefix (with or without "sha256:"). */
  resolve(ref: string): ImageRecord {
    const names = this.repositories.read();
    const found = findImage(this.records, names, ref);
    if (!found) throw imageNotFound(ref);
    return withNames(found, names);
  }

  /** All images, newest first. */
  list(): ImageRecord[] {
    const names = this.repositories.read();
    return this.records
      .all()
      .map((r) => withNames(r, names))
      .sort((a, b) => b.created.localeCompare(a.created) || a.id.localeCompare(b.id));
  }

  /** Point `newRef` at the image `ref` names; a name already in use moves, as with docker tag. */
  tag(ref: string, newRef: string): void {
    const name = formatReference(parseTagReference(newRef));
    this.mutateSync(() => {
      const names = this.repositories.read();
      const image = findImage(this.records, names, ref);
      if (!image) throw imageNotFound(ref);
      names[name] = image.id;
      this.repositories.write(names);
      this.event('tag', image.id, { name: eventName(name) });
    });
  }

  /**
   * docker rmi: removing one of several names only untags. Removing the last name, or the image by ID,
   * deletes the record and every layer and blob no other image uses. An image a container uses is refused
   * unless forced; forced, it loses its names but keeps its content, since its layers are mounted.
   */
  remove(ref: string, opts: RemoveOptions = {}): RemoveResult {
    return this.mutateSync(() => {
      const names = this.repositories.read();
      const stored = findImage(this.records, names, ref);
      if (!stored) throw imageNotFound(ref);
      const image = withNames(stored, names);
      const byName = nameKey(ref);
      const untagged: string[] = [];
      if (byName && names[byName] === image.id) {
        if (image.names.length > 1) {
          delete names[byName];
          this.repositories.write(names);
          this.event('untag', image.id, { name: eventName(byName) });
          return { untagged: [byName], deleted: [] };
        }
      } else if (image.names.length > 1 && !opts.force) {
        throw new BerthError(
          'IMAGE_IN_USE',
          `Image ${shortId(image.id)} has several names (${image.names.map(familiar).join(', ')}); remove them one by one or use --force`,
        );
      }
      const inUse = opts.inUse?.(image.id) ?? false;
      if (inUse && !opts.force) {
        throw new BerthError(
          'IMAGE_IN_USE',
          `Image ${quote(display(ref))} (${shortId(image.id)}) is used by a container; remove the container first or use --force`,
        );
      }
      for (const n of image.names) {
        delete names[n];
        untagged.push(n);
      }
      this.repositories.write(names);
      for (const n of untagged) this.event('untag', image.id, { name: eventName(n) });
      const deleted = inUse ? [] : this.deleteContent(stored);
      if (deleted.length) this.event('delete', image.id, { name: eventName(untagged[0] ?? image.id) });
      return { untagged, deleted };
    });
  }

  private event(action: string, id: string, attributes: Record<string, string>): void {
    try {
      this.opts.onEvent?.(action, id, attributes);
    } catch {
      // a report, never a reason to fail the operation
    }
  }

  /** Bytes of file content of one unpacked layer; undefined when the store lacks it (the API's
   *  /system/df shares a layer's size between the images that use it). */
  layerSize(chainId: string): number | undefined {
    return this.layers.get(chainId)?.size;
  }

  /** The image's unpacked layer directories, top layer first: the order overlayfs wants for lowerdir. */
  layerDirs(image: ImageRecord): string[] {
    return [...image.chainIds].reverse().map((chainId) => {
      const dir = this.layers.diffDir(chainId);
      if (!fs.existsSync(dir)) {
        throw new BerthError(
          'INTERNAL',
          `Image ${shortId(image.id)} is missing its layer ${chainId}; remove the image and import or pull it again`,
        );
      }
      return dir;
    });
  }

  /**
   * The image's layers as short paths root/l/<8 chars> (symlinks to the diff dirs), top layer first: what
   * an overlay lowerdir list of many layers must use to fit mount(2)'s one page of options. Layers
   * unpacked before short links existed get theirs now.
   */
  shortLayerDirs(image: ImageRecord): string[] {
    const dirs = this.layerDirs(image).map((diff) => path.dirname(diff));
    const found = dirs.map((d) => this.layers.links.existing(d));
    if (found.every((l) => l !== undefined)) return found as string[];
    return this.mutateSync(() => dirs.map((d) => this.layers.links.ensure(d)));
  }

  /** Delete the record first (so the image is gone at once), then content no remaining image references. */
  private deleteContent(image: StoredImage): string[] {
    const blobs = this.blobsOf(image);
    this.records.remove(image.id);
    const others = this.records.all();
    const usedLayers = new Set(others.flatMap((o) => o.chainIds));
    const usedBlobs = new Set(others.flatMap((o) => this.blobsOf(o)));
    const deleted = [image.id];
    for (const chainId of [...image.chainIds].reverse()) {
      if (usedLayers.has(chainId)) continue;
      this.layers.remove(chainId);
      deleted.push(chainId);
    }
    for (const digest of blobs) if (!usedBlobs.has(digest)) this.blobs.remove(digest);
    return deleted;
  }

  /** Config, manifest and layer blobs (pulled layers are stored compressed, under their own digests). */
  private blobsOf(image: StoredImage): string[] {
    let layers: string[] = image.config.rootfs.diff_ids;
    try {
      const manifest = JSON.parse(this.blobs.read(image.manifestDigest).toString('utf8')) as ImageManifest;
      layers = manifest.layers.map((l) => l.digest);
    } catch {
      // A missing manifest blob leaves the diff IDs: for imported images they are the layer blobs.
    }
    return [image.id, image.manifestDigest, ...layers].filter(isDigest);
  }

  /** The store's internals, for the operations kept in their own files. */
  private parts(): StoreParts {
    return {
      root: this.root,
      blobs: this.blobs,
      layers: this.layers,
      records: this.records,
      repositories: this.repositories,
      tmp: this.tmp,
      maxLayerSize: () => this.maxLayerSize(),
      mutate: (fn) => this.mutate(fn),
      mutateSync: (fn) => this.mutateSync(fn),
      withNames: (image) => withNames(image, this.repositories.read()),
    };
  }

  private prepareRoot(): void {
    fs.mkdirSync(this.root, { recursive: true });
  }

  /**
   * Others may be staging in tmp/ right now (they work without the lock): only what no live process owns
   * goes. Under the lock nobody writes records, so their temp files are debris.
   */
  private cleanup(): void {
    ensureTmp(this.tmp);
    sweepStaging(this.tmp, { unowned: true });
    this.records.removeLeftovers();
  }

  /** Resolved when an image is written, not when the store is opened: a bad variable must not break `ps`. */
  private maxLayerSize(): number {
    return maxLayerSize(this.opts.maxLayerSize);
  }

  private mutate<T>(fn: () => Promise<T>): Promise<T> {
    this.prepareRoot();
    return this.lock.async(this.lockFile, async () => {
      this.cleanup();
      return fn();
    });
  }

  private mutateSync<T>(fn: () => T): T {
    this.prepareRoot();
    return this.lock.sync(this.lockFile, () => {
      this.cleanup();
      return fn();
    });
  }
}

function storeChanged(what: string): BerthError {
  return new BerthError(
    'INTERNAL',
    `Layers of ${what} were removed from the store ${MAX_PUBLISH_ATTEMPTS} times while it was being added (concurrent rmi or prune); try again`,
  );
}
