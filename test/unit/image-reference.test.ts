import { describe, expect, it } from 'vitest';
import { familiar, normalize, parseReference, parseTagReference } from '../../src/image/reference';
import { BerthError } from '../../src/errors';
import { quote } from '../../src/util/quote';

const D = `sha256:${'ab'.repeat(32)}`;

describe('parseReference', () => {
  it.each([
    ['busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: undefined }],
    ['busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', tag: '1.36', digest: undefined }],
    ['library/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: undefined }],
    ['docker.io/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: undefined }],
    ['index.docker.io/library/busybox:x', { registry: 'docker.io', repository: 'library/busybox', tag: 'x', digest: undefined }],
    ['user/app', { registry: 'docker.io', repository: 'user/app', tag: 'latest', digest: undefined }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest', digest: undefined }],
    ['localhost:5000/team/app:v1.2_rc-3', { registry: 'localhost:5000', repository: 'team/app', tag: 'v1.2_rc-3', digest: undefined }],
    ['registry.example.com/a/b/c:1', { registry: 'registry.example.com', repository: 'a/b/c', tag: '1', digest: undefined }],
    ['127.0.0.1:5000/app', { registry: '127.0.0.1:5000', repository: 'app', tag: 'latest', digest: undefined }],
    ['[::1]:5000/app:t', { registry: '[::1]:5000', repository: 'app', tag: 't', digest: undefined }],
    ['my_app.v2__x-y', { registry: 'docker.io', repository: 'library/my_app.v2__x-y', tag: 'latest', digest: undefined }],
    [`busybox@${D}`, { registry: 'docker.io', repository: 'library/busybox', tag: undefined, digest: D }],
    [`busybox:1@${D}`, { registry: 'docker.io', repository: 'library/busybox', tag: '1', digest: D }],
    [`localhost:5000/app@${D}`, { registry: 'localhost:5000', repository: 'app', tag: undefined, digest: D }],
  ])('%s', (ref, expected) => {
    expect(parseReference(ref)).toEqual(expected);
  });

  it.each([
    ['', /it is empty/],
    ['BusyBox', /must be lowercase/],
    ['busybox:', /tag/],
    ['busybox:-x', /tag/],
    [`busybox:${'a'.repeat(129)}`, /tag/],
    ['busybox@sha256:abc', /digest/],
    [`busybox@md5:${'a'.repeat(32)}`, /digest/],
    ['/busybox', /not a valid repository name component/],
    ['busybox/', /not a valid repository name component/],
    ['a//b', /not a valid repository name component/],
    ['a..b', /"a..b"/],
    ['-a', /"-a"/],
    ['foo bar', /"foo bar"/],
    ['bad_host:5000/app', /not a valid registry host/],
    ['localhost:5000/', /not a valid repository name component/],
    [':tag', /repository name is missing/],
    ['a'.repeat(256), /longer than 255/],
    ['ab'.repeat(32), /image ID/],
  ])('refuses %j', (ref, why) => {
    let err: unknown;
    try {
      parseReference(ref);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
    expect((err as BerthError).message).toContain(`Expected an image reference like busybox:latest`);
    expect((err as BerthError).message).toContain(`but received ${quote(ref)}`);
    expect((err as BerthError).message).toMatch(why);
  });

  it('parseTagReference refuses digests: they cannot be given to an image', () => {
    expect(() => parseTagReference(`busybox@${D}`)).toThrow(/cannot contain a digest/);
    expect(parseTagReference('busybox:1').tag).toBe('1');
  });
});

describe('normalize and familiar', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['user/app:1', 'docker.io/user/app:1', 'user/app:1'],
    ['library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest', 'localhost:5000/app:latest'],
    ['quay.io/team/app:2', 'quay.io/team/app:2', 'quay.io/team/app:2'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
  ])('%s', (ref, full, short) => {
    expect(normalize(ref)).toBe(full);
    expect(familiar(ref)).toBe(short);
    expect(familiar(full)).toBe(short);
    expect(normalize(short)).toBe(full);
  });

  it('refuses invalid input in both', () => {
    expect(() => normalize('Nope')).toThrow(BerthError);
    expect(() => familiar('Nope')).toThrow(/Expected an image reference/);
  });
});
