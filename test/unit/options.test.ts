import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BerthError } from '../../src/errors';
import { buildEnv, parseLimits, parseSecurityOpts, parseVolume, resolveUser } from '../../src/runtime/options';
import { DEFAULT_PATH } from '../../src/runtime/plan';
import { caught } from '../helpers/caught';

const M = 1024 ** 2;

/** KEY=VALUE entries as a map; fails on a duplicate key (buildEnv must never emit one). */
function envMap(env: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf('=');
    const k = eq < 0 ? e : e.slice(0, eq);
    expect(m.has(k), `duplicate key ${k}`).toBe(false);
    m.set(k, eq < 0 ? '' : e.slice(eq + 1));
  }
  return m;
}

describe('parseSecurityOpts', () => {
  it("defaults to the seccomp filter and no no_new_privs; takes docker's spellings", () => {
    expect(parseSecurityOpts(undefined)).toEqual({ seccomp: true, noNewPrivileges: false });
    expect(parseSecurityOpts(['seccomp=unconfined'])).toEqual({ seccomp: false, noNewPrivileges: false });
    expect(parseSecurityOpts(['seccomp:unconfined', 'no-new-privileges'])).toEqual({ seccomp: false, noNewPrivileges: true });
    expect(parseSecurityOpts(['seccomp=unconfined', 'seccomp=default', 'no-new-privileges=true', 'no-new-privileges:false'])).toEqual({
      seccomp: true,
      noNewPrivileges: false,
    });
  });

  it('refuses what it does not know, naming what it knows', () => {
    for (const bad of ['seccomp', 'apparmor', 'label=bogus', 'no-new-privileges=yes', 'systempaths=masked', '']) {
      expect(caught(() => parseSecurityOpts([bad])).message).toMatch(
        /^Unknown --security-opt .*; supported: seccomp=unconfined, seccomp=default, seccomp=PROFILE.json, no-new-privileges/,
      );
    }
    // a profile file that is not there (more in test/unit/security-options.test.ts)
    expect(caught(() => parseSecurityOpts(['seccomp=/nonexistent/profile.json'])).message).toMatch(/^Cannot read the seccomp profile/);
  });
});

describe('parseVolume', () => {
  it('parses HOST:CONTAINER as read-write', () => {
    expect(parseVolume('/srv/data:/data')).toEqual({ hostPath: '/srv/data', containerPath: '/data', readonly: false });
  });

  it('parses the :ro and :rw modes', () => {
    expect(parseVolume('/srv/data:/data:ro').readonly).toBe(true);
    expect(parseVolume('/srv/data:/data:rw').readonly).toBe(false);
  });

  it('refuses other modes', () => {
    for (const spec of ['/a:/b:RO', '/a:/b:x', '/a:/b:ro,q']) {
      const e = caught(() => parseVolume(spec));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toBe(
        `Expected the modes ro, rw, nocopy, z, Z or a propagation (rshared, ...) after the second colon for --volume but received "${spec}"`,
      );
    }
    expect(caught(() => parseVolume('/a:/b:ro,rw')).message).toMatch(/one of ro and rw/);
  });

  it('takes the relabel modes z and Z as no-ops, and nocopy', () => {
    expect(parseVolume('/a:/b:z')).toEqual({ hostPath: '/a', containerPath: '/b', readonly: false });
    expect(parseVolume('/a:/b:ro,Z').readonly).toBe(true);
    expect(parseVolume('vol:/b:nocopy')).toEqual({ hostPath: '', containerPath: '/b', readonly: false, volume: 'vol', noCopy: true });
  });

  it.each([':/b', '/a:', '', '/a:/b:ro:x', ':'])('refuses the malformed spec %j', (spec) => {
    const e = caught(() => parseVolume(spec));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(
      `Expected HOST_PATH:CONTAINER_PATH[:ro], NAME:CONTAINER_PATH[:ro] or /CONTAINER_PATH for --volume but received "${spec}"`,
    );
  });

  it('reads NAME:CONTAINER as a named volume and a lone /CONTAINER as an anonymous one', () => {
    expect(parseVolume('data:/data:ro')).toEqual({ hostPath: '', containerPath: '/data', readonly: true, volume: 'data' });
    expect(parseVolume('/data/')).toEqual({ hostPath: '', containerPath: '/data', readonly: false, anonymous: true });
  });

  it("refuses a volume name outside docker's characters", () => {
    for (const spec of ['rel/dir:/data', 'a:/data', '_x:/data', 'x y:/data']) {
      const e = caught(() => parseVolume(spec));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toMatch(/includes invalid characters for a local volume name.*give an absolute path$/);
    }
  });

  it('refuses a relative host path, suggesting $PWD', () => {
    const e = caught(() => parseVolume('./data:/data'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('Expected an absolute host path for --volume but received "./data"; write it as $PWD/./data');
    expect(() => parseVolume('../data:/data')).toThrow('$PWD/../data');
  });

  it('refuses a relative container path', () => {
    const e = caught(() => parseVolume('/srv/data:data'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('Expected an absolute container path for --volume but received "data"');
  });

  it.each(['/', '//', '/./', '/data/..', '/a/b/../../'])('refuses %j, the container root', (target) => {
    const e = caught(() => parseVolume(`/srv:${target}`));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('root "/"');
  });

  it('normalizes both paths', () => {
    const v = parseVolume('/srv/./x/../data//:/data/./sub/../inner:ro');
    expect(v).toEqual({ hostPath: '/srv/data', containerPath: '/data/inner', readonly: true });
    expect(parseVolume('/srv:/a//b').containerPath).toBe('/a/b');
    expect(parseVolume('/srv:/../../etc').containerPath).toBe('/etc'); // cannot climb above the root
  });

  it('takes objects and validates them the same way', () => {
    expect(parseVolume({ hostPath: '/srv//d/', containerPath: '/x/./y', readonly: true })).toEqual({
      hostPath: '/srv/d',
      containerPath: '/x/y',
      readonly: true,
    });
    expect(() => parseVolume({ hostPath: 'rel', containerPath: '/x', readonly: false })).toThrow('$PWD/rel');
    expect(() => parseVolume({ hostPath: '/h', containerPath: 'x', readonly: false })).toThrow('absolute container path');
    expect(() => parseVolume({ hostPath: '/h', containerPath: '/', readonly: false })).toThrow('root "/"');
  });

  it('does not modify the object it was given', () => {
    const spec = { hostPath: '/srv//d', containerPath: '/x/./y', readonly: false };
    parseVolume(spec);
    expect(spec).toEqual({ hostPath: '/srv//d', containerPath: '/x/./y', readonly: false });
  });
});

describe('buildEnv', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('starts with the default PATH, HOSTNAME and HOME', () => {
    const env = envMap(buildEnv([], undefined, 'host1', false, '/root'));
    expect(env.get('PATH')).toBe(DEFAULT_PATH);
    expect(env.get('HOSTNAME')).toBe('host1');
    expect(env.get('HOME')).toBe('/root');
    expect(env.has('TERM')).toBe(false);
    expect(env.size).toBe(3);
  });

  it('sets TERM=xterm with a tty', () => {
    expect(envMap(buildEnv([], undefined, 'h', true, '/')).get('TERM')).toBe('xterm');
  });

  it('lets the image override PATH and HOME', () => {
    const env = envMap(buildEnv(['PATH=/opt/bin:/bin', 'HOME=/home/app', 'LANG=C.UTF-8'], undefined, 'h', false, '/root'));
    expect(env.get('PATH')).toBe('/opt/bin:/bin');
    expect(env.get('HOME')).toBe('/home/app');
    expect(env.get('LANG')).toBe('C.UTF-8');
  });

  it('gives HOSTNAME and (with a tty) TERM precedence over the image', () => {
    const env = envMap(buildEnv(['HOSTNAME=img', 'TERM=dumb'], undefined, 'real', true, '/'));
    expect(env.get('HOSTNAME')).toBe('real');
    expect(env.get('TERM')).toBe('xterm');
    expect(envMap(buildEnv(['TERM=dumb'], undefined, 'real', false, '/')).get('TERM')).toBe('dumb');
  });

  it('lets the user override everything, later entries of a key winning', () => {
    const env = envMap(
      buildEnv(
        ['A=image', 'PATH=/img'],
        ['A=user1', 'PATH=/usr/bin', 'A=user2', 'HOSTNAME=x', 'HOME=/h', 'TERM=vt100'],
        'h',
        true,
        '/root',
      ),
    );
    expect(env.get('A')).toBe('user2');
    expect(env.get('PATH')).toBe('/usr/bin');
    expect(env.get('HOSTNAME')).toBe('x');
    expect(env.get('HOME')).toBe('/h');
    expect(env.get('TERM')).toBe('vt100');
  });

  it('keeps the first occurrence of a key in place and emits each key once', () => {
    const env = buildEnv(['A=1', 'B=2'], ['A=3'], 'h', false, '/');
    expect(env.filter((e) => e.startsWith('A='))).toEqual(['A=3']);
    expect(env[0].startsWith('PATH=')).toBe(true);
    expect(env.indexOf('A=3')).toBeLessThan(env.indexOf('B=2'));
  });

  it('keeps values with "=" and empty values intact', () => {
    const env = envMap(buildEnv([], ['OPTS=a=b=c', 'EMPTY='], 'h', false, '/'));
    expect(env.get('OPTS')).toBe('a=b=c');
    expect(env.get('EMPTY')).toBe('');
    expect(buildEnv([], ['EMPTY='], 'h', false, '/')).toContain('EMPTY=');
  });

  it('takes an object as well', () => {
    const env = envMap(buildEnv(['A=image'], { A: 'obj', B: 'x=y' }, 'h', false, '/'));
    expect(env.get('A')).toBe('obj');
    expect(env.get('B')).toBe('x=y');
  });

  it("copies KEY alone from this process's environment when it is set", () => {
    vi.stubEnv('BERTH_TEST_COPIED', 'from-host');
    vi.stubEnv('BERTH_TEST_EMPTY', '');
    const env = envMap(buildEnv([], ['BERTH_TEST_COPIED', 'BERTH_TEST_EMPTY'], 'h', false, '/'));
    expect(env.get('BERTH_TEST_COPIED')).toBe('from-host');
    expect(env.has('BERTH_TEST_EMPTY')).toBe(true);
    expect(env.get('BERTH_TEST_EMPTY')).toBe('');
  });

  it('adds nothing for KEY alone when it is not set here', () => {
    delete process.env.BERTH_TEST_UNSET_VARIABLE;
    const env = buildEnv([], ['BERTH_TEST_UNSET_VARIABLE'], 'h', false, '/');
    expect(env.some((e) => e.startsWith('BERTH_TEST_UNSET_VARIABLE'))).toBe(false);
    expect(env).toHaveLength(3);
  });

  it('leaks nothing else of the host environment', () => {
    vi.stubEnv('BERTH_TEST_SECRET', 'hidden');
    const env = buildEnv([], ['A=1'], 'h', false, '/');
    expect(env.join('\n')).not.toContain('hidden');
    expect(env.some((e) => e.startsWith('BERTH_TEST_SECRET'))).toBe(false);
  });

  it.each(['=value', '', 'A B=c', 'A\tB', ' A=1', 'A =1'])('refuses the invalid entry %j', (entry) => {
    const e = caught(() => buildEnv([], [entry], 'h', false, '/'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    // JSON-quoted: the tab shows as \t, the message stays one line
    expect(e.message).toBe(`Expected KEY=VALUE for --env but received ${JSON.stringify(entry)}`);
  });
});

describe('resolveUser', () => {
  let tmp: string;
  let top: string;
  let lower: string;
  let empty: string;

  const PASSWD = [
    'root:x:0:0:root:/root:/bin/sh',
    'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
    'alice:x:1000:1000:Alice:/home/alice:/bin/sh',
    'bob:x:1001:100::/home/bob:/bin/sh',
    'nohome:x:1002:1002:::/bin/sh',
    '',
  ].join('\n');
  const GROUP = [
    'root:x:0:',
    'daemon:x:1:',
    'users:x:100:alice',
    'wheel:x:10:root,alice',
    'docker:x:999:bob,alice',
    'alice:x:1000:',
    'staff:x:50:',
    '',
  ].join('\n');

  function layer(name: string, files: Record<string, string>): string {
    const dir = path.join(tmp, name);
    for (const [rel, content] of Object.entries(files)) {
      fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), content);
    }
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-user-'));
    // the top layer replaces /etc/passwd only; /etc/group comes from the lower layer
    top = layer('top', { 'etc/passwd': PASSWD.replace('alice:x:1000:1000:', 'alice:x:2000:1000:') });
    lower = layer('lower', { 'etc/passwd': PASSWD, 'etc/group': GROUP });
    empty = layer('empty', {});
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('defaults to root, taking home from /etc/passwd', () => {
    expect(resolveUser(undefined, [lower])).toEqual({ uid: 0, gid: 0, groups: [0, 10], home: '/root' });
  });

  it('is root with home /root when the image has no /etc/passwd', () => {
    expect(resolveUser(undefined, [empty])).toEqual({ uid: 0, gid: 0, groups: [0], home: '/root' });
    expect(resolveUser('0', [])).toEqual({ uid: 0, gid: 0, groups: [0], home: '/root' });
  });

  it('takes a numeric uid that is not in /etc/passwd with gid 0 and home /', () => {
    expect(resolveUser('4242', [lower])).toEqual({ uid: 4242, gid: 0, groups: [0], home: '/' });
  });

  it('takes uid:gid numerically', () => {
    expect(resolveUser('4242:77', [lower])).toEqual({ uid: 4242, gid: 77, groups: [77], home: '/' });
  });

  it('finds the passwd entry of a numeric uid (gid, home, supplementary groups)', () => {
    const u = resolveUser('1000', [lower]);
    expect(u.uid).toBe(1000);
    expect(u.gid).toBe(1000);
    expect(u.home).toBe('/home/alice');
    expect([...u.groups].sort((a, b) => a - b)).toEqual([10, 100, 999, 1000]);
  });

  it('resolves a name with its primary and supplementary groups from /etc/group', () => {
    const u = resolveUser('alice', [lower]);
    expect(u).toMatchObject({ uid: 1000, gid: 1000, home: '/home/alice' });
    expect(u.groups[0]).toBe(1000); // primary first
    expect([...u.groups].sort((a, b) => a - b)).toEqual([10, 100, 999, 1000]);
    const bob = resolveUser('bob', [lower]);
    expect(bob).toMatchObject({ uid: 1001, gid: 100, home: '/home/bob' });
    expect([...bob.groups].sort((a, b) => a - b)).toEqual([100, 999]);
  });

  it('does not take a member list entry that only contains the name as a substring', () => {
    const dir = layer('substr', {
      'etc/passwd': 'al:x:3000:3000::/home/al:/bin/sh\n',
      'etc/group': 'g1:x:3001:alice,albert\ng2:x:3002:al\n',
    });
    expect(resolveUser('al', [dir]).groups.sort()).toEqual([3000, 3002]);
  });

  it('uses home / for an entry with an empty home field', () => {
    expect(resolveUser('nohome', [lower]).home).toBe('/');
  });

  it('resolves name:group, with no supplementary groups (as runc)', () => {
    expect(resolveUser('alice:staff', [lower])).toEqual({ uid: 1000, gid: 50, groups: [50], home: '/home/alice' });
    expect(resolveUser('alice:999', [lower])).toEqual({ uid: 1000, gid: 999, groups: [999], home: '/home/alice' });
    expect(resolveUser('4242:staff', [lower])).toEqual({ uid: 4242, gid: 50, groups: [50], home: '/' });
  });

  it('refuses an unknown user name, suggesting a numeric uid', () => {
    const e = caught(() => resolveUser('mallory', [lower]));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('Unable to find user "mallory": no matching entry in the image\'s /etc/passwd; give a numeric uid instead');
    expect(() => resolveUser('alice', [empty])).toThrow('Unable to find user "alice"');
  });

  it('refuses an unknown group name, suggesting a numeric gid', () => {
    const e = caught(() => resolveUser('alice:nogroup', [lower]));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('Unable to find group "nogroup": no matching entry in the image\'s /etc/group; give a numeric gid instead');
  });

  it('refuses an empty user part', () => {
    const e = caught(() => resolveUser(':100', [lower]));
    expect(e.message).toBe('Expected uid[:gid] or name[:group] for --user but received ":100"');
  });

  it('refuses uids and gids beyond 4294967294', () => {
    expect(() => resolveUser('4294967295', [lower])).toThrow('Expected uid[:gid] below 4294967295 for --user');
    expect(() => resolveUser('0:4294967295', [lower])).toThrow('below 4294967295');
    expect(resolveUser('4294967294:4294967294', [lower])).toMatchObject({ uid: 4294967294, gid: 4294967294 });
  });

  it('reads each file from the topmost layer that has it', () => {
    // passwd from the top layer (alice is 2000 there), group from the lower one
    const u = resolveUser('alice', [top, lower]);
    expect(u.uid).toBe(2000);
    expect(u.gid).toBe(1000);
    expect([...u.groups].sort((a, b) => a - b)).toEqual([10, 100, 999, 1000]);
    // order matters: the first layer given is the top
    expect(resolveUser('alice', [lower, top]).uid).toBe(1000);
    // layers without the files are skipped
    expect(resolveUser('alice', [empty, lower]).uid).toBe(1000);
  });

  it("treats a directory where the file should be as hiding the lower layers' file, as overlay does", () => {
    const weird = path.join(tmp, 'weird');
    fs.mkdirSync(path.join(weird, 'etc', 'passwd'), { recursive: true });
    expect(() => resolveUser('alice', [weird, lower])).toThrow(/Unable to find user "alice"/);
  });

  // Regression test (a bug found in src/runtime/options.ts resolveUser): an empty group after the colon matches the empty
  // line every /etc/group ends with (and the [''] of a missing file), so the gid becomes
  // Number(undefined) = NaN and passes the range check (NaN > 0xfffffffe is false).
  it('refuses an empty group ("alice:") instead of returning gid NaN', () => {
    expect(() => resolveUser('alice:', [lower])).toThrow(BerthError);
  });

  // Regression test (a bug found in src/runtime/options.ts readLayerFile): a whiteout (0/0 character device, as the layer
  // writer stores deletions) in an upper layer hides the lower layer's file from the container, but
  // readLayerFile only asks `isFile()`, skips the whiteout and reads the deleted /etc/passwd below.
  const root = process.getuid?.() === 0;
  it.runIf(root)('(fixture check) a whiteout exists above a lower /etc/passwd', () => {
    const wh = path.join(tmp, 'whiteout');
    fs.mkdirSync(path.join(wh, 'etc'), { recursive: true });
    if (!fs.existsSync(path.join(wh, 'etc', 'passwd'))) execFileSync('mknod', [path.join(wh, 'etc', 'passwd'), 'c', '0', '0']);
    const st = fs.lstatSync(path.join(wh, 'etc', 'passwd'));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    // without the whiteout layer alice resolves
    expect(resolveUser('alice', [lower]).uid).toBe(1000);
  });
  it.runIf(root)('treats a whiteout of /etc/passwd in an upper layer as "no /etc/passwd"', () => {
    const wh = path.join(tmp, 'whiteout');
    fs.mkdirSync(path.join(wh, 'etc'), { recursive: true });
    if (!fs.existsSync(path.join(wh, 'etc', 'passwd'))) execFileSync('mknod', [path.join(wh, 'etc', 'passwd'), 'c', '0', '0']);
    expect(() => resolveUser('alice', [wh, lower])).toThrow('Unable to find user "alice"');
  });
});

describe('parseLimits', () => {
  it('returns no limits for no options', () => {
    expect(parseLimits({ image: 'x' })).toEqual({});
  });

  it('parses strings like the CLI gives them', () => {
    const l = parseLimits({
      image: 'x',
      memory: '64m',
      memorySwap: '128m',
      cpus: '0.5',
      cpuShares: '512',
      pidsLimit: '100',
      cpusetCpus: '0',
    });
    expect(l).toEqual({ memory: 64 * M, memorySwap: 128 * M, cpus: 0.5, cpuShares: 512, pidsLimit: 100, cpusetCpus: '0' });
  });

  it('takes numbers from the API (memory in bytes)', () => {
    const l = parseLimits({ image: 'x', memory: 64 * M, memorySwap: -1, cpus: 2, cpuShares: 1024, pidsLimit: -1 });
    expect(l).toEqual({ memory: 64 * M, memorySwap: -1, cpus: 2, cpuShares: 1024, pidsLimit: -1 });
  });

  it('checks a numeric memory against the 6m minimum and against being a byte count', () => {
    expect(() => parseLimits({ image: 'x', memory: 1024 })).toThrow(
      'Expected a memory size of at least 6m for --memory but received "1024"',
    );
    expect(() => parseLimits({ image: 'x', memory: -1 })).toThrow(BerthError);
    expect(() => parseLimits({ image: 'x', memory: Number.NaN })).toThrow(BerthError);
  });

  it('checks the swap limit against the memory limit', () => {
    expect(() => parseLimits({ image: 'x', memory: '64m', memorySwap: '32m' })).toThrow('at least as large as --memory');
    expect(() => parseLimits({ image: 'x', memorySwap: '128m' })).toThrow('a --memory limit as well');
    expect(parseLimits({ image: 'x', memorySwap: -1 })).toEqual({ memorySwap: -1 });
  });

  it('validates each option with its own message', () => {
    expect(() => parseLimits({ image: 'x', memory: '6x4' })).toThrow(
      'Expected a memory size like 64m, 512k or 1g for --memory but received "6x4"',
    );
    expect(() => parseLimits({ image: 'x', cpus: 0 })).toThrow('for --cpus but received "0"');
    expect(() => parseLimits({ image: 'x', cpuShares: 1 })).toThrow('for --cpu-shares but received "1"');
    expect(() => parseLimits({ image: 'x', pidsLimit: 0 })).toThrow('for --pids-limit but received "0"');
    expect(() => parseLimits({ image: 'x', cpusetCpus: '1-0' })).toThrow('for --cpuset-cpus but received "1-0"');
  });

  it("checks --cpuset-cpus against this machine's online CPUs and normalizes it", () => {
    expect(() => parseLimits({ image: 'x', cpusetCpus: '8191' })).toThrow('CPUs this machine has');
    expect(parseLimits({ image: 'x', cpusetCpus: '0,0' }).cpusetCpus).toBe('0');
  });
});
