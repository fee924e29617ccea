#!/usr/bin/env node
// OCI runtime rows of `npm run bench` (issue 10, "Speed"): berth-oci, the runc-compatible runtime
// as installed (bin/berth-oci: the native front, Node behind it), against runc and crun on one
// bundle, and under podman.
//
//   node bench/oci.mjs                 # this part alone, as root (npm run build first)
//   BENCH_ONLY=oci npm run bench       # the same through run.mjs
//
// Rows, each the median and p10-p90 of N timed runs after a warm-up:
//   - `run` of /bin/true: berth-oci, runc, crun (`<rt> --root <tmp> run --bundle B id`);
//   - the detached cycle create + start + state + delete --force (the init may still be exiting
//     when delete comes: --force, as for every runtime), the four spawns' times summed, and each
//     step on its own line;
//   - `podman run --rm busybox true` with --runtime berth-oci against --runtime runc (oci-podman.mjs);
//   - floors: `node -e 0` and `berth-oci --version` (which the front hands to Node: Node's start +
//     the launcher + the bundle's load, what every command the front does not answer costs),
//     and `node -e 0` with the caller's NODE_EXTRA_CA_CERTS where it is set (RUNTIME_ENV below).
// berth-oci and runc runs alternate (one of each per iteration), as do podman's two rows, so drift
// in the machine's load hits both sides alike. crun runs in a worker process of its own (below).
//
// The bundle: the busybox rootfs (test/fixtures/build-busybox.sh) and `berth-oci spec`'s config with
// process.terminal false, args ["/bin/true"] and a cgroupsPath below a parent named for this
// process, so every runtime's cgroups land in one tree this script removes.
//
// Nothing of the host's runtime state is used: every runtime gets `--root <tmp>/state-<rt>` (never
// /run/runc, /run/crun or /run/berth-oci) and podman gets its own roots (oci-podman.mjs). Only
// processes this script started are killed (spawnSync's timeout kills its own child; podman's
// leftovers are found by our temp dir in their command line). The temp dir under /tmp is removed
// after, unless something is still mounted under it (then it is reported).
//
// Bounds: at most OCI_ITERATIONS (30, or BENCH_ITERATIONS if lower) runs per row and 15 for podman;
// each group of rows stops at its share of BENCH_OCI_SECONDS (default 100) of wall time; every spawn
// is SIGKILLed after RUN_TIMEOUT_MS.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measurePodmanPair, mountsUnder, removeCgroupTree } from './oci-podman.mjs';
import { cgroupHybridWithV2Controllers, inNamespaceWithoutUnified } from './crun-hybrid.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(SELF), '..');
export const BERTH_OCI = path.join(REPO_ROOT, 'bin/berth-oci');
const RUN_TIMEOUT_MS = 10_000;
const WARMUP = 3;

/** Shares of the wall-time budget per group of rows. */
/**
 * The environment every timed command gets: the caller's, without NODE_EXTRA_CA_CERTS. Node reads
 * and parses that file at every start, before any JavaScript runs (Node 20 loads extra CA
 * certificates eagerly): some environments (this VM's sessions) set it machine-wide, which adds
 * tens of milliseconds to every Node process, berth-oci's included, and nothing to runc's. A host
 * running containers does not need it for berth-oci, so it is removed (and its cost shown as a
 * floor row); BENCH_KEEP_NODE_EXTRA_CA_CERTS=1 keeps it.
 */
const CALLER_CA = process.env.NODE_EXTRA_CA_CERTS;
const STRIP_CA = CALLER_CA !== undefined && !process.env.BENCH_KEEP_NODE_EXTRA_CA_CERTS;
export const RUNTIME_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(STRIP_CA && k === 'NODE_EXTRA_CA_CERTS')));

const BUDGET_SHARES = { floors: 0.06, run: 0.14, crunRun: 0.06, cycle: 0.3, crunCycle: 0.09, podman: 0.35 };
const STEPS = ['create', 'start', 'state', 'delete'];

export const OCI_ROWS = {
  node: 'node -e 0',
  nodeCa: 'node -e 0, NODE_EXTRA_CA_CERTS set',
  version: 'berth-oci --version',
  run: (rt) => `${rt} run /bin/true`,
  cycle: (rt) => `${rt} create+start+state+delete`,
  step: (rt, s) => `  ${rt} ${s}`,
  podman: (rt) => `podman run --rm (${rt})`,
};

// ---------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------

/**
 * One spawn, timed: stdout to /dev/null (or captured), stderr to a file, so that no pipe keeps
 * spawnSync waiting on a process that outlives the command (the init `create` leaves behind holds
 * the stdio it was given). Throws with the command's stderr when it fails.
 */
function timed(errFile, cmd, args, { captureStdout = false, env = RUNTIME_ENV } = {}) {
  const errFd = fs.openSync(errFile, 'w');
  let r;
  let t0;
  let t1;
  try {
    t0 = process.hrtime.bigint();
    r = spawnSync(cmd, args, {
      stdio: ['ignore', captureStdout ? 'pipe' : 'ignore', errFd],
      encoding: 'utf8',
      env,
      timeout: RUN_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    t1 = process.hrtime.bigint();
  } finally {
    fs.closeSync(errFd);
  }
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
    const stderr = fs.readFileSync(errFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
    throw new Error(`\`${[path.basename(cmd), ...args].join(' ')}\` failed (${why}): ${stderr.slice(-400)}`);
  }
  return { ms: Number(t1 - t0) / 1e6, stdout: r.stdout };
}

/**
 * Calls each of `fns` once per iteration, in turn (so pairs alternate), WARMUP + iterations times
 * or until budgetMs is used; fns[k](i) returns a sample (number) or an object of samples. Returns
 * one array (or object of arrays) per fn.
 */
export function alternate(fns, iterations, budgetMs) {
  const out = fns.map(() => undefined);
  const started = Date.now();
  for (let i = 0; i < WARMUP + iterations; i++) {
    if (i > WARMUP && Date.now() - started > budgetMs) break;
    fns.forEach((fn, k) => {
      const v = fn(i);
      if (i < WARMUP) return;
      if (typeof v === 'number') (out[k] ??= []).push(v);
      else for (const [name, ms] of Object.entries(v)) ((out[k] ??= {})[name] ??= []).push(ms);
    });
  }
  return out;
}

/** A runtime's command line: the binary and the global flags that give it our state root. */
function runtimeCmd(rt, stateRoot) {
  if (rt === 'berth-oci') return { cmd: BERTH_OCI, pre: ['--root', stateRoot] };
  return { cmd: rt, pre: ['--root', stateRoot] };
}

function runOnce(rt, stateRoot, bundle, errFile, idPrefix) {
  const { cmd, pre } = runtimeCmd(rt, stateRoot);
  return (i) => timed(errFile, cmd, [...pre, 'run', '--bundle', bundle, `${idPrefix}-run-${i}`]).ms;
}

/** create, start, state, delete --force of one container: each step's time and their sum. */
function cycleOnce(rt, stateRoot, bundle, errFile, idPrefix) {
  const { cmd, pre } = runtimeCmd(rt, stateRoot);
  return (i) => {
    const id = `${idPrefix}-cycle-${i}`;
    const create = timed(errFile, cmd, [...pre, 'create', '--bundle', bundle, id]).ms;
    const start = timed(errFile, cmd, [...pre, 'start', id]).ms;
    const st = timed(errFile, cmd, [...pre, 'state', id], { captureStdout: true });
    const status = JSON.parse(st.stdout).status;
    if (status !== 'running' && status !== 'stopped') throw new Error(`${rt} state ${id}: status ${status} after start`);
    const del = timed(errFile, cmd, [...pre, 'delete', '--force', id]).ms;
    return { create, start, state: st.ms, delete: del, total: create + start + st.ms + del };
  };
}

// ---------------------------------------------------------------------------
// crun on this host's hybrid cgroups (as run.mjs's measureCrun: read its comment there)
// ---------------------------------------------------------------------------
// crun 1.8 refuses a hybrid host (`cgroups in hybrid mode not supported, drop all controllers from
// cgroupv2`) whatever its cgroup manager. So crun's rows run in a worker process in a private
// mount namespace where /sys/fs/cgroup/unified is lazily unmounted: crun sees a v1 host there and
// the host's mounts are untouched. The whole timing loop runs in the worker, so unshare's cost is
// not in the samples. If crun fails even there, its rows say why.

function crunRows(a) {
  const res = {};
  const errFile = path.join(a.dir, 'crun.err');
  for (const [key, make] of [
    ['run', runOnce],
    ['cycle', cycleOnce],
  ]) {
    try {
      [res[key]] = alternate([make('crun', a.stateRoot, a.bundle, errFile, a.idPrefix)], a.iterations, a.budget[key]);
    } catch (err) {
      res[`${key}Error`] = err.message;
      deleteLeftovers('crun', a.stateRoot);
    }
  }
  return res;
}

function measureCrun(a) {
  if (!cgroupHybridWithV2Controllers()) return { ...crunRows(a), how: 'crun on the host' };
  const r = inNamespaceWithoutUnified(SELF, ['--crun-worker', JSON.stringify(a)], a.budget.run + a.budget.cycle + 4 * RUN_TIMEOUT_MS);
  const out = r.stdout?.trim().split('\n').pop() ?? '';
  try {
    return { ...JSON.parse(out), how: 'crun in a mount namespace without /sys/fs/cgroup/unified (hybrid host)' };
  } catch {
    const why = `crun worker failed (${r.error?.message ?? `exit ${r.status}`}): ${String(r.stderr ?? '')
      .trim()
      .slice(-300)}`;
    return { runError: why, cycleError: why };
  }
}

// ---------------------------------------------------------------------------
// Setup and cleanup
// ---------------------------------------------------------------------------

function setup(tar) {
  const dir = fs.mkdtempSync('/tmp/berth-bench-oci-');
  const cgroupParent = `berth-bench-${process.pid}-oci`;
  const ctx = { dir, cgroupParent, tar, bundle: path.join(dir, 'bundle'), idPrefix: `bb${process.pid}` };
  try {
    if (!ctx.tar) {
      ctx.tar = path.join(dir, 'busybox.tar');
      must('bash', [path.join(REPO_ROOT, 'test/fixtures/build-busybox.sh'), ctx.tar]);
    }
    const rootfs = path.join(ctx.bundle, 'rootfs');
    fs.mkdirSync(rootfs, { recursive: true });
    must('tar', ['--extract', '--file', ctx.tar, '--directory', rootfs, '--numeric-owner', '--same-permissions']);
    must(BERTH_OCI, ['spec', '--bundle', ctx.bundle]);
    const configPath = path.join(ctx.bundle, 'config.json');
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    config.process.terminal = false;
    config.process.args = ['/bin/true'];
    config.linux.cgroupsPath = `/${cgroupParent}/bench`;
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
    for (const rt of ['berth-oci', 'runc', 'crun']) fs.mkdirSync(stateRoot(ctx, rt));
  } catch (err) {
    cleanup(ctx);
    throw err;
  }
  return ctx;
}

const stateRoot = (ctx, rt) => path.join(ctx.dir, `state-${rt}`);

/** `delete --force` of every container still in one of our state roots. */
function deleteLeftovers(rt, root) {
  if (rt !== 'berth-oci' && !have(rt)) return;
  const { cmd, pre } = runtimeCmd(rt, root);
  const ids = spawnSync(cmd, [...pre, 'list', '-q'], {
    encoding: 'utf8',
    env: RUNTIME_ENV,
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  for (const id of String(ids.stdout ?? '')
    .split('\n')
    .filter(Boolean)) {
    spawnSync(cmd, [...pre, 'delete', '--force', id], {
      stdio: 'ignore',
      env: RUNTIME_ENV,
      timeout: RUN_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
  }
}

function cleanup(ctx) {
  const problems = [];
  for (const rt of ['berth-oci', 'runc', 'crun']) if (fs.existsSync(stateRoot(ctx, rt))) deleteLeftovers(rt, stateRoot(ctx, rt));
  const left = removeCgroupTree(ctx.cgroupParent);
  if (left.length > 0) problems.push(`cgroups not removable: ${left.join(' ')}`);
  const mounted = mountsUnder(ctx.dir);
  if (mounted.length > 0) problems.push(`not removing ${ctx.dir}, still mounted: ${mounted.join(' ')}`);
  else fs.rmSync(ctx.dir, { recursive: true, force: true });
  return problems;
}

// ---------------------------------------------------------------------------
// The measurement
// ---------------------------------------------------------------------------

/**
 * Measures every row; returns { rows: [{name, stats?, error?, ratio?, target?}], notes: [] }.
 * `tar`: the busybox rootfs tar (built here when absent).
 */
export async function measureOci({ tar, iterations = 30, podmanIterations = 15, budgetSeconds = 100 } = {}) {
  const budget = Object.fromEntries(Object.entries(BUDGET_SHARES).map(([k, f]) => [k, f * budgetSeconds * 1000]));
  const rows = [];
  const notes = [];
  const add = (name, samples, error) => rows.push(error ? { name, error } : { name, stats: stats(samples) });
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist/oci-cli/berth-oci.js')))
    throw new Error('dist/oci-cli/berth-oci.js missing: npm run build first');
  const ctx = setup(tar);
  const t0 = Date.now();
  const load0 = loadavg();
  const errFile = path.join(ctx.dir, 'stderr');
  const bo = (rt) => stateRoot(ctx, rt);
  const haveRunc = have('runc');
  try {
    // floors: what Node and berth-oci cost before any work
    try {
      const fns = [() => timed(errFile, process.execPath, ['-e', '0']).ms, () => timed(errFile, BERTH_OCI, ['--version']).ms];
      if (STRIP_CA) fns.push(() => timed(errFile, process.execPath, ['-e', '0'], { env: process.env }).ms);
      const [node, version, nodeCa] = alternate(fns, iterations, budget.floors);
      add(OCI_ROWS.node, node);
      add(OCI_ROWS.version, version);
      if (STRIP_CA) {
        add(OCI_ROWS.nodeCa, nodeCa);
        notes.push(
          `NODE_EXTRA_CA_CERTS=${CALLER_CA} is set here: Node parses it at every start (row "${OCI_ROWS.nodeCa}"); every runtime and podman ran without it (BENCH_KEEP_NODE_EXTRA_CA_CERTS=1 keeps it)`,
        );
      } else if (CALLER_CA !== undefined) {
        notes.push(`NODE_EXTRA_CA_CERTS=${CALLER_CA} kept: every berth-oci start includes parsing it`);
      }
    } catch (err) {
      add(OCI_ROWS.node, null, err.message);
    }

    // run /bin/true
    const pairRows = (kind, make) => {
      const fns = [make('berth-oci', bo('berth-oci'), ctx.bundle, errFile, ctx.idPrefix)];
      if (haveRunc) fns.push(make('runc', bo('runc'), ctx.bundle, errFile, ctx.idPrefix));
      try {
        return alternate(fns, iterations, budget[kind]);
      } catch (err) {
        for (const rt of ['berth-oci', 'runc']) deleteLeftovers(rt, bo(rt));
        // one of them failed: time each alone, so the other still gets its row
        return fns.map((fn) => {
          try {
            return alternate([fn], iterations, budget[kind] / 2)[0];
          } catch (e) {
            return { error: e.message };
          }
        });
      }
    };
    const [bRun, rRun] = pairRows('run', runOnce);
    const crun = have('crun')
      ? measureCrun({
          dir: ctx.dir,
          bundle: ctx.bundle,
          stateRoot: bo('crun'),
          idPrefix: ctx.idPrefix,
          iterations,
          budget: { run: budget.crunRun, cycle: budget.crunCycle },
        })
      : { runError: 'crun not installed (Debian package crun)', cycleError: 'crun not installed (Debian package crun)' };
    if (crun.how) notes.push(`crun: ${crun.how}`);
    process.stderr.write('bench: OCI run rows done\n');

    const [bCycle, rCycle] = pairRows('cycle', cycleOnce);
    process.stderr.write('bench: OCI cycle rows done\n');

    const noRunc = haveRunc ? undefined : 'runc not installed (Debian package runc)';
    add(OCI_ROWS.run('berth-oci'), bRun, bRun?.error);
    add(OCI_ROWS.run('runc'), rRun, noRunc ?? rRun?.error);
    add(OCI_ROWS.run('crun'), crun.run, crun.runError);
    for (const [rt, c, err] of [
      ['berth-oci', bCycle, bCycle?.error],
      ['runc', rCycle, noRunc ?? rCycle?.error],
      ['crun', crun.cycle, crun.cycleError],
    ]) {
      add(OCI_ROWS.cycle(rt), c?.total, err);
      if (!err) for (const s of STEPS) add(OCI_ROWS.step(rt, s), c[s]);
    }

    // podman
    const podmanNames = [OCI_ROWS.podman('berth-oci'), OCI_ROWS.podman('runc')];
    const missing = ['podman', 'conmon', 'runc', 'unshare'].find((b) => !have(b));
    if (missing) {
      for (const n of podmanNames) add(n, null, `${missing} not installed (Debian package ${missing})`);
    } else {
      const p = await measurePodmanPair({
        dir: ctx.dir,
        tar: ctx.tar,
        cgroupParent: `berth-bench-${process.pid}-oci-podman`,
        runtimes: { 'berth-oci': BERTH_OCI, runc: 'runc' },
        iterations: podmanIterations,
        budgetMs: budget.podman,
        env: RUNTIME_ENV,
        alternate,
      });
      add(podmanNames[0], p['berth-oci'], p.errors?.['berth-oci']);
      add(podmanNames[1], p.runc, p.errors?.runc);
      notes.push(...(p.notes ?? []));
    }
    process.stderr.write('bench: OCI podman rows done\n');
  } finally {
    notes.push(...cleanup(ctx).map((p) => `cleanup: ${p}`));
  }
  notes.push(
    `OCI part took ${((Date.now() - t0) / 1000).toFixed(1)} s; load average ${load0} before, ${loadavg()} after (other work on the machine skews every row)`,
  );
  return { rows, notes };
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
  const mid = s.length >> 1;
  return { n: s.length, median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, p10: at(0.1), p90: at(0.9) };
}

/** berth-oci's row name -> its runc counterpart, and the issue's target for the ratio. */
const PAIRS = [
  [OCI_ROWS.run('berth-oci'), OCI_ROWS.run('runc'), undefined],
  [OCI_ROWS.cycle('berth-oci'), OCI_ROWS.cycle('runc'), 1.0],
  ...STEPS.map((s) => [OCI_ROWS.step('berth-oci', s), OCI_ROWS.step('runc', s), undefined]),
  [OCI_ROWS.podman('berth-oci'), OCI_ROWS.podman('runc'), 1.1],
];

export function printOci({ rows, notes }) {
  const m = (name) => rows.find((r) => r.name === name)?.stats?.median;
  const ms = (v) => (v === undefined ? 'n/a' : v.toFixed(1));
  const header = ['OCI runtime', 'n', 'median ms', 'p10-p90 ms', 'berth-oci/runc', 'target'];
  const lines = rows.map((r) => {
    const pair = PAIRS.find(([b]) => b === r.name);
    const ratio = pair && m(pair[0]) !== undefined && m(pair[1]) !== undefined ? m(pair[0]) / m(pair[1]) : undefined;
    const target =
      pair?.[2] === undefined ? '' : `<= ${pair[2].toFixed(2)}${ratio === undefined ? '' : ratio <= pair[2] ? ' met' : ' MISSED'}`;
    return [
      r.name,
      r.stats ? String(r.stats.n) : '-',
      ms(r.stats?.median),
      r.stats ? `${ms(r.stats.p10)}-${ms(r.stats.p90)}` : 'n/a',
      ratio === undefined ? '' : `${ratio.toFixed(2)}x`,
      target,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) =>
    cells
      .map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  console.log('');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
  for (const r of rows) if (r.error) console.log(`  ${r.name.trim()}: n/a: ${r.error}`);
  const floor = m(OCI_ROWS.version);
  const state = m(OCI_ROWS.step('berth-oci', 'state'));
  if (floor !== undefined && state !== undefined) {
    console.log(
      `berth-oci state: ${ms(state)} ms, answered by the native front (a command Node runs costs at least ${ms(floor)} ms: berth-oci --version; node -e 0: ${ms(m(OCI_ROWS.node))} ms)`,
    );
  }
  for (const n of notes) console.log(`note: ${n}`);
}

// ---------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------

function must(cmd, args) {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    env: RUNTIME_ENV,
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.trim()}`);
}

export function have(bin) {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try {
      fs.accessSync(path.join(d, bin), fs.constants.X_OK);
      return d !== '';
    } catch {
      return false;
    }
  });
}

const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function positiveInt(text, fallback) {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The iteration counts and budget from the environment, as run.mjs and the standalone run use them. */
export function ociOptionsFromEnv(tar) {
  const iterations = Math.min(positiveInt(process.env.BENCH_ITERATIONS, 30), 30);
  return { tar, iterations, podmanIterations: Math.min(iterations, 15), budgetSeconds: positiveInt(process.env.BENCH_OCI_SECONDS, 100) };
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === '--crun-worker') {
    try {
      process.stdout.write(JSON.stringify(crunRows(JSON.parse(process.argv[3]))) + '\n');
    } catch (err) {
      process.stdout.write(JSON.stringify({ runError: err.message, cycleError: err.message }) + '\n');
    }
  } else {
    if (process.getuid?.() !== 0) console.error('bench: OCI rows need root');
    printOci(await measureOci(ociOptionsFromEnv()));
  }
}
