// containerd (Debian's, started by this file with its own root, state and socket) driving
// berth-oci through its runc v2 shim, as nerdctl and Kubernetes' CRI use runc-compatible runtimes:
// `ctr run --runc-binary`. BERTH_OCI_RUNTIME=/usr/sbin/runc runs the same tests against runc.
// Skipped only where containerd, ctr or containerd-shim-runc-v2 is missing.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINERD_PROGRAMS, CTR_IMAGE, startContainerd, type Containerd } from '../helpers/containerd';
import { hostChanges, hostSnapshot, type HostSnapshot } from '../helpers/env';
import { missingProgram, ociRuntimeUnderTest, type RunResult } from '../helpers/podman';

const missing = missingProgram(CONTAINERD_PROGRAMS);
const runtime = ociRuntimeUnderTest();

function ok(r: RunResult): string {
  expect(r.code, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Polls `ctr task ls` until the task has the status (RUNNING, PAUSED, STOPPED). */
async function waitForStatus(c: Containerd, id: string, status: string): Promise<string> {
  let line = '';
  for (let i = 0; i < 100; i++) {
    line =
      ok(await c.ctr(['task', 'ls']))
        .split('\n')
        .find((l) => l.split(/\s+/)[0] === id) ?? '';
    if (line.split(/\s+/)[2] === status) return line;
    await new Promise((r) => setTimeout(r, 100));
  }
  return line;
}

describe.skipIf(missing !== undefined)(
  `containerd with --runc-binary ${path.basename(runtime, '.js')}${missing ? ` (skipped: ${missing} is not installed; apt-get install containerd)` : ''}`,
  () => {
    let c: Containerd;
    let before: HostSnapshot;

    beforeAll(async () => {
      c = await startContainerd(runtime);
      before = hostSnapshot({ cgroupParent: c.cgroupParent.slice(1) });
    }, 120_000);

    afterAll(async () => {
      if (!c) return;
      await c.cleanup();
      expect(hostChanges(before, hostSnapshot({ cgroupParent: c.cgroupParent.slice(1) }))).toEqual([]);
      expect(fs.existsSync(c.base)).toBe(false);
    }, 120_000);

    it('run --rm: the exit code and output come back through the shim', async () => {
      expect(ok(await c.ctr(['run', ...c.runFlags('r1'), '--rm', CTR_IMAGE, 'r1', 'true']))).toBe('');
      const r = await c.ctr(['run', ...c.runFlags('r2'), '--rm', CTR_IMAGE, 'r2', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('out\n');
      expect(r.stderr).toContain('err\n');
      expect(ok(await c.ctr(['container', 'ls', '--quiet']))).toBe('');
      expect(fs.readdirSync(path.join(c.runcRoot, c.namespace))).toEqual([]);
    });

    it('a detached task: exec into it, kill it, delete it', async () => {
      ok(await c.ctr(['run', ...c.runFlags('d1'), '--detach', CTR_IMAGE, 'd1', 'sh', '-c', 'echo $$ > /tmp/pid; exec sleep 1000']));
      expect(await waitForStatus(c, 'd1', 'RUNNING')).toMatch(/^d1\s+\d+\s+RUNNING/);
      const pids = ok(await c.ctr(['task', 'ps', 'd1']));
      expect(pids.split('\n').filter((l) => /^\d+/.test(l))).toHaveLength(1);
      expect(
        ok(
          await c.ctr([
            'task',
            'exec',
            '--fifo-dir',
            path.join(c.base, 'fifo'),
            '--exec-id',
            'e1',
            'd1',
            'sh',
            '-c',
            'echo in-exec $(cat /tmp/pid)',
          ]),
        ),
      ).toBe('in-exec 1\n');
      expect(
        (await c.ctr(['task', 'exec', '--fifo-dir', path.join(c.base, 'fifo'), '--exec-id', 'e2', 'd1', 'sh', '-c', 'exit 5'])).code,
      ).toBe(5);
      // sleep as pid 1 ignores SIGTERM; SIGKILL it
      ok(await c.ctr(['task', 'kill', '--signal', 'SIGKILL', 'd1']));
      expect(await waitForStatus(c, 'd1', 'STOPPED')).toMatch(/STOPPED/);
      ok(await c.ctr(['task', 'delete', 'd1']));
      ok(await c.ctr(['container', 'delete', 'd1']));
      expect(fs.readdirSync(path.join(c.runcRoot, c.namespace))).toEqual([]);
    });

    it("--memory-limit is the container cgroup's limit", async () => {
      ok(
        await c.ctr(['run', ...c.runFlags('m1'), '--detach', '--memory-limit', String(32 * 1024 * 1024), CTR_IMAGE, 'm1', 'sleep', '1000']),
      );
      await waitForStatus(c, 'm1', 'RUNNING');
      const v1 = path.join(c.cgroupDir('m1', 'memory'), 'memory.limit_in_bytes');
      const file = fs.existsSync(v1) ? v1 : path.join(c.cgroupDir('m1', 'unified'), 'memory.max');
      expect(fs.readFileSync(file, 'utf8')).toBe(`${32 * 1024 * 1024}\n`);
      const pid = ok(await c.ctr(['task', 'ls']))
        .split('\n')
        .find((l) => l.startsWith('m1'))
        ?.split(/\s+/)[1];
      expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`${c.cgroupParent}/m1`);
      ok(await c.ctr(['task', 'kill', '--signal', 'SIGKILL', 'm1']));
      await waitForStatus(c, 'm1', 'STOPPED');
      ok(await c.ctr(['task', 'delete', 'm1']));
      ok(await c.ctr(['container', 'delete', 'm1']));
      expect(fs.existsSync(c.cgroupDir('m1', 'memory'))).toBe(false);
    });

    it('pause freezes the task, resume thaws it', async () => {
      const loop = 'i=0; while :; do i=$((i+1)); echo $i > /tmp/tick; sleep 0.05; done';
      ok(await c.ctr(['run', ...c.runFlags('p1'), '--detach', CTR_IMAGE, 'p1', 'sh', '-c', loop]));
      const pid = (await waitForStatus(c, 'p1', 'RUNNING')).split(/\s+/)[1];
      // the counter, read from the host through the container's root (an exec would hang while frozen)
      const tick = async () => {
        await new Promise((r) => setTimeout(r, 300));
        return fs.readFileSync(`/proc/${pid}/root/tmp/tick`, 'utf8');
      };
      ok(await c.ctr(['task', 'pause', 'p1']));
      expect(await waitForStatus(c, 'p1', 'PAUSED')).toMatch(/PAUSED/);
      const freezer = path.join(c.cgroupDir('p1', 'freezer'), 'freezer.state');
      if (fs.existsSync(freezer)) expect(fs.readFileSync(freezer, 'utf8')).toBe('FROZEN\n');
      const frozen = await tick();
      expect(await tick()).toBe(frozen);
      ok(await c.ctr(['task', 'resume', 'p1']));
      expect(await waitForStatus(c, 'p1', 'RUNNING')).toMatch(/RUNNING/);
      expect(await tick()).not.toBe(frozen);
      ok(await c.ctr(['task', 'kill', '--signal', 'SIGKILL', 'p1']));
      await waitForStatus(c, 'p1', 'STOPPED');
      ok(await c.ctr(['task', 'delete', 'p1']));
      ok(await c.ctr(['container', 'delete', 'p1']));
    });
  },
);
