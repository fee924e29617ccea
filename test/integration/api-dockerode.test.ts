// dockerode, the Docker client most Node programs use, against `berth system service`: create,
// attach (hijacked and demultiplexed by dockerode's own modem), start, wait, inspect, logs,
// remove, and the events stream; unchanged, pointed at the service's socket.
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import type { TempRoots } from '../helpers/env';
import { startTestService, type TestService } from '../helpers/service';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
let roots: TempRoots;
let service: TestService;
let client: Docker;
beforeAll(async () => {
  roots = fixture.roots;
  service = await startTestService(roots);
  client = new Docker({ socketPath: service.socket });
});
afterAll(async () => {
  await service?.stop();
});

/** Collects what dockerode demultiplexes into stdout and stderr. */
function collect(stream: NodeJS.ReadableStream): { out: () => string; err: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (b: Buffer) => (o += b.toString()));
  err.on('data', (b: Buffer) => (e += b.toString()));
  client.modem.demuxStream(stream, out, err);
  return { out: () => o, err: () => e };
}

describe('dockerode through berth system service', () => {
  it('creates, attaches, starts, waits for and removes a container', async () => {
    const container = await client.createContainer({
      Image: 'busybox',
      Cmd: ['sh', '-c', 'read line; echo "got $line"; echo oops >&2; exit 5'],
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Env: ['GREETING=hi'],
      Labels: { suite: 'dockerode' },
    });
    const stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    const output = collect(stream);
    const waited = container.wait({ condition: 'next-exit' });
    await container.start();
    stream.end('ping\n');
    expect(await waited).toMatchObject({ StatusCode: 5 });
    await new Promise((r) => setTimeout(r, 100));
    expect(output.out()).toBe('got ping\n');
    expect(output.err()).toBe('oops\n');
    const info = await container.inspect();
    expect(info).toMatchObject({ State: { Status: 'exited', ExitCode: 5, Running: false }, Config: { Labels: { suite: 'dockerode' } } });
    expect(info.Config.Env).toContain('GREETING=hi');
    const logs = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    // multiplexed frames: stream 1 "got ping\n", stream 2 "oops\n"
    expect(logs[0]).toBe(1);
    expect(logs.includes(Buffer.from('got ping'))).toBe(true);
    await container.remove({ v: true });
    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('lists containers with filters and reports events as they happen', async () => {
    const events = (await client.getEvents({ filters: { type: ['container'] } })) as NodeJS.ReadableStream & { destroy(): void };
    const seen: Array<{ Action: string; Actor: { ID: string } }> = [];
    events.on('data', (b: Buffer) => {
      for (const line of b.toString().split('\n').filter(Boolean)) seen.push(JSON.parse(line));
    });
    const c = await client.createContainer({ Image: 'busybox', Cmd: ['sleep', '30'], Labels: { pick: 'me' } });
    await c.start();
    const listed = await client.listContainers({ filters: { label: ['pick=me'] } });
    expect(listed.map((x) => x.Id)).toEqual([c.id]);
    expect(listed[0]).toMatchObject({ Names: expect.any(Array), State: 'running', Image: 'busybox' });
    expect(await client.listContainers({ filters: { label: ['pick=other'] } })).toEqual([]);
    await c.kill();
    await c.wait();
    await c.remove();
    const deadline = Date.now() + 5000;
    while (!seen.some((e) => e.Action === 'destroy') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    events.destroy();
    const mine = seen.filter((e) => e.Actor.ID === c.id).map((e) => e.Action);
    expect(mine).toEqual(expect.arrayContaining(['create', 'start', 'kill', 'die', 'destroy']));
    expect(mine.indexOf('create')).toBeLessThan(mine.indexOf('start'));
    expect(mine.indexOf('die')).toBeLessThan(mine.indexOf('destroy'));
  });
});
