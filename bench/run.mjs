#!/usr/bin/env node
// Start-latency benchmark: berth against crun and runc, with process-spawn floors.
//
//   npm run bench                      # as root
//   BENCH_ITERATIONS=20 npm run bench  # fewer runs
//   BENCH_JSON=out.json npm run bench  # also write the results as JSON
//   BENCH_ONLY=images npm run bench    # only the image rows (pull, unpack)
//   BENCH_ONLY=oci npm run bench       # only the OCI runtime rows (oci.mjs: berth-oci, runc, crun, podman)
//   BENCH_ONLY=scale npm run bench     # only the scale rows (scale.mjs: layers, 100 at once, ps -a, memory)
//   BENCH_ONLY=api npm run bench       # only the Engine API rows (api-service.mjs: docker run via the service vs podman)
//
// The rows every host can have (the floor, mounts, berth API and CLI starts, `node -e 0`, and one
// OCI bundle under runc, crun and berth-oci) are `berth bench`'s own code (src/bench, through
// dist/bench/run.js); what follows here are the repository-only comparisons. BENCH_HTML=FILE
// writes `berth bench --html`'s report of those rows.
//
// Every row times the same thing: a synchronous spawn of one command that
// starts a container running /bin/true and waits for it to exit, measured with
// process.hrtime around child_process.spawnSync. The table gives the median
// (and min, p90) of N runs after a short warm-up, and each median's ratio to
// crun's and runc's.
//
// The last rows come from images.mjs (pull from a local registry against
// `skopeo copy`, unpack of a large layer against `tar -x`; at most 5 runs
// each) and network.mjs (start-to-exit on a bridge network against
// --network none and podman, in a network namespace of its own; at most 20).
// Pairs of rows are timed in alternation, and each pair may use twice the
// per-row time budget. After the targets, oci.mjs's table: berth-oci (the runc-compatible runtime)
// against runc and crun on one bundle (run, create+start+state+delete) and under podman (issue 10).
//
// Bounds: BENCH_ITERATIONS runs per row (default 50), each run killed after
// RUN_TIMEOUT_MS, and each row stops early once it has used
// BENCH_MAX_SECONDS (default 60) of wall time.
//
// Cleanup: only processes this script started are killed (spawnSync's timeout
// kills its own child); every container id used is `<prefix>-<n>` and is
// removed with `runc|crun delete -f` if its state is still there; the temp
// dir is removed unless something is still mounted under it.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { measureConmonRss, measureDetachedCycle, measureExec, measureRuncExec, measureShimRss } from './lifecycle.mjs';
import { IMAGE_ROWS, ImageBench, printImageTargets } from './images.mjs';
import { NETWORK_ROWS, measureNetwork, printNetworkTargets } from './network.mjs';
import { measureOci, ociOptionsFromEnv, printOci } from './oci.mjs';
import { measureColdStart, printColdStart } from './cold-start.mjs';
import { measureScale, printScale } from './scale.mjs';
import { PULL_ROWS, measurePullCompare, printPullTargets } from './pull-compare.mjs';
import { measureApiService, printApiService } from './api-service.mjs';

// crun and runc run their bundle without a network (a fresh namespace with lo): berth's rows do
// the same, so berth's default network is set to none for every berth this script starts (the
// API and the CLI read BERTH_DEFAULT_NETWORK). The bridge network has rows of its own (network.mjs).
process.env.BERTH_DEFAULT_NETWORK = 'none';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ITERATIONS = positiveInt(process.env.BENCH_ITERATIONS, 50);
const MAX_MS_PER_ROW = positiveInt(process.env.BENCH_MAX_SECONDS, 60) * 1000;
const WARMUP = 3;
/** BENCH_ONLY=images: only the pull and unpack rows (a few minutes instead of the whole table). */
const ONLY = process.env.BENCH_ONLY ?? '';
const RUN_TIMEOUT_MS = 10_000;
const { summarize: stats } = await import(pathToFileURL(path.join(REPO_ROOT, 'dist/bench/stats.js')).href);

const RUNTIME_STATE_DIRS = { runc: '/run/runc', crun: '/run/crun' };

// ---------------------------------------------------------------------------
// Timing core (shared by the main process and the crun worker)
// ---------------------------------------------------------------------------

/**
 * Runs makeRun(i) -> {cmd, args, after?} WARMUP + iterations times, timing only
 * the spawnSync of cmd. `after` (container deletion) is not timed. Throws on
 * the first failed run, with its stderr.
 */
function timeRuns(label, iterations, makeRun) {
  const samples = [];
  const started = Date.now();
  for (let i = 0; i < WARMUP + iterations; i++) {
    if (i >= WARMUP && Date.now() - started > MAX_MS_PER_ROW) break;
    const { cmd, args, after } = makeRun(i);
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: RUN_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const t1 = process.hrtime.bigint();
    after?.();
    if (r.error || r.status !== 0) {
      const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
      throw new Error(`${label}: \`${[cmd, ...args].join(' ')}\` failed (${why}): ${String(r.stderr ?? '').trim()}`);
    }
    if (i >= WARMUP) samples.push(Number(t1 - t0) / 1e6);
  }
  return samples;
}

/** `run` without --detach removes the container on exit; delete only if state is left. */
function deleteContainer(runtime, globalArgs, id) {
  if (!fs.existsSync(path.join(RUNTIME_STATE_DIRS[runtime], id))) return;
  spawnSync(runtime, [...globalArgs, 'delete', '-f', id], { stdio: 'ignore', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

function measureHostTrue(iterations) {
  return timeRuns('/bin/true', iterations, () => ({ cmd: '/bin/true', args: [] }));
}

// berth rows. The image is imported once, outside the timed loops.
async function berthWithImage(ctx) {
  const { Berth } = await import(pathToFileURL(path.join(REPO_ROOT, 'dist/index.js')).href);
  const berth = new Berth({ root: ctx.root, runRoot: ctx.runRoot });
  if (!ctx.imported) {
    await berth.importImage(ctx.tar, 'bench-busybox');
    ctx.imported = true;
  }
  return berth;
}

/**
 * The rows of `berth bench` (src/bench/run.ts), on this script's store and image, named as this
 * script's targets and table know them. Returns the BenchResult too, for BENCH_JSON and BENCH_HTML.
 */
async function measureCommon(ctx) {
  const berth = await berthWithImage(ctx);
  const { runBench } = await import(pathToFileURL(path.join(REPO_ROOT, 'dist/bench/run.js')).href);
  let last;
  const result = await runBench({
    berth,
    image: 'bench-busybox',
    iterations: ITERATIONS,
    warmup: WARMUP,
    maxMsPerRow: MAX_MS_PER_ROW,
    layers: [1, 10, 100],
    runtimes: ['runc', 'crun'].filter(have),
    cliGlobalArgs: ['--root', ctx.root, '--runroot', ctx.runRoot],
    onRun: (name) => {
      if (name !== last) process.stderr.write(`bench: ${name}\n`);
      last = name;
    },
  });
  const rows = result.rows.map((r) => {
    const name = COMMON_NAMES[r.name] ?? r.name;
    return r.summary ? { name, stats: r.summary } : { name, error: r.error };
  });
  return { result, rows };
}

/** src/bench's row names -> the names of this script's targets. */
const COMMON_NAMES = {
  'runc run (OCI bundle)': 'runc run',
  'crun run (OCI bundle)': 'crun run',
  'berth API run (warm, in-process)': 'berth API run',
  'berth CLI run --rm (cold)': 'berth CLI run',
};
const { FLOOR_ROW: FLOOR } = await import(pathToFileURL(path.join(REPO_ROOT, 'dist/bench/rows.js')).href);

// ---------------------------------------------------------------------------
// Setup: fixture tar -> OCI bundle
// ---------------------------------------------------------------------------

function setup() {
  const dir = fs.mkdtempSync('/tmp/berth-bench-');
  const tar = path.join(dir, 'busybox.tar');
  run('bash', [path.join(REPO_ROOT, 'test/fixtures/build-busybox.sh'), tar]);
  const bundle = path.join(dir, 'bundle');
  const rootfs = path.join(bundle, 'rootfs');
  fs.mkdirSync(rootfs, { recursive: true });
  run('tar', ['--extract', '--file', tar, '--directory', rootfs, '--numeric-owner', '--same-permissions']);

  // `runc spec` gives the default config both runtimes accept; crun's own
  // `crun spec` is the fallback when only crun is installed.
  const specTool = have('runc') ? 'runc' : 'crun';
  run(specTool, ['spec', '--bundle', bundle]);
  const configPath = path.join(bundle, 'config.json');
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  config.process.args = ['/bin/true'];
  config.process.terminal = false;
  config.root = { path: 'rootfs', readonly: false };
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));

  const root = path.join(dir, 'berth-root');
  const runRoot = path.join(dir, 'berth-run');
  fs.mkdirSync(root);
  fs.mkdirSync(runRoot);
  return { dir, tar, bundle, root, runRoot };
}

function teardown(ctx) {
  for (const runtime of ['runc', 'crun']) {
    const stateDir = RUNTIME_STATE_DIRS[runtime];
    for (const id of safeReaddir(stateDir)) {
      if (id.startsWith(`berth-bench-${process.pid}-${runtime}-`)) deleteContainer(runtime, [], id);
    }
  }
  const prefix = ctx.dir + '/';
  const mounted = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === ctx.dir || m.startsWith(prefix)));
  if (mounted.length > 0) {
    console.error(`bench: not removing ${ctx.dir}, still mounted: ${mounted.join(' ')}`);
    return;
  }
  fs.rmSync(ctx.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

/** The issues' targets: API at most 2x the floor and 0.3x crun (issue 12). The CLI's cold-start
 *  target (1.1x a bare `node -e 0`) is `berth --version`'s, printed by bench/cold-start.mjs. */
function printTargets(rows, images) {
  const m = (name) => rows.find((r) => r.name === name)?.stats?.median;
  const line = (label, v, base, target) => {
    if (v === undefined || base === undefined) return console.log(`${label}: n/a`);
    const ratio = v / base;
    console.log(`${label}: ${ratio.toFixed(2)} (target <= ${target}) ${ratio <= target ? 'met' : 'MISSED'}`);
  };
  console.log('');
  line('berth API / floor', m('berth API run'), m(FLOOR), 2);
  line('berth API / crun', m('berth API run'), m('crun run'), 0.3);
  line('berth API / runc', m('berth API run'), m('runc run'), 0.5);
  line('berth CLI run / node -e 0 (a whole container start)', m('berth CLI run'), m('node -e 0'), Infinity);
  line('berth CLI / crun', m('berth CLI run'), m('crun run'), Infinity);
  line('berth CLI exec / runc exec', m('berth CLI exec'), m('runc exec'), Infinity);
  const rss = m('berth-shim RSS (kB)');
  console.log(`berth-shim resident memory: ${rss === undefined ? 'n/a' : `${rss} kB`} (target < 2048 kB)`);
  line('berth-shim / conmon resident memory', rss, m('conmon RSS (kB)'), Infinity);
  printImageTargets(line, m, images);
  printPullTargets(line, m);
  printNetworkTargets(line, m);
}

function printTable(rows) {
  const crun = rows.find((r) => r.name === 'crun run')?.stats?.median;
  const runc = rows.find((r) => r.name === 'runc run')?.stats?.median;
  const ms = (v) => (v === undefined ? 'n/a' : v.toFixed(2));
  const ratio = (v, base) => (v === undefined || base === undefined ? 'n/a' : `${(v / base).toFixed(2)}x`);
  const header = ['what', 'n', 'median ms', 'min ms', 'p90 ms', 'vs crun', 'vs runc'];
  const noRuntimeRatio = (name) =>
    name.includes('(kB)') || Object.values(IMAGE_ROWS).includes(name) || Object.values(PULL_ROWS).includes(name);
  const lines = rows.map((r) => [
    r.name,
    r.stats ? String(r.stats.n) : '-',
    ms(r.stats?.median),
    ms(r.stats?.min),
    ms(r.stats?.p90),
    noRuntimeRatio(r.name) ? '' : ratio(r.stats?.median, crun),
    noRuntimeRatio(r.name) ? '' : ratio(r.stats?.median, runc),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
  for (const r of rows) if (r.error) console.log(`  ${r.name}: n/a: ${r.error}`);
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function main() {
  // BENCH_ONLY=oci: only the OCI runtime rows (berth-oci against runc, crun and under podman)
  if (ONLY === 'oci') return printOci(await measureOci(ociOptionsFromEnv()));
  // BENCH_ONLY=api: only the Engine API rows (the service against podman, dockerode against the API)
  if (ONLY === 'api') return printApiService(await measureApiService({ iterations: Math.min(ITERATIONS, 20), stats }));

  if (process.getuid?.() !== 0) {
    console.error('bench: container rows need root; run as root (sudo npm run bench)');
  }
  const ctx = setup();
  const images = new ImageBench(ctx, { iterations: ITERATIONS, maxMsPerRow: MAX_MS_PER_ROW });
  const rows = [];
  let oci;
  let apiService;
  let common;
  let coldStart;
  let scale;
  const row = async (name, needs, fn) => {
    const missing = needs.find((bin) => !have(bin));
    if (missing) return rows.push({ name, error: `${missing} not installed (Debian package ${missing})` });
    try {
      rows.push({ name, stats: stats(await fn()) });
    } catch (err) {
      rows.push({ name, error: err.message });
    }
    process.stderr.write(`bench: ${name} done\n`);
  };
  try {
    console.log(`bench: ${ITERATIONS} iterations per row (+${WARMUP} warm-up), at most ${MAX_MS_PER_ROW / 1000}s per row`);
    if (ONLY !== '' && ONLY !== 'images' && ONLY !== 'scale')
      throw new Error(`BENCH_ONLY=${ONLY}: only "images", "scale", "oci" and "api" are known`);
    if (ONLY === 'scale' || ONLY === '') {
      scale = await measureScale({ ctx, iterations: ITERATIONS, maxMsPerRow: MAX_MS_PER_ROW, warmup: WARMUP, stats }).catch((err) => ({
        rows: [],
        notes: [`scale rows failed: ${err.message}`],
      }));
    }
    if (ONLY === 'scale') {
      // printed here, the other rows skipped; the finally below still removes everything
      printScale(scale);
      if (process.env.BENCH_JSON)
        fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({ iterations: ITERATIONS, scale }, null, 2) + '\n');
      return;
    }
    if (ONLY !== 'images') {
      await row('/bin/true (host spawn)', [], () => measureHostTrue(ITERATIONS));
      try {
        common = await measureCommon(ctx);
        rows.push(...common.rows);
      } catch (err) {
        rows.push({ name: 'berth bench rows', error: err.message });
      }
      const berth = await berthWithImage(ctx);
      const cliArgs = [path.join(REPO_ROOT, 'dist/cli/berth.js'), '--root', ctx.root, '--runroot', ctx.runRoot];
      await row('berth run -d+stop+rm (API)', [], () => measureDetachedCycle(berth, Math.min(ITERATIONS, 20), WARMUP));
      await row('berth CLI run -d', [], async () => {
        const samples = timeRuns('berth CLI run -d', Math.min(ITERATIONS, 20), () => ({
          cmd: process.execPath,
          args: [...cliArgs, 'run', '-d', 'bench-busybox', 'sleep', '60'],
        }));
        for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true });
        return samples;
      });
      let exec;
      await row('berth exec (API)', [], async () => (exec ??= await measureExec(berth, timeRuns, cliArgs, ITERATIONS, WARMUP)).api);
      await row('berth CLI exec', [], async () => (exec ??= await measureExec(berth, timeRuns, cliArgs, ITERATIONS, WARMUP)).cli);
      await row('runc exec', ['runc'], () => measureRuncExec(timeRuns, ctx.bundle, ITERATIONS));
      await row('berth-shim RSS (kB)', [], () => measureShimRss(berth, 10));
      await row('conmon RSS (kB)', ['podman', 'conmon'], () => measureConmonRss(ctx.tar, ctx.dir, 5));
    }
    let pull;
    let unpack;
    let network;
    const imageTools = ['docker-registry', 'skopeo', 'umoci'];
    await row(IMAGE_ROWS.berthPull, imageTools, async () => (await (pull ??= images.measurePull())).berth);
    await row(IMAGE_ROWS.berthDownloaded, imageTools, async () => (await (pull ??= images.measurePull())).downloaded);
    await row(IMAGE_ROWS.skopeo, imageTools, async () => (await (pull ??= images.measurePull())).skopeo);
    await row(IMAGE_ROWS.skopeoUmoci, imageTools, async () => (await (pull ??= images.measurePull())).skopeoUmoci);
    // berth, podman and ctr pulls of the same image in rotation (pull-compare.mjs)
    let pulls;
    const pullRow = (key, needs) =>
      row(PULL_ROWS[key], ['docker-registry', 'skopeo', 'umoci', ...needs], async () => {
        const r = await (pulls ??= measurePullCompare(images));
        if (!r[key]) throw new Error(`${needs.join(', ')} not installed`);
        return r[key];
      });
    await pullRow('berth', []);
    await pullRow('podman', ['podman']);
    await pullRow('ctr', ['containerd', 'ctr']);
    await row(IMAGE_ROWS.berthUnpack, ['tar'], async () => (await (unpack ??= images.measureUnpack())).berth);
    await row(IMAGE_ROWS.tar, ['tar'], async () => (await (unpack ??= images.measureUnpack())).tar);
    if (ONLY !== 'images') {
      const netRun = () =>
        (network ??= Promise.resolve().then(() =>
          measureNetwork({ ctx, iterations: ITERATIONS, maxMsPerRow: MAX_MS_PER_ROW, warmup: WARMUP }),
        ));
      await row(NETWORK_ROWS.bridge, ['unshare', 'iptables'], async () => (await netRun()).bridge);
      await row(NETWORK_ROWS.none, ['unshare', 'iptables'], async () => (await netRun()).none);
      await row(NETWORK_ROWS.podman, ['podman'], async () => {
        const r = await netRun();
        if (r.podmanError) throw new Error(r.podmanError);
        return r.podman;
      });
      // `berth --version` against `node -e 0`, alternating (bench/cold-start.mjs)
      try {
        coldStart = measureColdStart({ iterations: ITERATIONS, cli: path.join(REPO_ROOT, 'dist/cli/berth.js') });
      } catch (err) {
        console.error(`bench: cold start rows: ${err.message}`);
      }
      oci = await measureOci(ociOptionsFromEnv(ctx.tar)).catch((err) => ({ rows: [], notes: [`OCI rows failed: ${err.message}`] }));
      apiService = await measureApiService({ tar: ctx.tar, iterations: Math.min(ITERATIONS, 20), stats }).catch((err) => ({
        rows: [],
        notes: [`Engine API rows failed: ${err.message}`],
      }));
    }
  } finally {
    await images.cleanup().catch((err) => console.error(`bench: image cleanup: ${err.message}`));
    teardown(ctx);
  }
  printTable(rows);
  printTargets(rows, images);
  if (scale) printScale(scale);
  if (oci) printOci(oci);
  if (apiService) printApiService(apiService);
  if (coldStart) printColdStart(coldStart);
  if (process.env.BENCH_JSON) {
    fs.writeFileSync(
      process.env.BENCH_JSON,
      JSON.stringify({ iterations: ITERATIONS, rows, oci, apiService, bench: common?.result, coldStart, scale }, null, 2) + '\n',
    );
  }
  if (process.env.BENCH_HTML && common) {
    const { writeHtmlReport } = await import(pathToFileURL(path.join(REPO_ROOT, 'dist/bench/report-html.js')).href);
    writeHtmlReport(process.env.BENCH_HTML, common.result);
  }
}

// ---------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  if (r.error || r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.trim()}`);
  }
}

function have(bin) {
  return (process.env.PATH ?? '').split(':').some((d) => d && isExecutable(path.join(d, bin)));
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function safeReaddir(dir) {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function positiveInt(text, fallback) {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

await main();
