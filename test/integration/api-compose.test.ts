// Debian's docker-compose (1.29, docker-py) against `berth system service`: `up -d` of two
// services on a network of the file's, sharing a named volume, one publishing a port on the host's
// loopback; the second reaches the first by its service name; `down -v` removes containers,
// network and volume, and the host is left as it was.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import type { TempRoots } from '../helpers/env';
import { freePort } from '../helpers/registry';
import { docker, dockerConfigDir, runProgram, startTestService, type TestService } from '../helpers/service';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
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

/** What a TCP server on the host's loopback sends before it closes, retried while it starts. */
async function readPort(port: number, deadlineMs = 10_000): Promise<string> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const got = await new Promise<string | undefined>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let data = '';
      s.on('data', (b: Buffer) => (data += b.toString()));
      s.on('end', () => resolve(data || undefined));
      s.on('error', () => resolve(undefined));
    });
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`nothing answered on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('docker-compose through berth system service', () => {
  it('brings a two-service project up with a network, a named volume and a published port, and down -v again', async () => {
    const port = await freePort();
    const project = path.join(roots.base, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'docker-compose.yml'),
      `version: "3.8"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo hello-from-volume > /data/index.html; while true; do nc -l -p 8080 -e cat /data/index.html; done"]
    volumes: ["webdata:/data"]
    ports: ["127.0.0.1:${port}:8080"]
    networks: [appnet]
  client:
    image: busybox
    command: ["sh", "-c", "until nc web 8080 > /data/got && test -s /data/got; do sleep 0.2; done; exec sleep 300"]
    volumes: ["webdata:/data"]
    networks: [appnet]
    depends_on: [web]
volumes:
  webdata: {}
networks:
  appnet: {}
`,
    );
    const compose = (args: string[]) =>
      runProgram('docker-compose', ['-p', 'berthtest', ...args], {
        cwd: project,
        timeoutMs: 120_000,
        env: { DOCKER_HOST: service.dockerHost, DOCKER_CONFIG: dockerConfigDir(roots.base), COMPOSE_INTERACTIVE_NO_CLI: '1' },
      });
    const up = await compose(['up', '-d']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/Creating network "berthtest_appnet"/);
    expect(up.stderr).toMatch(/Creating volume "berthtest_webdata"/);

    // the published port from the host's loopback
    expect(await readPort(port)).toBe('hello-from-volume\n');
    // the client reached web by its service name on the project's network, through the volume
    const deadline = Date.now() + 10_000;
    let got = '';
    while (Date.now() < deadline && got === '') {
      got = (await docker(service, roots, ['exec', 'berthtest_client_1', 'cat', '/data/got'])).stdout;
      if (got === '') await new Promise((r) => setTimeout(r, 200));
    }
    expect(got).toBe('hello-from-volume\n');
    const ps = await compose(['ps']);
    expect(ps.stdout).toMatch(/berthtest_web_1 .* Up .*127\.0\.0\.1:\d+->8080\/tcp/);
    expect(ps.stdout).toMatch(/berthtest_client_1 .* Up/);

    const down = await compose(['down', '-v']);
    expect(down.code, down.stderr).toBe(0);
    expect((await docker(service, roots, ['ps', '-aq'])).stdout).toBe('');
    expect((await docker(service, roots, ['volume', 'ls', '-q'])).stdout).toBe('');
    expect((await docker(service, roots, ['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').sort()).toEqual([
      '',
      'bridge',
      'host',
      'none',
    ]);
  });
});
