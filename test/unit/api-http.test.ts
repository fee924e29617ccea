// The Engine API's pure parts: routing with versions and greedy image names, the service address
// rule (loopback only), docker's statuses for berth's errors, time parameters, detach keys, the
// stdcopy frame, and the translation of docker's create body into berth's container options.
import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import { parseCreateBody } from '../../src/api/docker/create-body';
import { ApiError, errorResponse } from '../../src/api/http/errors';
import { stdcopyFrame } from '../../src/api/http/hijack';
import { compile, match, route, versionNumber } from '../../src/api/http/router';
import { detachFilter, parseDetachKeys } from '../../src/api/routes/attach';
import { parseTimeQuery } from '../../src/api/routes/time-query';
import { parseServiceUri } from '../../src/api/server';

const noop = () => {};

describe('routes', () => {
  const routes = compile([
    route('GET', '/containers/{id}/json', noop),
    route('GET', '/images/{name*}/json', noop),
    route('HEAD', '/containers/{id}/archive', noop),
    route('GET', '/containers/{id}/archive', noop),
    route('GET', '/_ping', noop),
  ]);

  it('matches with and without a version prefix, decoding parameters', () => {
    expect(match(routes, 'GET', '/v1.41/containers/web/json')).toMatchObject({ params: { id: 'web' }, version: '1.41' });
    expect(match(routes, 'GET', '/containers/a%20b/json')).toMatchObject({ params: { id: 'a b' } });
    expect(match(routes, 'GET', '/containers/web/json/')).toMatchObject({ params: { id: 'web' } });
  });

  it('takes image names with slashes and a registry port whole', () => {
    expect(match(routes, 'GET', '/images/127.0.0.1:5000/team/app:v1/json')).toMatchObject({
      params: { name: '127.0.0.1:5000/team/app:v1' },
    });
  });

  it('answers HEAD with its own route, else as GET; tells a wrong method from a missing path', () => {
    const head = match(routes, 'HEAD', '/containers/x/archive');
    expect(typeof head === 'object' && head.route.method).toBe('HEAD');
    const ping = match(routes, 'HEAD', '/_ping');
    expect(typeof ping === 'object' && ping.route.method).toBe('GET');
    expect(match(routes, 'POST', '/_ping')).toBe('method-not-allowed');
    expect(match(routes, 'GET', '/nope')).toBe('not-found');
  });

  it('compares versions as versions', () => {
    expect(versionNumber('1.9')).toBeLessThan(versionNumber('1.41'));
    expect(versionNumber('1.43')).toBeGreaterThan(versionNumber('1.24'));
  });
});

describe('the service address', () => {
  it('takes unix sockets and loopback TCP, and nothing else', () => {
    expect(parseServiceUri('unix:///run/berth/docker.sock')).toEqual({ kind: 'unix', path: '/run/berth/docker.sock' });
    expect(parseServiceUri('tcp://127.0.0.1:2375')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2375 });
    expect(parseServiceUri('tcp://[::1]:2375')).toEqual({ kind: 'tcp', host: '::1', port: 2375 });
    expect(() => parseServiceUri('tcp://0.0.0.0:2375')).toThrow(/loopback only .*tcp:\/\/127\.0\.0\.1:2375/);
    expect(() => parseServiceUri('tcp://10.0.0.1:2375')).toThrow(/loopback only/);
    expect(() => parseServiceUri('/run/x.sock')).toThrow(/Expected unix:\/\/\/PATH or tcp:\/\/127\.0\.0\.1:PORT/);
    expect(() => parseServiceUri('tcp://127.0.0.1:70000')).toThrow(/below 65536/);
  });
});

describe("docker's statuses", () => {
  it('maps berth error codes onto them, with the cause chain on one line', () => {
    expect(errorResponse(new BerthError('CONTAINER_NOT_FOUND', 'No such container: x')).status).toBe(404);
    expect(errorResponse(new BerthError('VOLUME_NOT_FOUND', 'No such volume: v')).status).toBe(404);
    expect(errorResponse(new BerthError('CONTAINER_EXISTS', 'taken')).status).toBe(409);
    expect(errorResponse(new BerthError('INVALID_STATE', 'running')).status).toBe(409);
    expect(errorResponse(new BerthError('INVALID_ARGUMENT', 'bad')).status).toBe(400);
    expect(errorResponse(new ApiError(501, 'later'))).toEqual({ status: 501, message: 'later' });
    expect(errorResponse(new Error('boom'))).toEqual({ status: 500, message: 'boom' });
    const chained = new BerthError('START_FAILED', 'Cannot start', { cause: new Error('EPERM') });
    expect(errorResponse(chained)).toEqual({ status: 500, message: 'Cannot start: EPERM' });
  });
});

describe('time parameters', () => {
  it('reads Unix seconds, RFC 3339 and durations back from now', () => {
    expect(parseTimeQuery('1700000000')).toBe(1700000000);
    expect(parseTimeQuery('1700000000.5')).toBe(1700000000.5);
    expect(parseTimeQuery('2023-11-14T22:13:20Z')).toBe(1700000000);
    expect(parseTimeQuery('10m', 1000)).toBe(400);
    expect(parseTimeQuery('1h30s', 10000)).toBe(10000 - 3630);
    expect(parseTimeQuery(null)).toBeUndefined();
    expect(() => parseTimeQuery('yesterday')).toThrow(/invalid time "yesterday"/);
  });
});

describe('detach keys', () => {
  it("parses docker's spellings", () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([16, 17]);
    expect([...parseDetachKeys('ctrl-@,a,ctrl-\\')]).toEqual([0, 97, 28]);
    expect(() => parseDetachKeys('ctrl-1')).toThrow(/Invalid detach keys/);
  });

  it('passes input through, holds a partial sequence back, and detaches on the whole one', () => {
    const out: string[] = [];
    let detached = false;
    const feed = detachFilter(
      parseDetachKeys('ctrl-p,ctrl-q'),
      (b) => out.push(b.toString('latin1')),
      () => (detached = true),
    );
    feed(Buffer.from('ab\x10c'));
    expect(out.join('')).toBe('ab\x10c');
    feed(Buffer.from('x\x10'));
    expect(out.join('')).toBe('ab\x10cx');
    feed(Buffer.from('\x11never'));
    expect(detached).toBe(true);
    expect(out.join('')).toBe('ab\x10cx');
  });
});

describe('stdcopy frames', () => {
  it('are a stream byte, three zeros, a big-endian size and the payload', () => {
    expect([...stdcopyFrame(2, Buffer.from('hi'))]).toEqual([2, 0, 0, 0, 0, 0, 0, 2, 104, 105]);
  });
});

describe("docker's create body", () => {
  // what docker 28's CLI sends for `docker run -d --name web -p 127.0.0.1:8080:80 -v data:/data
  // -e A=1 --memory 64m --cpus 0.5 --restart on-failure:3 -l k=v busybox sh -c 'sleep 1'`, trimmed
  // of the zero values it also sends
  const body = {
    Hostname: '',
    User: '',
    AttachStdin: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: ['A=1'],
    Cmd: ['sh', '-c', 'sleep 1'],
    Image: 'busybox',
    Volumes: {},
    WorkingDir: '',
    Entrypoint: null,
    Labels: { k: 'v' },
    ExposedPorts: { '80/tcp': {} },
    HostConfig: {
      Binds: ['data:/data'],
      NetworkMode: 'default',
      PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
      AutoRemove: false,
      Memory: 67108864,
      NanoCpus: 500000000,
      CpuShares: 0,
      PidsLimit: null,
      MemorySwappiness: null,
      OomKillDisable: false,
      Privileged: false,
      ShmSize: 0,
      LogConfig: { Type: '', Config: {} },
      CpuRealtimePeriod: 0,
    },
    NetworkingConfig: { EndpointsConfig: {} },
  };

  it('becomes the options `berth run` would get from the same flags, zero values left out', () => {
    const r = parseCreateBody(body, 'web');
    expect(r.options).toEqual({
      image: 'busybox',
      pull: 'never',
      name: 'web',
      env: ['A=1'],
      cmd: ['sh', '-c', 'sleep 1'],
      expose: ['80/tcp'],
      labels: { k: 'v' },
      volumes: ['data:/data'],
      publish: ['127.0.0.1:8080:80/tcp'],
      restart: 'on-failure:3',
      memory: 67108864,
      cpus: 0.5,
    });
    expect(r.stdinOnce).toBe(false);
    expect(r.moreNetworks).toEqual([]);
  });

  it("maps networks, endpoints, health checks, a reset entrypoint, and docker's dual-stack port pair", () => {
    const r = parseCreateBody(
      {
        Image: 'busybox',
        Entrypoint: [''],
        Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Retries: 2 },
        HostConfig: {
          NetworkMode: 'app',
          PortBindings: {
            '53/udp': [
              { HostIp: '0.0.0.0', HostPort: '' },
              { HostIp: '::', HostPort: '' },
            ],
          },
          Tmpfs: { '/run': 'size=1m' },
          Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }],
          Mounts: [{ Type: 'bind', Source: '/srv/a,b', Target: '/a', ReadOnly: true }],
        },
        NetworkingConfig: {
          EndpointsConfig: { app: { Aliases: ['web', 'db'], IPAMConfig: { IPv4Address: '10.1.0.9' } }, other: {} },
        },
      },
      'web',
    );
    expect(r.options).toMatchObject({
      entrypoint: '',
      network: 'app',
      ip: '10.1.0.9',
      networkAliases: ['db'],
      publish: ['0.0.0.0::53/udp'],
      tmpfs: ['/run:size=1m'],
      ulimits: ['nofile=100:200'],
      mounts: ['type=bind,"source=/srv/a,b",target=/a,readonly'],
      healthTest: ['CMD', 'true'],
      healthInterval: 1e9,
      healthRetries: 2,
    });
    expect(r.moreNetworks).toEqual([{ name: 'other' }]);
  });

  it('refuses what berth cannot do and bodies of the wrong shape, naming the field', () => {
    expect(() => parseCreateBody({ Image: 'busybox', HostConfig: { CpuRealtimeRuntime: 1000 } }, undefined)).toThrow(
      /HostConfig\.CpuRealtimeRuntime is not supported by berth/,
    );
    expect(() => parseCreateBody({ Cmd: ['true'] }, undefined)).toThrow(/an Image is required/);
    expect(() => parseCreateBody({ Image: 'busybox', Env: 'A=1' }, undefined)).toThrow(/invalid value for Env: expected an array/);
    expect(() => parseCreateBody([], undefined)).toThrow(/expected an object/);
  });
});
