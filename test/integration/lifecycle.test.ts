import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Berth, type ContainerEvent, type LogEntry } from '../../src/index';
import { processStartTime } from '../../src/util/proc';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

// After each test: no container, shim, cgroup or mount outlives it.
const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
    expect(b.ps({ all: true })).toEqual([]);
  },
});
let roots: TempRoots;
let berth: Berth;
beforeAll(() => {
  ({ berth, roots } = fixture);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // awaited: a predicate that reads the log asynchronously must not count as true by being a Promise
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}
const cli = (args: string[]) => runCli(args, { roots });

describe('detached containers', () => {
  it('run -d returns at once; the shim is the parent, keeps the log and records the exit', async () => {
    const t0 = Date.now();
    const info = await berth.runDetached({
      image: 'busybox',
      name: 'talker',
      cmd: ['sh', '-c', 'echo out; echo err >&2; printf partial; sleep 0.3; exit 7'],
    });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(info.state.status).toBe('running');
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${info.state.pid}/status`, 'utf8'))![1]);
    expect(ppid).toBe(info.state.shimPid);
    const state = await berth.wait('talker');
    expect(state.exitCode).toBe(7);
    const entries = await collect(berth.logs('talker'));
    expect(entries.map((e) => [e.stream, e.log])).toEqual([
      ['stdout', 'out\n'],
      ['stderr', 'err\n'],
      ['stdout', 'partial'],
    ]);
    expect(entries.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(e.time))).toBe(true);
    for (const d of berth.runtime.cgroups.dirs(info.config.id)) expect(fs.existsSync(d)).toBe(false);
  });

  it('logs -f follows new lines until the container exits; --tail and -t on the CLI', async () => {
    await berth.runDetached({ image: 'busybox', name: 'ticker', cmd: ['sh', '-c', 'for i in 1 2 3 4; do echo line$i; sleep 0.2; done'] });
    const followed = await collect(berth.logs('ticker', { follow: true, pollMs: 20 }));
    expect(followed.map((e) => e.log)).toEqual(['line1\n', 'line2\n', 'line3\n', 'line4\n']);
    const tail = await cli(['logs', '--tail', '2', '-t', 'ticker']);
    expect(tail.stdout).toMatch(/^\S+Z line3\n\S+Z line4\n$/);
  });

  it('bounds the log: rotated at --log-opt max-size, at most max-file files', async () => {
    await berth.runDetached({
      image: 'busybox',
      name: 'chatty',
      logOpts: ['max-size=2k', 'max-file=2'],
      cmd: ['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo "line $i padding padding"; i=$((i+1)); done'],
    });
    await berth.wait('chatty');
    const dir = berth.runtime.store.containerDir(berth.inspect('chatty').config.id);
    const logs = fs.readdirSync(dir).filter((f) => f.startsWith('container.log'));
    expect(logs.sort()).toEqual(['container.log', 'container.log.1']);
    for (const f of logs) expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(2048);
    const kept = await collect(berth.logs('chatty'));
    expect(kept.at(-1)!.log).toBe('line 299 padding padding\n');
  });

  it('exec reaches a detached container', async () => {
    await berth.runDetached({ image: 'busybox', name: 'svc', hostname: 'svchost', cmd: ['sleep', '60'] });
    const r = await cli(['exec', 'svc', 'hostname']);
    expect(r.stdout).toBe('svchost\n');
  });

  it('stop: SIGTERM then SIGKILL after the timeout; --init makes a shell stoppable at once', async () => {
    await berth.runDetached({ image: 'busybox', name: 'stubborn', cmd: ['sh', '-c', 'sleep 100'] });
    let t0 = Date.now();
    const stubborn = await berth.stop('stubborn', { timeout: 1 });
    // sh as PID 1 has no SIGTERM handler, so the kernel ignores TERM: only the KILL stops it
    expect(stubborn.state.exitCode).toBe(137);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    await berth.runDetached({ image: 'busybox', name: 'gentle', init: true, cmd: ['sh', '-c', 'sleep 100'] });
    t0 = Date.now();
    const gentle = await berth.stop('gentle', { timeout: 10 });
    expect(gentle.state.exitCode).toBe(143);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('--init reaps zombies', async () => {
    // the shell leaves orphans behind that nobody but PID 1 can reap
    await berth.runDetached({
      image: 'busybox',
      name: 'reaper',
      init: true,
      cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do (sleep 0.1 &); done; sleep 60'],
    });
    await sleep(600);
    const zombies = berth.top('reaper').filter((p) => /\bZ\b/.test(fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1] ?? ''));
    expect(zombies).toEqual([]);
  });

  it('kill sends signals; start runs an exited container again with its write layer', async () => {
    await berth.runDetached({
      image: 'busybox',
      name: 'again',
      cmd: ['sh', '-c', 'echo run >> /data.txt; cat /data.txt | wc -l; sleep 60'],
    });
    await until('first run to log', async () => (await collect(berth.logs('again'))).length === 1);
    berth.kill('again', 'SIGKILL');
    expect((await berth.wait('again')).exitCode).toBe(137);
    await berth.start('again');
    await until('second run to log', () =>
      fs
        .readFileSync(path.join(berth.runtime.store.containerDir(berth.inspect('again').config.id), 'container.log'), 'utf8')
        .includes('"2\\n"'),
    );
    expect(() => berth.kill('again', 'SIGNOPE')).toThrow(/Expected a signal like SIGTERM/);
  });

  it('restart policies: on-failure:N retries N times; always is not restarted after stop', async () => {
    await berth.runDetached({ image: 'busybox', name: 'flaky', restart: 'on-failure:2', cmd: ['sh', '-c', 'echo attempt; exit 3'] });
    const state = await until('retries to run out', () => {
      const s = berth.inspect('flaky').state;
      return s.status === 'exited' && s.restartCount === 2 && s;
    });
    expect(state.exitCode).toBe(3);
    expect((await collect(berth.logs('flaky'))).map((e) => e.log)).toEqual(['attempt\n', 'attempt\n', 'attempt\n']);

    await berth.runDetached({ image: 'busybox', name: 'forever', restart: 'always', cmd: ['sh', '-c', 'sleep 0.2; exit 0'] });
    await until('a restart', () => (berth.inspect('forever').state.restartCount ?? 0) >= 1);
    const stopped = await berth.stop('forever', { timeout: 1 });
    expect(stopped.state.status).toBe('exited');
    await sleep(800);
    expect(berth.inspect('forever').state.status).toBe('exited');
  });

  it('rm -f removes a running container with everything it had', async () => {
    const info = await berth.runDetached({ image: 'busybox', name: 'doomed', cmd: ['sleep', '60'] });
    const dir = berth.runtime.store.containerDir(info.config.id);
    await berth.remove('doomed', { force: true });
    expect(fs.existsSync(dir)).toBe(false);
    expect(processStartTime(info.state.pid!)).toBeUndefined();
    expect(processStartTime(info.state.shimPid!)).toBeUndefined();
    for (const d of berth.runtime.cgroups.dirs(info.config.id)) expect(fs.existsSync(d)).toBe(false);
  });

  it('--rm: the shim removes the container when it exits', async () => {
    const info = await berth.runDetached({ image: 'busybox', rm: true, cmd: ['true'] });
    await until('removal', () => !fs.existsSync(berth.runtime.store.containerDir(info.config.id)));
    expect(berth.ps({ all: true })).toEqual([]);
    // one that is gone before runDetached looks at it again is no error (it ran, as docker's run -d --rm)
    const quick = await Promise.all(Array.from({ length: 8 }, () => berth.runDetached({ image: 'busybox', rm: true, cmd: ['true'] })));
    expect(quick.every((q) => /^[0-9a-f]{64}$/.test(q.config.id))).toBe(true);
    await until('removal of all', () => berth.ps({ all: true }).length === 0);
  });

  it('top and stats read the container cgroup', async () => {
    await berth.runDetached({ image: 'busybox', name: 'busy', memory: '64m', cmd: ['sleep', '60'] });
    expect(berth.top('busy').map((p) => p.command)).toEqual(['sleep 60']);
    const s = berth.stats('busy');
    expect(s.pids).toBe(1);
    expect(s.memoryBytes).toBeGreaterThan(0);
    expect(s.memoryLimit).toBe(64 * 1024 * 1024);
    const r = await cli(['stats', '--no-stream', 'busy']);
    expect(r.stdout).toMatch(/busy\s+--\s+\S+ \/ 67\.1MB\s+1/);
  });

  it('watch() reports start, die and exit', async () => {
    const events: ContainerEvent[] = [];
    const stop = berth.watch((e) => events.push(e), { intervalMs: 20 });
    try {
      await berth.runDetached({ image: 'busybox', name: 'watched', cmd: ['sh', '-c', 'sleep 0.3; exit 2'] });
      await until('exit event', () => events.some((e) => e.type === 'exit'));
    } finally {
      stop();
    }
    expect(events.map((e) => e.type)).toEqual(['start', 'die', 'exit']);
    expect(events.at(-1)!.exitCode).toBe(2);
  });
});

describe('state that survives crashes', () => {
  it('a SIGKILLed shim takes its container along; ps tells the truth and rm cleans up', async () => {
    const info = await berth.runDetached({ image: 'busybox', name: 'orphan', cmd: ['sleep', '60'] });
    process.kill(info.state.shimPid!, 'SIGKILL');
    await until('container to die', () => processStartTime(info.state.pid!) === undefined);
    const ps = await cli(['ps', '-a', '--filter', 'name=orphan']);
    expect(ps.stdout).toMatch(/Exited \(255\).*orphan/);
    for (const d of berth.runtime.cgroups.dirs(info.config.id)) expect(fs.existsSync(d)).toBe(false);
    expect((await cli(['rm', 'orphan'])).code).toBe(0);
  });

  it('a SIGKILLed container is recorded by its shim as 137', async () => {
    const info = await berth.runDetached({ image: 'busybox', name: 'victim', cmd: ['sleep', '60'] });
    process.kill(info.state.pid!, 'SIGKILL');
    expect((await berth.wait('victim')).exitCode).toBe(137);
  });

  it('run -d killed with SIGKILL at any moment leaves a state that ps reports truthfully and rm removes', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI_PATH } = await import('../helpers/env');
    for (const delay of [0, 10, 25, 50, 80, 120]) {
      const child = spawn(process.execPath, [CLI_PATH, 'run', '-d', '--name', `cut${delay}`, 'busybox', 'sleep', '60'], {
        env: { ...process.env, BERTH_ROOT: roots.root, BERTH_RUNROOT: roots.runRoot },
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.once('exit', r));
      await sleep(delay);
      child.kill('SIGKILL');
      await exited;
    }
    // whatever each CLI got to, every container listed is in a truthful state
    for (const c of berth.ps({ all: true })) {
      if (c.state.status === 'running') expect(processStartTime(c.state.pid!)).toBe(c.state.pidStartTime);
      else expect(['created', 'exited']).toContain(c.state.status);
    }
    const ps = await cli(['ps', '-a', '-q']);
    expect(ps.code).toBe(0);
    for (const id of ps.stdout.split('\n').filter(Boolean)) expect((await cli(['rm', '-f', id])).code).toBe(0);
    expect(berth.ps({ all: true })).toEqual([]);
  }, 60_000);

  it('a CLI started container can be stopped from another CLI', async () => {
    const r = await cli(['run', '-d', '--name', 'survivor', 'busybox', 'sleep', '60']);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(berth.inspect('survivor').state.status).toBe('running');
    expect((await cli(['stop', '-t', '0', 'survivor'])).code).toBe(0);
    expect(berth.inspect('survivor').state.status).toBe('exited');
  });
});

describe('many containers', () => {
  it('50 detached containers start concurrently, are listed, stop and are removed cleanly', async () => {
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => berth.runDetached({ image: 'busybox', name: `many${i}`, cmd: ['sleep', '120'] })),
    );
    const started = Date.now() - t0;
    const running = berth.ps();
    expect(running.length).toBe(50);
    expect(new Set(running.map((c) => c.config.name)).size).toBe(50);
    const rss = running.reduce(
      (sum, c) => sum + Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${c.state.shimPid}/status`, 'utf8'))![1]),
      0,
    );
    const t1 = Date.now();
    await Promise.all(running.map((c) => berth.stop(c.config.id, { timeout: 0 })));
    for (const c of running) await berth.remove(c.config.id);
    console.log(
      `50 containers: started in ${started} ms, stopped and removed in ${Date.now() - t1} ms, shims ${Math.round(rss / 50)} kB RSS each`,
    );
    expect(rss / 50).toBeLessThan(2048);
  }, 120_000);
});
