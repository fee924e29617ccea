// Pull rows of `npm run bench` against the tools that do the same work (issue 12, "Images"): the
// bench's 4-layer image (images.mjs, on its local docker-registry on 127.0.0.1) pulled by
//   - berth.pullImage into a fresh root (download, verify, gunzip, unpack every layer);
//   - `podman pull` into fresh storage of its own (--root/--runroot temp dirs, overlay driver):
//     fetch, verify, decompress and unpack into containers/storage;
//   - containerd 1.6's `ctr image pull` (which unpacks into the overlayfs snapshotter), against a
//     containerd started here with its own root, state dir and sockets, stopped by its PID after;
//     between iterations `ctr image rm --sync` drops the image, and the content and snapshots go
//     with it (checked: a pull that finds its blobs present would not be the same work).
// Timed in rotation (images.mjs interleavedAll), at most 5 rounds and the per-row time budget x3.
// Target: berth at most 0.5 x podman's time. Everything lives under <images dir>/pull-compare,
// removed with the images dir by ImageBench.cleanup() (podman's runroots in a short /tmp/bp-* dir,
// removed here); the mounts podman's overlay driver leaves (its overlay dir bound onto itself) are
// unmounted after each pull.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleavedAll, timedSpawn } from './images.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const OP_TIMEOUT_MS = 120_000;

export const PULL_ROWS = {
  berth: 'berth pull (vs podman, ctr)',
  podman: 'podman pull (own storage, overlay)',
  ctr: 'ctr image pull (unpack, overlayfs)',
};

/** @param {import('./images.mjs').ImageBench} images */
export async function measurePullCompare(images) {
  const ref = await images.image();
  const work = path.join(images.dir, 'pull-compare');
  fs.mkdirSync(work, { recursive: true });
  const { Berth } = require(path.join(REPO_ROOT, 'dist/index.js'));
  // podman refuses a --runroot longer than 50 characters: those (a few small files) go in a short temp dir
  const podmanBase = fs.mkdtempSync('/tmp/bp-');
  let n = 0;
  const fns = {
    berth: async () => {
      const d = path.join(work, `berth-${n++}`);
      const berth = new Berth({ root: path.join(d, 'root'), runRoot: path.join(d, 'run') });
      const t0 = process.hrtime.bigint();
      const r = await berth.pullImage(ref, { signal: AbortSignal.timeout(OP_TIMEOUT_MS) });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.upToDate || r.image.chainIds?.length !== 4) throw new Error('berth pull: expected a fresh 4-layer image');
      return ms;
    },
  };
  if (onPath('podman')) {
    fns.podman = () => {
      const d = path.join(work, `podman-${n}`);
      const runRoot = path.join(podmanBase, `p${n++}`);
      for (const s of ['root', 'tmp']) fs.mkdirSync(path.join(d, s), { recursive: true });
      fs.mkdirSync(runRoot);
      try {
        return timedSpawn('podman', [
          '--root',
          path.join(d, 'root'),
          '--runroot',
          runRoot,
          '--tmpdir',
          path.join(d, 'tmp'),
          '--storage-driver',
          'overlay',
          '--cgroup-manager',
          'cgroupfs',
          '--events-backend',
          'none',
          'pull',
          '--quiet',
          '--tls-verify=false',
          ref,
        ]);
      } finally {
        unmountUnder(d);
        unmountUnder(runRoot);
      }
    };
  }
  if (onPath('containerd') && onPath('ctr')) {
    // a containerd of its own per pull (started and stopped untimed): the previous pull's content
    // and snapshots are not there, and nothing is deleted until the end (see images.mjs's header)
    fns.ctr = async () => {
      const containerd = await startContainerd(path.join(work, `containerd-${n++}`));
      try {
        return timedSpawn('ctr', [...containerd.global, 'image', 'pull', '--plain-http', ref]);
      } finally {
        await containerd.stop();
      }
    };
  }
  try {
    const rounds = Math.max(1, Math.min(images.iterations, 5));
    return await interleavedAll(rounds, 1, 3 * images.maxMsPerRow, fns);
  } finally {
    // the pulled trees stay under images.dir until ImageBench.cleanup() removes it (see its header)
    unmountUnder(work);
    unmountUnder(podmanBase);
    fs.rmSync(podmanBase, { recursive: true, force: true });
  }
}

export function printPullTargets(line, m) {
  line('berth pull / podman pull (same work)', m(PULL_ROWS.berth), m(PULL_ROWS.podman), 0.5);
  line('berth pull / ctr image pull (same work)', m(PULL_ROWS.berth), m(PULL_ROWS.ctr), Infinity);
}

/** containerd with a config of its own (as test/helpers/containerd.ts): root, state, sockets, opt
 *  dir under `base`, no CRI plugin. stop() ends it by its PID (SIGTERM, then SIGKILL after 10 s). */
async function startContainerd(base) {
  const at = (...p) => path.join(base, ...p);
  for (const d of ['root', 'state', 'opt']) fs.mkdirSync(at(d), { recursive: true });
  const address = at('containerd.sock');
  fs.writeFileSync(
    at('config.toml'),
    [
      'version = 2',
      `root = "${at('root')}"`,
      `state = "${at('state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${at('opt')}"`,
      '',
    ].join('\n'),
  );
  const log = fs.openSync(at('containerd.log'), 'a');
  const daemon = spawn('containerd', ['--config', at('config.toml')], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  const exit = new Promise((resolve) => daemon.once('exit', () => ((exited = true), resolve())));
  daemon.once('error', () => {});
  const onExit = () => daemon.kill('SIGKILL');
  process.once('exit', onExit);
  const global = ['--address', address, '--namespace', `berth-bench-${process.pid}`];
  const ctr = (args) => {
    const r = spawnSync('ctr', [...global, ...args], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    if (r.status !== 0) throw new Error(`ctr ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim().slice(-300)}`);
    return r.stdout;
  };
  const stop = async () => {
    process.removeListener('exit', onExit);
    if (!exited) daemon.kill('SIGTERM');
    await Promise.race([exit, new Promise((r) => setTimeout(r, 10_000))]);
    if (!exited) daemon.kill('SIGKILL');
    await Promise.race([exit, new Promise((r) => setTimeout(r, 5_000))]);
  };
  for (let i = 0; i < 200; i++) {
    if (exited) break;
    if (fs.existsSync(address) && spawnSync('ctr', [...global, 'version'], { stdio: 'ignore', timeout: 5_000 }).status === 0) {
      return { global, ctr, stop };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`containerd did not come up: ${fs.readFileSync(at('containerd.log'), 'utf8').trim().slice(-300)}`);
}

/** Unmounts (lazily, deepest first) whatever is mounted at or under dir: only our temp dirs. */
function unmountUnder(dir) {
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore', timeout: 10_000 });
}

function onPath(bin) {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try {
      fs.accessSync(path.join(d, bin), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
