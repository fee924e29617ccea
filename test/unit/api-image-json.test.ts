// The pure parts of the Engine API's images: docker's JSON for berth's image records, the image
// filters, the pull progress lines, X-Registry-Auth, and dockerd's wording of registry refusals.
import { describe, expect, it } from 'vitest';
import type { ImageInspect, ImageRecord } from '../../src/index';
import { RegistryError } from '../../src/image/registry/errors';
import { parseReference } from '../../src/image/reference';
import {
  familiarName,
  globRegExp,
  historyJson,
  imageInspectJson,
  imageMatches,
  imageSummary,
  layerUsage,
  LIST_FILTERS,
  parseImageFilters,
  PRUNE_FILTERS,
} from '../../src/api/docker/image-json';
import { errorMessage, humanSize, layerId, progressBar, PullProgress } from '../../src/api/docker/pull-progress';
import { pullError, pullReference, registryAuth } from '../../src/api/routes/image-create';
import { ApiError } from '../../src/api/http/errors';

const ID = `sha256:${'a'.repeat(64)}`;
const DIFF = `sha256:${'d'.repeat(64)}`;
const BLOB = `sha256:${'b'.repeat(64)}`;

function record(over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: ID,
    names: ['docker.io/library/busybox:latest', '127.0.0.1:5000/team/app:1'],
    manifestDigest: `sha256:${'c'.repeat(64)}`,
    repoDigests: [`127.0.0.1:5000/team/app@sha256:${'e'.repeat(64)}`],
    config: {
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-02T03:04:05Z',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], Labels: { tier: 'web' } },
      rootfs: { type: 'layers', diff_ids: [DIFF] },
    },
    chainIds: [DIFF],
    size: 1234,
    created: '2025-01-01T00:00:00Z',
    ...over,
  };
}

describe('docker JSON of images', () => {
  it('lists an image as docker ImageSummary, names familiar, Created in seconds of the config time', () => {
    expect(imageSummary(record())).toEqual({
      Id: ID,
      ParentId: '',
      RepoTags: ['busybox:latest', '127.0.0.1:5000/team/app:1'],
      RepoDigests: [`127.0.0.1:5000/team/app@sha256:${'e'.repeat(64)}`],
      Created: Date.parse('2024-01-02T03:04:05Z') / 1000,
      Size: 1234,
      SharedSize: -1,
      VirtualSize: 1234,
      Labels: { tier: 'web' },
      Containers: -1,
    });
    expect(imageSummary(record({ names: [] }), { containers: 2, sharedSize: 10 })).toMatchObject({
      RepoTags: [],
      Containers: 2,
      SharedSize: 10,
    });
    expect(familiarName('docker.io/team/app:2')).toBe('team/app:2');
  });

  it('inspects an image as docker ImageInspect, with overlay2 GraphDriver data from the layer dirs', () => {
    const r = record();
    const inspect: ImageInspect = {
      id: r.id,
      names: r.names,
      repoDigests: r.repoDigests ?? [],
      manifestDigest: r.manifestDigest,
      created: r.created,
      size: r.size,
      config: r.config,
      layers: [{ diffId: DIFF, chainId: DIFF, digest: BLOB, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 99 }],
    };
    const doc = imageInspectJson(inspect, ['/l/top', '/l/mid', '/l/base']);
    expect(doc).toMatchObject({
      Id: ID,
      RepoTags: ['busybox:latest', '127.0.0.1:5000/team/app:1'],
      Parent: '',
      Created: '2024-01-02T03:04:05Z',
      Architecture: 'amd64',
      Os: 'linux',
      Size: 1234,
      VirtualSize: 1234,
      GraphDriver: { Name: 'overlay2', Data: { UpperDir: '/l/top', LowerDir: '/l/mid:/l/base' } },
      RootFS: { Type: 'layers', Layers: [DIFF] },
      Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
      Config: { Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: null, WorkingDir: '', User: '', Labels: { tier: 'web' } },
    });
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(['Comment', 'Container', 'ContainerConfig', 'DockerVersion', 'Author']));
    expect(imageInspectJson(inspect, ['/only']).GraphDriver).toEqual({ Name: 'overlay2', Data: { UpperDir: '/only' } });
  });

  it('shows history tags familiar', () => {
    const rows = historyJson([{ Id: ID, Created: 1, CreatedBy: 'x', Tags: ['docker.io/library/busybox:latest'], Size: 5, Comment: '' }]);
    expect(rows[0].Tags).toEqual(['busybox:latest']);
  });

  it('counts the bytes images share and every layer once', () => {
    const a = record({ id: 'sha256:a', chainIds: ['l1', 'l2'] });
    const b = record({ id: 'sha256:b', chainIds: ['l1', 'l3'] });
    const sizes: Record<string, number> = { l1: 100, l2: 20, l3: 3 };
    const { shared, layersSize } = layerUsage([a, b], (c) => sizes[c]);
    expect([shared.get('sha256:a'), shared.get('sha256:b'), layersSize]).toEqual([100, 100, 123]);
  });
});

describe('image filters', () => {
  const resolve = { imageCreated: () => Date.parse('2024-06-01T00:00:00Z') / 1000, time: (v: string) => Number(v) };

  it('refuses unknown keys and bad dangling values with docker messages', () => {
    expect(() => parseImageFilters({ colour: ['x'] }, LIST_FILTERS, resolve)).toThrow("invalid filter 'colour'");
    expect(() => parseImageFilters({ dangling: ['maybe'] }, LIST_FILTERS, resolve)).toThrow("invalid filter 'dangling=maybe'");
    expect(() => parseImageFilters({ 'label!': ['a'] }, LIST_FILTERS, resolve)).toThrow(ApiError);
    expect(() => parseImageFilters({ 'label!': ['a'] }, PRUNE_FILTERS, resolve)).not.toThrow();
  });

  it('matches dangling, label, reference globs and before/since/until', () => {
    const named = record();
    const dangling = record({ names: [] });
    const f = (raw: Record<string, string[]>) => parseImageFilters(raw, [...LIST_FILTERS, 'label!'], resolve);
    expect([imageMatches(named, f({ dangling: ['true'] })), imageMatches(dangling, f({ dangling: ['true'] }))]).toEqual([false, true]);
    expect(imageMatches(named, f({ label: ['tier=web'] }))).toBe(true);
    expect(imageMatches(named, f({ label: ['tier=db'] }))).toBe(false);
    expect(imageMatches(named, f({ label: ['tier'] }))).toBe(true);
    expect(imageMatches(named, f({ 'label!': ['tier'] }))).toBe(false);
    expect(imageMatches(named, f({ reference: ['busybox'] }))).toBe(true);
    expect(imageMatches(named, f({ reference: ['busybox:1'] }))).toBe(false);
    expect(imageMatches(named, f({ reference: ['127.0.0.1:5000/*/app'] }))).toBe(true);
    expect(imageMatches(named, f({ reference: ['127.0.0.1:5000/*'] }))).toBe(false); // * stops at a slash
    expect(imageMatches(named, f({ before: ['x'] }))).toBe(true); // created 2024-01 < 2024-06
    expect(imageMatches(named, f({ since: ['x'] }))).toBe(false);
    expect(imageMatches(named, f({ until: [String(Date.parse('2023-01-01T00:00:00Z') / 1000)] }))).toBe(false);
    expect(globRegExp('a?[bc]\\*').test('axc*')).toBe(true);
  });
});

describe('pull progress as docker JSON messages', () => {
  it('reports a layer from Pulling fs layer to Pull complete, throttling Downloading, then the digest and status', () => {
    const p = new PullProgress('library/busybox', 'latest');
    const digest = BLOB;
    const lines = [
      ...p.messages({ type: 'resolved', name: 'docker.io/library/busybox:latest', digest: ID, layers: 2 }),
      ...p.messages({ type: 'layer', digest: `sha256:${'f'.repeat(64)}`, status: 'exists', total: 5 }),
      ...p.messages({ type: 'layer', digest, status: 'downloading', current: 0, total: 2_000_000 }, 1000),
      ...p.messages({ type: 'layer', digest, status: 'downloading', current: 10, total: 2_000_000 }, 1050),
      ...p.messages({ type: 'layer', digest, status: 'downloading', current: 1_000_000, total: 2_000_000 }, 1200),
      ...p.messages({ type: 'layer', digest, status: 'extracting', total: 2_000_000 }),
      ...p.messages({ type: 'layer', digest, status: 'verified', total: 2_000_000 }),
      ...p.messages({ type: 'layer', digest, status: 'done', total: 2_000_000 }),
      ...p.finish({ name: 'docker.io/library/busybox:latest', digest: ID, upToDate: false, image: record() }),
    ];
    const id = layerId(digest);
    expect(id).toBe('b'.repeat(12));
    expect(lines.map((l) => [l.status, l.id])).toEqual([
      ['Pulling from library/busybox', 'latest'],
      ['Already exists', 'f'.repeat(12)],
      ['Pulling fs layer', id],
      ['Downloading', id],
      ['Downloading', id],
      ['Verifying Checksum', id],
      ['Download complete', id],
      ['Pull complete', id],
      [`Digest: ${ID}`, undefined],
      ['Status: Downloaded newer image for busybox:latest', undefined],
    ]);
    expect(lines[4]).toMatchObject({ progressDetail: { current: 1_000_000, total: 2_000_000 } });
    expect(lines[4].progress).toBe(`[${'='.repeat(25)}>${' '.repeat(25)}]      1MB/2MB`);
    expect(p.finish({ name: 'docker.io/library/busybox:latest', digest: ID, upToDate: true, image: record() })[1].status).toBe(
      'Status: Image is up to date for busybox:latest',
    );
  });

  it('sizes as docker units and errors as docker error lines', () => {
    expect([humanSize(5), humanSize(812_345), humanSize(2_150_000), humanSize(3e9)]).toEqual(['5B', '812kB', '2.15MB', '3GB']);
    expect(progressBar(10, 0)).toBe('     10B');
    expect(errorMessage('boom')).toEqual({ errorDetail: { message: 'boom' }, error: 'boom' });
  });
});

describe('pull requests', () => {
  it('reads X-Registry-Auth (base64url JSON), ignoring what it cannot read as dockerd does', () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expect(registryAuth(enc({ username: 'u', password: 'p', serveraddress: 'r' }))).toEqual({ username: 'u', password: 'p' });
    expect(registryAuth(enc({ username: 'u', identitytoken: 't' }))).toEqual({ username: 'u', password: 't' });
    expect(registryAuth(enc({ auth: Buffer.from('u:p:q').toString('base64') }))).toEqual({ username: 'u', password: 'p:q' });
    expect(registryAuth(enc({}))).toBeUndefined();
    expect(registryAuth('%%%not base64')).toBeUndefined();
    expect(registryAuth(undefined)).toBeUndefined();
  });

  it('composes fromImage and tag as docker does', () => {
    expect(pullReference('busybox', 'latest')).toBe('busybox:latest');
    expect(pullReference('127.0.0.1:5000/app', '1')).toBe('127.0.0.1:5000/app:1');
    expect(pullReference('127.0.0.1:5000/app:old', '2')).toBe('127.0.0.1:5000/app:2');
    expect(pullReference('app', `sha256:${'1'.repeat(64)}`)).toBe(`app@sha256:${'1'.repeat(64)}`);
    expect(pullReference('app:3', null)).toBe('app:3');
  });

  it('words registry refusals as dockerd, all 404', () => {
    const r = parseReference('127.0.0.1:5000/nope');
    const manifest = pullError(
      new RegistryError('not-found', 'The registry 127.0.0.1:5000 has no manifest ("MANIFEST_UNKNOWN: manifest unknown")', { status: 404 }),
      r,
    ) as ApiError;
    expect([manifest.status, manifest.message]).toEqual([
      404,
      'manifest for 127.0.0.1:5000/nope:latest not found: manifest unknown: manifest unknown',
    ]);
    const name = pullError(new RegistryError('not-found', 'x ("NAME_UNKNOWN: repository name not known to registry")'), r) as ApiError;
    expect(name.message).toBe('repository 127.0.0.1:5000/nope not found: name unknown: repository name not known to registry');
    const denied = pullError(
      new RegistryError('unauthorized', 'x ("UNAUTHORIZED: authentication required")'),
      parseReference('nope'),
    ) as ApiError;
    expect([denied.status, denied.message]).toEqual([
      404,
      "pull access denied for nope, repository does not exist or may require 'docker login': unauthorized: authentication required",
    ]);
    const other = new Error('disk full');
    expect(pullError(other, r)).toBe(other);
  });
});
