/** Summaries of latency samples, as every report of `berth bench` prints them. */

export interface Summary {
  /** Number of samples (warm-up runs are never among them). */
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * The q-quantile (0 < q <= 1) of ascending samples by the nearest-rank method: the smallest sample
 * with at least q of all samples at or below it. Always one of the samples (no interpolation), so
 * that a p99 of 3 runs is the slowest run, not a value nobody measured.
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no samples');
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The middle sample, or the mean of the two middle ones. */
export function median(sorted: readonly number[]): number {
  if (sorted.length === 0) throw new RangeError('median of no samples');
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** n, median, p90, p99, min, max and mean of samples in any order. median <= p90 <= p99 always:
 *  the nearest-rank p90 of two or more samples is at or above the upper middle one. */
export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    median: median(s),
    p90: quantile(s, 0.9),
    p99: quantile(s, 0.99),
    min: s[0],
    max: s[s.length - 1],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}
