/**
 * OCI runtime rows: the same bundle (the image's rootfs, `berth-oci spec`'s config running `true`,
 * network namespace of its own, cgroups under the bench's parent) under every OCI runtime found on
 * PATH (runc, crun, youki, runsc) or named by --runtimes, and berth-oci, berth's own. Every
 * runtime gets a state root of its own in the temp dir: nothing of the host's runtime state
 * (/run/runc, /run/crun) is read or written.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from './addon';
import { cgroupHybridWithV2Controllers, must, onPath, RUN_TIMEOUT_MS, type Budget } from './measure';
import { deleteLeftovers, runtimeSamples, type RuntimeRun } from './runtime-loop';
import { runtimeRowName, type RowPlan } from './rows';
import type { BenchDirs } from './setup';
import type { WorkerArgs } from './runtime-worker';

/** Looked for on PATH when --runtimes is not given. */
export const KNOWN_RUNTIMES = ['runc', 'crun', 'youki', 'runsc'];
export const BERTH_OCI = path.join(PACKAGE_ROOT, 'bin', 'berth-oci');

/** The runtimes' bundle: config.json written next to the rootfs setup mounted. */
export function writeBundleConfig(d: BenchDirs, bundle: string): void {
  must(BERTH_OCI, ['spec', '--bundle', bundle]);
  const file = path.join(bundle, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    process: { args: string[]; terminal: boolean };
    root: { path: string; readonly: boolean };
    linux: { cgroupsPath?: string };
  };
  config.process.args = [d.truePath];
  config.process.terminal = false;
  config.root = { path: 'rootfs', readonly: false };
  config.linux.cgroupsPath = `/${d.cgroupParent}/bench`;
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
}

/** `requested`: the --runtimes list (names on PATH or paths); undefined: every known one found. */
export function runtimeRows(d: BenchDirs, bundle: () => string, requested: string[] | undefined, env: NodeJS.ProcessEnv): RowPlan[] {
  const names = requested ?? KNOWN_RUNTIMES.filter((r) => onPath(r));
  const list = names.includes('berth-oci') ? names : [...names, 'berth-oci'];
  return list.map((name) => {
    const label = path.basename(name);
    const cmd = label === 'berth-oci' && !name.includes('/') ? BERTH_OCI : name.includes('/') ? name : onPath(name);
    return {
      name: runtimeRowName(label),
      group: 'runtime',
      skip: cmd && fs.existsSync(cmd) ? undefined : `${name} is not found on PATH`,
      measure: async (budget: Budget) => {
        const stateRoot = path.join(d.dir, 'state', label);
        fs.mkdirSync(stateRoot, { recursive: true });
        const run: RuntimeRun = { cmd: cmd!, stateRoot, bundle: bundle(), idPrefix: `bb${process.pid}`, errFile: d.errFile, env };
        try {
          return label === 'crun' && cgroupHybridWithV2Controllers() ? inWorker(run, budget) : await runtimeSamples(run, budget);
        } finally {
          deleteLeftovers(run);
        }
      },
    };
  });
}

const WORKER = path.join(PACKAGE_ROOT, 'dist', 'bench', 'runtime-worker.js');

function inWorker(run: RuntimeRun, budget: Budget): number[] {
  const args: WorkerArgs = { run, budget: { iterations: budget.iterations, warmup: budget.warmup, maxMs: budget.maxMs } };
  const r = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', 'umount -l /sys/fs/cgroup/unified && exec "$@"', 'sh'].concat(
      process.execPath,
      WORKER,
      JSON.stringify(args),
    ),
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: run.env,
      timeout: budget.maxMs + (budget.warmup + 2) * RUN_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    },
  );
  budget.tick?.(budget.warmup + budget.iterations);
  const line =
    String(r.stdout ?? '')
      .trim()
      .split('\n')
      .pop() ?? '';
  let parsed: { samples?: number[]; error?: string };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    throw new Error(
      `the crun worker failed (${r.error?.message ?? `exit status ${r.status}`}): ${String(r.stderr ?? '')
        .trim()
        .slice(-300)}`,
    );
  }
  if (parsed.error !== undefined) throw new Error(parsed.error);
  return parsed.samples ?? [];
}
