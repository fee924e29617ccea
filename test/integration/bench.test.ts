// `berth bench` (issue 12): a short real run on the busybox fixture writes a table, JSON with
// every row's summary and raw samples, and a self-contained HTML report whose plot has one series
// per row; the page is rendered by headless Chromium (Debian's chromium package) and its
// screenshot must show the plot. Timings are never asserted, only their consistency.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import { CLI_PATH, runCli, type TempRoots } from '../helpers/env';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
let roots: TempRoots;
beforeAll(() => {
  ({ roots } = fixture);
});

interface Row {
  name: string;
  group: string;
  samples: number[];
  summary?: { n: number; median: number; p90: number; p99: number; min: number; max: number };
  error?: string;
  skipped?: boolean;
  ratios: { floor?: number; crun?: number; runc?: number };
}

const onPath = (bin: string) => (process.env.PATH ?? '').split(':').some((d) => d !== '' && fs.existsSync(path.join(d, bin)));

describe('berth bench', () => {
  it('a short run: table, JSON with n samples per row, HTML with one plot series per row that Chromium renders', async () => {
    const json = path.join(roots.base, 'bench.json');
    const html = path.join(roots.base, 'bench.html');
    const r = await runCli(['bench', '--iterations', '3', '--layers', '1,2', '--json', json, '--html', html], {
      roots,
      timeoutMs: 300_000,
    });
    expect(r.code, r.stderr).toBe(0);
    // stdout is no terminal here: a table and no progress bar
    expect(r.stdout).toMatch(/^ROW +N +MEDIAN ms +P90 ms +P99 ms +MIN ms/);
    expect(r.stdout + r.stderr).not.toContain('runs  ');

    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as { unit: string; rows: Row[]; options: { iterations: number } };
    expect(result.unit).toBe('ms');
    const byName = new Map(result.rows.map((row) => [row.name, row]));
    const expected = [
      'floor: clone+overlay+pivot_root+execve+wait',
      'overlay mount, 1 layer',
      'overlay mount, 2 layers',
      'bind mount',
      'berth API run (warm, in-process)',
      'berth CLI run --rm (cold)',
      'berth-oci run (OCI bundle)',
      ...['runc', 'crun', 'youki', 'runsc'].filter(onPath).map((rt) => `${rt} run (OCI bundle)`),
      ...(onPath('fuse-overlayfs') && fs.existsSync('/dev/fuse') ? ['fuse-overlayfs mount, 1 layer'] : []),
    ];
    for (const name of expected) {
      const row = byName.get(name);
      expect(row, `row ${name} in ${[...byName.keys()].join(', ')}`).toBeDefined();
      expect(row!.error, `${name}: ${row!.error}`).toBeUndefined();
    }
    for (const row of result.rows) {
      if (row.error !== undefined) {
        expect(row.samples).toEqual([]);
        continue;
      }
      const s = row.summary!;
      expect(row.samples).toHaveLength(3);
      expect(s.n).toBe(3);
      expect(row.samples.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
      expect(s.min).toBe(Math.min(...row.samples));
      expect(s.median).toBeLessThanOrEqual(s.p90);
      expect(s.p90).toBeLessThanOrEqual(s.p99);
      expect(s.p99).toBeLessThanOrEqual(s.max);
      expect(row.ratios.floor).toBeGreaterThan(0);
      if (onPath('crun')) expect(row.ratios.crun).toBeGreaterThan(0);
      if (onPath('runc')) expect(row.ratios.runc).toBeGreaterThan(0);
    }
    expect(byName.get(expected[0])!.ratios.floor).toBe(1);

    // self-contained: no URL of any scheme that fetches, no script at all
    const page = fs.readFileSync(html, 'utf8');
    expect(page).not.toMatch(/https?:\/\//i);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<link\b|@import|url\(/i);
    const plotted = result.rows.filter((row) => row.samples.length > 0);
    const series = [...page.matchAll(/<g class="series" data-row="([^"]*)"/g)].map((m) => m[1]);
    expect(series).toEqual(plotted.map((row) => row.name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')));
    expect(page.match(/class="legend-item"/g)).toHaveLength(plotted.length);
    for (const row of plotted) {
      const g = page.slice(page.indexOf(`data-row="${row.name}"`));
      expect(g.slice(0, g.indexOf('</g>')).match(/<circle /g)).toHaveLength(3);
    }

    // rendered by a real browser: a PNG with the plot's colours on it
    expect(onPath('chromium'), 'chromium is needed (apt-get install -y chromium)').toBe(true);
    const shot = path.join(roots.base, 'bench.png');
    const profile = fs.mkdtempSync(path.join(roots.base, 'chromium-'));
    const c = spawnSync(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        `--user-data-dir=${profile}`,
        `--screenshot=${shot}`,
        '--window-size=1200,900',
        `file://${html}`,
      ],
      { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(c.status, c.stderr).toBe(0);
    const png = PNG.sync.read(fs.readFileSync(shot));
    expect([png.width, png.height]).toEqual([1200, 900]);
    let dark = 0;
    let coloured = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [red, green, blue] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (Math.min(red, green, blue) < 160) dark++;
      if (Math.max(red, green, blue) - Math.min(red, green, blue) > 60) coloured++;
    }
    const pixels = png.width * png.height;
    expect(dark / pixels).toBeGreaterThan(0.005); // text and axes
    expect(coloured / pixels).toBeGreaterThan(0.002); // the series' boxes, dots and legend swatches
  }, 360_000);

  it('on a terminal, a progress bar (script(1) gives the CLI a pty)', () => {
    const cmd = ['node', '--', CLI_PATH, 'bench', '--iterations', '1', '--layers', '1', '--runtimes', 'berth-oci'].join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
      encoding: 'utf8',
      env: { ...process.env, BERTH_ROOT: roots.root, BERTH_RUNROOT: roots.runRoot },
      timeout: 120_000,
      killSignal: 'SIGKILL',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // cli-progress redraws one line: the bar, the share of runs done, the row being measured
    expect(r.stdout).toMatch(/bench \[[\u2588\u2591]+\] \d+% \d+\/\d+ runs/);
    expect(r.stdout).toMatch(/\] 100% (\d+)\/\1 runs/);
    expect(r.stdout).toMatch(/ROW +N +MEDIAN ms/);
  }, 180_000);

  it('an image that is not in the store: one line naming how to get one, exit status 125', async () => {
    const r = await runCli(['bench', '--image', 'no-such-image', '--iterations', '1'], { roots });
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('no-such-image');
    expect(r.stderr).toMatch(/berth pull .*berth import/);
  });

  it('a bad flag value is refused before anything runs', async () => {
    const r = await runCli(['bench', '--layers', '1,x'], { roots });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/--layers/);
    const rt = await runCli(['bench', '--runtimes', 'runc,no-such-runtime'], { roots });
    expect(rt.code).toBe(125);
    expect(rt.stderr.trim()).toMatch(/^berth: --runtimes: "no-such-runtime" is not an executable on PATH/);
    expect(rt.stderr.trim().split('\n')).toHaveLength(1);
  });
});
