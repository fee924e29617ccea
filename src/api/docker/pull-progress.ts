/**
 * A pull's progress as docker's JSON messages (jsonmessage.JSONMessage), the lines the docker CLI
 * draws its per-layer bars from: `Pulling from library/busybox`, then per layer (named by the
 * first 12 hex digits of its blob digest) `Pulling fs layer`, `Downloading` with progressDetail,
 * `Verifying Checksum`, `Download complete`, `Extracting`, `Pull complete` (or `Already exists`),
 * then `Digest: ...` and `Status: ...`. Pure: berth's PullEvents in, messages out.
 */
import type { PullEvent, PullResult } from '../../image/registry/pull';
import { familiarName } from './image-json';

export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  /** The bar as text, for clients older than progressDetail (the docker CLI draws its own). */
  progress?: string;
  stream?: string;
  error?: string;
  errorDetail?: { message: string };
}

/** Downloading lines of one layer at most this often: a fast local pull would send thousands. */
const DOWNLOAD_INTERVAL_MS = 100;
const BAR_WIDTH = 50;

/** docker's units.HumanSize: decimal units, 3 significant digits (2.15MB, 812kB, 5B). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** docker's JSONProgress.String: `[=====>      ]  1.2MB/2.15MB`. */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSize(current).padStart(8);
  const filled = Math.min(BAR_WIDTH, Math.floor((current / total) * 100) / 2) | 0;
  return `[${'='.repeat(filled)}>${' '.repeat(Math.max(0, BAR_WIDTH - filled))}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

export const layerId = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

/** One pull's messages: feed it the pull's events in order, and the result at the end. */
export class PullProgress {
  private readonly seen = new Set<string>();
  private readonly verified = new Set<string>();
  private readonly lastDownload = new Map<string, number>();

  /** `repository` is the registry's path (library/busybox), `tag` the tag or digest pulled. */
  constructor(
    private readonly repository: string,
    private readonly tag: string,
  ) {}

  messages(e: PullEvent, now = Date.now()): JsonMessage[] {
    // the first line comes once the registry answered with a manifest, as docker's: a missing
    // image is then still an HTTP status (404), which the clients show as such
    if (e.type === 'resolved') return [{ status: `Pulling from ${this.repository}`, id: this.tag }];
    const id = layerId(e.digest);
    const out: JsonMessage[] = [];
    const line = (status: string, progressDetail: JsonMessage['progressDetail'] = {}, progress?: string): void => {
      out.push({ status, progressDetail, ...(progress !== undefined ? { progress } : {}), id });
    };
    if (e.status === 'exists') {
      this.seen.add(id);
      line('Already exists');
      return out;
    }
    if (!this.seen.has(id)) {
      this.seen.add(id);
      line('Pulling fs layer');
    }
    switch (e.status) {
      case 'downloading': {
        const current = e.current ?? 0;
        const last = this.lastDownload.get(id);
        if (last !== undefined && now - last < DOWNLOAD_INTERVAL_MS && current < e.total) break;
        this.lastDownload.set(id, now);
        line('Downloading', { current, total: e.total }, progressBar(current, e.total));
        break;
      }
      case 'verified':
        this.verified.add(id);
        line('Verifying Checksum');
        line('Download complete');
        break;
      case 'extracting':
        // berth unpacks while it downloads; docker's order (download, then extract) is kept by
        // reporting the extraction only once the download is complete
        if (this.verified.has(id)) line('Extracting', { current: e.total, total: e.total }, progressBar(e.total, e.total));
        break;
      case 'done':
        if (!this.verified.has(id)) line('Download complete');
        line('Pull complete');
        break;
    }
    return out;
  }

  /** The last two lines: the digest pulled, and whether anything new came. */
  finish(result: PullResult): JsonMessage[] {
    const name = familiarName(result.name);
    return [
      { status: `Digest: ${result.digest}` },
      { status: result.upToDate ? `Status: Image is up to date for ${name}` : `Status: Downloaded newer image for ${name}` },
    ];
  }
}

/** An error once the stream is under way: the only way left to tell the client, and the shape the
 *  docker CLI prints (and exits 1 on). */
export function errorMessage(message: string): JsonMessage {
  return { errorDetail: { message }, error: message };
}
