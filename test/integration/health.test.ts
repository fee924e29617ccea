// docker's health checks: --health-* flags and the image's HEALTHCHECK, run by berth-health
// (native/health) inside real containers, shown by ps STATUS and inspect's state.health.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Berth, type ContainerEvent } from '../../src/index';
import { healthFiles, type HealthState } from '../../src/runtime/health/monitor';
import { processStartTime } from '../../src/util/proc';
import { hostChanges, hostSnapshot, runCli, tempRoots, type HostSnapshot, type TempRoots } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';

// A cgroup parent of this file's own: the helpers' host check would otherwise see the containers
// of other test files running at the same time below the shared `berth` parent.
const CGROUP_PARENT = 'berth-health-test';
let roots: TempRoots;
let berth: Berth;
let before: HostSnapshot;
const changes = () =>
  hostChanges(before, hostSnapshot({ cgroupParent: CGROUP_PARENT })).filter((c) => c.startsWith('cgroup') || c.includes(roots.base));
beforeAll(async () => {
  roots = tempRoots();
  berth = new Berth({ root: roots.root, runRoot: roots.runRoot, cgroupParent: CGROUP_PARENT });
  await berth.importImage(busyboxTar(), 'busybox');
});
afterAll(() => {
  roots.cleanup();
  // the parent directories this file made (empty now: every container is gone)
  for (const controller of fs.readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', controller, CGROUP_PARENT);
    if (fs.existsSync(dir)) fs.rmdirSync(dir);
  }
});
beforeEach(() => {
  before = hostSnapshot({ cgroupParent: CGROUP_PARENT });
});
afterEach(async () => {
  for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true });
  expect(changes()).toEqual([]);
});

const cli = (args: string[]) => runCli(['--cgroup-parent', CGROUP_PARENT, ...args], { roots });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const health = (name: string): HealthState | undefined => berth.inspect(name).state.health;
const dirOf = (name: string) => berth.runtime.store.containerDir(berth.inspect(name).config.id);

/** Polls until `fn` returns something truthy (the machine is shared: generous deadline). */
async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The monitor's pid, and whether it still runs (a zombie has ended). */
function monitorOf(name: string): { pid: number; alive: () => boolean } {
  const pid = Number(fs.readFileSync(healthFiles(dirOf(name)).pid, 'utf8'));
  const start = processStartTime(pid);
  expect(start).toBeDefined();
  return { pid, alive: () => processStartTime(pid) === start };
}

async function runDetached(args: string[]): Promise<void> {
  const r = await cli(['run', '-d', '--network', 'none', ...args]);
  expect(r.code, r.stderr).toBe(0);
}

describe('--health-cmd', () => {
  it('a passing check makes the container healthy; it runs inside, as the container’s user', async () => {
    await runDetached([
      '--name',
      'pass',
      '--user',
      '1000:1000',
      '--health-cmd',
      'cat /etc/berth-fixture; id -u',
      '--health-interval',
      '200ms',
      'busybox',
      'sleep',
      '60',
    ]);
    const h = await until('healthy', () => (health('pass')?.Status === 'healthy' ? health('pass') : undefined));
    expect(h.FailingStreak).toBe(0);
    const last = h.Log[h.Log.length - 1];
    // the container's /etc, not the host's; its user, not root
    expect(last).toMatchObject({ ExitCode: 0, Output: 'busybox fixture\n1000\n' });
    expect(Date.parse(last.End)).toBeGreaterThanOrEqual(Date.parse(last.Start));
    expect((await cli(['ps'])).stdout).toMatch(/Up .* \(healthy\)\s+pass\n/);
    // docker keeps the last 5 results
    await until('five results', () => health('pass')!.Log.length === 5);
    await sleep(500);
    expect(health('pass')!.Log).toHaveLength(5);
    const inspect = JSON.parse((await cli(['inspect', 'pass'])).stdout) as Array<{ State: { Health: HealthState } }>;
    expect(inspect[0].State.Health.Status).toBe('healthy');
  });

  it('is starting until the first check has run; ps --filter health= selects by it', async () => {
    await runDetached(['--name', 'wait', '--health-cmd', 'true', '--health-interval', '1m', 'busybox', 'sleep', '60']);
    expect((await cli(['ps'])).stdout).toMatch(/Up .* \(health: starting\)\s+wait\n/);
    expect(health('wait')).toEqual({ Status: 'starting', FailingStreak: 0, Log: [] });
    // ps --filter health=
    await runDetached(['--name', 'plain', 'busybox', 'sleep', '60']);
    const names = async (f: string) => (await cli(['ps', '--format', 'json', '--filter', f])).stdout.match(/"Names":"\w+"/g);
    expect(await names('health=starting')).toEqual(['"Names":"wait"']);
    expect(await names('health=none')).toEqual(['"Names":"plain"']);
    expect(await names('health=healthy')).toBeNull();
    const bad = await cli(['ps', '--filter', 'health=fine']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({
      code: 125,
      stderr: 'berth: Expected starting, healthy, unhealthy, none for --filter health but received "fine"\n',
    });
  });

  it('a failing check makes it unhealthy after --health-retries consecutive failures', async () => {
    await runDetached([
      '--name',
      'fail',
      '--health-cmd',
      'test -f /tmp/ok',
      '--health-interval',
      '200ms',
      '--health-retries',
      '3',
      'busybox',
      'sh',
      '-c',
      'touch /tmp/ok; exec sleep 60',
    ]);
    await until('healthy', () => health('fail')?.Status === 'healthy');
    expect((await cli(['exec', 'fail', 'rm', '/tmp/ok'])).code).toBe(0);
    const first = await until('a first failure', () => {
      const h = health('fail')!;
      return h.FailingStreak > 0 ? h : undefined;
    });
    // one and two failures are not yet unhealthy
    if (first.FailingStreak < 3) expect(first.Status).toBe('healthy');
    const h = await until('unhealthy', () => (health('fail')!.Status === 'unhealthy' ? health('fail') : undefined));
    expect(h.FailingStreak).toBeGreaterThanOrEqual(3);
    expect(h.Log[h.Log.length - 1].ExitCode).toBe(1);
    expect((await cli(['ps'])).stdout).toMatch(/Up .* \(unhealthy\)\s+fail\n/);
    // and healthy again at the first success
    expect((await cli(['exec', 'fail', 'touch', '/tmp/ok'])).code).toBe(0);
    const back = await until('healthy again', () => (health('fail')!.Status === 'healthy' ? health('fail') : undefined));
    expect(back.FailingStreak).toBe(0);
  });

  it('--health-timeout kills a check that hangs, as a failure with docker’s message', async () => {
    await runDetached([
      '--name',
      'hang',
      '--health-cmd',
      'sleep 10',
      '--health-timeout',
      '300ms',
      '--health-interval',
      '200ms',
      '--health-retries',
      '1',
      'busybox',
      'sleep',
      '60',
    ]);
    const h = await until('unhealthy', () => (health('hang')?.Status === 'unhealthy' ? health('hang') : undefined));
    const probe = h.Log[0];
    expect(probe).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (300ms)' });
    const took = Date.parse(probe.End) - Date.parse(probe.Start);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(5000);
  });

  it('failures inside --health-start-period do not count until the period is over', async () => {
    const started = Date.now();
    await runDetached([
      '--name',
      'slow',
      '--health-cmd',
      'exit 1',
      '--health-interval',
      '200ms',
      '--health-start-interval',
      '100ms',
      '--health-start-period',
      '3s',
      '--health-retries',
      '1',
      'busybox',
      'sleep',
      '60',
    ]);
    await until('two failed probes', () => (health('slow')?.Log.length ?? 0) >= 2);
    if (Date.now() - started < 2500) expect(health('slow')).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    const h = await until('unhealthy', () => (health('slow')!.Status === 'unhealthy' ? health('slow') : undefined));
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(h.FailingStreak).toBe(1);
  });

  it('bad values are one-line errors, exit 125, nothing created', async () => {
    for (const [flags, message] of [
      [['--health-interval', '5x'], 'berth: Expected a duration like 30s, 500ms or 1m30s for --health-interval but received "5x"\n'],
      [['--health-timeout', '0.5ms'], 'berth: --health-timeout must be at least 1ms (or 0 for the default 30s) but received "0.5ms"\n'],
      [['--health-retries', 'x'], 'berth: Expected a whole number of retries like 3 for --health-retries but received "x"\n'],
      [['--health-retries', '-2'], 'berth: --health-retries cannot be negative but received "-2"\n'],
      [
        ['--no-healthcheck', '--health-cmd', 'true'],
        'berth: Conflicting options: --no-healthcheck and --health-*; give one or the other\n',
      ],
    ] as const) {
      for (const cmd of ['run', 'create']) {
        const r = await cli([cmd, ...flags, 'busybox', 'true']);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 125, stderr: message });
      }
    }
    expect(berth.ps({ all: true })).toEqual([]);
  });
});

describe('the Node API', () => {
  it('takes the flags as options (durations as strings or nanoseconds) and shows state.health', async () => {
    const info = await berth.runDetached({
      image: 'busybox',
      name: 'api',
      cmd: ['sleep', '60'],
      network: 'none',
      healthCmd: 'test ! -e /tmp/bad && echo api',
      healthInterval: 200e6,
      healthTimeout: '2s',
      healthRetries: 1,
    });
    expect(info.config.healthcheck).toEqual({
      test: ['CMD-SHELL', 'test ! -e /tmp/bad && echo api'],
      intervalMs: 200,
      timeoutMs: 2000,
      startPeriodMs: 0,
      startIntervalMs: 5000,
      retries: 1,
    });
    const h = await until('healthy', () => (health('api')?.Status === 'healthy' ? health('api') : undefined));
    expect(h.Log[0].Output).toBe('api\n');
    expect(berth.ps().find((c) => c.config.name === 'api')?.state.health?.Status).toBe('healthy');
    // watch(): docker's health_status event when it turns unhealthy
    const events: ContainerEvent[] = [];
    const stop = berth.watch((e) => events.push(e), { intervalMs: 50 });
    try {
      expect((await cli(['exec', 'api', 'touch', '/tmp/bad'])).code).toBe(0);
      await until('a health_status event', () => events.find((e) => e.type === 'health_status'));
    } finally {
      stop();
    }
    expect(events.filter((e) => e.type === 'health_status')).toEqual([expect.objectContaining({ name: 'api', health: 'unhealthy' })]);
    await expect(berth.runDetached({ image: 'busybox', healthRetries: true } as never)).rejects.toThrow(
      'Expected healthRetries to be a string or a finite number but received a boolean true',
    );
    await expect(berth.runDetached({ image: 'busybox', healthInterval: '1d' })).rejects.toThrow(
      'Expected a duration like 30s, 500ms or 1m30s for --health-interval but received "1d"',
    );
  });
});

describe('the monitor', () => {
  it('exits with the container (stop, rm -f), and killing it does not touch the container', async () => {
    await runDetached(['--name', 'm1', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '60']);
    await until('healthy', () => health('m1')?.Status === 'healthy');
    const m = monitorOf('m1');
    expect(fs.readlinkSync(`/proc/${m.pid}/exe`)).toMatch(/^\/memfd:berth-health/);
    expect((await cli(['stop', '-t', '1', 'm1'])).code).toBe(0);
    await until('the monitor gone after stop', () => !m.alive(), 5000);
    // a start again has a monitor of its own, and starts over
    expect((await cli(['start', 'm1'])).code).toBe(0);
    const again = monitorOf('m1');
    expect(again.pid).not.toBe(m.pid);
    await until('healthy after start', () => health('m1')?.Status === 'healthy');

    await runDetached(['--name', 'm2', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '60']);
    const m2 = monitorOf('m2');
    expect((await cli(['rm', '-f', 'm2'])).code).toBe(0);
    await until('the monitor gone after rm -f', () => !m2.alive(), 5000);

    await runDetached(['--name', 'm3', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '60']);
    const m3 = monitorOf('m3');
    process.kill(m3.pid, 'SIGKILL');
    await until('the monitor killed', () => !m3.alive(), 5000);
    await sleep(300);
    expect(berth.inspect('m3').state.status).toBe('running');
    expect((await cli(['exec', 'm3', 'true'])).code).toBe(0);
  });

  it("follows the shim's restarts of the container (--restart always)", async () => {
    await runDetached([
      '--name',
      'again',
      '--restart',
      'always',
      '--health-cmd',
      'true',
      '--health-interval',
      '200ms',
      'busybox',
      'sh',
      '-c',
      'sleep 1; exit 3',
    ]);
    const m = monitorOf('again');
    const firstPid = berth.inspect('again').state.pid;
    const restarted = await until('a restart', () => {
      const s = berth.inspect('again').state;
      return s.status === 'running' && s.pid !== firstPid && (s.restartCount ?? 0) >= 1 ? s : undefined;
    });
    // a check after the restart: it joined the new process
    await until('a check of the restarted container', () =>
      health('again')?.Log.some((l) => Date.parse(l.Start) > Date.parse(restarted.startedAt!) && l.ExitCode === 0),
    );
    expect(m.alive()).toBe(true);
    // stop first: an rm -f between two restarts is not this test's subject
    expect((await cli(['stop', '-t', '1', 'again'])).code).toBe(0);
    expect((await cli(['rm', '-f', 'again'])).code).toBe(0);
    await until('the monitor gone', () => !m.alive(), 5000);
  });

  it('runs for a foreground container too, and ends with it', async () => {
    const r = await cli([
      'run',
      '--name',
      'fg',
      '--network',
      'none',
      '--health-cmd',
      'echo fg',
      '--health-interval',
      '200ms',
      'busybox',
      'sleep',
      '1.5',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const h = health('fg')!;
    expect(h.Status).toBe('healthy');
    expect(h.Log.some((l) => l.Output === 'fg\n')).toBe(true);
    const pid = Number(fs.readFileSync(healthFiles(dirOf('fg')).pid, 'utf8'));
    await until('the monitor gone', () => processStartTime(pid) === undefined, 5000);
  });
});

describe("the image's HEALTHCHECK", () => {
  /** busybox as a docker-archive whose config has a HEALTHCHECK, loaded as withhealth. */
  beforeAll(async () => {
    const dir = path.join(roots.root, 'withhealth-archive');
    fs.mkdirSync(dir);
    fs.copyFileSync(busyboxTar(), path.join(dir, 'layer.tar'));
    const diffId = `sha256:${createHash('sha256')
      .update(fs.readFileSync(path.join(dir, 'layer.tar')))
      .digest('hex')}`;
    const config = {
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      config: {
        Cmd: ['sleep', '60'],
        Healthcheck: { Test: ['CMD', 'echo', 'from-image'], Interval: 200e6, Timeout: 5e9, Retries: 2 },
      },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    fs.writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify([{ Config: 'config.json', RepoTags: ['withhealth:latest'], Layers: ['layer.tar'] }]),
    );
    execFileSync('tar', ['-cf', path.join(dir, 'image.tar'), '-C', dir, 'manifest.json', 'config.json', 'layer.tar']);
    const loaded = await cli(['load', '-i', path.join(dir, 'image.tar')]);
    expect(loaded.code, loaded.stderr).toBe(0);
  });

  it('runs without any flag; --health-cmd replaces its test only; --no-healthcheck disables it', async () => {
    await runDetached(['--name', 'img', 'withhealth']);
    expect(berth.inspect('img').config.healthcheck).toMatchObject({ test: ['CMD', 'echo', 'from-image'], intervalMs: 200, retries: 2 });
    const h = await until('healthy', () => (health('img')?.Status === 'healthy' ? health('img') : undefined));
    expect(h.Log[0].Output).toBe('from-image\n');

    await runDetached(['--name', 'flag', '--health-cmd', 'echo from-flag', 'withhealth']);
    expect(berth.inspect('flag').config.healthcheck).toMatchObject({ test: ['CMD-SHELL', 'echo from-flag'], intervalMs: 200 });
    const f = await until('healthy', () => (health('flag')?.Status === 'healthy' ? health('flag') : undefined));
    expect(f.Log[0].Output).toBe('from-flag\n');

    await runDetached(['--name', 'off', '--no-healthcheck', 'withhealth']);
    await sleep(600);
    const off = berth.inspect('off');
    expect(off.config.healthcheck).toBeUndefined();
    expect(off.state.health).toBeUndefined();
    expect(fs.existsSync(healthFiles(dirOf('off')).pid)).toBe(false);
    expect((await cli(['ps', '--filter', 'name=off'])).stdout).toMatch(/Up [^(]*\s+off\n/);
  });
});
