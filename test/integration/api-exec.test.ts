// Exec through the Engine API, driven by the real docker CLI against `berth system service` on a
// temporary socket and state root: exit codes (read by the CLI from exec inspect), env, user,
// workdir, stdin with -i (its EOF closes the command's stdin), a terminal with -it under
// script(1), detached execs, inspect's fields, docker's errors for a stopped container; and
// dockerode's exec (hijacked stdin, its half-close, the detach keys).
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import type { TempRoots } from '../helpers/env';
import { docker as dockerCli, dockerConfigDir, request, startTestService, type TestService } from '../helpers/service';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
let roots: TempRoots;
let service: TestService;
beforeAll(async () => {
  roots = fixture.roots;
  service = await startTestService(roots);
});
afterAll(async () => {
  await service?.stop();
});

const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) => dockerCli(service, roots, args, opts);
const api = (method: string, path: string, body?: unknown) => request(service.socket, method, path, body);

async function runningContainer(name: string): Promise<string> {
  const r = await docker(['run', '-d', '--name', name, 'busybox', 'sleep', '1000']);
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

describe('docker exec through berth system service', () => {
  it('runs commands with their exit codes, env, user and workdir', async () => {
    await runningContainer('ex1');
    expect(await docker(['exec', 'ex1', 'echo', 'hello'])).toMatchObject({ code: 0, stdout: 'hello\n' });
    const failing = await docker(['exec', 'ex1', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(failing).toMatchObject({ code: 7, stdout: 'out\n', stderr: 'err\n' });
    const env = await docker(['exec', '-e', 'GREETING=hi there', 'ex1', 'sh', '-c', 'echo "$GREETING" "$PATH"']);
    expect(env.stdout).toMatch(/^hi there \/usr\/local\/sbin:/);
    const user = await docker(['exec', '-u', '1000:1001', 'ex1', 'id']);
    expect(user.stdout).toMatch(/^uid=1000(\(app\))? gid=1001 /);
    const named = await docker(['exec', '-u', 'nobody', 'ex1', 'id', '-un']);
    expect(named.stdout).toBe('nobody\n');
    const wd = await docker(['exec', '-w', '/tmp', 'ex1', 'pwd']);
    expect(wd).toMatchObject({ code: 0, stdout: '/tmp\n' });
    const missing = await docker(['exec', 'ex1', 'no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stdout + missing.stderr).toMatch(/no-such-command/);
  });

  it('passes stdin with -i and closes it at the client’s EOF', async () => {
    await runningContainer('ex2');
    const r = await docker(['exec', '-i', 'ex2', 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'shout\nagain\n' });
    expect(r).toMatchObject({ code: 0, stdout: 'SHOUT\nAGAIN\ndone\n' });
    const wc = await docker(['exec', '-i', 'ex2', 'wc', '-c'], { input: 'x'.repeat(200_000) });
    expect(wc.stdout.trim()).toBe('200000');
  });

  it('gives the command a terminal with -it, sized as the caller’s, echoing what is typed', () => {
    const env = { ...process.env, DOCKER_HOST: service.dockerHost, DOCKER_CONFIG: dockerConfigDir(roots.base) };
    const created = spawnSync('docker', ['run', '-d', '--name', 'ex3', 'busybox', 'sleep', '1000'], { env, encoding: 'utf8' });
    expect(created.status).toBe(0);
    const r = spawnSync(
      'script',
      ['-qec', "stty rows 31 cols 97; docker exec -it ex3 sh -c 'tty; stty size; read line; echo got-$line; exit 4'", '/dev/null'],
      { env, input: 'typed\n', encoding: 'utf8', timeout: 30_000 },
    );
    const screen = r.stdout.replace(/\r/g, '');
    expect(screen).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(screen).toMatch(/^31 97$/m);
    // the terminal echoes what was typed, then the command's answer
    expect(screen).toMatch(/^typed$/m);
    expect(screen).toMatch(/^got-typed$/m);
    expect(r.status).toBe(4);
  });

  it('runs detached execs and reports them through exec inspect', async () => {
    const id = await runningContainer('ex4');
    expect(await docker(['exec', '-d', 'ex4', 'sh', '-c', 'sleep 0.3; echo later > /tmp/detached'])).toMatchObject({ code: 0 });
    const created = await api('POST', '/v1.43/containers/ex4/exec', { Cmd: ['sh', '-c', 'exit 5'], AttachStdout: true, User: 'nobody' });
    expect(created.status).toBe(201);
    const execId = (created.json as { Id: string }).Id;
    const before = (await api('GET', `/v1.43/exec/${execId}/json`)).json as Record<string, unknown>;
    expect(before).toMatchObject({ ID: execId, ContainerID: id, Running: false, ExitCode: null, OpenStdout: true, OpenStdin: false });
    expect(before.ProcessConfig).toEqual({ tty: false, entrypoint: 'sh', arguments: ['-c', 'exit 5'], privileged: false, user: 'nobody' });
    expect((await api('POST', `/v1.43/exec/${execId}/start`, { Detach: true })).status).toBe(200);
    let inspected: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      inspected = (await api('GET', `/v1.43/exec/${execId}/json`)).json as Record<string, unknown>;
      if (!inspected.Running && inspected.ExitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(inspected).toMatchObject({ Running: false, ExitCode: 5 });
    expect((await api('POST', `/v1.43/exec/${execId}/start`, { Detach: true })).status).toBe(409);
    await new Promise((r) => setTimeout(r, 600));
    expect((await docker(['exec', 'ex4', 'cat', '/tmp/detached'])).stdout).toBe('later\n');
  });

  it('refuses with docker’s messages: a stopped container, no command, an unknown instance', async () => {
    const id = (await docker(['create', '--name', 'ex5', 'busybox', 'true'])).stdout.trim();
    const r = await docker(['exec', 'ex5', 'echo', 'hi']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`container ${id} is not running`);
    const viaApi = await api('POST', '/containers/ex5/exec', { Cmd: ['true'] });
    expect(viaApi).toMatchObject({ status: 409, json: { message: `container ${id} is not running` } });
    await runningContainer('ex6');
    expect(await api('POST', '/containers/ex6/exec', { Cmd: [] })).toMatchObject({
      status: 400,
      json: { message: 'No exec command specified' },
    });
    expect((await api('POST', '/containers/no-such/exec', { Cmd: ['true'] })).status).toBe(404);
    expect(await api('GET', '/exec/0123abc/json')).toMatchObject({ status: 404, json: { message: 'No such exec instance: 0123abc' } });
    expect((await api('POST', '/containers/ex6/exec', { Cmd: ['true'], Privileged: true })).status).toBe(400);
  });

  it('serves dockerode: hijacked stdin ended by its half-close, and the detach keys', async () => {
    await runningContainer('ex7');
    const client = new Docker({ socketPath: service.socket });
    const c = client.getContainer('ex7');
    const demux = (stream: NodeJS.ReadableStream) => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (b: Buffer) => (text += b.toString()));
      client.modem.demuxStream(stream, out, new PassThrough());
      return () => text;
    };
    const exec = await c.exec({ Cmd: ['sh', '-c', 'cat; exit 3'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: true });
    const text = demux(stream);
    stream.write('piped through\n');
    (stream as unknown as { end(): void }).end();
    await new Promise((r) => stream.on('end', r));
    expect(text()).toBe('piped through\n');
    expect(await exec.inspect()).toMatchObject({ Running: false, ExitCode: 3 });

    const held = await c.exec({ Cmd: ['sh', '-c', 'cat'], AttachStdin: true, AttachStdout: true, DetachKeys: 'ctrl-x' });
    const heldStream = await held.start({ hijack: true, stdin: true });
    const heldText = demux(heldStream);
    heldStream.write('before\n');
    await new Promise((r) => setTimeout(r, 200));
    heldStream.write(Buffer.from([0x18]));
    await new Promise((r) => heldStream.on('end', r));
    expect(heldText()).toBe('before\n');
    // detached, not ended: the command still runs
    expect(await held.inspect()).toMatchObject({ Running: true, ExitCode: null });
  });
});
