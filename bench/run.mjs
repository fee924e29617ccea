#!/usr/bin/env node
// Start-latency benchmark: berth against crun and runc, with process-spawn floors.
//
//   npm run bench                      # as root
//   BENCH_ITERATIONS=20 npm run bench  # fewer runs
//   BENCH_JSON=out.json npm run bench  # also write the results as JSON
//   BENCH_ONLY=images npm run bench    # only the image rows (pull, unpack)
//   BENCH_ONLY=oci npm run bench       # only the OCI runtime rows (oci.mjs: berth-oci, runc, crun, podman)
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
import { cgroupHybridWithV2Controllers, inNamespaceWithoutUnified } from './crun-hybrid.mjs';

// crun and runc run their bundle without a network (a fresh namespace with lo): berth's rows do
// the same, so berth's default network is set to none for every berth this script starts (the
// API and the CLI read BERTH_DEFAULT_NETWORK). The bridge network has rows of its own (network.mjs).
process.env.BERTH_DEFAULT_NETWORK = 'none';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const ITERATIONS = positiveInt(process.env.BENCH_ITERATIONS, 50);
const MAX_MS_PER_ROW = positiveInt(process.env.BENCH_MAX_SECONDS, 60) * 1000;
const WARMUP = 3;
/** BENCH_ONLY=images: only the pull and unpack rows (a few minutes instead of the whole table). */
const ONLY = process.env.BENCH_ONLY ?? '';
const RUN_TIMEOUT_MS = 10_000;

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

function runtimeRun(runtime, globalArgs, bundle, idPrefix) {
  return (i) => {
    const id = `${idPrefix}-${i}`;
    return {
      cmd: runtime,
      args: [...globalArgs, 'run', '--bundle', bundle, id],
      after: () => deleteContainer(runtime, globalArgs, id),
    };
  };
}

/** `run` without --detach removes the container on exit; delete only if state is left. */
function deleteContainer(runtime, globalArgs, id) {
  if (!fs.existsSync(path.join(RUNTIME_STATE_DIRS[runtime], id))) return;
  spawnSync(runtime, [...globalArgs, 'delete', '-f', id], { stdio: 'ignore', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

function measureNodeStartup(iterations) {
  return timeRuns('node -e 0', iterations, () => ({ cmd: process.execPath, args: ['-e', '0'] }));
}

function measureHostTrue(iterations) {
  return timeRuns('/bin/true', iterations, () => ({ cmd: '/bin/true', args: [] }));
}

function measureRunc(iterations, bundle) {
  return timeRuns('runc', iterations, runtimeRun('runc', [], bundle, `berth-bench-${process.pid}-runc`));
}

/*
 * crun on this machine's cgroup layout.
 *
 * The CI/dev machines are cgroup "hybrid": v1 controllers under
 * /sys/fs/cgroup/<ctrl> plus a cgroup2 mount at /sys/fs/cgroup/unified whose
 * cgroup.controllers is "hugetlb" (hugetlb is bound to v2; /proc/cgroups shows
 * it on hierarchy 0). crun 1.8 refuses that before it even looks at its cgroup
 * manager: `crun run` fails with
 *     cgroups in hybrid mode not supported, drop all controllers from cgroupv2
 * and `--cgroup-manager=disabled` does not help (the check in
 * libcrun_cgroup_enter precedes the manager switch). Mounting a v1 hugetlb
 * hierarchy would steal hugetlb from the v2 root: a machine-wide change that
 * other users of the machine (berth's own tests) would see, so we don't.
 *
 * crun decides the mode from statfs: /sys/fs/cgroup is tmpfs and
 * /sys/fs/cgroup/unified is cgroup2 => hybrid; no unified mount => legacy v1.
 * So crun is run in a private mount namespace where /sys/fs/cgroup/unified is
 * lazily unmounted:
 *     unshare --mount --propagation private -- \
 *       sh -c 'umount -l /sys/fs/cgroup/unified && exec node bench/run.mjs --crun-worker ...'
 * The host's mounts are untouched. crun then behaves as on a v1 host and
 * creates and removes /sys/fs/cgroup/<ctrl>/<id> in every v1 controller, as
 * runc does here (runc additionally joins the unified hierarchy). To time crun
 * exactly like runc, the whole timing loop runs in that namespace (a worker
 * process of this script), so unshare's own cost is not in the samples.
 */
function measureCrun(iterations, bundle) {
  const idPrefix = `berth-bench-${process.pid}-crun`;
  if (!cgroupHybridWithV2Controllers()) {
    return timeRuns('crun', iterations, runtimeRun('crun', [], bundle, idPrefix));
  }
  const r = inNamespaceWithoutUnified(SELF, ['--crun-worker', bundle, String(iterations), idPrefix], MAX_MS_PER_ROW + 2 * RUN_TIMEOUT_MS);
  const out = r.stdout?.trim().split('\n').pop() ?? '';
  let parsed;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new Error(`crun worker failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim()}`);
  }
  if (parsed.error) throw new Error(parsed.error);
  return parsed.samples;
}

function crunWorker([bundle, iterations, idPrefix]) {
  try {
    const samples = timeRuns('crun', Number(iterations), runtimeRun('crun', [], bundle, idPrefix));
    process.stdout.write(JSON.stringify({ samples }) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: err.message }) + '\n');
  }
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

/** In-process: request to exit status, cleanup included, no Node startup in the number. */
async function measureBerthApi(iterations, ctx) {
  const berth = await berthWithImage(ctx);
  const samples = [];
  const started = Date.now();
  for (let i = 0; i < WARMUP + iterations; i++) {
    if (i >= WARMUP && Date.now() - started > MAX_MS_PER_ROW) break;
    const t0 = process.hrtime.bigint();
    const r = await berth.run({ image: 'bench-busybox', cmd: ['/bin/true'], rm: true, stdout: 'ignore', stderr: 'ignore' });
    const t1 = process.hrtime.bigint();
    if (r.exitCode !== 0) throw new Error(`berth API run exited ${r.exitCode}`);
    if (i >= WARMUP) samples.push(Number(t1 - t0) / 1e6);
  }
  return samples;
}

/** `berth run --rm IMAGE /bin/true` as a user types it: Node startup included. */
async function measureBerthCli(iterations, ctx) {
  await berthWithImage(ctx);
  const cli = path.join(REPO_ROOT, 'dist/cli/berth.js');
  return timeRuns('berth CLI run', iterations, () => ({
    cmd: process.execPath,
    args: [cli, '--root', ctx.root, '--runroot', ctx.runRoot, 'run', '--rm', 'bench-busybox', '/bin/true'],
  }));
}

/** mount(2) of the overlay rootfs alone, in a throwaway mount namespace. */
async function measureOverlayMount(iterations, ctx) {
  const berth = await berthWithImage(ctx);
  const image = berth.images.resolve('bench-busybox');
  const [lower] = berth.images.layerDirs(image);
  const d = path.join(ctx.dir, 'ovl');
  for (const sub of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(d, sub), { recursive: true });
  const require = (await import('node:module')).createRequire(import.meta.url);
  const addon = require(path.join(REPO_ROOT, 'build/Release/berth-bench.node'));
  const data = `lowerdir=${lower},upperdir=${d}/upper,workdir=${d}/work`;
  return addon
    .benchMount('overlay', 'overlay', `${d}/merged`, data, WARMUP + iterations)
    .slice(WARMUP)
    .map((ns) => ns / 1e6);
}

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

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
  return { n: s.length, median: median(s), min: s[0], p90: at(0.9) };
}

function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The issue's targets: API at most half of crun, CLI at most 1.25x a bare `node -e 0`. */
function printTargets(rows, images) {
  const m = (name) => rows.find((r) => r.name === name)?.stats?.median;
  const line = (label, v, base, target) => {
    if (v === undefined || base === undefined) return console.log(`${label}: n/a`);
    const ratio = v / base;
    console.log(`${label}: ${ratio.toFixed(2)} (target <= ${target}) ${ratio <= target ? 'met' : 'MISSED'}`);
  };
  console.log('');
  line('berth API / crun', m('berth API run'), m('crun run'), 0.5);
  line('berth API / runc', m('berth API run'), m('runc run'), 0.5);
  line('berth CLI / node -e 0', m('berth CLI run'), m('node -e 0'), 1.25);
  line('berth CLI / crun', m('berth CLI run'), m('crun run'), Infinity);
  line('berth CLI exec / runc exec', m('berth CLI exec'), m('runc exec'), Infinity);
  const rss = m('berth-shim RSS (kB)');
  console.log(`berth-shim resident memory: ${rss === undefined ? 'n/a' : `${rss} kB`} (target < 2048 kB)`);
  line('berth-shim / conmon resident memory', rss, m('conmon RSS (kB)'), Infinity);
  printImageTargets(line, m, images);
  printNetworkTargets(line, m);
}

function printTable(rows) {
  const crun = rows.find((r) => r.name === 'crun run')?.stats?.median;
  const runc = rows.find((r) => r.name === 'runc run')?.stats?.median;
  const ms = (v) => (v === undefined ? 'n/a' : v.toFixed(2));
  const ratio = (v, base) => (v === undefined || base === undefined ? 'n/a' : `${(v / base).toFixed(2)}x`);
  const header = ['what', 'n', 'median ms', 'min ms', 'p90 ms', 'vs crun', 'vs runc'];
  const noRuntimeRatio = (name) => name.includes('(kB)') || Object.values(IMAGE_ROWS).includes(name);
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
  if (process.argv[2] === '--crun-worker') return crunWorker(process.argv.slice(3));
  // BENCH_ONLY=oci: only the OCI runtime rows (berth-oci against runc, crun and under podman)
  if (ONLY === 'oci') return printOci(await measureOci(ociOptionsFromEnv()));

  if (process.getuid?.() !== 0) {
    console.error('bench: container rows need root; run as root (sudo npm run bench)');
  }
  const ctx = setup();
  const images = new ImageBench(ctx, { iterations: ITERATIONS, maxMsPerRow: MAX_MS_PER_ROW });
  const rows = [];
  let oci;
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
    if (ONLY !== '' && ONLY !== 'images') throw new Error(`BENCH_ONLY=${ONLY}: only "images" is known`);
    if (ONLY !== 'images') {
      await row('/bin/true (host spawn)', [], () => measureHostTrue(ITERATIONS));
      await row('node -e 0', [], () => measureNodeStartup(ITERATIONS));
      await row('crun run', ['crun'], () => measureCrun(ITERATIONS, ctx.bundle));
      await row('runc run', ['runc'], () => measureRunc(ITERATIONS, ctx.bundle));
      await row('berth API run', [], () => measureBerthApi(ITERATIONS, ctx));
      await row('berth CLI run', [], () => measureBerthCli(ITERATIONS, ctx));
      await row('overlay mount(2)', [], () => measureOverlayMount(ITERATIONS, ctx));
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
      oci = await measureOci(ociOptionsFromEnv(ctx.tar)).catch((err) => ({ rows: [], notes: [`OCI rows failed: ${err.message}`] }));
    }
  } finally {
    await images.cleanup().catch((err) => console.error(`bench: image cleanup: ${err.message}`));
    teardown(ctx);
  }
  printTable(rows);
  printTargets(rows, images);
  if (oci) printOci(oci);
  if (process.env.BENCH_JSON) {
    fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({ iterations: ITERATIONS, rows, oci }, null, 2) + '\n');
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
