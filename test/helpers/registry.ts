import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Debian's docker-registry (distribution 2.8), started for a test file on 127.0.0.1. */
export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface TestRegistry {
  /** "127.0.0.1:PORT", as it appears in image references. */
  host: string;
  /** The registry's filesystem storage root. */
  storage: string;
  /** The file holding a blob's bytes in the registry's storage (to tamper with). */
  blobFile(digest: string): string;
  /** Kills the registry process (only the one started here) and removes its directory. */
  stop(): Promise<void>;
}

export function missingTools(): string[] {
  const tools: Array<[string, string]> = [
    [REGISTRY_BIN, 'docker-registry'],
    ['/usr/bin/skopeo', 'skopeo'],
    ['/usr/bin/umoci', 'umoci'],
  ];
  return tools.filter(([bin]) => !fs.existsSync(bin)).map(([, pkg]) => pkg);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a registry storing under dir; with `htpasswd` (a file of bcrypt entries) it requires
 *  basic auth. */
export async function startRegistry(dir: string, opts: { htpasswd?: string } = {}): Promise<TestRegistry> {
  const port = await freePort();
  const storage = path.join(dir, 'storage');
  fs.mkdirSync(storage, { recursive: true });
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      ...(opts.htpasswd ? ['auth:', '  htpasswd:', '    realm: berth-test', `    path: ${opts.htpasswd}`] : []),
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const log = fs.openSync(path.join(dir, 'registry.log'), 'a');
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const host = `127.0.0.1:${port}`;
  try {
    await waitForV2(host, () => exited);
  } catch (e) {
    if (!exited) child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}; registry log:\n${fs.readFileSync(path.join(dir, 'registry.log'), 'utf8')}`);
  }
  return {
    host,
    storage,
    blobFile: (digest) => path.join(storage, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data'),
    async stop() {
      if (!exited) child.kill('SIGTERM');
      await Promise.race([exit, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited) child.kill('SIGKILL');
      await exit;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls GET /v2/ until the registry answers: at most 100 tries, 100 ms apart. */
async function waitForV2(host: string, gone: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (gone()) throw new Error(`${REGISTRY_BIN} exited before answering on ${host}`);
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.body?.cancel();
      // 401: up, and asking for credentials (an htpasswd registry)
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${REGISTRY_BIN} did not answer on http://${host}/v2/ within 10 s`);
}
