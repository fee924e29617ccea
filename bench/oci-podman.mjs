// `podman run --rm busybox true` with --runtime berth-oci against --runtime runc, for bench/oci.mjs.
//
// Debian's podman (with conmon) in a sandbox of its own, as test/helpers/podman.ts builds it (copied
// here: that helper is TypeScript for vitest): storage, run root, tmp dir, events file, config
// files and each runtime's state root in one temporary directory; containers under a cgroup parent
// named for this bench process; cgroupfs manager; network none. Nothing of the host's podman
// config, /var/lib/containers, /run/libpod, /run/runc or /run/berth-oci is read or written.
//
// - Each runtime is given to podman as a wrapper script named like the runtime (podman passes
//   --log-format=json only to the runtimes runtime_supports_json names, by name) that adds
//   `--root <our dir>`: podman passes --runtime-flag to create and start but not to delete.
// - `podman import` of the busybox tar records blob digests in /var/lib/containers/cache whatever
//   --root says (containers/image's blob-info cache), so the import runs in a mount namespace of
//   its own with a tmpfs on /var/lib. `podman run` of the imported image copies nothing.
// - The default hard ulimits podman asks for (1048576 open files) are above what root may raise to
//   here; containers.conf lowers them, for both runtimes alike.
// - conmon runs `podman container cleanup` when a container exits, which may outlive `podman run`:
//   between timed runs (untimed) we wait until no process mentions our directory, so one run's
//   leftovers do not share the CPUs with the next.
//
// Cleanup: `podman rm --all --force`, then what podman and conmon left: processes whose command
// line mentions our directory (waited for, then SIGKILLed by pid), processes left in our cgroup
// parent, mounts under our directory (umount -l), the directory, the cgroup tree.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const RUN_TIMEOUT_MS = 30_000;
const CGROUP_FS = '/sys/fs/cgroup';
const IMAGE = 'localhost/bench-busybox:latest';
const ULIMITS = ['nofile=4096:4096', 'nproc=4096:4096'];

const shellQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Times `podman run --rm IMAGE true` once per runtime per iteration, alternating.
 * runtimes: { name: binary }; env: the environment podman (and so conmon and the runtime) gets. Returns { [name]: samples ms, errors?: { [name]: message }, notes }.
 */
export async function measurePodmanPair({ dir, tar, cgroupParent, runtimes, iterations, budgetMs, env: baseEnv, alternate }) {
  const base = fs.mkdtempSync(path.join(dir, 'podman-'));
  const at = (...p) => path.join(base, ...p);
  const result = { notes: [] };
  const names = Object.keys(runtimes);
  for (const d of ['root', 'runroot', 'tmp', 'net', 'bin']) fs.mkdirSync(at(d));
  const wrappers = {};
  for (const [name, bin] of Object.entries(runtimes)) {
    fs.mkdirSync(at(`oci-root-${name}`));
    wrappers[name] = at('bin', name);
    fs.writeFileSync(wrappers[name], `#!/bin/sh\nexec ${shellQuote(bin)} --root ${shellQuote(at(`oci-root-${name}`))} "$@"\n`, {
      mode: 0o755,
    });
  }
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
      `runtime_supports_json = ${JSON.stringify(['crun', 'runc', ...names])}`,
      '[network]',
      `network_config_dir = "${at('net')}"`,
      '',
    ].join('\n'),
  );
  fs.writeFileSync(at('registries.conf'), 'unqualified-search-registries = []\n');
  const env = {
    ...baseEnv,
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
  ];
  const errFile = at('stderr');
  const podman = (args, timeout = RUN_TIMEOUT_MS) => {
    const errFd = fs.openSync(errFile, 'w');
    let r;
    const t0 = process.hrtime.bigint();
    try {
      r = spawnSync('podman', [...global, ...args], { env, stdio: ['ignore', 'ignore', errFd], timeout, killSignal: 'SIGKILL' });
    } finally {
      fs.closeSync(errFd);
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.error || r.status !== 0) {
      const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
      throw new Error(
        `podman ${args.slice(0, 3).join(' ')} ... failed (${why}): ${fs.readFileSync(errFile, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(-400)}`,
      );
    }
    return ms;
  };
  const runWith = (name) => () => {
    const ms = podman(['--runtime', wrappers[name], 'run', '--rm', '--cgroup-parent', `/${cgroupParent}`, IMAGE, 'true']);
    waitForOurProcesses(base, 5_000);
    return ms;
  };
  try {
    const script = 'mount -t tmpfs -o size=16m,mode=0755 berth-bench-podman /var/lib && exec "$@"';
    const r = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', 'podman', ...global, 'import', tar, IMAGE],
      { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000, killSignal: 'SIGKILL' },
    );
    if (r.error || r.status !== 0) throw new Error(`podman import failed: ${r.error?.message ?? r.stderr.trim().slice(-300)}`);
    const fns = names.map(runWith);
    let samples;
    try {
      samples = alternate(fns, iterations, budgetMs);
    } catch (err) {
      // one runtime failed: time each alone, so the other still gets its row
      result.notes.push(`podman: alternating runs failed (${err.message}); each runtime timed alone`);
      samples = fns.map((fn, k) => {
        try {
          return alternate([fn], iterations, budgetMs / 2)[0];
        } catch (e) {
          (result.errors ??= {})[names[k]] = e.message;
          return undefined;
        }
      });
    }
    names.forEach((n, k) => (result[n] = samples[k]));
  } catch (err) {
    result.errors = Object.fromEntries(names.map((n) => [n, err.message]));
  } finally {
    result.notes.push(...cleanupPodman(base, global, env, wrappers[names[0]], cgroupParent).map((p) => `podman cleanup: ${p}`));
  }
  return result;
}

function cleanupPodman(base, global, env, runtime, cgroupParent) {
  const problems = [];
  const rm = spawnSync('podman', [...global, '--runtime', runtime, 'rm', '--all', '--force', '--time', '0'], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  if (rm.status !== 0)
    problems.push(
      `podman rm --all: ${String(rm.stderr ?? rm.error?.message)
        .trim()
        .slice(-300)}`,
    );
  const killed = waitForOurProcesses(base, 10_000, true);
  if (killed.length > 0) problems.push(`killed processes left running: ${killed.join(' ')}`);
  const stray = killCgroupTree(cgroupParent);
  if (stray.length > 0) problems.push(`killed processes left in the containers' cgroups: ${stray.join(' ')}`);
  const mounts = mountsUnder(base).sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore', timeout: 10_000 });
  if (mountsUnder(base).length > 0) problems.push(`still mounted: ${mountsUnder(base).join(' ')}`);
  else fs.rmSync(base, { recursive: true, force: true });
  const left = removeCgroupTree(cgroupParent);
  if (left.length > 0) problems.push(`cgroups not removable: ${left.join(' ')}`);
  return problems;
}

/** Pids of the processes whose command line mentions `marker` (our directory): the conmons and
 *  `podman container cleanup`s our podman started, found without matching any program name. */
function processesMentioning(marker) {
  const pids = [];
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

/** Waits up to `ms` for those processes to end; with `kill`, SIGKILLs what is left, by pid. */
function waitForOurProcesses(marker, ms, kill = false) {
  const deadline = Date.now() + ms;
  while (processesMentioning(marker).length > 0 && Date.now() < deadline) sleep(10);
  const left = processesMentioning(marker);
  if (kill) for (const pid of left) tryKill(pid);
  return kill ? left : [];
}

/** SIGKILLs whatever still runs in our cgroup tree (thawed first); the pids it had to kill. */
function killCgroupTree(relative) {
  const dirs = [];
  const walk = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    dirs.push(d);
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  for (const c of ['', ...fs.readdirSync(CGROUP_FS)]) walk(path.join(CGROUP_FS, c, relative));
  const pids = new Set();
  for (const d of dirs) {
    for (const f of ['freezer.state', 'cgroup.freeze']) {
      try {
        fs.writeFileSync(path.join(d, f), f === 'freezer.state' ? 'THAWED' : '0');
      } catch {
        // not this controller
      }
    }
    try {
      for (const p of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) pids.add(Number(p));
    } catch {
      // no procs file
    }
  }
  for (const pid of pids) tryKill(pid);
  if (pids.size > 0) sleep(200);
  return [...pids];
}

function tryKill(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** Removes a cgroup tree of ours in every hierarchy, deepest first (rmdir only). */
export function removeCgroupTree(relative) {
  const left = [];
  const roots = new Set([CGROUP_FS, ...fs.readdirSync(CGROUP_FS).map((c) => path.join(CGROUP_FS, c))]);
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
    } catch (err) {
      if (err.code !== 'ENOENT') left.push(d);
    }
  };
  for (const root of roots) {
    try {
      if (!fs.lstatSync(root).isDirectory()) continue; // cpu -> cpu,cpuacct symlinks
    } catch {
      continue;
    }
    rm(path.join(root, relative));
  }
  return left;
}

export function mountsUnder(dir) {
  const prefix = dir + '/';
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(prefix)));
}
