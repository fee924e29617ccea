// berth events against real containers: a follower started before CLI commands sees each event
// once, in order, with exit codes (a detached container's die written by its shim); --since
// replays, --until ends, --filter selects; the journal survives a writer killed with -9 and rotation.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli } from '../helpers/env';
import { REPO_ROOT } from '../helpers/paths';
import { request, startTestService } from '../helpers/service';
import { withBusybox } from '../helpers/berth';
import type { JournalEvent } from '../../src/runtime/events-journal';

const env = { BERTH_DEFAULT_NETWORK: 'none' };
const ctx = withBusybox({
  async beforeCheck(berth) {
    for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true });
  },
});
const started: ChildProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** `berth events ARGS --format json` running in the background, its events as they come. */
function follow(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--', CLI_PATH, 'events', '--format', 'json', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, BERTH_ROOT: ctx.roots.root, BERTH_RUNROOT: ctx.roots.runRoot, ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const events: JournalEvent[] = [];
  let text = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => {
    text += b.toString();
    const lines = text.split('\n');
    text = lines.pop()!;
    for (const l of lines) events.push(JSON.parse(l) as JournalEvent);
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = async (pred: (e: JournalEvent[]) => boolean, what: string, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!pred(events)) {
      if (Date.now() > deadline) throw new Error(`no ${what} after ${ms} ms; saw ${JSON.stringify(events.map((e) => e.Action))} ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, events, exited, until, stderr: () => stderr };
}

async function cli(args: string[]) {
  const r = await runCli(args, { roots: ctx.roots, env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

/** A follower that is surely watching: it has seen an event journaled after it started (a
 *  volume destroy, which the filters of these tests let through). */
async function liveFollower(args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}) {
  const f = follow(args, extraEnv);
  const name = `sentinel${Date.now()}`;
  const deadline = Date.now() + 10_000;
  while (!f.events.some((e) => e.Actor.ID === name)) {
    if (Date.now() > deadline) throw new Error(`the follower never started: ${f.stderr()}`);
    ctx.berth.runtime.events.record('volume', 'destroy', name, { driver: 'local' });
    await new Promise((r) => setTimeout(r, 100));
  }
  return f;
}

const actions = (events: JournalEvent[], id: string) =>
  events
    .filter((e) => e.Type === 'container' && e.Actor.ID === id)
    .map((e) => e.Action + (e.Actor.Attributes.exitCode ? `(${e.Actor.Attributes.exitCode})` : ''));

describe('berth events', () => {
  it('sees what CLI commands do to containers, once each, in order, the shim reporting the die', async () => {
    const t0 = Math.floor(Date.now() / 1000) - 1;
    const f = await liveFollower();
    const web = await cli(['run', '-d', '--name', 'web', 'busybox', 'sleep', '30']);
    const fg = (await runCli(['run', '--name', 'fg', 'busybox', 'sh', '-c', 'exit 3'], { roots: ctx.roots, env })).code;
    expect(fg).toBe(3);
    const fgId = ctx.berth.inspect('fg').config.id;
    await cli(['kill', 'web']);
    await cli(['rm', 'web', 'fg']);
    const quick = await cli(['run', '-d', '--rm', '--name', 'quick', 'busybox', 'sh', '-c', 'sleep 0.2; exit 7']);
    await f.until((e) => e.some((x) => x.Actor.ID === quick && x.Action === 'destroy'), 'destroy of quick');
    expect(actions(f.events, web)).toEqual(['create', 'start', 'kill', 'die(137)', 'destroy']);
    expect(f.events.find((e) => e.Actor.ID === web && e.Action === 'kill')!.Actor.Attributes.signal).toBe('9');
    expect(actions(f.events, fgId)).toEqual(['create', 'start', 'die(3)', 'destroy']);
    // the die and the destroy of a detached --rm container: its shim is the only one there
    expect(actions(f.events, quick)).toEqual(['create', 'start', 'die(7)', 'destroy']);
    const die = f.events.find((e) => e.Actor.ID === quick && e.Action === 'die')!;
    expect(die.Actor.Attributes).toMatchObject({ name: 'quick', image: 'busybox', exitCode: '7' });
    expect(die.time).toBe(Math.floor(die.timeNano / 1e9));
    const times = f.events.map((e) => e.timeNano);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    f.child.kill('SIGINT');
    expect(await f.exited).toBe(0);

    // --since replays, --until ends it, filters select
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const replay = async (...args: string[]) =>
      (await cli(['events', '--since', String(t0), '--until', until, '--format', 'json', ...args]))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as JournalEvent);
    expect(actions(await replay('--filter', 'container=web'), web)).toEqual(['create', 'start', 'kill', 'die(137)', 'destroy']);
    const dies = await replay('--filter', 'type=container', '--filter', 'event=die');
    expect(dies.map((e) => e.Actor.Attributes.exitCode)).toEqual(['3', '137', '7']);
    expect((await replay('--filter', 'type=network')).length).toBe(0);
    const text = await cli(['events', '--since', String(t0), '--until', until, '--filter', 'container=quick', '--filter', 'event=die']);
    expect(text).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z container die ${quick} \\(exitCode=7, image=busybox, name=quick\\)$`,
      ),
    );
  });

  it('ends at --until while following', async () => {
    const t = Date.now();
    const r = await runCli(['events', '--until', String(Math.ceil(t / 1000) + 1)], { roots: ctx.roots, env, timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(r.timedOut).toBe(false);
  });

  it('reports images, volumes and networks too', async () => {
    const t0 = String(Math.floor(Date.now() / 1000) - 1);
    await cli(['tag', 'busybox', 'events-test:1']);
    await cli(['rmi', 'events-test:1']);
    await cli(['volume', 'create', 'evvol']);
    await cli(['volume', 'rm', 'evvol']);
    const out = await cli([
      'events',
      '--since',
      t0,
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      'type=image',
      '--filter',
      'type=volume',
    ]);
    const lines = out.split('\n').map((l) => l.replace(/^\S+ /, ''));
    expect(lines.filter((l) => l.startsWith('image'))).toEqual([
      expect.stringMatching(/^image tag sha256:\w+ \(name=events-test:1\)$/),
      expect.stringMatching(/^image untag sha256:\w+ \(name=events-test:1\)$/),
    ]);
    expect(lines.filter((l) => l.startsWith('volume') && !l.includes('sentinel'))).toEqual([
      'volume create evvol (driver=local)',
      'volume destroy evvol (driver=local)',
    ]);
  });

  it('keeps whole lines when a writer is killed with -9, and follows across rotation', async () => {
    const journalModule = path.join(REPO_ROOT, 'dist', 'runtime', 'events-journal.js');
    const writer = (tag: string, n: number, maxSize: number) =>
      spawn(
        process.execPath,
        [
          '-e',
          `const { EventJournal } = require(${JSON.stringify(journalModule)});
           const j = new EventJournal(${JSON.stringify(ctx.roots.runRoot)});
           for (let i = 0; i < ${n}; i++) j.record('volume', 'destroy', '${tag}' + String(i).padStart(6, '0'), { driver: 'local' });`,
        ],
        { env: { ...process.env, BERTH_EVENTS_MAX_SIZE: String(maxSize) }, stdio: 'ignore' },
      );
    const dir = path.join(ctx.roots.runRoot, 'events');
    const wholeLines = () => {
      for (const file of ['events.log', 'events.log.1']) {
        const text = fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), 'utf8') : '';
        expect(text === '' || text.endsWith('\n')).toBe(true);
        for (const line of text.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
      }
    };
    // a writer killed midway, rotating small files as it goes: no torn line, no torn file
    const doomed = writer('k', 10_000_000, 20_000);
    started.push(doomed);
    await new Promise((r) => setTimeout(r, 400));
    doomed.kill('SIGKILL');
    await new Promise((r) => doomed.on('exit', r));
    wholeLines();
    expect(fs.existsSync(path.join(dir, 'events.log.1'))).toBe(true);

    // two writers at once while a follower reads, the journal rotating once or twice meanwhile
    const f = await liveFollower(['--filter', 'type=volume', '--filter', 'event=destroy']);
    // files of 120 kB: the 800 lines rotate them once or twice, so a follower on a loaded machine
    // is never a whole rotation behind (the reader's documented limit)
    const a = writer('a', 400, 120_000);
    const b = writer('b', 400, 120_000);
    started.push(a, b);
    await Promise.all([a, b].map((p) => new Promise((r) => p.on('exit', r))));
    await f.until((e) => e.filter((x) => /^[ab]\d/.test(x.Actor.ID)).length >= 800, 'every event of both writers');
    const mine = f.events.filter((e) => /^[ab]\d/.test(e.Actor.ID)).map((e) => e.Actor.ID);
    expect(new Set(mine).size).toBe(800);
    expect(mine.length).toBe(800);
    for (const tag of ['a', 'b']) {
      const ofTag = mine.filter((id) => id.startsWith(tag));
      expect(ofTag).toEqual([...ofTag].sort()); // one writer's events stay in its order
    }
    wholeLines();
    // the journal still works for the next command
    await cli(['volume', 'create', 'after-kill']);
    await cli(['volume', 'rm', 'after-kill']);
    await f.until((e) => e.some((x) => x.Actor.ID === 'after-kill'), 'the event after the kill');
    f.child.kill('SIGINT');
    expect(await f.exited).toBe(0);
  });

  it("shares one journal with the Engine API service: the CLI's events in /events, the service's in berth events, none twice", async () => {
    const service = await startTestService(ctx.roots, { env });
    try {
      const t0 = Math.floor(Date.now() / 1000) - 1;
      const created = await request(service.socket, 'POST', '/v1.43/containers/create?name=viaapi', {
        Image: 'busybox',
        Cmd: ['sh', '-c', 'exit 4'],
      });
      expect(created.status).toBe(201);
      const id = (created.json as { Id: string }).Id;
      expect((await request(service.socket, 'POST', `/v1.43/containers/${id}/start`)).status).toBe(204);
      expect((await request(service.socket, 'POST', `/v1.43/containers/${id}/wait`)).status).toBe(200);
      expect((await request(service.socket, 'DELETE', `/v1.43/containers/${id}`)).status).toBe(204);
      const viaCli = await cli(['run', '-d', '--rm', '--name', 'viacli', 'busybox', 'true']);
      await new Promise((r) => setTimeout(r, 500)); // the shim's destroy of the --rm container
      const until = Math.ceil(Date.now() / 1000) + 1;
      const past = await request(
        service.socket,
        'GET',
        `/v1.43/events?since=${t0}&until=${until}&filters=${encodeURIComponent('{"type":["container"]}')}`,
      );
      const apiEvents = past.body
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as JournalEvent & { status?: string });
      expect(actions(apiEvents, viaCli)).toEqual(['create', 'start', 'die(0)', 'destroy']);
      expect(actions(apiEvents, id)).toEqual(['create', 'start', 'die(4)', 'destroy']);
      expect(apiEvents.find((e) => e.Actor.ID === id)!.status).toBe('create'); // docker's legacy fields
      const cliEvents = (
        await cli(['events', '--since', String(t0), '--until', String(until), '--format', 'json', '--filter', 'container=viaapi'])
      )
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as JournalEvent);
      expect(actions(cliEvents, id)).toEqual(['create', 'start', 'die(4)', 'destroy']);
    } finally {
      await service.stop();
    }
  });
});
