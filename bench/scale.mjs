// Scale rows of `npm run bench` (issue 12, "Scale"): how cost grows with work.
//   - start latency (API, warm, --rm, network none) of images of 1, 10, 50 and 100 layers, timed
//     in alternation; target: 100 layers at most 1.5 x one layer;
//   - 100 containers started at once through the API in one process (p50, p99 of each start's
//     latency, all must succeed), against 100 concurrent `crun run`, one bundle each;
//   - `berth ps -a` (the CLI, cold) with 1,000 created containers in the store; target < 150 ms;
//   - the Node process's RSS, heap used and open descriptors after 0, 250, 500 and 1,000
//     sequential API runs of `true` (no growth beyond noise).
//
// Bounds: BENCH_SCALE_ITERATIONS (default min(BENCH_ITERATIONS, 20)) per layer row and ps row,
// BENCH_SCALE_CONCURRENT (default 100) containers at once, BENCH_SCALE_PS (default 1000) containers
// for ps, BENCH_SCALE_RUNS (default 1000) sequential runs; every loop also stops at its time budget.
// Everything lives under <bench dir>/scale (a berth root of its own, so ps counts only ours, and
// crun's state root); each container made here is removed, and crun's cgroups (under a parent
// named for this PID) are removed afterwards. Network none throughout.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cgroupHybridWithV2Controllers, inNamespaceWithoutUnified } from './crun-hybrid.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const THIS = fileURLToPath(import.meta.url);
export const LAYER_COUNTS = [1, 10, 50, 100];
const RUN_TIMEOUT_MS = 30_000;

export const SCALE_ROWS = {
  layers: (n) => `berth API run, ${n}-layer image`,
  concurrent: (n) => `berth API run, ${n} at once (each)`,
  crunConcurrent: (n) => `crun run, ${n} at once (each)`,
  ps: (n) => `berth ps -a, ${n} containers (CLI)`,
};

const positiveInt = (text, fallback) => {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

/**
 * @param {{ ctx: { dir: string, tar: string, bundle: string }, iterations: number, maxMsPerRow: number, warmup: number,
 *           stats: (samples: number[]) => object }} o
 * @returns {Promise<{ rows: { name: string, stats?: object, error?: string }[], memory?: object[], notes: string[] }>}
 */
export async function measureScale(o) {
  const { ctx, maxMsPerRow, warmup, stats } = o;
  const iterations = positiveInt(process.env.BENCH_SCALE_ITERATIONS, Math.min(o.iterations, 20));
  const concurrent = positiveInt(process.env.BENCH_SCALE_CONCURRENT, 100);
  const psCount = positiveInt(process.env.BENCH_SCALE_PS, 1000);
  const runs = positiveInt(process.env.BENCH_SCALE_RUNS, 1000);
  const dir = path.join(ctx.dir, 'scale');
  fs.mkdirSync(dir, { recursive: true });
  const { Berth } = await import(pathToFileURL(path.join(REPO_ROOT, 'dist/index.js')).href);
  // A short root of its own: a 100-layer image's overlay option string (the short layer links,
  // <root>/l/XXXXXXXX, absolute) must fit one page, which a root of ~34 characters already misses.
  const short = fs.mkdtempSync('/tmp/bs-');
  const roots = { root: path.join(short, 'r'), runRoot: path.join(short, 'u') };
  const berth = new Berth(roots);
  const rows = [];
  const notes = [];
  let memory;
  const row = async (name, fn) => {
    try {
      rows.push({ name, stats: stats(await fn()) });
    } catch (err) {
      rows.push({ name, error: err.message });
    }
    process.stderr.write(`bench: ${name} done\n`);
  };
  const cleanupAll = async () => {
    for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true }).catch(() => {});
  };
  try {
    // ---- layers
    const images = {};
    try {
      for (const n of LAYER_COUNTS) images[n] = await layeredImage(berth, ctx.tar, dir, n);
      const fns = Object.fromEntries(LAYER_COUNTS.map((n) => [n, () => apiRun(berth, images[n])]));
      const r = await rounds(iterations, warmup, 2 * maxMsPerRow, fns);
      for (const n of LAYER_COUNTS) rows.push({ name: SCALE_ROWS.layers(n), stats: stats(r[n]) });
    } catch (err) {
      rows.push({ name: SCALE_ROWS.layers('N'), error: err.message });
    }
    process.stderr.write('bench: layer rows done\n');

    // ---- concurrent starts
    await row(SCALE_ROWS.concurrent(concurrent), async () => {
      await apiRun(berth, 'scale-1'); // warm
      const t0 = Date.now();
      const results = await Promise.allSettled(Array.from({ length: concurrent }, () => apiRun(berth, 'scale-1')));
      const failed = results.filter((r) => r.status === 'rejected');
      notes.push(`${concurrent} concurrent API runs: all done in ${Date.now() - t0} ms, ${failed.length} failed`);
      if (failed.length) throw new Error(`${failed.length} of ${concurrent} failed, first: ${failed[0].reason?.message}`);
      return results.map((r) => r.value);
    });
    await row(SCALE_ROWS.crunConcurrent(concurrent), () => crunConcurrent(ctx.bundle, dir, concurrent, notes));

    // ---- ps -a with many containers
    const versionSamples = [];
    await row(SCALE_ROWS.ps(psCount), async () => {
      const t0 = Date.now();
      for (let i = 0; i < psCount; i++) await berth.create({ image: 'scale-1', cmd: ['/bin/true'], network: 'none' });
      notes.push(`created ${psCount} containers in ${Date.now() - t0} ms`);
      const cli = [path.join(REPO_ROOT, 'dist/cli/berth.js'), '--root', roots.root, '--runroot', roots.runRoot, 'ps', '-a'];
      const samples = [];
      const started = Date.now();
      for (let i = 0; i < warmup + iterations; i++) {
        if (i > warmup && Date.now() - started > maxMsPerRow) break;
        // `berth --version` in alternation: the CLI's start alone, for what the listing adds
        const v0 = process.hrtime.bigint();
        spawnSync(process.execPath, [cli[0], '--version'], { stdio: 'ignore', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
        if (i >= warmup) versionSamples.push(Number(process.hrtime.bigint() - v0) / 1e6);
        const s0 = process.hrtime.bigint();
        const r = spawnSync(process.execPath, cli, {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 64 << 20,
          timeout: RUN_TIMEOUT_MS,
          killSignal: 'SIGKILL',
        });
        const ms = Number(process.hrtime.bigint() - s0) / 1e6;
        if (r.status !== 0)
          throw new Error(
            `berth ps -a failed: ${String(r.stderr ?? r.error?.message)
              .trim()
              .slice(-300)}`,
          );
        const lines = r.stdout.trim().split('\n').length - 1;
        if (lines !== psCount) throw new Error(`berth ps -a printed ${lines} containers, expected ${psCount}`);
        if (i >= warmup) samples.push(ms);
      }
      const r0 = Date.now();
      await cleanupAll();
      notes.push(`removed ${psCount} containers in ${Date.now() - r0} ms`);
      return samples;
    });

    if (versionSamples.length) rows.push({ name: 'berth --version (CLI start, same loop)', stats: stats(versionSamples) });

    // ---- memory and descriptors over many sequential runs
    try {
      memory = await memoryOverRuns(berth, runs, 4 * maxMsPerRow);
    } catch (err) {
      notes.push(`memory/descriptors: ${err.message}`);
    }
    process.stderr.write('bench: memory over runs done\n');
  } finally {
    await cleanupAll();
    for (const n of LAYER_COUNTS) {
      try {
        await berth.removeImage(`scale-${n}`, { force: true });
      } catch {
        /* never made */
      }
    }
    removeUnlessMounted(short);
  }
  return { rows, memory, notes };
}

/** One warm API run of /bin/true, --rm, network none; ms from the call to the exit status. */
async function apiRun(berth, image) {
  const t0 = process.hrtime.bigint();
  const r = await berth.run({ image, cmd: ['/bin/true'], rm: true, network: 'none', stdout: 'ignore', stderr: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.exitCode !== 0) throw new Error(`/bin/true exited ${r.exitCode} in ${image}`);
  return ms;
}

/** Each round runs every fn once, the order rotated; untimed warm-up rounds first. */
async function rounds(iterations, warmup, budgetMs, fns) {
  const entries = Object.entries(fns);
  const out = Object.fromEntries(entries.map(([k]) => [k, []]));
  const started = Date.now();
  for (let i = 0; i < warmup + iterations; i++) {
    if (i > warmup && Date.now() - started > budgetMs) break;
    const order = [...entries.slice(i % entries.length), ...entries.slice(0, i % entries.length)];
    for (const [k, fn] of order) {
      const ms = await fn();
      if (i >= warmup) out[k].push(ms);
    }
  }
  return out;
}

/**
 * An image `scale-N` of N layers: busybox at the bottom and N-1 layers of one small file each (as
 * test/integration/image-many-layers.test.ts), written as an OCI layout with uncompressed layers
 * and loaded with loadImages.
 */
async function layeredImage(berth, busyboxTar, dir, n) {
  const work = path.join(dir, `img-${n}`);
  const layout = path.join(work, 'layout');
  fs.mkdirSync(path.join(layout, 'blobs/sha256'), { recursive: true });
  const blob = (body, mediaType) => {
    const hex = crypto.createHash('sha256').update(body).digest('hex');
    fs.writeFileSync(path.join(layout, 'blobs/sha256', hex), body);
    return { mediaType, digest: `sha256:${hex}`, size: body.length };
  };
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < n; i++) {
    let tar = busyboxTar;
    if (i > 0) {
      const d = path.join(work, 'stage', String(i));
      fs.mkdirSync(path.join(d, 'layers'), { recursive: true });
      fs.writeFileSync(path.join(d, 'layers', String(i)), `${i}\n`);
      tar = path.join(work, `${i}.tar`);
      must('tar', ['-cf', tar, '-C', d, '--numeric-owner', '--owner=0', '--group=0', '--mtime=@1000000000', '.']);
    }
    const body = fs.readFileSync(tar);
    const l = blob(body, 'application/vnd.oci.image.layer.v1.tar');
    layers.push(l);
    diffIds.push(l.digest);
  }
  const config = blob(
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }),
    ),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = blob(
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers })),
    'application/vnd.oci.image.manifest.v1+json',
  );
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifest] }));
  const archive = path.join(work, 'image.tar');
  must('tar', ['-cf', archive, '-C', layout, '.']);
  const [loaded] = (await berth.loadImages(archive)).images;
  berth.tagImage(loaded.id, `scale-${n}`);
  fs.rmSync(work, { recursive: true, force: true });
  return `scale-${n}`;
}

// ---------------------------------------------------------------------------
// crun: N concurrent `crun run`, one bundle each (a config.json of its own; the root is the
// bench's rootfs, read-only), from a worker in a mount namespace without the cgroup2 tree on this
// hybrid host (crun-hybrid.mjs). Cgroups go under berth-bench-<pid>-scale, removed afterwards.
// ---------------------------------------------------------------------------

function crunConcurrent(bundle, dir, count, notes) {
  if (!onPath('crun')) throw new Error('crun not installed (Debian package crun)');
  const base = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  const parent = `berth-bench-${process.pid}-scale`;
  const work = path.join(dir, 'crun');
  const bundles = [];
  for (let i = 0; i < count; i++) {
    const b = path.join(work, `b${i}`);
    fs.mkdirSync(b, { recursive: true });
    const config = JSON.parse(JSON.stringify(base));
    config.process.args = ['/bin/true'];
    config.root = { path: path.join(bundle, 'rootfs'), readonly: true };
    config.linux.cgroupsPath = `/${parent}/c${i}`;
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    bundles.push(b);
  }
  const state = path.join(work, 'state');
  fs.mkdirSync(state, { recursive: true });
  const args = [JSON.stringify({ state, bundles, prefix: `bs${process.pid}` })];
  try {
    const r = cgroupHybridWithV2Controllers()
      ? inNamespaceWithoutUnified(THIS, ['--crun-worker', ...args], 120_000)
      : spawnSync(process.execPath, [THIS, '--crun-worker', ...args], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 120_000,
          killSignal: 'SIGKILL',
        });
    const line =
      String(r.stdout ?? '')
        .trim()
        .split('\n')
        .pop() ?? '';
    let parsed;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(
        `crun worker failed (${r.error?.message ?? `exit ${r.status}`}): ${String(r.stderr ?? '')
          .trim()
          .slice(-300)}`,
      );
    }
    if (parsed.error) throw new Error(parsed.error);
    notes.push(`${count} concurrent crun runs: all done in ${parsed.wallMs.toFixed(0)} ms`);
    return parsed.samples;
  } finally {
    // whatever a failed run left: delete it, then our cgroup parent in every hierarchy
    const list = spawnSync('crun', ['--root', state, 'list', '-q'], { encoding: 'utf8', timeout: 10_000 });
    for (const id of String(list.stdout ?? '')
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean)) {
      spawnSync('crun', ['--root', state, 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
    }
    removeCgroupTree(parent);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function crunWorker(json) {
  const { state, bundles, prefix } = JSON.parse(json);
  const one = (b, i) =>
    new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const child = spawn('crun', ['--root', state, 'run', '--bundle', b, `${prefix}-${i}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (code === 0) resolve(ms);
        else reject(new Error(`crun run ${i} failed (${signal ?? `exit ${code}`}): ${err.trim().slice(-200)}`));
      });
    });
  try {
    // warm: one run first (page cache, crun's binary)
    await one(bundles[0], 'warm');
    const t0 = Date.now();
    const results = await Promise.allSettled(bundles.map((b, i) => one(b, i)));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length) throw new Error(`${failed.length} of ${bundles.length} crun runs failed, first: ${failed[0].reason.message}`);
    process.stdout.write(JSON.stringify({ samples: results.map((r) => r.value), wallMs: Date.now() - t0 }) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: err.message }) + '\n');
  }
}

/** rm -rf of a temp dir of ours, unless something is still mounted under it (then it is left and said). */
function removeUnlessMounted(dir) {
  const mounted = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')));
  if (mounted.length > 0) console.error(`bench: not removing ${dir}, still mounted: ${mounted.join(' ')}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

function removeCgroupTree(name) {
  let hierarchies = [];
  try {
    hierarchies = fs.readdirSync('/sys/fs/cgroup');
  } catch {
    return;
  }
  const rm = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rm(path.join(d, e.name));
    try {
      fs.rmdirSync(d);
    } catch {
      /* busy or gone */
    }
  };
  for (const h of hierarchies) rm(path.join('/sys/fs/cgroup', h, name));
}

// ---------------------------------------------------------------------------
// Memory and descriptors over sequential runs
// ---------------------------------------------------------------------------

async function memoryOverRuns(berth, runs, budgetMs) {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const checkpoints = [0, Math.round(runs / 4), Math.round(runs / 2), runs];
  const samples = [];
  const sample = (done) => {
    gc();
    const m = process.memoryUsage();
    samples.push({
      runs: done,
      rssMB: m.rss / 2 ** 20,
      heapUsedMB: m.heapUsed / 2 ** 20,
      externalMB: m.external / 2 ** 20,
      fds: fs.readdirSync('/proc/self/fd').length,
    });
  };
  await apiRun(berth, 'scale-1'); // the first run loads what every run uses
  sample(0);
  const started = Date.now();
  for (let i = 1; i <= runs; i++) {
    await apiRun(berth, 'scale-1');
    if (checkpoints.includes(i)) sample(i);
    if (Date.now() - started > budgetMs) {
      sample(i);
      break;
    }
  }
  return samples;
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

export function printScale(result) {
  const m = (name) => result.rows.find((r) => r.name === name)?.stats;
  console.log('');
  console.log('scale:');
  const header = ['what', 'n', 'median ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'];
  const f = (v) => (v === undefined ? 'n/a' : v.toFixed(2));
  const lines = result.rows.map((r) => [
    r.name,
    r.stats ? String(r.stats.n) : '-',
    f(r.stats?.median),
    f(r.stats?.p50 ?? r.stats?.median),
    f(r.stats?.p90),
    f(r.stats?.p99),
    f(r.stats?.max),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
  for (const r of result.rows) if (r.error) console.log(`  ${r.name}: n/a: ${r.error}`);
  const one = m(SCALE_ROWS.layers(1))?.median;
  const hundred = m(SCALE_ROWS.layers(100))?.median;
  const ratio = one && hundred ? hundred / one : undefined;
  console.log(
    `100 layers / 1 layer: ${ratio === undefined ? 'n/a' : `${ratio.toFixed(2)} (target <= 1.5) ${ratio <= 1.5 ? 'met' : 'MISSED'}`}`,
  );
  const ps = result.rows.find((r) => r.name.startsWith('berth ps -a'))?.stats?.median;
  console.log(
    `${result.rows.find((r) => r.name.startsWith('berth ps -a'))?.name ?? 'berth ps -a'}: ${ps === undefined ? 'n/a' : `${ps.toFixed(1)} ms (target < 150 ms) ${ps < 150 ? 'met' : 'MISSED'}`}`,
  );
  const api = result.rows.find((r) => r.name.startsWith('berth API run,') && r.name.includes('at once'))?.stats;
  const crun = result.rows.find((r) => r.name.startsWith('crun run,'))?.stats;
  if (api && crun)
    console.log(
      `concurrent starts, berth API / crun: p50 ${(api.median / crun.median).toFixed(2)}, p99 ${(api.p99 / crun.p99).toFixed(2)}`,
    );
  if (result.memory) {
    console.log('Node process over sequential API runs (after a GC):');
    for (const s of result.memory)
      console.log(
        `  after ${String(s.runs).padStart(4)} runs: RSS ${s.rssMB.toFixed(1)} MB, heap used ${s.heapUsedMB.toFixed(1)} MB, external ${s.externalMB.toFixed(1)} MB, ${s.fds} fds`,
      );
    const a = result.memory[0];
    const b = result.memory[result.memory.length - 1];
    console.log(
      `  growth: RSS ${(b.rssMB - a.rssMB).toFixed(1)} MB, heap ${(b.heapUsedMB - a.heapUsedMB).toFixed(1)} MB, fds ${b.fds - a.fds} (target: no growth beyond noise)`,
    );
  }
  for (const n of result.notes) console.log(`  (${n})`);
}

// ---------------------------------------------------------------------------

function must(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.trim()}`);
}

function onPath(bin) {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try {
      fs.accessSync(path.join(d, bin), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

if (process.argv[1] === THIS && process.argv[2] === '--crun-worker') await crunWorker(process.argv[3]);
