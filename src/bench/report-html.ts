/**
 * `berth bench --html FILE`: one self-contained page (inline CSS and SVG; no script, no font, no
 * network resource), to open in a browser: the table, and a latency distribution plot with one
 * series per row (every sample as a dot, the interquartile box, the median as a bar, p90 and p99
 * as ticks) on a log scale, since the rows span microseconds (mounts) to tens of milliseconds.
 */
import * as fs from 'node:fs';
import type { BenchResult } from './run';
import type { RowResult } from './rows';
import { quantile } from './stats';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const ms = (v: number | undefined) => (v === undefined ? '-' : v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(1));
const ratio = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(2)}×`);

/** Distinct hues for neighbouring rows (the golden angle), dark enough on white. */
export const seriesColor = (i: number) => `hsl(${Math.round((i * 137.508) % 360)}, 70%, 40%)`;

const WIDTH = 1120;
const LABEL = 330;
const RIGHT = 30;
const ROW_H = 34;
const TOP = 40;

/** 1, 2, 5 times the powers of ten between lo and hi. */
function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

function tickLabel(v: number): string {
  if (v >= 1000) return `${v / 1000} s`;
  if (v >= 1) return `${v} ms`;
  return `${Math.round(v * 1000)} µs`;
}

/** A fixed pseudo-random jitter per sample (the same page for the same data). */
function jitter(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x) - 0.5;
}

export function plotSvg(rows: RowResult[]): string {
  const plotted = rows.filter((r) => r.summary && r.samples.length > 0);
  if (plotted.length === 0) return '<p>No row has samples.</p>';
  const all = plotted.flatMap((r) => r.samples).filter((v) => v > 0);
  const lo = Math.min(...all) / 1.3;
  const hi = Math.max(...all) * 1.3;
  const x = (v: number) =>
    LABEL + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (WIDTH - LABEL - RIGHT);
  const plotH = plotted.length * ROW_H;
  const legendTop = TOP + plotH + 46;
  const legendCols = 2;
  const legendH = Math.ceil(plotted.length / legendCols) * 20 + 10;
  const height = legendTop + legendH;
  const parts: string[] = [];
  parts.push(
    `<svg width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Latency distribution per row">`,
  );
  parts.push(`<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#fff"/>`);
  for (const t of ticks(lo, hi)) {
    const tx = x(t).toFixed(1);
    parts.push(`<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${TOP + plotH}" stroke="#ddd"/>`);
    parts.push(`<text x="${tx}" y="${TOP - 12}" text-anchor="middle" class="tick">${esc(tickLabel(t))}</text>`);
    parts.push(`<text x="${tx}" y="${TOP + plotH + 18}" text-anchor="middle" class="tick">${esc(tickLabel(t))}</text>`);
  }
  plotted.forEach((r, i) => {
    const s = r.summary!;
    const color = seriesColor(i);
    const y = TOP + i * ROW_H + ROW_H / 2;
    const sorted = [...r.samples].sort((a, b) => a - b);
    const q1 = quantile(sorted, 0.25);
    const q3 = quantile(sorted, 0.75);
    parts.push(`<g class="series" data-row="${esc(r.name)}" data-n="${s.n}">`);
    if (i % 2 === 0) parts.push(`<rect x="0" y="${y - ROW_H / 2}" width="${WIDTH}" height="${ROW_H}" fill="#f4f6f8"/>`);
    parts.push(`<text x="${LABEL - 10}" y="${y + 4}" text-anchor="end" class="label">${esc(r.name)}</text>`);
    parts.push(`<line x1="${x(s.min).toFixed(1)}" y1="${y}" x2="${x(s.max).toFixed(1)}" y2="${y}" stroke="${color}" stroke-width="1"/>`);
    parts.push(
      `<rect x="${x(q1).toFixed(1)}" y="${y - 9}" width="${Math.max(1, x(q3) - x(q1)).toFixed(1)}" height="18" fill="${color}" fill-opacity="0.18" stroke="${color}"/>`,
    );
    r.samples.forEach((v, k) => {
      parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${(y + jitter(k) * 18).toFixed(1)}" r="2.6" fill="${color}" fill-opacity="0.6"/>`);
    });
    parts.push(
      `<line x1="${x(s.median).toFixed(1)}" y1="${y - 12}" x2="${x(s.median).toFixed(1)}" y2="${y + 12}" stroke="#111" stroke-width="3"/>`,
    );
    for (const [q, v] of [
      ['p90', s.p90],
      ['p99', s.p99],
    ] as const) {
      parts.push(
        `<line x1="${x(v).toFixed(1)}" y1="${y - 7}" x2="${x(v).toFixed(1)}" y2="${y + 7}" stroke="${color}" stroke-width="2" stroke-dasharray="${q === 'p90' ? '3,2' : '1,1'}"/>`,
      );
    }
    parts.push(`<title>${esc(`${r.name}: median ${ms(s.median)} ms, p90 ${ms(s.p90)} ms, p99 ${ms(s.p99)} ms, n ${s.n}`)}</title>`);
    parts.push('</g>');
  });
  parts.push(
    `<g class="legend"><text x="${LABEL}" y="${legendTop - 14}" class="label">Legend (dots: samples; box: p25-p75; black bar: median; dashed: p90; dotted: p99)</text>`,
  );
  plotted.forEach((r, i) => {
    const col = i % legendCols;
    const row = Math.floor(i / legendCols);
    const lx = LABEL + col * ((WIDTH - LABEL) / legendCols);
    const ly = legendTop + row * 20;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${seriesColor(i)}"/>`);
    parts.push(`<text x="${lx + 18}" y="${ly + 1}" class="legend-item">${esc(r.name)}</text>`);
  });
  parts.push('</g></svg>');
  return parts.join('\n');
}

export function htmlReport(result: BenchResult): string {
  const rows = result.rows
    .map(
      (r) =>
        `<tr><td>${esc(r.name)}</td><td>${r.summary?.n ?? '-'}</td><td>${ms(r.summary?.median)}</td><td>${ms(r.summary?.p90)}</td>` +
        `<td>${ms(r.summary?.p99)}</td><td>${ms(r.summary?.min)}</td><td>${ratio(r.ratios.floor)}</td><td>${ratio(r.ratios.crun)}</td>` +
        `<td>${ratio(r.ratios.runc)}</td><td class="why">${r.error === undefined ? '' : esc(r.error)}</td></tr>`,
    )
    .join('\n');
  const h = result.host;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>berth bench: ${esc(h.hostname)} ${esc(result.date)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #111; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
p.meta { color: #555; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 12px 0 24px; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child, td.why { text-align: left; }
td.why { color: #a33; max-width: 420px; }
svg text { font-family: sans-serif; }
svg .tick { font-size: 11px; fill: #555; }
svg .label { font-size: 12px; fill: #111; }
svg .legend-item { font-size: 12px; fill: #111; }
</style>
</head>
<body>
<h1>berth bench</h1>
<p class="meta">${esc(result.date)} · ${esc(h.hostname)} · Linux ${esc(h.kernel)} · ${h.cpus} CPUs · Node ${esc(h.node)} · image ${esc(result.options.image)} · ${result.options.iterations} iterations per row (+${result.options.warmup} warm-up)</p>
<h2>Latency distribution</h2>
${plotSvg(result.rows)}
<h2>Rows (milliseconds)</h2>
<table>
<tr><th>row</th><th>n</th><th>median</th><th>p90</th><th>p99</th><th>min</th><th>/floor</th><th>/crun</th><th>/runc</th><th></th></tr>
${rows}
</table>
${result.notes.map((n) => `<p class="meta">${esc(n)}</p>`).join('\n')}
</body>
</html>
`;
}

export function writeHtmlReport(file: string, result: BenchResult): void {
  fs.writeFileSync(file, htmlReport(result));
}
