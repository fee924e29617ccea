/**
 * Debian's containerd, started for a test file with a config of its own (root, state dir, gRPC and
 * ttrpc sockets, the opt plugin's dir, all in one temporary directory; no CRI plugin) and stopped
 * by its pid. `ctr` drives it, and its runc v2 shim runs the OCI runtime under test through
 * `--runc-binary` with `--runc-root` in the same directory. Containers go under a cgroup parent of
 * their own (`--cgroup`). The host's containerd, its socket and /var/lib/containerd are never used.
 *
 * What containerd 1.6 puts outside its state dir whatever the config says: each shim's socket in
 * /run/containerd/s/ (a hash of our socket's path; a shim removes it when it exits) and ctr's stdio
 * FIFOs in /run/containerd/fifo unless --fifo-dir is given (ctr() gives it). cleanup() removes the
 * /run/containerd directories only where this harness made them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { busyboxTar } from './fixtures';
import {
  emptyCgroupTree,
  ociRuntimeUnderTest,
  reapOurProcesses,
  removeCgroupTree,
  runProgram,
  unmountUnder,
  type RunOptions,
  type RunResult,
} from './podman';

export const CONTAINERD_PROGRAMS = ['containerd', 'ctr', 'containerd-shim-runc-v2'];
export const CTR_IMAGE = 'docker.io/library/busybox:latest';

export interface Containerd {
  readonly base: string;
  /** The gRPC socket ctr talks to. */
  readonly address: string;
  readonly namespace: string;
  readonly runtime: string;
  /** --runc-root: the runtime's state root (one directory per namespace below it). */
  readonly runcRoot: string;
  /** The cgroup parent of the containers, relative to each hierarchy's root. */
  readonly cgroupParent: string;
  /** ctr --address SOCK --namespace NS ARGS... */
  ctr(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** The flags `ctr run` needs for container `id`: the runtime, its root, the cgroup, the FIFOs. */
  runFlags(id: string): string[];
  /** The container's cgroup directory in one v1 controller (or the v2 tree for 'unified'). */
  cgroupDir(id: string, controller: string): string;
  /** Kills and deletes every task and container, stops containerd by its pid, then removes what
   *  is left: shims, mounts, cgroups, files. */
  cleanup(): Promise<void>;
}

export async function startContainerd(runtime = ociRuntimeUnderTest()): Promise<Containerd> {
  if (!fs.existsSync(runtime))
    throw new Error(
      `the OCI runtime ${runtime} does not exist (npm run build makes dist/oci-cli/berth-oci.js, npm run build:native the front bin/berth-oci runs)`,
    );
  const runContainerdExisted = fs.existsSync('/run/containerd');
  const base = fs.mkdtempSync('/tmp/berth-containerd-');
  const at = (...p: string[]) => path.join(base, ...p);
  for (const d of ['root', 'state', 'opt', 'runc-root', 'fifo']) fs.mkdirSync(at(d));
  const address = at('containerd.sock');
  fs.writeFileSync(
    at('config.toml'),
    [
      'version = 2',
      `root = "${at('root')}"`,
      `state = "${at('state')}"`,
      // no CRI: it would start a CNI-networked pod sandbox service this test does not need
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
  const daemon: ChildProcess = spawn('containerd', ['--config', at('config.toml')], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const namespace = `berth-test-${process.pid}`;
  /** The ids runFlags() was asked for: their shims' sockets are named after them. */
  const ids = new Set<string>();
  const cgroupParent = `/${path.basename(base)}`;
  const ctr = (args: string[], opts: RunOptions = {}) => runProgram('ctr', ['--address', address, '--namespace', namespace, ...args], opts);

  const c: Containerd = {
    base,
    address,
    namespace,
    runtime,
    runcRoot: at('runc-root'),
    cgroupParent,
    ctr,
    runFlags: (id) => {
      ids.add(id);
      return ['--runc-binary', runtime, '--runc-root', at('runc-root'), '--cgroup', `${cgroupParent}/${id}`, '--fifo-dir', at('fifo')];
    },
    cgroupDir: (id, controller) => path.join('/sys/fs/cgroup', controller === 'unified' ? '' : controller, cgroupParent, id),
    async cleanup() {
      const problems: string[] = [];
      if (daemon.exitCode === null && daemon.signalCode === null) {
        const tasks = await ctr(['task', 'ls', '--quiet']);
        for (const id of tasks.stdout.split('\n').filter(Boolean)) {
          // a frozen task cannot die: thaw it first
          await ctr(['task', 'resume', id]);
          await ctr(['task', 'kill', '--signal', 'SIGKILL', '--all', id]);
          await ctr(['task', 'delete', '--force', id]);
        }
        const containers = await ctr(['container', 'ls', '--quiet']);
        for (const id of containers.stdout.split('\n').filter(Boolean)) await ctr(['container', 'delete', id]);
        // a shim exits once its last task is deleted
        const shims = await reapOurProcesses(address);
        if (shims.length > 0) problems.push(`killed shims left running: ${shims.join(' ')}`);
        daemon.kill('SIGTERM');
        const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
        if (!stopped) {
          daemon.kill('SIGKILL');
          await exited;
          problems.push('containerd ignored SIGTERM for 10 s');
        }
      }
      const left = await reapOurProcesses(base, 2_000);
      if (left.length > 0) problems.push(`killed processes left running: ${left.join(' ')}`);
      const stray = await emptyCgroupTree(cgroupParent);
      if (stray.length > 0) problems.push(`killed processes left in the containers' cgroups: ${stray.join(' ')}`);
      const unmounted = await unmountUnder(base);
      if (unmounted.length > 0) problems.push(`unmounted: ${unmounted.join(' ')}`);
      removeShimSockets(address, namespace, ids, runContainerdExisted);
      const cgroups = removeCgroupTree(cgroupParent);
      if (cgroups.length > 0) problems.push(`cgroups not removable: ${cgroups.join(' ')}`);
      fs.rmSync(base, { recursive: true, force: true });
      if (problems.length > 0) throw new Error(`containerd sandbox ${base}: ${problems.join('; ')}`);
    },
  };
  try {
    await waitForDaemon(c, exited);
    const archive = writeOciArchive(busyboxTar(), at('busybox-oci.tar'));
    const r = await ctr(['images', 'import', archive]);
    if (r.code !== 0) throw new Error(`ctr images import: exit ${r.code}: ${r.stderr.trim()}`);
  } catch (e) {
    await c.cleanup().catch(() => {});
    throw e;
  }
  return c;
}

async function waitForDaemon(c: Containerd, exited: Promise<void>): Promise<void> {
  let dead = false;
  void exited.then(() => (dead = true));
  for (let i = 0; i < 200 && !dead; i++) {
    if (fs.existsSync(c.address) && (await c.ctr(['version'], { timeoutMs: 5_000 })).code === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = fs.readFileSync(path.join(c.base, 'containerd.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
  throw new Error(`containerd did not come up${dead ? ' (it exited)' : ' in 20 s'}:\n${log}`);
}

/** Our shims' sockets in /run/containerd/s (named by a hash of containerd's address, the
 *  namespace and the container id, so no host containerd's can be among them: containerd removes
 *  a shim's socket after the shim has gone, which it may not have done when it was stopped), then
 *  /run/containerd/{s,fifo} and /run/containerd where this harness made them and they are empty. */
function removeShimSockets(address: string, namespace: string, ids: ReadonlySet<string>, runContainerdExisted: boolean): void {
  for (const id of ids) {
    const hash = createHash('sha256')
      .update(path.join(address, namespace, id))
      .digest('hex');
    fs.rmSync(path.join('/run/containerd/s', hash), { force: true });
  }
  if (runContainerdExisted) return;
  for (const d of ['/run/containerd/s', '/run/containerd/fifo', '/run/containerd']) {
    try {
      fs.rmdirSync(d);
    } catch {
      // missing, or not empty: left as it is
    }
  }
}

/** An OCI image layout archive (what `ctr images import` reads) of one uncompressed layer: the
 *  rootfs tar as it is, a config naming its diff ID, a manifest and an index naming the image. */
export function writeOciArchive(rootfsTar: string, out: string): string {
  const dir = `${out}.d`;
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => {
    const digest = createHash('sha256').update(data).digest('hex');
    fs.writeFileSync(path.join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const layer = put(fs.readFileSync(rootfsTar));
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  const annotations = { 'io.containerd.image.name': CTR_IMAGE, 'org.opencontainers.image.ref.name': 'latest' };
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations }],
    }),
  );
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  execFileSync('tar', ['-cf', out, '-C', dir, 'oci-layout', 'index.json', 'blobs']);
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}
