import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import { assignHostPorts, EPHEMERAL, exposedPorts, formatPort, parsePublish, samePort } from '../../src/network/ports';
import type { PortMapping } from '../../src/network/types';

const m = (hostIP: string, hostPort: number, containerPort: number, protocol: 'tcp' | 'udp' = 'tcp'): PortMapping => ({
  hostIP,
  hostPort,
  containerPort,
  protocol,
});

describe('parsePublish', () => {
  it("parses docker's forms", () => {
    expect(parsePublish('8080:80')).toEqual([m('', 8080, 80)]);
    expect(parsePublish('127.0.0.1:8080:80')).toEqual([m('127.0.0.1', 8080, 80)]);
    expect(parsePublish('127.0.0.1::80')).toEqual([m('127.0.0.1', 0, 80)]);
    expect(parsePublish('80')).toEqual([m('', 0, 80)]);
    expect(parsePublish('53:53/udp')).toEqual([m('', 53, 53, 'udp')]);
    expect(parsePublish('0.0.0.0:8080:80/tcp')).toEqual([m('', 8080, 80)]);
  });

  it('maps equal ranges one to one, and a host range to one container port as a choice', () => {
    expect(parsePublish('8000-8002:80-82')).toEqual([m('', 8000, 80), m('', 8001, 81), m('', 8002, 82)]);
    expect(parsePublish('80-81')).toEqual([m('', 0, 80), m('', 0, 81)]);
    expect(parsePublish('9000-9010:80')).toEqual([{ ...m('', 0, 80), hostRange: [9000, 9010] }]);
  });

  it.each([
    ['', /Expected \[HOST_IP:\]\[HOST_PORT:\]CONTAINER_PORT/],
    ['a:80', /Expected/],
    ['8080:', /Expected/],
    ['1.2.3.4:5:6:7', /Expected/],
    ['0:80', /ports from 1 to 65535/],
    ['70000:80', /ports from 1 to 65535/],
    ['90-80:80-90', /ports from 1 to 65535/],
    ['80/sctp', /the protocol tcp or udp/],
    ['300.1.1.1:80:80', /an IPv4 host address/],
    ['8000-8001:80-82', /host range has 2 ports and the container range 3/],
    ['[::1]:80:80', /IPv6 host addresses are not supported/],
  ])('rejects %j', (spec, msg) => {
    expect(() => parsePublish(spec)).toThrow(BerthError);
    expect(() => parsePublish(spec)).toThrow(msg);
  });
});

describe('exposedPorts (-P)', () => {
  it('publishes every exposed tcp/udp port on a port chosen later, in port order', () => {
    expect(exposedPorts({ '80/tcp': {}, '53/udp': {}, '8080': {}, '7000-7001/tcp': {}, '132/sctp': {} })).toEqual([
      m('', 0, 53, 'udp'),
      m('', 0, 80),
      m('', 0, 7000),
      m('', 0, 7001),
      m('', 0, 8080),
    ]);
    expect(exposedPorts(undefined)).toEqual([]);
  });
});

describe('assignHostPorts', () => {
  it("keeps explicit ports and refuses taken ones, docker's message", () => {
    expect(assignHostPorts([m('', 8080, 80)], [m('', 8081, 0)])).toEqual([m('', 8080, 80)]);
    expect(() => assignHostPorts([m('', 8080, 80)], [m('127.0.0.1', 8080, 0)])).toThrow(
      'Bind for 0.0.0.0:8080/tcp failed: port is already allocated',
    );
    // another address, or another protocol, is another port
    expect(assignHostPorts([m('127.0.0.1', 8080, 80)], [m('127.0.0.2', 8080, 0), m('', 8080, 0, 'udp')])).toEqual([
      m('127.0.0.1', 8080, 80),
    ]);
    // two mappings of one container cannot take the same port either
    expect(() => assignHostPorts([m('', 8080, 80), m('', 8080, 81)], [])).toThrow(/already allocated/);
  });

  it('chooses free ports for 0: from the range, else the ephemeral range', () => {
    expect(assignHostPorts([{ ...m('', 0, 80), hostRange: [9000, 9002] }], [m('', 9000, 0)])).toEqual([m('', 9001, 80)]);
    const [a, b] = assignHostPorts([m('', 0, 80), m('', 0, 81)], [m('', EPHEMERAL[0], 0)]);
    expect(a.hostPort).toBe(EPHEMERAL[0] + 1);
    expect(b.hostPort).toBe(EPHEMERAL[0] + 2);
    expect(() => assignHostPorts([{ ...m('', 0, 80), hostRange: [9000, 9000] }], [m('', 9000, 0)])).toThrow(
      'No free host port in 9000-9000 for 80/tcp',
    );
  });

  it('samePort: an address clashes with itself and with all addresses', () => {
    expect(samePort(m('', 1, 0), m('10.0.0.1', 1, 0))).toBe(true);
    expect(samePort(m('10.0.0.2', 1, 0), m('10.0.0.1', 1, 0))).toBe(false);
  });
});

describe('formatPort', () => {
  it('prints as docker port does', () => {
    expect(formatPort(m('', 8080, 80))).toBe('80/tcp -> 0.0.0.0:8080');
    expect(formatPort(m('127.0.0.1', 5353, 53, 'udp'))).toBe('53/udp -> 127.0.0.1:5353');
  });
});
