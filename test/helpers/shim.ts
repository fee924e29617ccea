import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Berth, ContainerOptions } from '../../src/index';
import type { NativeSpawnPlan } from '../../src/native';
import { encodePlan } from '../../src/native/plan-codec';
import { spawnPlan } from '../../src/runtime/plan';
import { REPO_ROOT } from './paths';

/** The executables binding.gyp builds next to the addon. */
export const SHIM_PATH = path.join(REPO_ROOT, 'build', 'Release', 'berth-shim');
export const INIT_PATH = path.join(REPO_ROOT, 'build', 'Release', 'berth-init');

/** A created container with everything a start needs on disk, and the plan still editable. */
export interface PreparedContainer {
  id: string;
  name: string;
  dir: string;
  plan: NativeSpawnPlan;
  /** The container's cgroup directories (one per hierarchy), which the shim removes. */
  cgroupDirs: string[];
  oomFile?: string;
  stateFile: string;
  logFile: string;
  stopMarker: string;
  nameLink: string;
}

/** What Runtime.start does before it spawns: the container's directories and /etc files, its cgroup
 *  plan and the spawn plan, with stdio left for the shim to replace. */
export function prepareContainer(berth: Berth, cmd: string[], options: Partial<ContainerOptions> = {}): PreparedContainer {
  const info = berth.runtime.create({ image: 'busybox', cmd, ...options });
  const { config } = info;
  const dir = berth.runtime.store.containerDir(config.id);
  for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'hostname'), `${config.hostname}\n`);
  fs.writeFileSync(path.join(dir, 'hosts'), `127.0.0.1\tlocalhost ${config.hostname}\n`);
  fs.writeFileSync(path.join(dir, 'resolv.conf'), '');
  const cgroups = berth.runtime.cgroups;
  const plan = spawnPlan(config, dir, cgroups.plan(config.id, config.limits), { fds: [0, 1, 2], tty: false, ttySize: [24, 80] });
  const cgroupDirs = cgroups.dirs(config.id);
  let oomFile: string | undefined;
  if (cgroups.version === 2) {
    oomFile = path.join(cgroupDirs[0], 'memory.events');
  } else {
    // <mount point>/<parent>/<id>: the hierarchy whose mount point is .../memory
    const memory = cgroupDirs.find((d) => path.basename(path.dirname(path.dirname(d))) === 'memory');
    if (memory) oomFile = path.join(memory, 'memory.oom_control');
  }
  return {
    id: config.id,
    name: config.name,
    dir,
    plan,
    cgroupDirs,
    oomFile,
    stateFile: path.join(dir, 'state.json'),
    logFile: path.join(dir, 'container.log'),
    stopMarker: path.join(dir, 'stopped'),
    nameLink: path.join(berth.runtime.store.dir, '.names', config.name),
  };
}

export interface ShimOptions {
  restart?: 'no' | 'always' | 'on-failure' | 'unless-stopped';
  restartMax?: number;
  logMaxSize?: number;
  logMaxFiles?: number;
  /** --rm: the shim deletes the container's directory and name link after the final exit. */
  autoRemove?: boolean;
}

/** Writes the plan and the shim's config file (outside the container's directory, which --rm deletes). */
export function writeShimConfig(c: PreparedContainer, scratch: string, o: ShimOptions = {}): string {
  const planFile = path.join(scratch, `${c.id}.plan`);
  fs.writeFileSync(planFile, encodePlan(c.plan));
  const lines = [
    `plan=${planFile}`,
    `state=${c.stateFile}`,
    `log=${c.logFile}`,
    `log_max_size=${o.logMaxSize ?? 0}`,
    `log_max_files=${o.logMaxFiles ?? 1}`,
    ...c.cgroupDirs.map((d) => `cgroup_dir=${d}`),
    ...(c.oomFile ? [`oom_file=${c.oomFile}`, 'oom_key=oom_kill'] : []),
    `restart=${o.restart ?? 'no'}`,
    `restart_max=${o.restartMax ?? 0}`,
    `stop_marker=${c.stopMarker}`,
    ...(o.autoRemove ? [`remove_dir=${c.dir}`, `name_link=${c.nameLink}`] : []),
  ];
  const configFile = path.join(scratch, `${c.id}.conf`);
  fs.writeFileSync(configFile, lines.join('\n') + '\n');
  return configFile;
}

export interface ShimStart {
  /** The line the shim wrote on fd 3, without its newline. */
  line: string;
  /** From an `ok PID STARTTIME` line. */
  pid?: number;
  startTime?: number;
  /** From an `err STEP\tERRNO\tINDEX\tPATH` line. */
  error?: { step: string; errno: number; index: number; path: string };
  /** Exit code of the process started here: the shim's first half, which exits at once. */
  launcherExit: number | null;
}

/** Starts the shim the way the launcher does (fd 3 a pipe) and reads its one status line. */
export function startShim(configFile: string, timeoutMs = 15_000): Promise<ShimStart> {
  return new Promise((resolve, reject) => {
    const child = spawn(SHIM_PATH, [configFile], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const status = child.stdio[3] as NodeJS.ReadableStream;
    const chunks: Buffer[] = [];
    let ended = false;
    let exitCode: number | null | undefined;
    const timer = setTimeout(() => reject(new Error(`berth-shim wrote no status line within ${timeoutMs} ms`)), timeoutMs);
    const done = () => {
      if (!ended || exitCode === undefined) return;
      clearTimeout(timer);
      const line = Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
      const out: ShimStart = { line, launcherExit: exitCode };
      const ok = /^ok (\d+) (\d+)$/.exec(line);
      if (ok) {
        out.pid = Number(ok[1]);
        out.startTime = Number(ok[2]);
      }
      const err = /^err ([^\t]*)\t(-?\d+)\t(-?\d+)\t(.*)$/.exec(line);
      if (err) out.error = { step: err[1], errno: Number(err[2]), index: Number(err[3]), path: err[4] };
      resolve(out);
    };
    status.on('data', (b: Buffer) => chunks.push(b));
    status.on('end', () => {
      ended = true;
      done();
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      exitCode = code;
      done();
    });
  });
}

export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

export function readLog(file: string): LogEntry[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as LogEntry);
}

export interface ShimState {
  status: 'running' | 'exited';
  pid: number;
  pidStartTime: number;
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  oomKilled?: boolean;
  restartCount: number;
  shimPid: number;
  error?: string;
}

export function readState(c: PreparedContainer): ShimState | undefined {
  try {
    return JSON.parse(fs.readFileSync(c.stateFile, 'utf8')) as ShimState;
  } catch {
    return undefined;
  }
}

/** A field of /proc/PID/status, or undefined when the process is gone. */
export function procStatus(pid: number, field: string): string | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  const state = procStatus(pid, 'State');
  return state !== undefined && !state.startsWith('Z') && !state.startsWith('X');
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PIDs of live processes whose command line contains `text` (e.g. a shim's config file name). */
export function processesWith(text: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text) && alive(Number(p))) out.push(Number(p));
    } catch {
      // exited while we looked
    }
  }
  return out;
}
