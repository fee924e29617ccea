/** The table `berth bench` prints on stdout: one line per row, milliseconds, ratios to the bases. */
import type { BenchResult } from './run';
import type { RowResult } from './rows';

const ms = (v: number | undefined) => (v === undefined ? '-' : v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(1));
const ratio = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(2)}x`);

export function tableReport(result: BenchResult): string {
  const header = ['ROW', 'N', 'MEDIAN ms', 'P90 ms', 'P99 ms', 'MIN ms', '/FLOOR', '/CRUN', '/RUNC'];
  const cells = (r: RowResult) => [
    r.name,
    r.summary ? String(r.summary.n) : '-',
    ms(r.summary?.median),
    ms(r.summary?.p90),
    ms(r.summary?.p99),
    ms(r.summary?.min),
    ratio(r.ratios.floor),
    ratio(r.ratios.crun),
    ratio(r.ratios.runc),
  ];
  const lines = result.rows.map(cells);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (c: string[]) =>
    c
      .map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [fmt(header), ...lines.map(fmt)];
  for (const r of result.rows) if (r.error !== undefined) out.push(`${r.skipped ? 'skipped' : 'failed'}: ${r.name}: ${r.error}`);
  for (const n of result.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}
