// testcontainers, unchanged, against `berth system service`: its runtime strategy finds the
// service through DOCKER_HOST, a GenericContainer with an exposed port and a wait strategy starts,
// its mapped port answers from the host's loopback, exec works, and stop removes it.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBusybox } from '../helpers/berth';
import type { TempRoots } from '../helpers/env';
import { startTestService, type TestService } from '../helpers/service';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
    b.removeAllNetworks();
  },
});
let roots: TempRoots;
let service: TestService;
const saved = { ...process.env };
beforeAll(async () => {
  roots = fixture.roots;
  service = await startTestService(roots);
  // testcontainers reads these when it first looks for a runtime: the service, no reaper
  // container (ryuk's image is not in the store), the host's loopback for mapped ports, and its
  // lock files in the test's own directory
  process.env.DOCKER_HOST = service.dockerHost;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
  process.env.DOCKER_CONFIG = path.join(roots.base, 'docker-config');
  fs.mkdirSync(process.env.DOCKER_CONFIG, { recursive: true });
  process.env.TMPDIR = roots.base;
});
afterAll(async () => {
  for (const k of ['DOCKER_HOST', 'TESTCONTAINERS_RYUK_DISABLED', 'TESTCONTAINERS_HOST_OVERRIDE', 'DOCKER_CONFIG', 'TMPDIR'])
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  await service?.stop();
});

function fetchLine(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (b: Buffer) => (data += b.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

describe('testcontainers through berth system service', () => {
  it('starts a GenericContainer with an exposed port and a wait strategy', async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('busybox')
      .withCommand(['sh', '-c', 'echo ready; while true; do nc -l -p 8080 -e echo pong; done'])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forLogMessage('ready'))
      .withLabels({ suite: 'testcontainers' })
      .start();
    try {
      const port = container.getMappedPort(8080);
      expect(port).toBeGreaterThan(0);
      expect(container.getHost()).toBe('127.0.0.1');
      expect(await fetchLine(port)).toBe('pong\n');
      const exec = await container.exec(['sh', '-c', 'echo $((6 * 7)); exit 3']);
      expect(exec).toMatchObject({ output: '42\n', exitCode: 3 });
      expect(fixture.berth.ps().map((c) => c.config.labels?.suite)).toEqual(['testcontainers']);
    } finally {
      await container.stop();
    }
    // stop() removes it, with its anonymous volumes
    expect(fixture.berth.ps({ all: true })).toEqual([]);
  });
});
