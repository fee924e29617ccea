/**
 * The timing core of `berth bench`: bounded loops of timed runs, and what the host has (binaries
 * on PATH, filesystems the kernel knows). Every row is measured by one of these, so that all rows
 * count the same way: warm-up runs first and never in the samples, at most `iterations` samples,
 * and a row stops early once it has used its share of wall time.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Bounds of one row. */
export interface Budget {
  readonly iterations: number;
  readonly warmup: number;
  /** Wall time a row may use; the samples taken until then are kept. */
  readonly maxMs: number;
  /** Called once per run (warm-up included): the progress bar. */
  readonly tick?: (runs: number) => void;
  /** Set when the bench is interrupted (SIGINT): the row stops at its next run. */
  readonly signal?: AbortSignal;
}

function checkAborted(budget: Budget): void {
  if (budget.signal?.aborted) throw new Error('interrupted');
}

/** Every spawned command is SIGKILLed after this long (a hung runtime must not hang the bench). */
export const RUN_TIMEOUT_MS = 10_000;

/** Runs `once` (warm-up + iterations) times, or until the budget is used; milliseconds of each. */
export async function timeLoop(budget: Budget, once: (i: number) => Promise<number> | number): Promise<number[]> {
  const samples: number[] = [];
  const started = Date.now();
  for (let i = 0; i < budget.warmup + budget.iterations; i++) {
    if (i >= budget.warmup && samples.length > 0 && Date.now() - started > budget.maxMs) break;
    checkAborted(budget);
    const ms = await once(i);
    budget.tick?.(1);
    if (i >= budget.warmup) samples.push(ms);
  }
  return samples;
}

/**
 * For measurements made in C, many runs per call (the addon's): calls `measure(count)` with chunks
 * of runs until warm-up + iterations are done or the budget's time is used, so that these rows are
 * bounded in time as the others are; nanoseconds in, milliseconds out, warm-up runs dropped.
 */
export function chunkedNs(budget: Budget, measure: (count: number) => number[]): number[] {
  const ns: number[] = [];
  const total = budget.warmup + budget.iterations;
  const started = Date.now();
  while (ns.length < total) {
    if (ns.length > budget.warmup && Date.now() - started > budget.maxMs) break;
    checkAborted(budget);
    const chunk = measure(Math.min(ns.length < budget.warmup ? budget.warmup : 10, total - ns.length));
    ns.push(...chunk);
    budget.tick?.(chunk.length);
  }
  return ns.slice(budget.warmup).map((v) => v / 1e6);
}

/** Milliseconds of an async call. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Milliseconds of one synchronous spawn of cmd, stdout to /dev/null and stderr to errFile (a file,
 * not a pipe: a process the command leaves behind must not keep spawnSync waiting). Throws with the
 * command's last stderr lines when it fails.
 */
export function timedSpawn(cmd: string, args: string[], errFile: string, env: NodeJS.ProcessEnv = process.env): number {
  const errFd = fs.openSync(errFile, 'w');
  let r: ReturnType<typeof spawnSync>;
  let ms: number;
  try {
    const t0 = process.hrtime.bigint();
    r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', errFd], env, timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
    ms = Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    fs.closeSync(errFd);
  }
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`);
    const stderr = fs.readFileSync(errFile, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(-400);
    throw new Error(`\`${[path.basename(cmd), ...args].join(' ')}\` failed (${why})${stderr ? `: ${stderr}` : ''}`);
  }
  return ms;
}

/** An untimed helper command (setup, cleanup); throws when it fails. */
export function must(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? String(r.stderr).trim()}`);
}

/** The executable `bin` is found at on PATH, or undefined. */
export function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The kernel knows the filesystem type (it may be a module not yet loaded: then mount loads it). */
export function kernelHasFs(type: string): boolean {
  try {
    if (
      fs
        .readFileSync('/proc/filesystems', 'utf8')
        .split('\n')
        .some((l) => l.split('\t').pop() === type)
    )
      return true;
  } catch {
    // no /proc/filesystems: assume not
  }
  try {
    const release = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    return fs.readFileSync(`/lib/modules/${release}/modules.dep`, 'utf8').includes(`/${type}.ko`);
  } catch {
    return false;
  }
}

const TMPFS_MAGIC = 0x01021994;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/**
 * A cgroup "hybrid" host whose cgroup2 tree at /sys/fs/cgroup/unified holds controllers: crun
 * refuses to run there whatever its cgroup manager (`cgroups in hybrid mode not supported`), so
 * its rows run in a mount namespace without that tree (runtime-worker.ts).
 */
export function cgroupHybridWithV2Controllers(): boolean {
  try {
    if (fs.statfsSync('/sys/fs/cgroup').type !== TMPFS_MAGIC) return false;
    if (fs.statfsSync('/sys/fs/cgroup/unified').type !== CGROUP2_SUPER_MAGIC) return false;
    return fs.readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

/** Mount points at or below dir (field 5 of mountinfo, \ooo escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir + '/';
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((m) => m !== '' && (m === dir || m.startsWith(prefix)));
}

/** rmdir of the cgroup `relative` and everything below it, in every hierarchy; what is left. */
export function removeCgroupTree(relative: string): string[] {
  const base = '/sys/fs/cgroup';
  const left: string[] = [];
  const rm = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rm(path.join(d, e.name));
    try {
      fs.rmdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(d);
    }
  };
  let roots: string[] = [base];
  try {
    roots = roots.concat(fs.readdirSync(base).map((c) => path.join(base, c)));
  } catch {
    return left;
  }
  for (const root of roots) {
    try {
      if (!fs.lstatSync(root).isDirectory()) continue; // cpu -> cpu,cpuacct
    } catch {
      continue;
    }
    rm(path.join(root, relative));
  }
  return left;
}
