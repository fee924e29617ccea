import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseChallenge } from '../../src/image/registry/auth';
import { RegistryClient } from '../../src/image/registry/client';
import { apiHost, checkUrl, schemesFor } from '../../src/image/registry/endpoint';
import { RegistryError } from '../../src/image/registry/errors';
import { layerCompression, manifestKind } from '../../src/image/registry/media-types';
import { parsePlatform, selectPlatform } from '../../src/image/registry/platform';
import { sha256Digest } from '../../src/image/digest';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, base: string) => void;
const servers: http.Server[] = [];

/** A fake registry on 127.0.0.1; every request is recorded with its Authorization header. */
async function serve(handler: Handler): Promise<{ host: string; base: string; seen: Array<{ url: string; auth?: string }> }> {
  const seen: Array<{ url: string; auth?: string }> = [];
  let base = '';
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    handler(req, res, base);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  base = `http://${host}`;
  return { host, base, seen };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const MANIFEST = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] });

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

describe('WWW-Authenticate', () => {
  it('parses bearer challenges with quoted, comma-holding values', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual(
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
      },
    );
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
    expect(parseChallenge('Bearer realm=plain, error="invalid_token"')?.params).toEqual({ realm: 'plain', error: 'invalid_token' });
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe('plain http policy', () => {
  it('allows http only for localhost, 127.0.0.0/8 and --insecure-registry hosts, always trying https first', () => {
    for (const h of ['127.0.0.1:5000', '127.9.9.9', 'localhost:5000', 'localhost', '[::1]:5000'])
      expect(schemesFor(h)).toEqual(['https', 'http']);
    for (const h of ['example.com', 'example.com:5000', '10.0.0.1:5000', '128.0.0.1', 'docker.io'])
      expect(schemesFor(h)).toEqual(['https']);
    expect(schemesFor('example.com:5000', ['example.com'])).toEqual(['https', 'http']);
    expect(schemesFor('example.com:5000', ['example.com:5000'])).toEqual(['https', 'http']);
    expect(schemesFor('example.com:5000', ['example.com:6000'])).toEqual(['https']);
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
  });

  it('refuses a plain-http URL elsewhere with the flag that allows it', () => {
    expect(() => checkUrl(new URL('http://example.com:5000/token'), [], 'token endpoint')).toThrow(
      'Refusing plain http to example.com:5000 (token endpoint): berth uses http only for localhost and 127.0.0.0/8; allow this host with --insecure-registry example.com:5000',
    );
    expect(() => checkUrl(new URL('ftp://example.com/x'), [], 'redirect target')).toThrow(/neither https nor http/);
    checkUrl(new URL('https://example.com/x'), [], 'x');
  });
});

describe('media types and platforms', () => {
  it('classifies manifests and layers, refusing what berth cannot unpack by name', () => {
    expect(manifestKind('application/vnd.docker.distribution.manifest.list.v2+json', 'x')).toBe('index');
    expect(manifestKind('application/vnd.oci.image.manifest.v1+json', 'x')).toBe('manifest');
    expect(() => manifestKind('application/vnd.docker.distribution.manifest.v1+prettyjws', 'r')).toThrow(/schema 1/);
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar+zstd', 'd')).toBe('zstd');
    expect(layerCompression('application/vnd.docker.image.rootfs.diff.tar.gzip', 'd')).toBe('gzip');
    expect(() => layerCompression('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'sha256:x')).toThrow(/foreign layer/);
    expect(() => layerCompression('application/vnd.oci.image.layer.v1.tar+encrypted', 'sha256:x')).toThrow(
      'Layer sha256:x has the media type "application/vnd.oci.image.layer.v1.tar+encrypted", which berth cannot unpack (it reads tar layers, plain, gzip or zstd)',
    );
  });

  it('parses --platform and picks the matching index entry', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64', variant: undefined });
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/x86_64').architecture).toBe('amd64');
    expect(() => parsePlatform('linux')).toThrow(
      'Expected a platform like linux/amd64 or linux/arm64/v8 for --platform but received "linux"',
    );
    const d = (architecture: string, variant?: string, os = 'linux') => ({
      mediaType: 'm',
      digest: `${architecture}${variant ?? ''}${os}`,
      size: 1,
      platform: { os, architecture, variant },
    });
    const entries = [d('unknown', undefined, 'unknown'), d('arm', 'v6'), d('arm', 'v7'), d('arm64', 'v8'), d('amd64')];
    expect(selectPlatform(entries, { os: 'linux', architecture: 'amd64' }, 'r').digest).toBe('amd64linux');
    expect(selectPlatform(entries, { os: 'linux', architecture: 'arm64' }, 'r').digest).toBe('arm64v8linux');
    expect(selectPlatform(entries, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'r').digest).toBe('armv7linux');
    expect(() => selectPlatform(entries, { os: 'linux', architecture: 's390x' }, 'reg/x:1')).toThrow(
      'reg/x:1 has no image for linux/s390x (it has linux/arm/v6, linux/arm/v7, linux/arm64/v8, linux/amd64); choose one with --platform',
    );
  });
});

describe('RegistryClient', () => {
  it('gets an anonymous bearer token from the realm once and reuses it', async () => {
    const tokens: string[] = [];
    const reg = await serve((req, res, base) => {
      const url = new URL(req.url!, base);
      if (url.pathname === '/token') {
        tokens.push(url.search);
        return json(res, 200, { token: 'tok-1' });
      }
      if (req.headers.authorization !== 'Bearer tok-1') {
        const scope = url.pathname === '/v2/' ? '' : `,scope="repository:team/app:pull"`;
        return json(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
          { 'www-authenticate': `Bearer realm="${base}/token",service="fake"${scope}` },
        );
      }
      if (url.pathname === '/v2/team/app/manifests/1.0')
        return json(res, 200, MANIFEST, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      if (url.pathname === '/v2/team/app/blobs/sha256:' + 'a'.repeat(64)) return json(res, 200, 'blob-bytes');
      json(res, 404, {});
    });
    const client = new RegistryClient(reg.host);
    const m = await client.manifest('team/app', '1.0');
    expect(m.digest).toBe(sha256Digest(MANIFEST));
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    const chunks: Buffer[] = [];
    for await (const c of await client.blob('team/app', `sha256:${'a'.repeat(64)}`)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('blob-bytes');
    expect(tokens).toEqual(['?service=fake&scope=repository%3Ateam%2Fapp%3Apull']);
    // No credentials were ever sent: anonymous token, then the token only.
    expect(reg.seen.map((s) => s.auth)).toEqual([undefined, undefined, undefined, 'Bearer tok-1', 'Bearer tok-1']);
  });

  it('uses basic credentials when the registry asks for them, and says what is missing without', async () => {
    const reg = await serve((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) {
        return json(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
          { 'www-authenticate': 'Basic realm="r"' },
        );
      }
      if (req.url === '/v2/') return json(res, 200, {});
      json(res, 200, MANIFEST, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    });
    const m = await new RegistryClient(reg.host, { credentials: { username: 'u', password: 'p' } }).manifest('app', 'latest');
    expect(m.bytes.toString()).toBe(MANIFEST);
    const err = await new RegistryClient(reg.host).manifest('app', 'latest').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).failure).toBe('unauthorized');
    expect((err as Error).message).toBe(
      `The registry ${reg.host} refused access to ${reg.host}/app:latest ("UNAUTHORIZED: authentication required"): the repository does not exist or needs credentials (log in with \`berth login ${reg.host}\`)`,
    );
  });

  it('follows a blob redirect to another origin without the credentials', async () => {
    const storage = await serve((_req, res) => json(res, 200, 'from-storage'));
    const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
    const reg = await serve((req, res) => {
      if (req.headers.authorization !== basic) return json(res, 401, {}, { 'www-authenticate': 'Basic realm="r"' });
      if (req.url === '/v2/') return json(res, 200, {});
      res.writeHead(307, { location: `${storage.base}/data?sig=1` });
      res.end();
    });
    const client = new RegistryClient(reg.host, { credentials: { username: 'u', password: 'p' } });
    const chunks: Buffer[] = [];
    for await (const c of await client.blob('app', `sha256:${'b'.repeat(64)}`)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('from-storage');
    expect(storage.seen).toEqual([{ url: '/data?sig=1', auth: undefined }]);
  });

  it('checks a manifest against the digest asked for and the one announced', async () => {
    const reg = await serve((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      json(res, 200, MANIFEST, { 'docker-content-digest': `sha256:${'c'.repeat(64)}` });
    });
    const client = new RegistryClient(reg.host);
    await expect(client.manifest('app', 'latest')).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringMatching(
        /^The manifest of 127\.0\.0\.1:\d+\/app:latest from 127\.0\.0\.1:\d+ has digest sha256:\w+, not sha256:c{64}/,
      ),
    });
    await expect(client.manifest('app', `sha256:${'d'.repeat(64)}`)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('names an unreachable registry', async () => {
    const reg = await serve(() => {});
    const host = reg.host;
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    const err = await new RegistryClient(host).manifest('app', 'latest').catch((e: unknown) => e);
    expect((err as RegistryError).failure).toBe('unreachable');
    expect((err as Error).message).toMatch(new RegExp(`^Cannot reach the registry ${host} at http://${host}: .*ECONNREFUSED`));
  });
});
