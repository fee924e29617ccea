/**
 * berth push and POST /images/{name}/push against Debian's docker-registry on 127.0.0.1: an imported
 * image pushed and pulled back into a fresh store and run, a pulled image pushed under its own digest,
 * a second push finding every layer, basic auth before and after `berth login`, and the docker CLI
 * through `berth system service`. skopeo checks what the registry holds, independently of berth.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushEvent } from '../../src/index';
import { busyboxTar } from '../helpers/fixtures';
import { freePort, missingTools, startRegistry, type TestRegistry } from '../helpers/registry';
import { buildImage, push as skopeoPush } from '../fixtures/registry/images';
import { imageLifecycleFixture, run } from '../helpers/image-lifecycle';
import { docker, startTestService } from '../helpers/service';

const ctx = imageLifecycleFixture();
const { freshBerth, berthCli } = ctx;

/** The manifest digest skopeo reads from the registry for `ref` (host/repo:tag). */
function registryDigest(ref: string): string {
  const out = run('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`]);
  return (JSON.parse(out) as { Digest: string }).Digest;
}

/** Everything under a store root but what a push may change (the image records gain RepoDigests). */
function storeFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !p.includes('/layers/')) out[path.relative(root, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(root);
  return out;
}

const missing = [...missingTools(), ...(fs.existsSync('/usr/bin/htpasswd') ? [] : ['apache2-utils'])];

describe.skipIf(missing.length > 0)('berth push', () => {
  let dir: string;
  let registry: TestRegistry;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-push-'));
    registry = await startRegistry(path.join(dir, 'registry'));
  });
  afterAll(async () => {
    await registry?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pushes an imported image that a fresh store then pulls and runs; a second push finds every layer', async () => {
    const ref = `${registry.host}/busybox`;
    ctx.berth.tagImage('busybox', ref);
    const image = ctx.berth.inspectImage(ref);
    const id = image.layers[0].diffId.slice(7, 19);

    const first = await berthCli(['push', ref]);
    expect([first.code, first.stderr]).toEqual([0, '']);
    const digest = image.manifestDigest;
    const size = fs.statSync(path.join(ctx.roots.root, 'blobs/sha256', digest.slice(7))).size;
    expect(first.stdout).toBe(
      `The push refers to repository [${ref}]\n${id}: Preparing\n${id}: Pushed\nlatest: digest: ${digest} size: ${size}\n`,
    );
    expect(registryDigest(`${ref}:latest`)).toBe(digest);
    expect(ctx.berth.inspectImage(ref).repoDigests).toEqual([`${ref}@${digest}`]);

    const again = await berthCli(['image', 'push', ref]);
    expect([again.code, again.stdout]).toEqual([
      0,
      `The push refers to repository [${ref}]\n${id}: Preparing\n${id}: Layer already exists\nlatest: digest: ${digest} size: ${size}\n`,
    ]);

    const { berth: b } = freshBerth();
    const pulled = await b.pullImage(ref);
    expect(pulled.digest).toBe(digest);
    expect(pulled.image.id).toBe(image.id);
    const out = await b.run({ image: ref, cmd: ['cat', '/etc/berth-fixture'], rm: true, network: 'none' });
    expect(out.stdout).toBe('busybox fixture\n');
  });

  it('pushes a committed image: the base layer mounted from where it was pushed, the new one uploaded', async () => {
    const ref = `${registry.host}/committed:1`;
    const c = await ctx.berth.run({ image: 'busybox', cmd: ['sh', '-c', 'echo committed > /c.txt'], network: 'none' });
    await ctx.berth.commit(c.id, ref);
    await ctx.berth.remove(c.id);
    const image = ctx.berth.inspectImage(ref);
    const [base, top] = image.layers.map((l) => l.diffId.slice(7, 19));

    const out = await berthCli(['push', ref]);
    expect([out.code, out.stderr]).toEqual([0, '']);
    const lines = out.stdout.trim().split('\n');
    expect(lines.slice(1, 3).sort()).toEqual([`${base}: Preparing`, `${top}: Preparing`].sort());
    expect(lines.slice(3, 5).sort()).toEqual([`${base}: Mounted from busybox`, `${top}: Pushed`].sort());
    expect(lines[5]).toMatch(`1: digest: ${image.manifestDigest} size: `);
    expect(ctx.berth.inspectImage(ref).repoDigests).toEqual([`${registry.host}/committed@${image.manifestDigest}`]);

    const { berth: b } = freshBerth();
    const seen = await b.run({ image: ref, cmd: ['cat', '/c.txt', '/etc/berth-fixture'], rm: true, network: 'none' });
    expect(seen.stdout).toBe('committed\nbusybox fixture\n');
  });

  it('pushes a pulled docker schema 2 image under the digest it was pulled by, mounting its layers', async () => {
    const layout = path.join(dir, 'layout');
    buildImage(layout, 'app', [busyboxTar()]);
    skopeoPush(layout, 'app', `${registry.host}/src/app:1`, { format: 'v2s2' });
    const { berth: b, roots: r } = freshBerth();
    const pulled = await b.pullImage(`${registry.host}/src/app:1`);
    b.tagImage(`${registry.host}/src/app:1`, `${registry.host}/dst/app:2`);

    const events: PushEvent[] = [];
    const result = await b.pushImage(`${registry.host}/dst/app:2`, { onProgress: (e) => events.push(e) });
    expect(result).toEqual({ name: `${registry.host}/dst/app:2`, tag: '2', digest: pulled.digest, size: expect.any(Number) });
    expect(registryDigest(`${registry.host}/dst/app:2`)).toBe(pulled.digest);
    const manifest = JSON.parse(run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/dst/app:2`]));
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    // the registry had the layer in src/app, which the image was pulled from: copied, not uploaded
    expect(events.filter((e) => e.type === 'layer' && e.status !== 'preparing').map((e) => e.type === 'layer' && e.status)).toEqual([
      'mounted',
    ]);
    expect(b.inspectImage(pulled.image.id).repoDigests.sort()).toEqual(
      [`${registry.host}/dst/app@${pulled.digest}`, `${registry.host}/src/app@${pulled.digest}`].sort(),
    );
    const cli = await berthCli(['push', '-q', `${registry.host}/dst/app:2`], { roots: r });
    expect([cli.code, cli.stdout, cli.stderr]).toEqual([0, `${registry.host}/dst/app:2\n`, '']);
  });

  it('fails in one line naming the fix for an unknown image and an unreachable registry, exit 125', async () => {
    const unknown = await berthCli(['push', `${registry.host}/nothing:here`]);
    expect([unknown.code, unknown.stdout, unknown.stderr]).toEqual([
      125,
      '',
      `berth: An image does not exist locally with the tag ${registry.host}/nothing:here; name one so with \`berth tag IMAGE ${registry.host}/nothing:here\`, then push\n`,
    ]);
    const port = await freePort();
    ctx.berth.tagImage('busybox', `127.0.0.1:${port}/busybox`);
    const gone = await berthCli(['push', `127.0.0.1:${port}/busybox`]);
    expect(gone.code).toBe(125);
    expect(gone.stderr.split('\n')).toEqual([
      `berth: Cannot reach the registry 127.0.0.1:${port} at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; check that the registry runs and that "127.0.0.1:${port}/busybox" names it`,
      '',
    ]);
    expect(ctx.berth.inspectImage(`127.0.0.1:${port}/busybox`).repoDigests).not.toContain(`127.0.0.1:${port}/busybox`);
  });

  it('needs berth login for a registry with basic auth, and leaves the store untouched when refused', async () => {
    const htpasswd = path.join(dir, 'htpasswd');
    fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', 'sailor', 's3cret']));
    const secured = await startRegistry(path.join(dir, 'secured'), { htpasswd });
    try {
      const ref = `${secured.host}/private/busybox:1`;
      const { roots: r } = freshBerth();
      expect((await berthCli(['import', busyboxTar(), ref], { roots: r })).code).toBe(0);
      const before = storeFiles(r.root);

      const refused = await berthCli(['push', ref], { roots: r });
      expect(refused.code).toBe(125);
      expect(refused.stderr).toBe(
        `berth: The registry ${secured.host} refused to let berth push to private/busybox (401): log in with \`berth login ${secured.host}\` as a user who may push there\n`,
      );
      expect(storeFiles(r.root)).toEqual(before);

      const login = await berthCli(['login', '-u', 'sailor', '--password-stdin', secured.host], { roots: r, input: 's3cret\n' });
      expect(login.code).toBe(0);
      const pushed = await berthCli(['push', ref], { roots: r });
      expect([pushed.code, pushed.stderr]).toEqual([0, '']);
      const digest = /^1: digest: (sha256:[a-f0-9]{64}) size: \d+$/m.exec(pushed.stdout)?.[1];
      expect(digest).toBeDefined();
      const inspected = run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'sailor:s3cret', `docker://${ref}`]);
      expect(JSON.parse(inspected).Digest).toBe(digest);
    } finally {
      await secured.stop();
    }
  });

  it('pushes through the service with the credentials of X-Registry-Auth (docker login)', async () => {
    const htpasswd = path.join(dir, 'htpasswd-svc');
    fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', 'sailor', 's3cret']));
    const secured = await startRegistry(path.join(dir, 'secured-svc'), { htpasswd });
    const { roots: r } = freshBerth();
    const ref = `${secured.host}/p/busybox`;
    expect((await berthCli(['import', busyboxTar(), ref], { roots: r })).code).toBe(0);
    const service = await startTestService(r);
    try {
      const refused = await docker(service, r, ['push', ref]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`refused to let berth push to p/busybox (401)`);
      const login = await docker(service, r, ['login', '-u', 'sailor', '--password-stdin', secured.host], { input: 's3cret\n' });
      expect(login.code).toBe(0);
      // the service stored the login too; without it, only the header's credentials can work
      fs.rmSync(path.join(r.root, 'auth.json'));
      const pushed = await docker(service, r, ['push', ref]);
      expect([pushed.code, pushed.stderr]).toEqual([0, '']);
      expect(pushed.stdout).toMatch(/^latest: digest: sha256:[a-f0-9]{64} size: \d+$/m);
    } finally {
      await service.stop();
      await secured.stop();
    }
  });

  it('answers docker push through berth system service, streaming docker progress', async () => {
    const { roots: r } = freshBerth();
    const ref = `${registry.host}/svc/busybox`;
    expect((await berthCli(['import', busyboxTar(), ref], { roots: r })).code).toBe(0);
    const service = await startTestService(r);
    try {
      const out = await docker(service, r, ['push', ref]);
      expect([out.code, out.stderr]).toEqual([0, '']);
      const digest = /^latest: digest: (sha256:[a-f0-9]{64}) size: \d+$/m.exec(out.stdout)?.[1];
      expect(out.stdout).toContain(`The push refers to repository [${ref}]`);
      expect(digest).toBe(registryDigest(`${ref}:latest`));

      // docker's JSON lines, as the CLI reads them: the aux record carries the digest
      const { request } = await import('../helpers/service');
      const res = await request(service.socket, 'POST', `/v1.43/images/${ref}/push?tag=latest`, undefined, { 'X-Registry-Auth': 'e30=' });
      const lines = res.body
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines[0]).toEqual({ status: `The push refers to repository [${ref}]` });
      expect(lines.map((l) => l.status).slice(1, 3)).toEqual(['Preparing', 'Layer already exists']);
      expect(lines.at(-1)).toEqual({ progressDetail: {}, aux: { Tag: 'latest', Digest: digest, Size: expect.any(Number) } });

      const unknown = await docker(service, r, ['push', `${registry.host}/svc/none`]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain(`An image does not exist locally with the tag ${registry.host}/svc/none:latest`);
    } finally {
      await service.stop();
    }
  });
});
