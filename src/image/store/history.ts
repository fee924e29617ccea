import type { StoreParts } from './store-parts';
import type { ImageRecord } from '../types';

/** One row of `docker history`, in the Engine API's shape (GET /images/{name}/history). */
export interface HistoryEntry {
  /** The image's ID on the newest row; "<missing>" below it, as docker shows layers it did not build. */
  Id: string;
  /** Seconds since the epoch; 0 when the config does not say. */
  Created: number;
  CreatedBy: string;
  /** The image's names on the newest row, else empty. */
  Tags: string[];
  /** Bytes of file content of the layer this step made (0 for a step without a layer). */
  Size: number;
  Comment: string;
}

/**
 * `docker history`: the config's history entries newest first, each non-empty one paired with the layer it
 * made (the layers in order, bottom first). A config without history, or whose history does not account
 * for every layer (hand-made images do that), gets one row per layer instead, so no layer goes unlisted.
 */
export function imageHistory(parts: StoreParts, image: ImageRecord): HistoryEntry[] {
  const layerSize = (i: number): number => parts.layers.get(image.chainIds[i])?.size ?? 0;
  const history = image.config.history ?? [];
  const withLayers = history.filter((h) => !h.empty_layer).length;
  const seconds = (t: string | undefined): number => {
    const ms = t ? Date.parse(t) : NaN;
    return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
  };
  let rows: Omit<HistoryEntry, 'Id' | 'Tags'>[];
  if (history.length && withLayers === image.chainIds.length) {
    let layer = 0;
    rows = history.map((h) => ({
      Created: seconds(h.created),
      CreatedBy: h.created_by ?? '',
      Size: h.empty_layer ? 0 : layerSize(layer++),
      Comment: h.comment ?? '',
    }));
  } else {
    rows = image.chainIds.map((_, i) => ({ Created: seconds(image.created), CreatedBy: '', Size: layerSize(i), Comment: '' }));
  }
  return rows.reverse().map((r, i) => ({ Id: i === 0 ? image.id : '<missing>', Tags: i === 0 ? image.names : [], ...r }));
}
