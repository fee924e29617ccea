// The parsers of docker's filesystem and process run flags, on plain values.
import { describe, expect, it } from 'vitest';
import { containerLabels, parseLabels } from '../../src/runtime/metadata-options';
import { parseKeyValueText, readKeyValueFile } from '../../src/util/kv-file';
import { parseShmSize, parseTmpfs, parseTmpfsList } from '../../src/runtime/filesystem-options';
import {
  parseDomainname,
  parseOomScoreAdj,
  parseSysctls,
  parseUlimit,
  parseUlimits,
  RLIM_INFINITY,
} from '../../src/runtime/process-options';

describe('--ulimit', () => {
  it('takes NAME=SOFT[:HARD], hard defaulting to soft, -1 unlimited', () => {
    expect(parseUlimit('nofile=1024:2048')).toEqual({ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 });
    expect(parseUlimit('nproc=64')).toEqual({ type: 'RLIMIT_NPROC', soft: 64, hard: 64 });
    expect(parseUlimit('memlock=-1:-1')).toEqual({ type: 'RLIMIT_MEMLOCK', soft: RLIM_INFINITY, hard: RLIM_INFINITY });
    expect(parseUlimit('core=0:-1')).toEqual({ type: 'RLIMIT_CORE', soft: 0, hard: RLIM_INFINITY });
  });
  it('keeps the last of one name', () => {
    expect(parseUlimits(['nofile=1:2', 'stack=3', 'nofile=5:6'])).toEqual([
      { type: 'RLIMIT_STACK', soft: 3, hard: 3 },
      { type: 'RLIMIT_NOFILE', soft: 5, hard: 6 },
    ]);
  });
  it('refuses soft above hard, unknown names and bad numbers', () => {
    expect(() => parseUlimit('nofile=10:5')).toThrow('soft limit of --ulimit "nofile=10:5" is above its hard limit');
    expect(() => parseUlimit('nofile=-1:5')).toThrow('above its hard limit');
    for (const bad of ['NOFILE=1', 'files=1', 'nofile', 'nofile=', 'nofile=1:2:3', 'nofile=-2', 'nofile=1.5', 'nofile=1e3'])
      expect(() => parseUlimit(bad), bad).toThrow('for --ulimit but received');
  });
});

describe('--sysctl', () => {
  it("takes the container's own namespaces' keys", () => {
    expect(
      parseSysctls(['kernel.shmmax=1', 'kernel.sem=1 2 3 4', 'fs.mqueue.msg_max=20', 'net.ipv4.conf.eth0-x.forwarding=1'], false),
    ).toEqual({
      'kernel.shmmax': '1',
      'kernel.sem': '1 2 3 4',
      'fs.mqueue.msg_max': '20',
      'net.ipv4.conf.eth0-x.forwarding': '1',
    });
    expect(parseSysctls({ 'kernel.msgmax': '9' }, false)).toEqual({ 'kernel.msgmax': '9' });
  });
  it('refuses the host-wide ones, net.* on the host network, and malformed entries', () => {
    for (const bad of [
      'kernel.foo=1',
      'kernel.hostname=x',
      'vm.swappiness=1',
      'fs.file-max=1',
      'net.ipv4.ip_forward',
      'net..x=1',
      'kernel.shmmax=1\n',
    ])
      expect(() => parseSysctls([bad], false), bad).toThrow('Expected a namespaced sysctl');
    expect(() => parseSysctls(['net.ipv4.ip_forward=1'], true)).toThrow('cannot be set with --network host');
    expect(parseSysctls(['kernel.shmmax=1'], true)).toEqual({ 'kernel.shmmax': '1' });
  });
});

describe('--tmpfs', () => {
  it("puts the options given over docker's noexec,nosuid,nodev, the last of a pair winning", () => {
    expect(parseTmpfs('/run')).toEqual({ containerPath: '/run', options: ['noexec', 'nosuid', 'nodev'] });
    expect(parseTmpfs('/x/../data/:exec,size=64m,mode=1777,ro,rw')).toEqual({
      containerPath: '/data',
      options: ['nosuid', 'nodev', 'exec', 'size=64m', 'mode=1777', 'rw'],
    });
    expect(parseTmpfs('/t:size=1m,size=2m').options).toEqual(['noexec', 'nosuid', 'nodev', 'size=2m']);
  });
  it('refuses relative paths, /, unknown options and duplicates', () => {
    expect(() => parseTmpfs('run')).toThrow('for --tmpfs but received "run"');
    expect(() => parseTmpfs('/')).toThrow('cannot be mounted on the container\'s root "/"');
    for (const bad of ['/t:sizze=1m', '/t:size=big', '/t:mode=9', '/t:bind', '/t:'])
      expect(() => parseTmpfs(bad), bad).toThrow('Expected tmpfs options');
    expect(() => parseTmpfsList(['/a', '/a/'], [])).toThrow('Duplicate mount point "/a"');
    expect(() => parseTmpfsList(['/data'], ['/data'])).toThrow('Duplicate mount point "/data"');
  });
});

describe('--shm-size, --oom-score-adj, --domainname', () => {
  it('parse as docker takes them', () => {
    expect(parseShmSize('2m')).toBe(2 * 1024 * 1024);
    expect(parseShmSize(4096)).toBe(4096);
    expect(() => parseShmSize('0')).toThrow('a size above 0');
    expect(parseOomScoreAdj('-1000')).toBe(-1000);
    expect(parseOomScoreAdj(1000)).toBe(1000);
    for (const bad of ['1001', '-1001', '1.5', 'x', '']) expect(() => parseOomScoreAdj(bad), bad).toThrow('for --oom-score-adj');
    expect(parseDomainname('example.org')).toBe('example.org');
    expect(() => parseDomainname('a_b')).toThrow('for --domainname');
  });
});

describe("--env-file and --label-file's format", () => {
  const parse = (text: string, lookup?: (k: string) => string | undefined) => parseKeyValueText(Buffer.from(text), 'f', lookup);
  it('keeps values as written, skips comments and blank lines, looks a bare KEY up', () => {
    expect(parse('\uFEFFA=1\n  # c\n\n\tB= two \r\nC="q"=x\nD\nE\n', (k) => (k === 'D' ? 'd' : undefined))).toEqual([
      'A=1',
      'B= two ',
      'C="q"=x',
      'D=d',
    ]);
    expect(parse('LABEL\nx=1')).toEqual(['x=1']);
  });
  it('names the line of a bad entry', () => {
    expect(() => parse('A=1\n=2')).toThrow('No variable name on line 2 of f');
    expect(() => parse('A B=1')).toThrow('Variable "A B" on line 1 of f contains whitespace');
    expect(() => parseKeyValueText(Buffer.from([0x41, 0x3d, 0xff]), 'f')).toThrow('Invalid UTF-8 on line 1 of f');
  });
  it('says which file cannot be read', () => {
    expect(() => readKeyValueFile('/nonexistent/env', '--env-file')).toThrow('Cannot read --env-file "/nonexistent/env": no such file');
  });
});

describe('--label', () => {
  it('takes KEY=VALUE and KEY, the container over the image', () => {
    expect(parseLabels(['a=1', 'b', 'c=x=y'])).toEqual({ a: '1', b: '', c: 'x=y' });
    expect(containerLabels({ a: 'image', i: '1' }, ['a=mine'])).toEqual({ a: 'mine', i: '1' });
    expect(containerLabels(undefined, [])).toBeUndefined();
    for (const bad of ['', '=v', 'a b=c']) expect(() => parseLabels([bad]), bad).toThrow('for --label');
  });
});
