import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { constants as osConstants } from 'node:os';
import { NetworkManager } from '../../src/network/attachments';
import { REPO_ROOT } from './paths';

// ---------------------------------------------------------------------------
// Temporary store and run roots
// ---------------------------------------------------------------------------

export interface TempRoots {
  /** The mkdtemp directory holding both roots; removed by cleanup(). */
  base: string;
  /** Store root (images, layers, container state): BERTH_ROOT. */
  root: string;
  /** Run root (pids, sockets, locks): BERTH_RUNROOT. */
  runRoot: string;
  /**
   * Removes the root's networks (its default network's bridge too: bridges are
   * host-wide and outlive the directory), then base recursively. Refuses, and
   * throws, if a network is still in use or anything is still mounted under
   * base: rm -rf through a leaked bind mount would delete host files, and a
   * leaked mount is itself the bug a test should report.
   */
  cleanup(): void;
}

export function tempRoots(): TempRoots {
  const base = fs.mkdtempSync('/tmp/berth-test-');
  const root = path.join(base, 'root');
  const runRoot = path.join(base, 'run');
  fs.mkdirSync(root, { mode: 0o700 });
  fs.mkdirSync(runRoot, { mode: 0o700 });
  return {
    base,
    root,
    runRoot,
    cleanup() {
      removeNetworksOf(root, runRoot);
      const leaked = mountsUnder(base);
      if (leaked.length > 0) {
        throw new Error(`refusing to remove ${base}: still mounted under it:\n  ${leaked.join('\n  ')}`);
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/**
 * What the root made on the host for its networks, through the library (Berth.removeAllNetworks
 * does the same): dead containers' attachments released, then every network with its bridge. Only
 * this root's own state names what goes, so networks of concurrent tests stay untouched.
 */
function removeNetworksOf(root: string, runRoot: string): void {
  if (!fs.existsSync(path.join(root, 'networks')) && !fs.existsSync(path.join(runRoot, 'cni'))) return;
  new NetworkManager(root, runRoot).removeAllNetworks();
}

/** Mount points in this process's mount namespace at or below dir. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  return readMountPoints().filter((m) => m === dir || m.startsWith(prefix));
}

// ---------------------------------------------------------------------------
// Host state snapshot: did a run leave mounts or cgroups behind?
// ---------------------------------------------------------------------------

export interface HostSnapshot {
  /** Number of lines of /proc/self/mountinfo (catches stacked mounts on one point). */
  mountCount: number;
  /** Mount points from /proc/self/mountinfo, octal escapes decoded. */
  mountPoints: Set<string>;
  /**
   * Every cgroup directory below a `berth` parent, as absolute paths:
   * /sys/fs/cgroup/<controller>/berth/** (v1, and /sys/fs/cgroup/unified/berth
   * on a hybrid host) and /sys/fs/cgroup/berth/** (pure v2). The parent
   * `berth` directory itself is not included: a runtime may keep it, like
   * docker keeps its parent cgroup.
   */
  cgroupDirs: Set<string>;
  /** Network links named berth* (default networks' bridges, berth0, berth1, ...). */
  berthLinks: Set<string>;
  /** iptables-save lines naming berth (the default network's masquerading rules name it), counters
   *  stripped; empty where iptables-save is missing or not permitted. */
  berthRules: Set<string>;
}

export interface HostSnapshotOptions {
  /** Name of berth's parent cgroup directory. Default 'berth'. */
  cgroupParent?: string;
}

export function hostSnapshot(opts: HostSnapshotOptions = {}): HostSnapshot {
  const mountinfo = readMountinfoLines();
  return {
    mountCount: mountinfo.length,
    mountPoints: new Set(mountinfo.map(mountPointOf)),
    cgroupDirs: new Set(berthCgroupDirs(opts.cgroupParent ?? 'berth')),
    berthLinks: new Set(safeReaddir('/sys/class/net').flatMap((e) => (e.name.startsWith('berth') ? [e.name] : []))),
    berthRules: new Set(berthIptablesRules()),
  };
}

/**
 * Human-readable differences between two snapshots; empty when the host is
 * unchanged. Use as `expect(hostChanges(before)).toEqual([])` so a failure
 * names the leaked mount or cgroup.
 */
export function hostChanges(before: HostSnapshot, after: HostSnapshot = hostSnapshot()): string[] {
  const changes: string[] = [];
  for (const m of after.mountPoints) if (!before.mountPoints.has(m)) changes.push(`mount added: ${m}`);
  for (const m of before.mountPoints) if (!after.mountPoints.has(m)) changes.push(`mount removed: ${m}`);
  if (after.mountCount !== before.mountCount) {
    changes.push(`mountinfo lines: ${before.mountCount} -> ${after.mountCount}`);
  }
  for (const c of after.cgroupDirs) if (!before.cgroupDirs.has(c)) changes.push(`cgroup added: ${c}`);
  for (const c of before.cgroupDirs) if (!after.cgroupDirs.has(c)) changes.push(`cgroup removed: ${c}`);
  for (const l of after.berthLinks) if (!before.berthLinks.has(l)) changes.push(`link added: ${l}`);
  for (const l of before.berthLinks) if (!after.berthLinks.has(l)) changes.push(`link removed: ${l}`);
  for (const r of after.berthRules) if (!before.berthRules.has(r)) changes.push(`iptables rule added: ${r}`);
  for (const r of before.berthRules) if (!after.berthRules.has(r)) changes.push(`iptables rule removed: ${r}`);
  return changes;
}

function berthIptablesRules(): string[] {
  let out: string;
  try {
    out = execFileSync('iptables-save', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  let table = '';
  const rules: string[] = [];
  for (const line of out.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (/berth/i.test(line)) rules.push(`${table} ${line.replace(/ \[\d+:\d+\]$/, '')}`);
  }
  return rules.sort();
}

const CGROUP_FS = '/sys/fs/cgroup';

function berthCgroupDirs(parentName: string): string[] {
  const parents = [path.join(CGROUP_FS, parentName)];
  for (const entry of safeReaddir(CGROUP_FS)) {
    if (entry.isDirectory()) parents.push(path.join(CGROUP_FS, entry.name, parentName));
  }
  const found: string[] = [];
  for (const parent of parents) collectDirs(parent, found);
  return found.sort();
}

function collectDirs(dir: string, out: string[]): void {
  for (const entry of safeReaddir(dir)) {
    if (!entry.isDirectory()) continue;
    const child = path.join(dir, entry.name);
    out.push(child);
    collectDirs(child, out);
  }
}

function safeReaddir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    // Missing controller or a cgroup removed while we walk: nothing to report.
    return [];
  }
}

function readMountinfoLines(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
}

function readMountPoints(): string[] {
  return readMountinfoLines().map(mountPointOf);
}

/** Field 5 of a mountinfo line, with the kernel's \ooo escapes (space, tab, newline, backslash) decoded. */
function mountPointOf(line: string): string {
  const field = line.split(' ')[4] ?? '';
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

// ---------------------------------------------------------------------------
// Running the CLI
// ---------------------------------------------------------------------------

export const CLI_PATH = path.join(REPO_ROOT, 'dist', 'cli', 'berth.js');

export interface RunCliOptions {
  /** Roots from tempRoots(); sets BERTH_ROOT and BERTH_RUNROOT. */
  roots?: Pick<TempRoots, 'root' | 'runRoot'>;
  /** Extra environment, applied last. */
  env?: NodeJS.ProcessEnv;
  /** Written to the CLI's stdin, then closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
  /** Milliseconds before the CLI process is killed with SIGKILL. Default 30000. */
  timeoutMs?: number;
  cwd?: string;
}

export interface CliResult {
  /** Exit code; 128 + signal number when killed by a signal (shell convention). */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** How long to wait for stdout/stderr to reach EOF after the CLI exits. */
const STREAM_GRACE_MS = 500;

/**
 * Runs `node dist/cli/main.js ...args` from the repository root.
 *
 * Only the process started here is ever killed (by its pid, on timeout).
 * If a detached grandchild (the shim of `run -d`) keeps the CLI's stdout or
 * stderr open, the result is returned STREAM_GRACE_MS after the CLI exits
 * rather than hanging until the container ends.
 */
export function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  if (!fs.existsSync(CLI_PATH)) {
    return Promise.reject(new Error(`${CLI_PATH} does not exist; run \`npm run build\` first`));
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.roots) {
    env.BERTH_ROOT = opts.roots.root;
    env.BERTH_RUNROOT = opts.roots.runRoot;
  }
  Object.assign(env, opts.env);

  return new Promise((resolve, reject) => {
    // `node --` as the executable's #! line runs it: Node 20 would otherwise read a
    // `--env-file` of berth's own command line as its own (nodejs/node#54232)
    const child = spawn(process.execPath, ['--', CLI_PATH, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => stdout.push(b));
    child.stderr!.on('data', (b: Buffer) => stderr.push(b));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // the CLI may exit without reading stdin
      child.stdin!.end(opts.input);
    }

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);

    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout!.destroy();
      child.stderr!.destroy();
      resolve({
        code: code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0),
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
      });
    };

    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
    // 'close' means the process exited and both pipes reached EOF: the normal case.
    child.on('close', finish);
    child.on('exit', (code, signal) => {
      setTimeout(() => finish(code, signal), STREAM_GRACE_MS).unref();
    });
  });
}
