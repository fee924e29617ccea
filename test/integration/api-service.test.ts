// `berth system service` itself: the idle time (--time), loopback TCP when asked and nothing but
// loopback, a stale socket file taken over and a live one refused, socket activation as the
// packaged systemd units use it (systemd-socket-activate passes the socket as fd 3).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import { CLI_PATH, runCli, type TempRoots } from '../helpers/env';
import { REPO_ROOT } from '../helpers/paths';
import { freePort } from '../helpers/registry';
import { request, startTestService } from '../helpers/service';

const fixture = withBusybox();
let roots: TempRoots;
beforeAll(() => {
  roots = fixture.roots;
});

const cli = (args: string[], timeoutMs = 20_000) => runCli(['--runroot', roots.runRoot, ...args], { roots, timeoutMs });

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('berth system service', () => {
  it('stops by itself after --time seconds without a request', async () => {
    const socket = path.join(roots.runRoot, 'idle.sock');
    const started = Date.now();
    const r = await cli(['system', 'service', '--time', '1', `unix://${socket}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`berth: serving the Docker Engine API on unix://${socket}\n`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(fs.existsSync(socket)).toBe(false);
  });

  it('serves loopback TCP when asked, and refuses any other address', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--', CLI_PATH, '--root', roots.root, '--runroot', roots.runRoot, 'system', 'service', `tcp://127.0.0.1:${port}`],
      {
        cwd: REPO_ROOT,
        stdio: 'ignore',
      },
    );
    try {
      let answer: { status: number; body: string } | undefined;
      for (let i = 0; i < 100 && !answer; i++) {
        answer = await get(port, '/v1.41/version').catch(() => undefined);
        if (!answer) await new Promise((r) => setTimeout(r, 50));
      }
      expect(answer?.status).toBe(200);
      expect(JSON.parse(answer!.body)).toMatchObject({ ApiVersion: '1.43', MinAPIVersion: '1.24', Os: 'linux' });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const open = await cli(['system', 'service', 'tcp://0.0.0.0:2375']);
    expect(open.code).toBe(125);
    expect(open.stderr).toMatch(/^berth: berth serves the API on loopback only .*tcp:\/\/127\.0\.0\.1:2375/);
  });

  it('takes over a stale socket file and refuses one a live service answers on', async () => {
    const stale = path.join(roots.runRoot, 'docker.sock');
    // a socket file nobody listens on any more: its server killed with -9 (a process of ours)
    const dead = spawn(
      process.execPath,
      ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    await new Promise((r) => dead.stdout!.once('data', r));
    dead.kill('SIGKILL');
    await new Promise((r) => dead.once('exit', r));
    expect(fs.lstatSync(stale).isSocket()).toBe(true);
    const service = await startTestService(roots);
    try {
      expect((await request(service.socket, 'GET', '/_ping')).status).toBe(200);
      const second = await cli(['system', 'service', `unix://${service.socket}`]);
      expect(second.code).toBe(125);
      expect(second.stderr).toBe(`berth: Another service is listening on "${service.socket}"; stop it or choose another path\n`);
      expect((await request(service.socket, 'GET', '/_ping')).status).toBe(200);
    } finally {
      await service.stop();
    }
  });

  it('serves on the socket systemd passes (socket activation)', async () => {
    const socket = path.join(roots.runRoot, 'activated.sock');
    const child = spawn(
      'systemd-socket-activate',
      ['-l', socket, process.execPath, CLI_PATH, '--root', roots.root, '--runroot', roots.runRoot, 'system', 'service', '--time', '2'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await request(socket, 'GET', '/_ping').then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(200);
      const list = await request(socket, 'GET', '/containers/json?all=1');
      expect(list).toMatchObject({ status: 200, json: [] });
      // --time 2: it exits once idle
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/berth: serving the Docker Engine API on fd:\/\/3/);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
    }
  });
});
