import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { peersOf, rewriteInPlace } from '../../src/network/hosts-sync';
import type { AttachmentRecord, NetworkAttachment } from '../../src/network/sandbox-records';
import { hostsContent, parseAddHost, parseDns, resolvConfContent } from '../../src/network/hosts';
import { etcHosts } from '../../src/runtime/etc-files';

const IPV6 =
  '::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

describe('hostsContent', () => {
  it('without a network: the hostname is localhost, as before networking existed', () => {
    expect(hostsContent({ hostname: 'box' })).toBe(`127.0.0.1\tlocalhost box\n${IPV6}`);
    expect(etcHosts('box')).toBe(`127.0.0.1\tlocalhost box\n${IPV6}`);
  });

  it('on a network: its address with hostname and name, --add-host entries, then the peers', () => {
    const text = hostsContent({
      hostname: 'abc123',
      name: 'web',
      ip: '10.231.1.2',
      gateway: '10.231.1.1',
      extra: [
        { host: 'db', ip: '10.9.9.9' },
        { host: 'gw', ip: 'host-gateway' },
      ],
      peers: [
        { host: 'api', ip: '10.231.1.3' },
        { host: 'db', ip: '10.231.1.4' },
      ],
    });
    expect(text).toBe(
      `127.0.0.1\tlocalhost\n${IPV6}10.231.1.2\tabc123 web\n10.9.9.9\tdb\n10.231.1.1\tgw\n10.231.1.3\tapi\n10.231.1.4\tdb\n`,
    );
    // the --add-host entry comes first: resolvers take the first match
    expect(text.indexOf('10.9.9.9\tdb')).toBeLessThan(text.indexOf('10.231.1.4\tdb'));
  });

  it('lists a name equal to the hostname once', () => {
    expect(hostsContent({ hostname: 'web', name: 'web', ip: '10.0.0.2' })).toContain('10.0.0.2\tweb\n');
  });

  it('host-gateway needs a gateway', () => {
    expect(() => hostsContent({ hostname: 'h', ip: '10.0.0.2', extra: [{ host: 'gw', ip: 'host-gateway' }] })).toThrow(
      /needs a network with a gateway/,
    );
  });
});

describe('parseAddHost / parseDns', () => {
  it('parses HOST:IP, IPv6 included', () => {
    expect(parseAddHost('db:10.1.2.3')).toEqual({ host: 'db', ip: '10.1.2.3' });
    expect(parseAddHost('v6:fd00::1')).toEqual({ host: 'v6', ip: 'fd00::1' });
    expect(parseAddHost('v6:[fd00::1]')).toEqual({ host: 'v6', ip: 'fd00::1' });
    expect(parseAddHost('gw:host-gateway')).toEqual({ host: 'gw', ip: 'host-gateway' });
  });

  it.each(['db', 'db:', ':10.1.2.3', 'db:10.1.2', 'db:300.1.1.1', 'bad name:10.1.2.3', 'db:example.com'])('rejects %j', (spec) => {
    expect(() => parseAddHost(spec)).toThrow(`Expected HOST:IP like db:10.231.1.5 for --add-host but received "${spec}"`);
  });

  it('takes IP nameservers only', () => {
    expect(parseDns(['10.0.0.53', 'fd00::53'])).toEqual(['10.0.0.53', 'fd00::53']);
    expect(() => parseDns(['dns.example'])).toThrow('Expected an IP address for --dns but received "dns.example"');
  });
});

describe('resolvConfContent', () => {
  const host = 'search example.org\nnameserver 127.0.0.53\nnameserver 10.1.1.1\noptions edns0\n';

  it('drops loopback nameservers, unreachable from a namespace of its own', () => {
    expect(resolvConfContent(host)).toBe('search example.org\nnameserver 10.1.1.1\noptions edns0\n');
  });

  it("keeps them in the host's namespace", () => {
    expect(resolvConfContent(host, undefined, true)).toBe(host);
  });

  it('--dns replaces the nameservers and keeps search and options', () => {
    expect(resolvConfContent(host, ['10.9.9.9', '10.9.9.8'])).toBe(
      'nameserver 10.9.9.9\nnameserver 10.9.9.8\nsearch example.org\noptions edns0\n',
    );
  });
});

describe('rewriteInPlace', () => {
  it('keeps the inode (the file is bind-mounted into the container), growing or shrinking it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-hosts-'));
    try {
      const f = path.join(dir, 'hosts');
      fs.writeFileSync(f, 'short\n');
      const ino = fs.statSync(f).ino;
      rewriteInPlace(f, 'a much longer content\nline two\n');
      expect(fs.readFileSync(f, 'utf8')).toBe('a much longer content\nline two\n');
      rewriteInPlace(f, 'x\n');
      expect(fs.readFileSync(f, 'utf8')).toBe('x\n');
      expect(fs.statSync(f).ino).toBe(ino);
      // a container being removed: nothing is created
      rewriteInPlace(path.join(dir, 'gone', 'hosts'), 'y');
      expect(fs.existsSync(path.join(dir, 'gone'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe('peersOf', () => {
  const on = (network: string, ip: string): NetworkAttachment => ({
    network,
    ifname: 'eth0',
    args: '',
    conflist: { cniVersion: '1.0.0', name: network, plugins: [] },
    result: { cniVersion: '1.0.0' },
    endpoint: { network, ip, prefixLength: 24, mac: '', ports: [] },
  });
  const container = (name: string, ...attachments: NetworkAttachment[]): AttachmentRecord => ({
    containerId: name.padEnd(64, '0'),
    name,
    hostname: name,
    hostsFile: '',
    addHosts: [],
    pid: 1,
    netns: '',
    attachments,
  });

  it('lists the others on its user networks by name, once each; none of the default network; not itself', () => {
    const a = container('a', on('berth', '10.90.0.2'), on('front', '10.1.0.2'), on('back', '10.2.0.2'));
    const b = container('b', on('front', '10.1.0.3'), on('back', '10.2.0.3'));
    const c = container('c', on('berth', '10.90.0.4'));
    const d = container('d', on('back', '10.2.0.5'));
    // an ADD not finished yet: no address to list
    const e = container('e', on('front', ''));
    expect(peersOf(a, [a, b, c, d, e])).toEqual([
      { host: 'b', ip: '10.1.0.3' },
      { host: 'd', ip: '10.2.0.5' },
    ]);
    expect(peersOf(c, [a, b, c, d, e])).toEqual([]);
  });
});
