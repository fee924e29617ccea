/**
 * Debian's podman (with conmon) driving an OCI runtime, in a sandbox of its own: storage, run root,
 * tmp dir, OCI state root, events file and config files in one temporary directory, containers
 * under a cgroup parent of their own, network `none`. Nothing of the host's podman config,
 * /var/lib/containers or /run/libpod is read or written. The runtime is berth-oci unless
 * BERTH_OCI_RUNTIME names another (BERTH_OCI_RUNTIME=/usr/sbin/runc runs the same tests against
 * runc, which is how this harness itself is debugged).
 *
 * Also the pieces test/helpers/containerd.ts shares: running a program, the runtime under test,
 * removing a cgroup tree, waiting for our own processes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { constants as osConstants } from 'node:os';
import { expect } from 'vitest';
import { mountsUnder } from './env';
import { busyboxTar } from './fixtures';
import { REPO_ROOT } from './paths';

/** berth-oci as installed: the native front, with Node behind it (package.json's bin). */
export const BERTH_OCI = path.join(REPO_ROOT, 'bin', 'berth-oci');

/** The runtime binary under test: berth-oci, or what BERTH_OCI_RUNTIME names (runc, crun). */
export function ociRuntimeUnderTest(): string {
  return process.env.BERTH_OCI_RUNTIME || BERTH_OCI;
}

/** The first of these programs not on PATH (or at its absolute path), for a skip message. */
export function missingProgram(programs: string[]): string | undefined {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  return programs.find((p) => (p.startsWith('/') ? !fs.existsSync(p) : !dirs.some((d) => fs.existsSync(path.join(d, p)))));
}

export interface RunResult {
  /** Exit status; 128 + the signal's number when a signal ended it. */
  code: number;
  stdout: string;
  stderr: string;
}

/** The output of a command that must succeed, or a failure showing what podman said. */
export function ok(r: RunResult): string {
  expect(r.code, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  return r.stdout;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  /** Keep stdin open until the program exits (script copies a closed stdin's EOF to the pty,
   *  which can end an -it session before its output is read). */
  holdStdin?: boolean;
  /** Working directory (default /tmp): conmon writes its `oom` file into its own, so podman runs
   *  in its sandbox. */
  cwd?: string;
}

/** Runs a program to its end, output captured; SIGKILLed after the timeout (default 60 s). */
export function runProgram(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd ?? '/tmp', stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {});
    if (opts.holdStdin) child.on('exit', () => child.stdin.end());
    else child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({ code: code ?? 128 + (signal ? osConstants.signals[signal] : 0), stdout, stderr });
    });
  });
}

/** A shell word: what `script -c` and the runtime wrapper need. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Every directory of a cgroup tree, parents first, in every v1 controller and in the v2 tree. */
function cgroupTree(relative: string): string[] {
  const dirs: string[] = [];
  const roots = ['/sys/fs/cgroup', ...fs.readdirSync('/sys/fs/cgroup').map((c) => path.join('/sys/fs/cgroup', c))];
  const walk = (d: string) => {
    dirs.push(d);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  for (const root of new Set(roots)) {
    const top = path.join(root, relative);
    if (fs.existsSync(top) && fs.statSync(top).isDirectory()) walk(top);
  }
  return dirs;
}

/** Thaws and SIGKILLs whatever still runs in a cgroup tree of this harness (a runtime that
 *  failed to kill or thaw must not leave processes on the host); the pids it had to kill. */
export async function emptyCgroupTree(relative: string): Promise<number[]> {
  const write = (file: string, value: string) => {
    try {
      fs.writeFileSync(file, value);
    } catch {
      // no such controller file here
    }
  };
  const pids = () =>
    new Set(
      cgroupTree(relative).flatMap((d) =>
        fs.existsSync(path.join(d, 'cgroup.procs'))
          ? fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)
          : [],
      ),
    );
  const killed = [...pids()];
  for (const d of cgroupTree(relative)) {
    write(path.join(d, 'freezer.state'), 'THAWED');
    write(path.join(d, 'cgroup.freeze'), '0');
  }
  for (const pid of killed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (let i = 0; i < 50 && pids().size > 0; i++) await new Promise((r) => setTimeout(r, 100));
  return killed;
}

/** Removes a cgroup tree, deepest first. rmdir only: a cgroup with a process left in it stays,
 *  and is reported. */
export function removeCgroupTree(relative: string): string[] {
  const left: string[] = [];
  for (const d of cgroupTree(relative).reverse()) {
    try {
      fs.rmdirSync(d);
    } catch {
      left.push(d);
    }
  }
  return left;
}

/** Pids of the processes whose command line mentions `marker` (our temporary directory): the
 *  conmons, shims and daemons this harness started, found without matching any program name. */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Waits up to `ms` for those processes to end by themselves, then SIGKILLs what is left, by pid. */
export async function reapOurProcesses(marker: string, ms = 10_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (processesMentioning(marker).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const left = processesMentioning(marker);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return left;
}

/** Unmounts whatever a caller left mounted under dir, deepest first (lazily: a busy mount goes
 *  once its last user does). */
export async function unmountUnder(dir: string): Promise<string[]> {
  const mounts = mountsUnder(dir).sort((a, b) => b.length - a.length);
  for (const m of mounts) await runProgram('umount', ['-l', m]);
  return mounts;
}

export interface Podman {
  /** The temporary directory everything lives in. */
  readonly base: string;
  /** The runtime binary podman drives (through a wrapper that gives it --root). */
  readonly runtime: string;
  /** The runtime's --root: what berth-oci keeps per container, empty once podman removed them. */
  readonly ociRoot: string;
  /** podman's run root: conmon writes each container's `oom` file there. */
  readonly runRoot: string;
  /** The cgroup parent of every container (relative to each hierarchy's root). */
  readonly cgroupParent: string;
  /** podman GLOBAL-FLAGS ARGS...; `run` and `create` get --cgroup-parent. */
  podman(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** The same under a pseudo-terminal of its own (util-linux's script), for `run -it`. */
  podmanWithTty(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Removes every container, then what podman and conmon left: processes, mounts, cgroups, files. */
  cleanup(): Promise<void>;
}

export const PODMAN_PROGRAMS = ['podman', 'conmon', 'script', 'unshare'];
export const TEST_IMAGE = 'localhost/busybox:latest';

/** Hard limits podman asks for by default (1048576 open files) are above what root may raise
 *  to in a sandbox without CAP_SYS_RESOURCE, for runc as for berth-oci; lowering is always allowed. */
const ULIMITS = ['nofile=4096:4096', 'nproc=4096:4096'];

export async function startPodman(runtime = ociRuntimeUnderTest()): Promise<Podman> {
  if (!fs.existsSync(runtime))
    throw new Error(
      `the OCI runtime ${runtime} does not exist (npm run build makes dist/oci-cli/berth-oci.js, npm run build:native the front bin/berth-oci runs)`,
    );
  const base = fs.mkdtempSync('/tmp/berth-podman-');
  const at = (...p: string[]) => path.join(base, ...p);
  for (const d of ['root', 'runroot', 'tmp', 'net', 'bin', 'oci-root']) fs.mkdirSync(at(d));
  const cgroupParent = `/${path.basename(base)}`;
  // podman passes its --runtime-flag options to create and start but not to delete, so the state
  // root is given by a wrapper. Its name is the runtime's: podman passes --log-format=json only to
  // runtimes listed in runtime_supports_json, by name.
  const name = path.basename(runtime).replace(/\.js$/, '');
  const wrapper = at('bin', name);
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${shellQuote(runtime)} --root ${shellQuote(at('oci-root'))} "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(at('storage.conf'), `[storage]\ndriver = "overlay"\nrunroot = "${at('runroot')}"\ngraphroot = "${at('root')}"\n`);
  fs.writeFileSync(
    at('containers.conf'),
    [
      '[containers]',
      'netns = "none"',
      'log_driver = "k8s-file"',
      `default_ulimits = ${JSON.stringify(ULIMITS)}`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${at('events.log')}"`,
      `tmp_dir = "${at('tmp')}"`,
      `static_dir = "${at('root', 'libpod')}"`,
      `volume_path = "${at('root', 'volumes')}"`,
      `runtime_supports_json = ${JSON.stringify(['crun', 'runc', name])}`,
      '[network]',
      `network_config_dir = "${at('net')}"`,
      '',
    ].join('\n'),
  );
  fs.writeFileSync(at('registries.conf'), 'unqualified-search-registries = []\n');
  const env = {
    ...process.env,
    CONTAINERS_CONF: at('containers.conf'),
    CONTAINERS_STORAGE_CONF: at('storage.conf'),
    CONTAINERS_REGISTRIES_CONF: at('registries.conf'),
  };
  const global = [
    '--root',
    at('root'),
    '--runroot',
    at('runroot'),
    '--tmpdir',
    at('tmp'),
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--runtime',
    wrapper,
  ];
  const withParent = (args: string[]) =>
    args[0] === 'run' || args[0] === 'create' ? [args[0], '--cgroup-parent', cgroupParent, ...args.slice(1)] : args;
  const podman = (args: string[], opts: RunOptions = {}) =>
    runProgram('podman', [...global, ...withParent(args)], { cwd: base, ...opts, env: { ...env, ...opts.env } });
  const podmanWithTty = (args: string[], opts: RunOptions = {}) =>
    runProgram('script', ['-qec', ['podman', ...global, ...withParent(args)].map(shellQuote).join(' '), '/dev/null'], {
      holdStdin: true,
      cwd: base,
      ...opts,
      env: { ...env, ...opts.env },
    });

  const p: Podman = {
    base,
    runtime,
    ociRoot: at('oci-root'),
    runRoot: at('runroot'),
    cgroupParent,
    podman,
    podmanWithTty,
    async cleanup() {
      const problems: string[] = [];
      const rm = await podman(['rm', '--all', '--force', '--time', '0']);
      if (rm.code !== 0) problems.push(`podman rm --all: ${rm.stderr.trim()}`);
      // conmon and the `podman container cleanup` it runs when a container ends outlive podman.
      const killed = await reapOurProcesses(base);
      if (killed.length > 0) problems.push(`killed processes left running: ${killed.join(' ')}`);
      const stray = await emptyCgroupTree(cgroupParent);
      if (stray.length > 0) problems.push(`killed processes left in the containers' cgroups: ${stray.join(' ')}`);
      const unmounted = await unmountUnder(base);
      if (unmounted.length > 0) problems.push(`unmounted: ${unmounted.join(' ')}`);
      fs.rmSync(base, { recursive: true, force: true });
      const cgroups = removeCgroupTree(cgroupParent);
      if (cgroups.length > 0) problems.push(`cgroups not removable: ${cgroups.join(' ')}`);
      if (problems.length > 0) throw new Error(`podman sandbox ${base}: ${problems.join('; ')}`);
    },
  };
  try {
    await importBusybox(p, env, global);
  } catch (e) {
    await p.cleanup().catch(() => {});
    throw e;
  }
  return p;
}

/** `podman import` of the busybox rootfs tar. An image copy records blob digests in
 *  /var/lib/containers/cache whatever --root says (containers/image's blob-info cache): the import
 *  runs in a mount namespace of its own with a tmpfs on /var/lib, so the host's is never written. */
async function importBusybox(p: Podman, env: NodeJS.ProcessEnv, global: string[]): Promise<void> {
  const script = 'mount -t tmpfs -o size=16m,mode=0755 berth-podman-test /var/lib && exec "$@"';
  const r = await runProgram(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', 'podman', ...global, 'import', busyboxTar(), TEST_IMAGE],
    { env },
  );
  if (r.code !== 0) throw new Error(`podman import: exit ${r.code}: ${r.stderr.trim()}`);
}
