// Network rows of `npm run bench` (issue 5): start-to-exit latency of /bin/true through the Berth
// API on a bridge network (a user network the bench creates: berth's native driver, netlink and its
// own iptables chains; `--driver cni` networks are not measured here) against --network none, and against `podman run --rm --network bridge` where podman is installed.
//
// Isolation. Bridges, veths, iptables rules and ip_forward are host-wide, and berth's integration
// tests (which may run on this machine at the same time) compare exactly those before and after.
// So the whole measurement runs in a worker process in a network namespace of its own
// (`unshare --net --mount`): the bridge, the veth pairs, the network's iptables rules and the
// ip_forward berth turns on all live in that namespace and vanish with it; no packet
// leaves it. /sys/class/net of the host's sysfs shows the host's links, not the namespace's, so the
// worker's private mount namespace gets a sysfs of its own bound over /sys/class/net and
// /sys/devices/virtual/net (berth reads a bridge's ports there); /sys/fs/cgroup stays as it is.
// None of these mounts is visible outside the worker, and they go when it exits.
//
// Containers get cgroups under a parent named for this bench process (never `berth`, which the
// tests watch); the parent removes those (empty) cgroup dirs after the worker, and the temp dir.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleaved, timedSpawn } from './images.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(SELF), '..');
const require = createRequire(import.meta.url);
const RUN_TIMEOUT_MS = 10_000;
const SETUP_MARGIN_MS = 120_000;
const CGROUP_FS = '/sys/fs/cgroup';

export const NETWORK_ROWS = {
  bridge: 'berth API run, bridge network',
  none: 'berth API run, --network none',
  podman: 'podman run --network bridge',
};

/**
 * Runs the worker in its own network + mount namespace; returns { bridge, none, podman?,
 * podmanError? } (samples in ms). Bounded: every run by RUN_TIMEOUT_MS, the bridge/none pair of
 * rows by 2 * maxMsPerRow, podman by maxMsPerRow, the worker as a whole by a SIGKILL after that.
 */
export function measureNetwork({ ctx, iterations, maxMsPerRow, warmup }) {
  if (!['/usr/sbin/iptables-restore', '/sbin/iptables-restore'].some((p) => fs.existsSync(p))) {
    throw new Error('iptables-restore not found (Debian package iptables)');
  }
  const dir = path.join(ctx.dir, 'network');
  const sys = path.join(dir, 'sys');
  fs.mkdirSync(sys, { recursive: true });
  const tag = process.pid.toString(16);
  const args = {
    dir,
    tar: ctx.tar,
    iterations: Math.max(1, Math.min(iterations, 20)),
    warmup,
    maxMsPerRow,
    cgroupParent: `berth-bench-${process.pid}-net`,
    podmanCgroupParent: `berth-bench-${process.pid}-podman`,
    network: 'bench-net',
    bridge: `bbr${tag}`.slice(0, 15),
    subnet: `10.233.${process.pid % 250}.0/24`,
    podman: have('podman'),
  };
  try {
    const script = [
      'mount -t sysfs sysfs "$0"',
      'mount --bind "$0/class/net" /sys/class/net',
      'mount --bind "$0/devices/virtual/net" /sys/devices/virtual/net',
      'exec "$@"',
    ].join(' && ');
    const r = spawnSync(
      'unshare',
      [
        '--net',
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        script,
        sys,
        process.execPath,
        SELF,
        '--worker',
        JSON.stringify(args),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 3 * maxMsPerRow + SETUP_MARGIN_MS, killSignal: 'SIGKILL' },
    );
    const out = r.stdout?.trim().split('\n').pop() ?? '';
    let parsed;
    try {
      parsed = JSON.parse(out);
    } catch {
      throw new Error(
        `network worker failed (${r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`)}): ${String(r.stderr ?? '')
          .trim()
          .slice(-800)}`,
      );
    }
    if (parsed.error) throw new Error(parsed.error);
    return parsed;
  } finally {
    removeCgroupTree(args.cgroupParent);
    removeCgroupTree(args.podmanCgroupParent);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Target lines for printTargets: no targets in the issue, ratios and the bridge's cost in ms. */
export function printNetworkTargets(line, m) {
  line('berth bridge / berth --network none', m(NETWORK_ROWS.bridge), m(NETWORK_ROWS.none), Infinity);
  line('berth bridge / podman bridge', m(NETWORK_ROWS.bridge), m(NETWORK_ROWS.podman), Infinity);
  const b = m(NETWORK_ROWS.bridge);
  const n = m(NETWORK_ROWS.none);
  console.log(
    `bridge network cost per container (median bridge - none): ${b === undefined || n === undefined ? 'n/a' : `${(b - n).toFixed(1)} ms`}`,
  );
}

// ---------------------------------------------------------------------------
// Worker (in its own network and mount namespace)
// ---------------------------------------------------------------------------

function removeNetworkAfter(berth, network, failed) {
  try {
    berth.removeNetwork(network);
  } catch (e) {
    if (!failed) throw e;
  }
}

async function worker(a) {
  const { Berth } = require(path.join(REPO_ROOT, 'dist/index.js'));
  const berth = new Berth({ root: path.join(a.dir, 'root'), runRoot: path.join(a.dir, 'run'), cgroupParent: a.cgroupParent });
  const result = {};
  await berth.importImage(a.tar, 'bench-busybox');
  berth.createNetwork({ name: a.network, subnet: a.subnet, bridge: a.bridge });
  let failed = false;
  try {
    const once = (network) => async () => {
      const t0 = process.hrtime.bigint();
      let timer;
      const r = await Promise.race([
        berth.run({ image: 'bench-busybox', cmd: ['/bin/true'], rm: true, network, stdout: 'ignore', stderr: 'ignore' }),
        new Promise(
          (_, reject) =>
            (timer = setTimeout(
              () => reject(new Error(`berth run --network ${network} took more than ${RUN_TIMEOUT_MS / 1000}s`)),
              RUN_TIMEOUT_MS,
            )),
        ),
      ]).finally(() => clearTimeout(timer));
      const t1 = process.hrtime.bigint();
      if (r.exitCode !== 0) throw new Error(`berth run --network ${network} /bin/true exited ${r.exitCode}`);
      return Number(t1 - t0) / 1e6;
    };
    const r = await interleaved(a.iterations, a.warmup, 2 * a.maxMsPerRow, once(a.network), once('none'));
    result.bridge = r.a;
    result.none = r.b;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    // after a failure the first error is the one to report; the network goes anyway
    removeNetworkAfter(berth, a.network, failed);
  }
  if (a.podman) {
    try {
      result.podman = podmanRuns(a);
    } catch (e) {
      result.podmanError = e.message;
    }
  }
  return result;
}

/**
 * `podman run --rm --network bridge` of the same rootfs (imported), cgroupfs manager, all of
 * podman's state under the worker's temp dir but what its CNI backend keeps where no flag moves it
 * (IPAM state under /var/lib/cni/networks/podman, /etc/cni/net.d/cni.lock). Untested here: podman is not installed on the CI
 * machines.
 */
function podmanRuns(a) {
  const p = path.join(a.dir, 'podman');
  const global = [
    '--root',
    path.join(p, 'root'),
    '--runroot',
    path.join(p, 'run'),
    '--tmpdir',
    path.join(p, 'tmp'),
    '--network-config-dir',
    path.join(p, 'networks'),
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'none',
  ];
  for (const d of ['root', 'run', 'tmp', 'networks']) fs.mkdirSync(path.join(p, d), { recursive: true });
  try {
    timedSpawn('podman', [...global, 'import', a.tar, 'localhost/bench-busybox'], 60_000);
    const samples = [];
    const started = Date.now();
    for (let i = 0; i < a.warmup + a.iterations; i++) {
      if (i >= a.warmup && Date.now() - started > a.maxMsPerRow) break;
      // runc: crun refuses this hybrid cgroup host; file and process limits under this host's
      // (podman's defaults are above them here)
      const ms = timedSpawn(
        'podman',
        [
          ...global,
          'run',
          '--rm',
          '--runtime',
          'runc',
          '--ulimit',
          'nofile=1024:1024',
          '--ulimit',
          'nproc=1024:1024',
          '--network',
          'bridge',
          '--cgroup-parent',
          `/${a.podmanCgroupParent}`,
          'localhost/bench-busybox',
          '/bin/true',
        ],
        RUN_TIMEOUT_MS,
      );
      if (i >= a.warmup) samples.push(ms);
    }
    return samples;
  } finally {
    spawnSync('podman', [...global, 'rm', '-a', '-f'], { stdio: 'ignore', timeout: 30_000, killSignal: 'SIGKILL' });
  }
}

// ---------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------

/** rmdir, deepest first, of the cgroup dirs named `name` at the top of every hierarchy: only ours. */
function removeCgroupTree(name) {
  const tops = [path.join(CGROUP_FS, name)];
  for (const e of safeReaddir(CGROUP_FS)) if (e.isDirectory()) tops.push(path.join(CGROUP_FS, e.name, name));
  const rmdirTree = (d) => {
    for (const e of safeReaddir(d)) if (e.isDirectory()) rmdirTree(path.join(d, e.name));
    try {
      fs.rmdirSync(d);
    } catch {
      // a live process (or nothing there): leave it
    }
  };
  for (const t of tops) if (fs.existsSync(t)) rmdirTree(t);
}

function safeReaddir(d) {
  try {
    return fs.readdirSync(d, { withFileTypes: true });
  } catch {
    return [];
  }
}

function have(bin) {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try {
      fs.accessSync(path.join(d, bin), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

if (process.argv[1] === SELF && process.argv[2] === '--worker') {
  try {
    const out = await worker(JSON.parse(process.argv[3]));
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(0);
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: e.message }) + '\n');
    process.exit(1);
  }
}
