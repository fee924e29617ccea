#!/usr/bin/env node
// The CLI's cold start against Node's own (issue 12: `berth --version` at most 1.1 x `node -e 0`).
//
//   node bench/cold-start.mjs          # standalone, no root needed
//   BENCH_ITERATIONS=100 node bench/cold-start.mjs
//
// Also called by bench/run.mjs. The commands are timed in alternation (node, berth, node, ...), so
// both see the same load on a shared machine; each sample is one spawnSync wall time. Rows:
//   node -e 0                       the floor: Node's start with nothing to run
//   node --snapshot-blob (empty)    Node's start from a user-land startup snapshot that does nothing
//                                   (why berth does not use one: on Node 20 deserializing a blob
//                                   from a file costs more than berth's bundles do)
//   berth --version                 the executable as installed (shebang, launcher, core bundle)
//   berth --help
//   berth ps -a                     on an empty temp root: the commands bundle too
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TIMEOUT_MS = 10_000;
// Node parses every certificate of NODE_EXTRA_CA_CERTS at startup (~60 ms on a 2-core VM with
// Debian's bundle), which would drown what is measured; berth bench drops it the same way.
const KEEP_CA_CERTS = process.env.BENCH_KEEP_NODE_EXTRA_CA_CERTS === '1';
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => KEEP_CA_CERTS || k !== 'NODE_EXTRA_CA_CERTS'));

function once(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: ENV, timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
    throw new Error(`\`${[cmd, ...args].join(' ')}\` failed (${why}): ${String(r.stderr ?? '').trim()}`);
  }
  return ms;
}

function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, median: at(0.5), p10: at(0.1), p90: at(0.9), samples };
}

/** Emptiest user-land startup snapshot, in dir; undefined where Node cannot build one. */
function emptySnapshot(dir) {
  const entry = path.join(dir, 'snapshot-entry.js');
  const blob = path.join(dir, 'empty.blob');
  fs.writeFileSync(entry, "require('v8').startupSnapshot.setDeserializeMainFunction(() => {});\n");
  const r = spawnSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', entry], {
    stdio: 'ignore',
    env: ENV,
    timeout: 60_000,
  });
  return r.status === 0 ? blob : undefined;
}

/**
 * Times the rows above, `iterations` samples each after 3 warm-ups (which also write the CLI's
 * code caches). `cli` is the berth executable (dist/cli/berth.js), run through its shebang.
 */
export function measureColdStart({ iterations = 50, cli = path.join(REPO_ROOT, 'dist', 'cli', 'berth.js') } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cold-start-'));
  try {
    const global = ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run')];
    const rows = [
      ['node -e 0', process.execPath, ['-e', '0']],
      ['berth --version', cli, ['--version']],
      ['berth --help', cli, ['--help']],
      ['berth ps -a (empty root)', cli, [...global, 'ps', '-a']],
    ];
    const blob = emptySnapshot(dir);
    if (blob) rows.splice(1, 0, ['node --snapshot-blob (empty)', process.execPath, ['--snapshot-blob', blob]]);
    const samples = rows.map(() => []);
    for (let i = 0; i < 3 + iterations; i++) {
      rows.forEach(([, cmd, args], r) => {
        const ms = once(cmd, args);
        if (i >= 3) samples[r].push(ms);
      });
    }
    const result = rows.map(([name], r) => ({ name, stats: summary(samples[r]) }));
    const base = result[0].stats.median;
    for (const row of result) row.ratio = row.stats.median / base;
    return { rows: result, extraCaCerts: process.env.NODE_EXTRA_CA_CERTS !== undefined, keptCaCerts: KEEP_CA_CERTS };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function printColdStart({ rows, extraCaCerts, keptCaCerts }) {
  console.log('');
  console.log('CLI cold start (alternating runs; ratio = median / median of node -e 0)');
  for (const { name, stats, ratio } of rows) {
    const line = `${name.padEnd(30)} ${stats.median.toFixed(1).padStart(7)} ms  p10-p90 ${stats.p10.toFixed(1)}-${stats.p90.toFixed(1)}`;
    console.log(`${line}  ${ratio.toFixed(2)} x`);
  }
  const version = rows.find((r) => r.name === 'berth --version');
  if (version)
    console.log(`berth --version / node -e 0: ${version.ratio.toFixed(2)} (target <= 1.1) ${version.ratio <= 1.1 ? 'met' : 'MISSED'}`);
  if (extraCaCerts && keptCaCerts) console.log('note: NODE_EXTRA_CA_CERTS is set; every Node start above (the floor too) parses it');
  else if (extraCaCerts)
    console.log('note: NODE_EXTRA_CA_CERTS is set here; these runs had it removed (BENCH_KEEP_NODE_EXTRA_CA_CERTS=1 keeps it)');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number.parseInt(process.env.BENCH_ITERATIONS ?? '', 10);
  printColdStart(measureColdStart({ iterations: Number.isInteger(n) && n > 0 ? n : 50 }));
}
