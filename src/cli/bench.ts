/**
 * `berth bench`: mount and start latency on this host (src/bench/run.ts measures; here are the
 * flags, the image check, the progress bar and where the reports go). Needs root, and an image in
 * the store for the start rows' rootfs.
 */
import { Berth, type BerthOptions } from '../index';
import { BerthError, invalid } from '../errors';
import { command, positionals } from './command';
import type { BenchResult } from '../bench/run';
import { onPath } from '../bench/measure';
import * as fs from 'node:fs';

const bench = command({
  name: 'bench',
  summary: 'Measure mount and container start latency on this host (berth, the floor, OCI runtimes)',
  notes:
    'Rows: the floor (the raw syscalls of a start, in C), overlay mounts of N layers, a bind mount, aufs and\n' +
    'fuse-overlayfs where present, berth through the Node API (warm) and the CLI (cold), and the same OCI\n' +
    'bundle under every runtime on PATH and berth-oci. Each: median, p90, p99, min, n and ratios to the\n' +
    'floor, crun and runc. Needs root and an image in the store (berth pull busybox).',
  flags: [
    { name: '--iterations', short: 'n', kind: 'string', value: 'N', help: 'Timed runs per row, after 2 warm-up runs (default 20)' },
    { name: '--layers', kind: 'string', value: 'LIST', help: 'Layer counts of the overlay mount rows, comma-separated (default 1,10,100)' },
    {
      name: '--runtimes',
      kind: 'string',
      value: 'LIST',
      help: 'OCI runtimes to compare, names on PATH or paths (default: runc, crun, youki, runsc where found); berth-oci always',
    },
    {
      name: '--image',
      kind: 'string',
      value: 'IMAGE',
      help: 'Image of the start rows, already in the store, with /bin/true (default busybox)',
    },
    { name: '--max-seconds', kind: 'string', value: 'N', help: 'Wall time per row; a row stops early once it is used (default 30)' },
    { name: '--json', kind: 'string', value: 'FILE', help: 'Also write the results (summaries and raw samples) as JSON to FILE' },
    { name: '--html', kind: 'string', value: 'FILE', help: 'Also write a self-contained HTML report with a latency plot per row to FILE' },
  ],
  async run(args, global): Promise<number> {
    positionals(bench, args, 0);
    const iterations = positiveInt('--iterations', args.iterations, 20, 10_000);
    const maxSeconds = positiveInt('--max-seconds', args.maxSeconds, 30, 86_400);
    const layers = (args.layers ?? '1,10,100').split(',').map((v) => positiveInt('--layers', v.trim(), 1, 200));
    const runtimes = args.runtimes === undefined ? undefined : args.runtimes.split(',').map((r) => r.trim());
    if (runtimes?.some((r) => r === '')) throw invalid('--runtimes', 'a comma-separated list of runtime names', args.runtimes);
    const missing = runtimes?.find((r) => r !== 'berth-oci' && !(r.includes('/') ? isExecutable(r) : onPath(r)));
    if (missing !== undefined) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `--runtimes: ${JSON.stringify(missing)} is not an executable on PATH; install it or give its path`,
      );
    }
    const imageName = args.image ?? 'busybox';
    if (process.getuid?.() !== 0)
      throw new BerthError('NOT_ROOT', 'berth bench needs root (it mounts and starts containers): run it with sudo');
    const berth = new Berth(global);
    try {
      berth.images.resolve(imageName);
    } catch (e) {
      if (!(e instanceof BerthError) || e.code !== 'IMAGE_NOT_FOUND') throw e;
      throw new BerthError(
        'IMAGE_NOT_FOUND',
        `berth bench: no image ${JSON.stringify(imageName)} in the store; get one with 'berth pull busybox' or 'berth import ROOTFS.tar busybox', or name another with --image`,
      );
    }
    const { runBench } = await import('../bench/run');
    const bar = process.stdout.isTTY && process.stderr.isTTY ? progressBar() : undefined;
    let result: BenchResult;
    // Ctrl-C stops the row being measured; the finally of runBench removes what it made
    const interrupt = new AbortController();
    const onSignal = () => interrupt.abort();
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    try {
      result = await runBench({
        berth,
        image: imageName,
        iterations,
        maxMsPerRow: maxSeconds * 1000,
        layers,
        runtimes,
        cliGlobalArgs: globalArgs(global),
        onPlan: (total) => bar?.start(total, 0, { row: '' }),
        onRun: (row, runs) => bar?.increment(runs, { row }),
        signal: interrupt.signal,
      });
    } finally {
      bar?.stop();
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
    if (interrupt.signal.aborted) {
      process.stderr.write('berth bench: interrupted; everything it made is removed\n');
      return 130;
    }
    process.stdout.write((await import('../bench/report-table')).tableReport(result));
    if (args.json !== undefined) (await import('../bench/report-json')).writeJsonReport(args.json, result);
    if (args.html !== undefined) (await import('../bench/report-html')).writeHtmlReport(args.html, result);
    return 0;
  },
});

/** One bar on stderr (cli-progress, loaded only on a terminal), the row being measured beside it. */
function progressBar(): import('cli-progress').SingleBar {
  const progress = require('cli-progress') as typeof import('cli-progress');
  return new progress.SingleBar(
    { format: 'bench [{bar}] {percentage}% {value}/{total} runs  {row}', barsize: 30, hideCursor: true, clearOnComplete: true },
    progress.Presets.shades_classic,
  );
}

/** The global options the CLI rows' `berth run` gets, so that it uses the same store. */
function globalArgs(g: BerthOptions): string[] {
  const out: string[] = [];
  if (g.root !== undefined) out.push('--root', g.root);
  if (g.runRoot !== undefined) out.push('--runroot', g.runRoot);
  if (g.storageDriver !== undefined) out.push('--storage-driver', g.storageDriver);
  if (g.cgroupParent !== undefined) out.push('--cgroup-parent', g.cgroupParent);
  return out;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function positiveInt(flag: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1 || n > max) throw invalid(flag, `a whole number from 1 to ${max}`, text);
  return n;
}

export default bench;
