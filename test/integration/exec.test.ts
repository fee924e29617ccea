import * as fs from 'node:fs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Berth, type ContainerProcess } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

let roots: TempRoots;
let berth: Berth;
let box: ContainerProcess;
const fixture = withBusybox({
  beforeCheck: async () => {
    box.kill('SIGKILL');
    await box.wait();
  },
});
beforeAll(() => {
  ({ berth, roots } = fixture);
});
beforeEach(() => {
  box = berth.spawn({
    image: 'busybox',
    name: 'target',
    hostname: 'exechost',
    env: ['FROM_RUN=1'],
    rm: true,
    cmd: ['sh', '-c', 'echo container-data > /tmp/marker; exec sleep 60'],
  });
});

const exec = async (cmd: string[], opts: Record<string, unknown> = {}) => {
  const p = berth.exec('target', { cmd, ...opts });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  p.stdout?.on('data', (b: Buffer) => out.push(b));
  p.stderr?.on('data', (b: Buffer) => err.push(b));
  const status = await p.wait();
  return { ...status, pid: p.pid, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
};

async function waitForMarker(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await exec(['cat', '/tmp/marker'])).stdout === 'container-data\n') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the container never wrote its marker');
}

describe('exec', () => {
  it('joins the container: hostname, PID namespace, files, environment', async () => {
    await waitForMarker();
    const r = await exec(['sh', '-c', 'hostname; echo $$; ps -o pid,comm | grep -c sleep; cat /tmp/marker; echo $FROM_RUN $EXTRA']);
    const [hostname, pid, sleeps, marker, env] = r.stdout.trim().split('\n');
    expect(hostname).toBe('exechost');
    expect(Number(pid)).toBeGreaterThan(1); // the container's own init is PID 1
    expect(sleeps).toBe('1'); // sees the container's sleep, and only one: not the host's processes
    expect(marker).toBe('container-data');
    expect(env).toBe('1');
    expect((await exec(['sh', '-c', 'echo $EXTRA'], { env: ['EXTRA=x'] })).stdout).toBe('x\n');
  });

  it('joins the container cgroup and passes the exit code through', async () => {
    const p = berth.exec('target', { cmd: ['sh', '-c', 'sleep 0.3; exit 5'] });
    const cgroup = fs.readFileSync(`/proc/${p.pid}/cgroup`, 'utf8');
    expect(cgroup).toContain(`/berth/${box.id}`);
    expect((await p.wait()).exitCode).toBe(5);
  });

  it('honours --user and --workdir', async () => {
    const r = await exec(['sh', '-c', 'id -u; pwd; grep CapEff /proc/self/status'], { user: '1000', workdir: '/tmp' });
    expect(r.stdout).toBe('1000\n/tmp\nCapEff:\t0000000000000000\n');
  });

  it('says what is wrong for a missing command or a stopped container', async () => {
    expect(() => berth.exec('target', { cmd: ['nosuchcmd'] })).toThrow(/"nosuchcmd": executable file not found in \$PATH/);
    const stopped = await berth.run({ image: 'busybox', cmd: ['true'], name: 'stopped' });
    expect(() => berth.exec('stopped', { cmd: ['true'] })).toThrow(/Container "stopped" is not running/);
    await berth.remove(stopped.id);
  });

  it('works from the CLI, with a tty and exit status', async () => {
    const r = await runCli(['exec', '-t', 'target', 'sh', '-c', 'tty; exit 3'], { roots });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r?\n$/);
    const missing = await runCli(['exec', 'target', 'nosuchcmd'], { roots });
    expect(missing.code).toBe(127);
    // -d returns at once; the command goes on inside the container
    const detached = await runCli(['exec', '-d', 'target', 'sh', '-c', 'sleep 0.3; echo later > /tmp/detached'], { roots });
    expect([detached.code, detached.stdout]).toEqual([0, '']);
    for (let i = 0; i < 100 && (await exec(['cat', '/tmp/detached'])).stdout !== 'later\n'; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect((await exec(['cat', '/tmp/detached'])).stdout).toBe('later\n');
  });
});
