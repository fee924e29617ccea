/**
 * `berth bench` as a function: plans the rows, measures them one after the other (each bounded in
 * runs and wall time; a failing row gets its error and the others still run), computes the ratios,
 * and removes everything it made (temp dir, mounts, containers, cgroups) whatever happens.
 * The CLI (src/cli/bench.ts) and the repository's `npm run bench` (bench/run.mjs) both call it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { causeChain } from '../errors';
import type { Berth } from '../index';
import { mountRows } from './mounts';
import { FLOOR_ROW, runtimeRowName, type RowPlan, type RowResult } from './rows';
import { runtimeRows, writeBundleConfig } from './runtimes';
import { mountBundleRootfs, setup, teardown } from './setup';
import { floorRow, startRows } from './start';
import { summarize } from './stats';

export interface BenchOptions {
  readonly berth: Berth;
  /** An image in the store: the rootfs of every start row. */
  readonly image: string;
  readonly iterations: number;
  /** Warm-up runs per row before the samples (default 2). */
  readonly warmup?: number;
  /** Wall time per row in ms: a row stops once it has used it, keeping its samples (default 30 s). */
  readonly maxMsPerRow?: number;
  /** Overlay rows: one per layer count. */
  readonly layers: number[];
  /** OCI runtimes (names on PATH or paths); default: every one of runc, crun, youki, runsc found. */
  readonly runtimes?: string[];
  /** Global options for the CLI rows' `berth` (--root, --runroot, ...). */
  readonly cliGlobalArgs: string[];
  /** Progress: the number of runs in all, then called once per run. */
  readonly onPlan?: (totalRuns: number, rows: string[]) => void;
  readonly onRun?: (row: string, runs: number) => void;
  /** Aborted: the row being measured stops at its next run, the rest are not measured, and
   *  everything is cleaned up as after a complete run. */
  readonly signal?: AbortSignal;
}

export interface BenchResult {
  readonly version: 1;
  readonly date: string;
  readonly host: { kernel: string; cpus: number; node: string; hostname: string };
  readonly options: { image: string; iterations: number; warmup: number; maxMsPerRow: number; layers: number[] };
  readonly rows: RowResult[];
  readonly notes: string[];
}

/**
 * The environment of every program the rows spawn: the caller's without NODE_EXTRA_CA_CERTS, which
 * Node reads and parses at every start before any JavaScript runs (tens of ms where a machine sets
 * it), a cost of the machine, not of a container start; BENCH_KEEP_NODE_EXTRA_CA_CERTS=1 keeps it.
 */
export function runEnv(notes: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (env.NODE_EXTRA_CA_CERTS !== undefined && !env.BENCH_KEEP_NODE_EXTRA_CA_CERTS) {
    notes.push(`NODE_EXTRA_CA_CERTS is set here; the spawned Node programs ran without it (BENCH_KEEP_NODE_EXTRA_CA_CERTS=1 keeps it)`);
    delete env.NODE_EXTRA_CA_CERTS;
  }
  return env;
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const warmup = o.warmup ?? 2;
  const maxMsPerRow = o.maxMsPerRow ?? 30_000;
  const notes: string[] = [];
  const env = runEnv(notes);
  const image = o.berth.images.resolve(o.image);
  const layerDirs = o.berth.images.shortLayerDirs(image);
  const d = setup(layerDirs);
  const results: RowResult[] = [];
  try {
    let bundle: string | undefined;
    const bundleDir = () => {
      if (bundle === undefined) {
        bundle = mountBundleRootfs(d, layerDirs);
        writeBundleConfig(d, bundle);
      }
      return bundle;
    };
    const plans: RowPlan[] = [
      floorRow(d),
      ...mountRows(d, o.layers),
      ...startRows(d, { berth: o.berth, image: o.image, cliGlobalArgs: o.cliGlobalArgs, env }),
      ...runtimeRows(d, bundleDir, o.runtimes, env),
    ];
    const runsPerRow = warmup + o.iterations;
    o.onPlan?.(
      plans.filter((p) => !p.skip).length * runsPerRow,
      plans.map((p) => p.name),
    );
    for (const p of plans) {
      if (o.signal?.aborted) {
        results.push({ name: p.name, group: p.group, samples: [], error: 'interrupted', ratios: {} });
        continue;
      }
      if (p.skip) {
        results.push({ name: p.name, group: p.group, samples: [], error: p.skip, skipped: true, ratios: {} });
        continue;
      }
      let done = 0;
      const tick = (runs: number) => {
        done += runs;
        o.onRun?.(p.name, runs);
      };
      try {
        const samples = await p.measure({ iterations: o.iterations, warmup, maxMs: maxMsPerRow, tick, signal: o.signal });
        if (samples.length === 0) throw new Error('no samples');
        results.push({ name: p.name, group: p.group, samples, summary: summarize(samples), ratios: {} });
      } catch (e) {
        results.push({ name: p.name, group: p.group, samples: [], error: causeChain(e).join(': '), ratios: {} });
      }
      // a row cut short by its time budget (or an error) still moves the bar to its end
      if (done < runsPerRow) o.onRun?.(p.name, runsPerRow - done);
    }
  } finally {
    notes.push(...teardown(d).map((p) => `cleanup: ${p}`));
  }
  addRatios(results);
  return {
    version: 1,
    date: new Date().toISOString(),
    host: { kernel: os.release(), cpus: os.cpus().length, node: process.version, hostname: os.hostname() },
    options: { image: o.image, iterations: o.iterations, warmup, maxMsPerRow, layers: o.layers },
    rows: results,
    notes: notes.concat(loadNote()).filter((n) => n !== ''),
  };
}

/** Each row's median over the floor's, crun's and runc's. */
function addRatios(rows: RowResult[]): void {
  const median = (name: string) => rows.find((r) => r.name === name)?.summary?.median;
  const bases = { floor: median(FLOOR_ROW), crun: median(runtimeRowName('crun')), runc: median(runtimeRowName('runc')) };
  for (const r of rows) {
    if (!r.summary) continue;
    for (const [k, base] of Object.entries(bases) as [keyof RowResult['ratios'], number | undefined][]) {
      if (base !== undefined && base > 0) r.ratios[k] = r.summary.median / base;
    }
  }
}

function loadNote(): string {
  try {
    return `load average at the end: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (other work on the machine skews every row)`;
  } catch {
    return '';
  }
}
