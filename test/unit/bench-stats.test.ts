// The summaries of `berth bench` (src/bench/stats.ts): nearest-rank quantiles, the median of odd
// and even counts, and the order median <= p90 <= p99 every report relies on.
import { describe, expect, it } from 'vitest';
import { median, quantile, summarize } from '../../src/bench/stats';

describe('bench stats', () => {
  it('median of an odd and an even count, in any input order', () => {
    expect(summarize([5, 1, 3]).median).toBe(3);
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('p90 and p99 by nearest rank: always a measured sample', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    const s = summarize(samples);
    expect(s).toMatchObject({ n: 100, min: 1, max: 100, p90: 90, p99: 99, median: 50.5, mean: 50.5 });
    expect(quantile([1, 2, 3], 0.9)).toBe(3);
    expect(quantile([1, 2, 3], 0.5)).toBe(2);
    expect(quantile([10, 20], 0.99)).toBe(20);
    expect(quantile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110], 0.9)).toBe(100);
  });

  it('median <= p90 <= p99 <= max and min <= median for any sample set', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 50;
    for (let n = 1; n <= 60; n++) {
      const s = summarize(Array.from({ length: n }, rand));
      expect(s.n).toBe(n);
      expect(s.min).toBeLessThanOrEqual(s.median);
      expect(s.median).toBeLessThanOrEqual(s.p90);
      expect(s.p90).toBeLessThanOrEqual(s.p99);
      expect(s.p99).toBeLessThanOrEqual(s.max);
    }
  });

  it('no samples is an error, not NaN', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});
