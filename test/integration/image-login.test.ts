/** berth login and berth logout against a registry with basic auth. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxTar } from '../helpers/fixtures';
import { REGISTRY_BIN, startRegistry } from '../helpers/registry';
import { buildImage } from '../fixtures/registry/images';
import { imageLifecycleFixture, ls, run } from '../helpers/image-lifecycle';

// The host is checked after every test (imageLifecycleFixture): mounts, cgroups, networks as before.
const ctx = imageLifecycleFixture();
const { freshBerth, berthCli } = ctx;

/** Debian's docker-registry on 127.0.0.1 with htpasswd (bcrypt) basic auth for one user. */
async function startAuthRegistry(dir: string, user: string, password: string): Promise<{ host: string; stop(): Promise<void> }> {
  const htpasswd = path.join(dir, 'htpasswd');
  fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', user, password]));
  return startRegistry(path.join(dir, 'registry'), { htpasswd });
}

describe.skipIf(!fs.existsSync('/usr/bin/htpasswd') || !fs.existsSync(REGISTRY_BIN))('berth login and berth logout', () => {
  it('stores checked credentials 0600 in auth.json, pulls with them, forgets them on logout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-auth-registry-'));
    const registry = await startAuthRegistry(dir, 'sailor', 's3cret pass');
    try {
      const layout = path.join(dir, 'layout');
      buildImage(layout, 'busybox', [busyboxTar()]);
      run('skopeo', [
        '--insecure-policy',
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        '--dest-creds',
        'sailor:s3cret pass',
        `oci:${layout}:busybox`,
        `docker://${registry.host}/private/busybox:latest`,
      ]);
      const ref = `${registry.host}/private/busybox:latest`;
      const { berth: b, roots: r } = freshBerth();
      const authFile = path.join(r.root, 'auth.json');

      await expect(b.pullImage(ref)).rejects.toThrow(`(log in with \`berth login ${registry.host}\`)`);
      await expect(b.login(registry.host, { username: 'sailor', password: 'wrong' })).rejects.toThrow(
        `The registry ${registry.host} refused the username "sailor" with that password (401); check the credentials`,
      );
      expect(fs.existsSync(authFile)).toBe(false);

      const login = await berthCli(['login', '-u', 'sailor', '--password-stdin', registry.host], { roots: r, input: 's3cret pass\n' });
      expect([login.code, login.stderr, login.stdout]).toEqual([0, '', 'Login Succeeded\n']);
      expect(fs.statSync(authFile).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(fs.readFileSync(authFile, 'utf8'));
      expect(stored).toEqual({ auths: { [registry.host]: { auth: Buffer.from('sailor:s3cret pass').toString('base64') } } });
      expect(ls(r.root).filter((f) => f.includes('tmp') && f !== 'tmp')).toEqual([]);

      const pulled = await b.pullImage(ref);
      expect(pulled.image.chainIds).toHaveLength(1);
      expect((await b.run({ image: ref, cmd: ['cat', '/etc/berth-fixture'], rm: true })).stdout).toBe('busybox fixture\n');

      const out = await berthCli(['logout', registry.host], { roots: r });
      expect([out.code, out.stdout]).toEqual([0, `Removing login credentials for ${registry.host}\n`]);
      expect(JSON.parse(fs.readFileSync(authFile, 'utf8'))).toEqual({ auths: {} });
      await expect(b.pullImage(ref)).rejects.toMatchObject({ failure: 'unauthorized' });
      const again = await berthCli(['logout', registry.host], { roots: r });
      expect(again.stdout).toBe(`Not logged in to ${registry.host}\n`);

      const bad = await berthCli(['login', '-u', 'sailor', '-p', 'x', '--password-stdin', registry.host], { roots: r, input: 'x' });
      expect([bad.code, bad.stderr]).toEqual([125, 'berth: Conflicting options: --password and --password-stdin; use one of them\n']);
    } finally {
      await registry.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
