// Lifecycle rows of `npm run bench`: detached start/stop/remove, exec against `runc exec`, shim memory.
// Each function returns samples in milliseconds (or kB for memory), like the rows in run.mjs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** API: runDetached + stop (no grace period) + remove, as one sample each. */
export async function measureDetachedCycle(berth, iterations, warmup) {
  const samples = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const t0 = process.hrtime.bigint();
    const info = await berth.runDetached({ image: 'bench-busybox', cmd: ['sleep', '60'] });
    await berth.stop(info.config.id, { timeout: 0 });
    await berth.remove(info.config.id);
    if (i >= warmup) samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return samples;
}

/** `berth exec` of /bin/true in a running detached container, through the CLI and through the API. */
export async function measureExec(berth, timeRuns, cliArgs, iterations, warmup) {
  const info = await berth.runDetached({ image: 'bench-busybox', cmd: ['sleep', '300'] });
  try {
    const cli = timeRuns('berth CLI exec', iterations, () => ({
      cmd: process.execPath,
      args: [...cliArgs, 'exec', info.config.id, '/bin/true'],
    }));
    const api = [];
    for (let i = 0; i < warmup + iterations; i++) {
      const t0 = process.hrtime.bigint();
      const p = berth.exec(info.config.id, { cmd: ['/bin/true'], stdout: 'ignore', stderr: 'ignore' });
      const s = await p.wait();
      if (s.exitCode !== 0) throw new Error(`exec exited ${s.exitCode}`);
      if (i >= warmup) api.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return { cli, api };
  } finally {
    await berth.remove(info.config.id, { force: true });
  }
}

/** `runc exec` of /bin/true in a `runc run -d` container of the same rootfs. */
export function measureRuncExec(timeRuns, bundle, iterations) {
  const id = `berth-bench-${process.pid}-runc-exec`;
  const configPath = path.join(bundle, 'config.json');
  const original = fs.readFileSync(configPath, 'utf8');
  const config = JSON.parse(original);
  config.process.args = ['sleep', '300'];
  fs.writeFileSync(configPath, JSON.stringify(config));
  try {
    const r = spawnSync('runc', ['run', '-d', '--bundle', bundle, id], { stdio: 'ignore', timeout: 10_000 });
    if (r.status !== 0) throw new Error('runc run -d failed');
    return timeRuns('runc exec', iterations, () => ({ cmd: 'runc', args: ['exec', id, '/bin/true'] }));
  } finally {
    spawnSync('runc', ['delete', '-f', id], { stdio: 'ignore', timeout: 10_000 });
    fs.writeFileSync(configPath, original);
  }
}

/** Resident memory of berth-shim, kB, one sample per running container. */
export async function measureShimRss(berth, count) {
  const infos = [];
  try {
    for (let i = 0; i < count; i++) infos.push(await berth.runDetached({ image: 'bench-busybox', cmd: ['sleep', '60'] }));
    return infos.map((c) => Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${c.state.shimPid}/status`, 'utf8'))[1]));
  } finally {
    for (const c of infos) await berth.remove(c.config.id, { force: true });
  }
}

/**
 * conmon's resident memory, the role berth-shim plays, where podman and conmon are installed
 * (Debian packages podman, conmon): `count` detached `podman run -d --network none` of the same
 * rootfs (imported), cgroupfs manager, every bit of podman's state under `dir`, removed after.
 */
export function measureConmonRss(tar, dir, count) {
  const p = path.join(dir, 'podman-rss');
  const cgroupParent = `berth-bench-${process.pid}-conmon`;
  const global = [
    '--root',
    path.join(p, 'root'),
    '--runroot',
    path.join(p, 'run'),
    '--tmpdir',
    path.join(p, 'tmp'),
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'none',
  ];
  for (const d of ['root', 'run', 'tmp']) fs.mkdirSync(path.join(p, d), { recursive: true });
  const podman = (args, timeout = 60_000) => {
    const r = spawnSync('podman', [...global, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout,
      killSignal: 'SIGKILL',
    });
    if (r.status !== 0) throw new Error(`podman ${args[0]} failed: ${(r.stderr || r.error?.message || '').trim().slice(-300)}`);
    return r.stdout.trim();
  };
  const conmons = [];
  const rss = [];
  try {
    podman(['import', tar, 'localhost/bench-busybox']);
    for (let i = 0; i < count; i++) {
      // runc: crun refuses this hybrid cgroup host; a file limit under this host's (podman's default is above it)
      const id = podman([
        'run',
        '-d',
        '--runtime',
        'runc',
        '--ulimit',
        'nofile=1024:1024',
        '--ulimit',
        'nproc=1024:1024',
        '--network',
        'none',
        '--cgroup-parent',
        `/${cgroupParent}`,
        'localhost/bench-busybox',
        'sleep',
        '60',
      ]);
      const pid = Number(podman(['inspect', '--format', '{{.State.ConmonPid}}', id]));
      conmons.push(pid);
      rss.push(Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]));
    }
    return rss;
  } finally {
    spawnSync('podman', [...global, 'rm', '-a', '-f', '-t', '0'], { stdio: 'ignore', timeout: 60_000, killSignal: 'SIGKILL' });
    // conmon ends a moment after its container (its own cleanup): its cgroup is free only then
    const deadline = Date.now() + 10_000;
    while (conmons.some((pid) => fs.existsSync(`/proc/${pid}`)) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
    // containers/storage bind-mounts its overlay dir onto itself: ours, under our temp dir
    const own = path.join(p, 'root', 'overlay');
    if (
      fs
        .readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .some((l) => l.split(' ')[4] === own)
    )
      spawnSync('umount', [own], { stdio: 'ignore' });
    // the cgroup parent podman made for them (ours by its name), deepest first
    for (const h of fs.readdirSync('/sys/fs/cgroup')) {
      const top = path.join('/sys/fs/cgroup', h, cgroupParent);
      const rm = (d) => {
        let entries = [];
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
      rm(top);
    }
  }
}
