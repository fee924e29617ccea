// The Engine API rows (issue 13): `docker run --rm busybox true` through `berth system service`
// against `podman run --rm busybox true` with runc, timed alternately in the same run, and a
// dockerode create+start+wait+remove cycle through the service against berth's own Node API
// (Berth.run in this process). Every container runs with --network none, as podman's does here.
//
//   BENCH_ONLY=api npm run bench
//
// The service runs from the CLI (dist/cli/berth.js) on a socket in a temporary directory with its
// own state root; the docker CLI gets a DOCKER_CONFIG of its own there. Cleanup: the service (by
// its pid), then the directory unless something is still mounted under it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { measurePodmanPair, mountsUnder } from './oci-podman.mjs';
import { RUNTIME_ENV, alternate, have } from './oci.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO_ROOT, 'dist/cli/berth.js');
const RUN_TIMEOUT_MS = 20_000;

export const API_ROWS = {
  docker: 'docker run --rm (berth service)',
  podman: 'podman run --rm (runc)',
  dockerode: 'dockerode create+start+wait+rm (service)',
  api: 'Berth.run --rm (Node API)',
};

function ping(socket) {
  return new Promise((resolve) => {
    http
      .get({ socketPath: socket, path: '/_ping' }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      })
      .on('error', () => resolve(false));
  });
}

function timedSpawn(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.trim().slice(-300)}`);
  return ms;
}

/** Returns { rows: [{name, stats?|error?}], notes }. */
export async function measureApiService({ tar, iterations = 20, budgetSeconds = 60, stats }) {
  const rows = [];
  const notes = [];
  const add = (name, samples, error) => rows.push(error ? { name, error } : { name, stats: stats(samples) });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-api-'));
  const root = path.join(dir, 'root');
  const runRoot = path.join(dir, 'run');
  const socket = path.join(runRoot, 'docker.sock');
  let service;
  try {
    fs.mkdirSync(root, { mode: 0o700 });
    fs.mkdirSync(runRoot, { mode: 0o700 });
    if (!tar) {
      tar = path.join(dir, 'busybox.tar');
      spawnSync('bash', [path.join(REPO_ROOT, 'test/fixtures/build-busybox.sh'), tar], { stdio: 'ignore' });
    }
    const { Berth } = await import(pathToFileURL(path.join(REPO_ROOT, 'dist/index.js')).href);
    const berth = new Berth({ root, runRoot, defaultNetwork: 'none' });
    await berth.importImage(tar, 'busybox');
    service = spawn(process.execPath, [CLI, '--root', root, '--runroot', runRoot, 'system', 'service', `unix://${socket}`], {
      env: { ...RUNTIME_ENV, BERTH_DEFAULT_NETWORK: 'none' },
      stdio: 'ignore',
    });
    for (let i = 0; i < 200 && !(await ping(socket)); i++) await new Promise((r) => setTimeout(r, 25));
    const dockerEnv = { ...RUNTIME_ENV, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: path.join(dir, 'docker-config') };
    fs.mkdirSync(dockerEnv.DOCKER_CONFIG);
    const budgetMs = budgetSeconds * 1000;

    // docker CLI through the service against podman with runc, alternating
    const dockerRun = () => timedSpawn('docker', ['run', '--rm', '--network', 'none', 'busybox', 'true'], dockerEnv);
    if (!have('docker')) add(API_ROWS.docker, null, 'no docker CLI on PATH (Debian package docker.io)');
    else {
      try {
        const [samples] = alternate([dockerRun], iterations, budgetMs * 0.3);
        add(API_ROWS.docker, samples);
      } catch (e) {
        add(API_ROWS.docker, null, e.message);
      }
    }
    const missing = ['podman', 'conmon', 'runc', 'unshare'].find((b) => !have(b));
    if (missing) add(API_ROWS.podman, null, `${missing} not installed (Debian package ${missing})`);
    else {
      const p = await measurePodmanPair({
        dir,
        tar,
        cgroupParent: `berth-bench-${process.pid}-api-podman`,
        runtimes: { runc: 'runc' },
        iterations,
        budgetMs: budgetMs * 0.3,
        env: RUNTIME_ENV,
        alternate,
      });
      add(API_ROWS.podman, p.runc, p.errors?.runc);
      notes.push(...(p.notes ?? []));
    }

    // dockerode's cycle through the service against the same cycle on the Node API, alternating
    const { default: Docker } = await import('dockerode');
    const client = new Docker({ socketPath: socket });
    const dockerode = [];
    const api = [];
    const started = Date.now();
    for (let i = 0; i < iterations + 3 && Date.now() - started < budgetMs * 0.4; i++) {
      let t0 = process.hrtime.bigint();
      const c = await client.createContainer({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
      await c.start();
      await c.wait();
      await c.remove();
      const d = Number(process.hrtime.bigint() - t0) / 1e6;
      t0 = process.hrtime.bigint();
      await berth.run({ image: 'busybox', cmd: ['true'], rm: true, network: 'none', stdout: 'ignore', stderr: 'ignore' });
      const a = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= 3) {
        dockerode.push(d);
        api.push(a);
      }
    }
    add(API_ROWS.dockerode, dockerode);
    add(API_ROWS.api, api);
  } finally {
    if (service && service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((r) => service.once('exit', r));
    }
    const left = mountsUnder(dir);
    if (left.length) notes.push(`left ${dir} in place: still mounted under it: ${left.join(', ')}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  return { rows, notes };
}

export function printApiService({ rows, notes }) {
  const m = (name) => rows.find((r) => r.name === name)?.stats?.median;
  const ms = (v) => (v === undefined ? 'n/a' : v.toFixed(1));
  console.log('');
  console.log('Engine API (berth system service)            n   median ms   min-p90 ms');
  for (const r of rows) {
    if (r.error) console.log(`${r.name.padEnd(44)} n/a: ${r.error}`);
    else
      console.log(
        `${r.name.padEnd(44)} ${String(r.stats.n).padStart(2)}   ${ms(r.stats.median).padStart(9)}   ${ms(r.stats.min)}-${ms(r.stats.p90)}`,
      );
  }
  const ratio = (a, b) => (m(a) !== undefined && m(b) !== undefined ? m(a) / m(b) : undefined);
  const service = ratio(API_ROWS.docker, API_ROWS.podman);
  if (service !== undefined)
    console.log(
      `docker run through the service / podman run: ${service.toFixed(2)}x (target <= 0.30: ${service <= 0.3 ? 'met' : 'MISSED'})`,
    );
  const cycle = ratio(API_ROWS.dockerode, API_ROWS.api);
  if (cycle !== undefined) console.log(`dockerode cycle through the service / Node API run: ${cycle.toFixed(2)}x`);
  for (const n of notes) console.log(`note: ${n}`);
}
