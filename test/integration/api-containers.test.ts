// The Engine API's containers, driven by the real docker CLI against `berth system service` on a
// temporary socket and state root: run in the foreground (output, exit codes, stdin, a tty), run
// -d with ps/logs -f/inspect/stop/rm, the state shared with berth's own CLI, docker's error
// statuses and messages, and the service's own bad-input handling, which never stops it serving.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';
import { docker as dockerCli, request, startTestService, type TestService } from '../helpers/service';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
    // the default network a test's --network bridge made goes with it (its bridge, its rules)
    b.removeAllNetworks();
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
const berthCli = (args: string[]) => runCli(['--runroot', roots.runRoot, ...args], { roots });
const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  request(service.socket, method, path, body, headers);

describe('docker run through berth system service', () => {
  it('negotiates the API version and names berth as the server', async () => {
    const r = await docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Platform.Name}} {{.Server.Os}}']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1.43 berth linux');
    const ping = await api('GET', '/_ping');
    expect(ping.headers['api-version']).toBe('1.43');
    expect(ping.body.toString()).toBe('OK');
  });

  it('runs a container in the foreground: its output, its exit code, its stdin', async () => {
    const hello = await docker(['run', '--rm', 'busybox', 'echo', 'hello from berth']);
    expect(hello).toMatchObject({ code: 0, stdout: 'hello from berth\n' });
    const failing = await docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(failing).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const stdin = await docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], { input: 'shout\n' });
    expect(stdin).toMatchObject({ code: 0, stdout: 'SHOUT\n' });
    // --rm removed them all
    expect((await docker(['ps', '-aq'])).stdout).toBe('');
  });

  it('gives a container a terminal with -it', () => {
    const env = { ...process.env, DOCKER_HOST: service.dockerHost, DOCKER_CONFIG: `${roots.base}/docker-config` };
    const r = spawnSync('script', ['-qec', 'docker run --rm -it busybox sh -c "tty; stty size"', '/dev/null'], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.stdout).toMatch(/^\d+ \d+\r?$/m);
  });

  it('runs detached: ps, logs -f, inspect in docker schema, stop, rm; the CLI sees the same containers', async () => {
    const run = await docker([
      'run',
      '-d',
      '--name',
      'ticker',
      '--network',
      'bridge',
      '-l',
      'role=test',
      'busybox',
      'sh',
      '-c',
      'echo started; while true; do echo tick; sleep 0.2; done',
    ]);
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ps = await docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}} {{.Label "role"}}']);
    expect(ps.stdout).toMatch(new RegExp(`^${id.slice(0, 12)} ticker Up .* test\\n$`));
    const pid = Number((await docker(['inspect', '-f', '{{.State.Pid}}', 'ticker'])).stdout);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('sh');
    const fields = JSON.parse((await docker(['inspect', 'ticker'])).stdout)[0];
    expect(fields).toMatchObject({
      Id: id,
      Name: '/ticker',
      State: { Status: 'running', Running: true, Pid: pid },
      Config: { Image: 'busybox', Labels: { role: 'test' } },
      HostConfig: { NetworkMode: 'bridge', AutoRemove: false },
    });
    expect(fields.NetworkSettings.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(fields.NetworkSettings.Networks.bridge.IPAddress).toBe(fields.NetworkSettings.IPAddress);
    // the same container through berth's own CLI, and berth's through docker
    expect((await berthCli(['ps', '-q'])).stdout.trim()).toBe(id.slice(0, 12));
    const own = await berthCli(['run', '-d', '--name', 'own', 'busybox', 'sleep', '30']);
    expect(own.code).toBe(0);
    expect((await docker(['ps', '--format', '{{.Names}}'])).stdout.split('\n').sort()).toEqual(['', 'own', 'ticker']);
    // logs -f follows until the container stops
    const follow = docker(['logs', '-f', 'ticker'], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 600));
    expect((await docker(['stop', '-t', '1', 'ticker'])).stdout).toBe('ticker\n');
    const logs = await follow;
    expect(logs.code).toBe(0);
    expect(logs.stdout.startsWith('started\ntick\n')).toBe(true);
    expect((await docker(['inspect', '-f', '{{.State.Status}} {{.State.Running}}', 'ticker'])).stdout).toBe('exited false\n');
    expect((await docker(['rm', 'ticker', 'own', '-f'])).code).toBe(0);
    expect((await docker(['ps', '-aq'])).stdout).toBe('');
  });

  it('docker create, start -a and wait as docker does', async () => {
    const create = await docker(['create', '--name', 'later', 'busybox', 'sh', '-c', 'echo late; exit 4']);
    expect(create.code).toBe(0);
    expect((await docker(['inspect', '-f', '{{.State.Status}}', 'later'])).stdout).toBe('created\n');
    const start = await docker(['start', '-a', 'later']);
    expect(start).toMatchObject({ code: 4, stdout: 'late\n' });
    expect((await docker(['wait', 'later'])).stdout).toBe('4\n');
    expect((await docker(['rm', 'later'])).code).toBe(0);
  });

  it("answers with docker's statuses and messages", async () => {
    const missing = await docker(['inspect', 'nosuch']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No such (container|object): nosuch/);
    expect((await docker(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '30'])).code).toBe(0);
    const running = await docker(['rm', 'busy']);
    expect(running.code).not.toBe(0);
    expect(running.stderr).toMatch(/You cannot remove a running container .*Stop the container before attempting removal or force remove/);
    const dup = await docker(['create', '--name', 'busy', 'busybox', 'true']);
    expect(dup.stderr).toMatch(/Conflict\. The container name "\/busy" is already in use/);
    expect((await api('DELETE', '/containers/busy')).status).toBe(409);
    expect((await api('DELETE', '/containers/busy?force=1')).status).toBe(204);
    const notFound = await api('GET', '/v1.43/containers/nosuch/json');
    expect(notFound).toMatchObject({ status: 404, json: { message: 'No such container: nosuch' } });
    const badCmd = await docker(['run', '--rm', 'busybox', '/no/such/binary']);
    expect(badCmd.code).toBe(127);
  });

  it('refuses bad input with a status and a message, and keeps serving', async () => {
    expect(await api('GET', '/no/such/path')).toMatchObject({ status: 404, json: { message: 'page not found' } });
    expect(await api('GET', '/v1.99/containers/json')).toMatchObject({ status: 400 });
    expect((await api('GET', '/v1.99/containers/json')).json).toEqual({
      message: 'client version 1.99 is too new. Maximum supported API version is 1.43',
    });
    const malformed = await api('POST', '/containers/create', '{"Image": "busybox",');
    expect(malformed.status).toBe(400);
    expect((malformed.json as { message: string }).message).toMatch(/^invalid JSON in the request body/);
    const wrongType = await api('POST', '/containers/create', { Image: 'busybox', Cmd: 7 });
    expect(wrongType).toMatchObject({ status: 400 });
    const huge = await api('POST', '/containers/create', Buffer.alloc(9 * 1024 * 1024, 0x20));
    expect(huge.status).toBe(413);
    expect((await api('POST', '/containers/create?name=bad%20name', { Image: 'busybox' })).status).toBe(400);
    expect((await api('POST', '/containers/create', { Image: 'nosuch:1' })).json).toEqual({ message: 'No such image: nosuch:1' });
    // a client that leaves in the middle of a followed log
    expect((await docker(['run', '-d', '--name', 'chatty', 'busybox', 'sh', '-c', 'while true; do echo x; sleep 0.1; done'])).code).toBe(0);
    await new Promise<void>((resolve) => {
      const s = net.connect(service.socket, () => s.write('GET /containers/chatty/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.once('data', () => {
        s.destroy();
        resolve();
      });
    });
    // an attach request without the upgrade gets the stream as a plain response body
    const plain = await api('POST', '/containers/chatty/attach?stream=0&logs=1&stdout=1');
    expect(plain.status).toBe(200);
    expect(plain.body.subarray(0, 8)).toEqual(Buffer.from([1, 0, 0, 0, 0, 0, 0, 2]));
    // nothing was half-created, and the service still answers
    expect((await docker(['ps', '-a', '--format', '{{.Names}}'])).stdout).toBe('chatty\n');
    expect((await docker(['rm', '-f', 'chatty'])).code).toBe(0);
  });

  it('listens on a root-only socket, and detached containers outlive the service', async () => {
    expect(fs.statSync(service.socket).mode & 0o777).toBe(0o600);
    expect((await docker(['run', '-d', '--name', 'survivor', 'busybox', 'sleep', '60'])).code).toBe(0);
    await service.stop();
    expect(fs.existsSync(service.socket)).toBe(false);
    const ps = await berthCli(['ps', '--format', 'json']);
    expect(JSON.parse(ps.stdout)).toMatchObject({ Names: 'survivor', State: 'running' });
    service = await startTestService(roots);
    expect((await docker(['ps', '--format', '{{.Names}} {{.State}}'])).stdout).toBe('survivor running\n');
    expect((await docker(['rm', '-f', 'survivor'])).code).toBe(0);
  });
});
