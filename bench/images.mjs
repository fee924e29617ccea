// Image rows of `npm run bench` (issue 3): pull of a multi-layer image from a local registry
// through the Berth API against `skopeo copy` of the same image into a dir:, and unpack of one
// large layer tar through the store's unpack code against GNU `tar -x`.
//
// Everything lives under one directory of the bench's temp dir: the layer tars, an OCI layout
// built with umoci, a docker-registry (Debian's, distribution 2.8) listening on 127.0.0.1 on a free
// port of its own, and every pull/unpack target. cleanup() stops that registry (only the process
// started here, by its PID) and removes the directory. Nothing here touches cgroups, mounts or links.
//
// Each measurement is a pair of rows timed in alternation (berth, other, other, berth, ...), so
// drift (page cache, writeback of the previous iteration) hits both sides alike. Samples are ms.
//
// Outputs (pulled roots, skopeo dirs, unpacked trees, the staged layer trees) are all kept until
// cleanup(), ~2 GB on disk: deleting thousands of files between iterations makes the next ones
// slow on an ext4 without a journal (these CI VMs' root fs): its inode allocator then skips every
// inode freed in the last 60-360 s one by one (recently_deleted() in fs/ext4/ialloc.c), which
// made both berth and tar -x ~10x slower in kernel time and hid the difference between them.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Row names, so the table leaves out the (meaningless) ratios to crun/runc for them. */
export const IMAGE_ROWS = {
  berthPull: 'berth pull, 4 layers (API)',
  berthDownloaded: '  of which: all blobs verified',
  skopeo: 'skopeo copy to dir:',
  skopeoUmoci: 'skopeo copy to oci: + umoci unpack',
  berthUnpack: 'berth unpack, large layer',
  tar: 'GNU tar -x, large layer',
};

/** Per pull or unpack: a stuck registry or tar must not hold the bench. */
const OP_TIMEOUT_MS = 120_000;
/** Pulls and unpacks are long: one untimed warm-up of each side is enough. */
const WARMUP = 1;
const REPO = 'bench/multi';
const TAG = 'latest';

// The large layer: many small files (log-uniform 256 B .. 32 KiB) and a few big ones, random bytes
// so that gzip cannot shrink it; ~56 MiB of content, a ~61 MB tar.
const LARGE_DIRS = 120;
const LARGE_SMALL_FILES = 6000;
const LARGE_BIG_FILES = 4;
const LARGE_BIG_SIZE = 4 << 20;
const LARGE_SYMLINKS = 200;
const LARGE_HARDLINKS = 20;
/** Disk space all outputs take at 5 iterations (~2 GB), with a margin. */
const NEEDS_BYTES = 3e9;

export class ImageBench {
  /** @param {{ dir: string, tar: string }} ctx  the bench's temp dir and busybox fixture tar */
  constructor(ctx, { iterations, maxMsPerRow }) {
    this.dir = path.join(ctx.dir, 'images');
    this.busyboxTar = ctx.tar;
    this.iterations = Math.max(1, Math.min(iterations, 5));
    this.maxMsPerRow = maxMsPerRow;
    this.registry = undefined;
    this.onExit = () => this.registry?.child.kill('SIGKILL');
  }

  // -------------------------------------------------------------------------
  // Fixtures
  // -------------------------------------------------------------------------

  /** The four layer tars, bottom first: busybox, a small /etc layer, the large layer, a top layer with a whiteout. */
  layers() {
    if (this.layerTars) return this.layerTars;
    fs.mkdirSync(this.dir, { recursive: true });
    const st = fs.statfsSync(this.dir);
    if (st.bavail * st.bsize < NEEDS_BYTES) {
      throw new Error(
        `needs ${NEEDS_BYTES / 1e9} GB free in ${this.dir} (every output is kept until the end), has ${((st.bavail * st.bsize) / 1e9).toFixed(1)} GB`,
      );
    }
    const rand = mulberry32(0xbe47);
    const stage = (name, fill) => {
      const d = path.join(this.dir, 'stage', name);
      fs.mkdirSync(d, { recursive: true });
      fill(d);
      const out = path.join(this.dir, `${name}.tar`);
      // as test/fixtures/registry/images.ts layerTar: GNU format, sorted, numeric owner 0:0, fixed mtime
      run('tar', [
        '--create',
        '--file',
        out,
        '--directory',
        d,
        '--format=gnu',
        '--sort=name',
        '--mtime=@1000000000',
        '--numeric-owner',
        '--owner=0',
        '--group=0',
        '.',
      ]);
      return out; // the staged tree stays until cleanup(), as every output here (see the header)
    };
    const etc = stage('etc', (d) => {
      fs.mkdirSync(path.join(d, 'etc/bench'), { recursive: true });
      fs.writeFileSync(path.join(d, 'etc/bench-release'), 'berth bench image\n');
      for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(d, `etc/bench/conf${i}`), `key${i}=value\n`.repeat(100));
    });
    const large = stage('large', (d) => {
      const dirs = [];
      for (let i = 0; i < LARGE_DIRS; i++) {
        const sub = path.join(d, 'usr/share/bench', `d${String(i).padStart(3, '0')}`);
        fs.mkdirSync(sub, { recursive: true });
        dirs.push(sub);
      }
      const files = [];
      for (let i = 0; i < LARGE_SMALL_FILES; i++) {
        const size = Math.round(256 * Math.pow(128, rand())); // 256 B .. 32 KiB, log-uniform
        const f = path.join(dirs[i % LARGE_DIRS], `f${String(i).padStart(4, '0')}`);
        fs.writeFileSync(f, crypto.randomBytes(size), { mode: i % 10 === 0 ? 0o755 : 0o644 });
        files.push(f);
      }
      fs.mkdirSync(path.join(d, 'usr/lib/bench'), { recursive: true });
      for (let i = 0; i < LARGE_BIG_FILES; i++)
        fs.writeFileSync(path.join(d, `usr/lib/bench/big${i}.bin`), crypto.randomBytes(LARGE_BIG_SIZE));
      for (let i = 0; i < LARGE_SYMLINKS; i++) {
        fs.symlinkSync(`../d000/f${String(i * LARGE_DIRS).padStart(4, '0')}`, path.join(dirs[1 + (i % (LARGE_DIRS - 1))], `l${i}`));
      }
      for (let i = 0; i < LARGE_HARDLINKS; i++) fs.linkSync(files[i], path.join(d, 'usr/lib/bench', `h${i}`));
    });
    const top = stage('top', (d) => {
      fs.mkdirSync(path.join(d, 'etc'), { recursive: true });
      fs.writeFileSync(path.join(d, 'etc/bench-release'), 'berth bench image, top layer\n');
      fs.mkdirSync(path.join(d, 'usr/share/bench/d000'), { recursive: true });
      fs.writeFileSync(path.join(d, 'usr/share/bench/d000/.wh.f0000'), ''); // OCI whiteout of a large-layer file
    });
    this.layerTars = { all: [this.busyboxTar, etc, large, top], large };
    this.sizes = { layers: this.layerTars.all.map((t) => fs.statSync(t).size), large: fs.statSync(large).size, blobs: [] };
    return this.layerTars;
  }

  /** The image in an OCI layout (umoci gzips each layer), pushed to a registry of our own. */
  async image() {
    if (this.ref) return this.ref;
    const { all } = this.layers();
    const layout = path.join(this.dir, 'layout');
    const img = `${layout}:${TAG}`;
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', img]);
    for (const tar of all) run('umoci', ['raw', 'add-layer', '--image', img, tar]);
    run('umoci', ['config', '--image', img, '--architecture', 'amd64', '--os', 'linux', '--config.cmd', 'sh']);
    this.registry = await startRegistry(path.join(this.dir, 'registry'));
    process.once('exit', this.onExit);
    const ref = `${this.registry.host}/${REPO}:${TAG}`;
    run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${img}`, `docker://${ref}`]);
    fs.rmSync(layout, { recursive: true, force: true });
    this.sizes.blobs = this.registry.layerSizes(REPO, TAG);
    this.ref = ref;
    return ref;
  }

  /** Sizes of what is measured, for the report line under the table. */
  describe() {
    if (!this.sizes) return undefined;
    const mb = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`);
    const { layers, large, blobs } = this.sizes;
    return (
      `image: 4 layers, tars ${layers.map(mb).join(' + ')}` +
      (blobs.length ? `, gzip blobs ${blobs.map(mb).join(' + ')}` : '') +
      `; unpack: ${mb(large)} tar, ${LARGE_SMALL_FILES + LARGE_BIG_FILES} files, ${LARGE_SYMLINKS} symlinks, ${LARGE_HARDLINKS} hardlinks`
    );
  }

  // -------------------------------------------------------------------------
  // Measurements
  // -------------------------------------------------------------------------

  /**
   * berth.pullImage into a fresh root each time against `skopeo copy docker://... dir:...` into a
   * fresh directory. berth's number is request to stored image: download, digest checks, gunzip,
   * unpack of every layer, diff-ID checks; skopeo's is download and digest checks of the blobs as
   * they are (dir: keeps them compressed), plus the start of the skopeo process (~20 ms of it:
   * `skopeo --version`), which berth's API call does not pay. gunzip alone of the large blob (random
   * bytes, so deflate cannot shrink it) is ~0.25-0.35 s of CPU here, as much as skopeo's whole copy.
   * Layers unpack while they download, so "all blobs verified" is the moment the last layer's body
   * ended, close to the whole pull.
   */
  async measurePull() {
    const ref = await this.image();
    const { Berth } = require(path.join(REPO_ROOT, 'dist/index.js'));
    const work = path.join(this.dir, 'pull');
    fs.mkdirSync(work, { recursive: true });
    let n = 0;
    const downloaded = [];
    const berthPull = async (timed) => {
      const d = path.join(work, `berth-${n++}`);
      const berth = new Berth({ root: path.join(d, 'root'), runRoot: path.join(d, 'run'), cgroupParent: `berth-bench-${process.pid}` });
      const pending = new Set();
      let tVerified;
      const t0 = process.hrtime.bigint();
      const r = await berth.pullImage(ref, {
        signal: AbortSignal.timeout(OP_TIMEOUT_MS),
        onProgress: (e) => {
          if (e.type === 'resolved') return;
          if (e.status === 'downloading') pending.add(e.digest);
          if (e.status === 'verified') {
            pending.delete(e.digest);
            if (pending.size === 0) tVerified = process.hrtime.bigint();
          }
        },
      });
      const t1 = process.hrtime.bigint();
      if (r.upToDate || r.image.chainIds?.length !== 4) {
        throw new Error(
          `berth pull: expected a fresh 4-layer image, got ${JSON.stringify({ upToDate: r.upToDate, layers: r.image.chainIds?.length })}`,
        );
      }
      if (timed && tVerified !== undefined) downloaded.push(Number(tVerified - t0) / 1e6);
      return Number(t1 - t0) / 1e6;
    };
    const skopeo = () =>
      timedSpawn('skopeo', [
        '--insecure-policy',
        'copy',
        '--src-tls-verify=false',
        `docker://${ref}`,
        `dir:${path.join(work, `skopeo-${n++}`)}`,
      ]);
    // The same work as berth's pull (download, verify, decompress, unpack every layer) by the
    // tools of the field: skopeo into an OCI layout, then umoci unpack of it into a bundle.
    const skopeoUmoci = () => {
      const d = path.join(work, `umoci-${n++}`);
      fs.mkdirSync(d, { recursive: true });
      const t0 = timedSpawn('skopeo', [
        '--insecure-policy',
        'copy',
        '--src-tls-verify=false',
        `docker://${ref}`,
        `oci:${path.join(d, 'layout')}:bench`,
      ]);
      return t0 + timedSpawn('umoci', ['unpack', '--image', `${path.join(d, 'layout')}:bench`, path.join(d, 'bundle')]);
    };
    const r = await interleavedAll(this.iterations, WARMUP, 3 * this.maxMsPerRow, { berth: berthPull, skopeo, skopeoUmoci });
    return { berth: r.berth, skopeo: r.skopeo, skopeoUmoci: r.skopeoUmoci, downloaded };
  }

  /**
   * unpackLayer (dist/image/archive/unpack.js: node-tar's parser, berth's LayerWriter) of the large layer's
   * plain tar into a directory that does not exist yet, against `tar -x --numeric-owner` into an
   * empty one. As root both keep owners, modes and mtimes. The tar file is in the page cache for both.
   */
  async measureUnpack() {
    const { large } = this.layers();
    const { unpackLayer } = require(path.join(REPO_ROOT, 'dist/image/archive/unpack.js'));
    const work = path.join(this.dir, 'unpack');
    fs.mkdirSync(work, { recursive: true });
    let n = 0;
    const berthUnpack = async () => {
      const d = path.join(work, `berth-${n++}`);
      fs.mkdirSync(d);
      // The same read stream openArchive makes (1 MiB chunks), opened here so that a timeout can
      // end the unpack: the destroyed stream fails it, and unpackLayer removes its staging dir.
      const fh = await fs.promises.open(large, 'r');
      const input = fh.createReadStream({ highWaterMark: 1 << 20 });
      const timer = setTimeout(() => input.destroy(new Error(`unpack took more than ${OP_TIMEOUT_MS / 1000}s`)), OP_TIMEOUT_MS);
      try {
        const t0 = process.hrtime.bigint();
        await unpackLayer(input, path.join(d, 'diff'));
        return Number(process.hrtime.bigint() - t0) / 1e6;
      } finally {
        clearTimeout(timer);
        input.destroy();
      }
    };
    const gnuTar = () => {
      const d = path.join(work, `tar-${n++}`);
      fs.mkdirSync(d);
      return timedSpawn('tar', ['--extract', '--numeric-owner', '--file', large, '--directory', d]);
    };
    const r = await interleaved(this.iterations, WARMUP, 2 * this.maxMsPerRow, berthUnpack, gnuTar);
    return { berth: r.a, tar: r.b };
  }

  async cleanup() {
    process.removeListener('exit', this.onExit);
    try {
      await this.registry?.stop();
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Target lines for printTargets. */
export function printImageTargets(line, m, bench) {
  line('berth pull / skopeo copy', m(IMAGE_ROWS.berthPull), m(IMAGE_ROWS.skopeo), 1.0);
  line('berth pull / skopeo copy + umoci unpack (same work)', m(IMAGE_ROWS.berthPull), m(IMAGE_ROWS.skopeoUmoci), 1.0);
  line('berth unpack / tar -x', m(IMAGE_ROWS.berthUnpack), m(IMAGE_ROWS.tar), 1.0);
  const what = bench?.describe();
  if (what) console.log(`  (${what})`);
}

// ---------------------------------------------------------------------------
// Shared with network.mjs
// ---------------------------------------------------------------------------

/**
 * Times a() and b() alternately: warm-up pairs first (untimed), then up to `iterations` pairs, a
 * first in even pairs and b first in odd ones. Stops early once `budgetMs` of wall time is used
 * (at least one timed pair). Each of a, b returns its own sample in ms (it times only the work).
 */
export async function interleaved(iterations, warmup, budgetMs, a, b) {
  return interleavedAll(iterations, warmup, budgetMs, { a, b });
}

/** interleaved for any number of named functions: each round runs all of them, the order rotated. */
export async function interleavedAll(iterations, warmup, budgetMs, fns) {
  const entries = Object.entries(fns);
  const out = Object.fromEntries(entries.map(([k]) => [k, []]));
  const started = Date.now();
  for (let i = 0; i < warmup + iterations; i++) {
    const timed = i >= warmup;
    if (timed && out[entries[0][0]].length > 0 && Date.now() - started > budgetMs) break;
    const order = [...entries.slice(i % entries.length), ...entries.slice(0, i % entries.length)];
    for (const [k, fn] of order) {
      const ms = await fn(timed);
      if (timed) out[k].push(ms);
    }
  }
  return out;
}

/** spawnSync timed with hrtime; throws with stderr when the command fails or times out. */
export function timedSpawn(cmd, args, timeoutMs = OP_TIMEOUT_MS) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  const t1 = process.hrtime.bigint();
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
    throw new Error(
      `\`${[cmd, ...args].join(' ')}\` failed (${why}): ${String(r.stderr ?? '')
        .trim()
        .slice(-500)}`,
    );
  }
  return Number(t1 - t0) / 1e6;
}

// ---------------------------------------------------------------------------
// Registry (as test/helpers/registry.ts)
// ---------------------------------------------------------------------------

async function startRegistry(dir) {
  const port = await freePort();
  const storage = path.join(dir, 'storage');
  fs.mkdirSync(storage, { recursive: true });
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const logFile = path.join(dir, 'registry.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.once('error', () => {}); // a spawn failure shows as `exited` below
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await Promise.race([exit, new Promise((r) => setTimeout(r, 5000))]);
    if (!exited) child.kill('SIGKILL');
    await Promise.race([exit, new Promise((r) => setTimeout(r, 5000))]);
  };
  try {
    await waitForV2(host, () => exited);
  } catch (e) {
    await stop();
    throw new Error(`${e.message}; registry log: ${fs.readFileSync(logFile, 'utf8').trim().slice(-500)}`);
  }
  return {
    host,
    storage,
    child,
    stop,
    /** Sizes of an image's layer blobs, bottom first, from the manifest in its storage. */
    layerSizes(repo, tag) {
      const v2 = path.join(storage, 'docker/registry/v2');
      const blob = (digest) => fs.readFileSync(path.join(v2, 'blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data'));
      const digest = fs.readFileSync(path.join(v2, 'repositories', repo, '_manifests/tags', tag, 'current/link'), 'utf8').trim();
      return JSON.parse(blob(digest).toString()).layers.map((l) => l.size);
    },
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** GET /v2/ until it answers: at most 100 tries, 100 ms apart. */
async function waitForV2(host, gone) {
  for (let i = 0; i < 100; i++) {
    if (gone()) throw new Error(`docker-registry exited before answering on ${host}`);
    try {
      const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer on http://${host}/v2/ within 10 s`);
}

// ---------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: OP_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.trim()}`);
}

/** A small seeded PRNG: the file layout (names, sizes) is the same every run; the bytes are random. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
