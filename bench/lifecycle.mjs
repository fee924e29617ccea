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
    const cli = timeRuns('berth CLI exec', iterations, () => ({ cmd: process.execPath, args: [...cliArgs, 'exec', info.config.id, '/bin/true'] }));
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
