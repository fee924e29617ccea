import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BerthError } from '../../src/errors';
import { normalizeArgv } from '../../src/cli/command';
import { Berth } from '../../src/index';
import { checkContainerOptions } from '../../src/runtime/option-checks';
import { describe as describeValue, oneLine, quote } from '../../src/util/quote';
import { parseSignal, parseStopTimeout } from '../../src/util/signals';
import { caught } from '../helpers/caught';
import type arg = require('arg');

// The checks run before anything that needs root; getuid is faked so that this file runs as
// anyone, and the roots are plain temp dirs: whatever a check lets through would show up in them.
let base: string;
let root: string;
let runRoot: string;
let berth: Berth;
beforeAll(() => {
  // getuid is optional in Node's types (absent on Windows)
  vi.spyOn(process as { getuid(): number }, 'getuid').mockReturnValue(0);
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-validation-'));
  root = path.join(base, 'root');
  runRoot = path.join(base, 'run');
  berth = new Berth({ root, runRoot });
});
afterAll(() => {
  vi.restoreAllMocks();
  fs.rmSync(base, { recursive: true, force: true });
});
// Nothing a refused call does may touch the disk: the roots (not made by the constructor) stay absent.
afterEach(() => {
  expect(fs.readdirSync(base)).toEqual([]);
});

async function rejected(fn: () => unknown): Promise<BerthError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BerthError);
    return e as BerthError;
  }
  throw new Error('expected a BerthError, nothing was thrown');
}

/** The call fails with INVALID_ARGUMENT and exactly this one-line message. */
async function refused(fn: () => unknown, message: string | RegExp): Promise<void> {
  const e = await rejected(fn);
  expect(e.code).toBe('INVALID_ARGUMENT');
  expect(e.message).not.toMatch(/[\n\r]/);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
}

describe('quoting of values in messages', () => {
  it('keeps every value on one line and shows what it is', () => {
    expect(quote('a\nb')).toBe('"a\\nb"');
    expect(quote('a\0b')).toBe('"a\\u0000b"');
    expect(quote('\u001b[2J\u009b1m\u2028')).toBe('"\\u001b[2J\\u009b1m\\u2028"');
    expect(quote('x'.repeat(500))).toBe(`"${'x'.repeat(200)}…"`);
    expect(quote(NaN)).toBe('NaN');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(quote(circular)).toBe('[object Object]');
    expect(describeValue('true')).toBe('a string "true"');
    expect(describeValue({ uid: 0 })).toBe('an object {"uid":0}');
    expect(describeValue([1])).toBe('an array [1]');
    expect(describeValue(Infinity)).toBe('a number Infinity');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(new Date(0))).toBe('a Date "1970-01-01T00:00:00.000Z"');
    expect(oneLine('No such container: a\nb\r\u001b')).toBe('No such container: a\\nb\\r\\u001b');
  });
});

describe('container options at the API boundary', () => {
  const run = (o: unknown) => () => berth.run(o as never);

  it('refuses what the C++ side would cut at a NUL', async () => {
    await refused(
      run({ image: 'busybox', env: ['A=b\0c'] }),
      'Expected env[0] to be a string without NUL bytes but received "A=b\\u0000c"; the system would cut it at the NUL',
    );
    await refused(
      run({ image: 'busybox', env: { A: 'b\0c' } }),
      /^Expected env\["A"\] to be a string without NUL bytes but received "b\\u0000c"/,
    );
    await refused(run({ image: 'busybox', cmd: ['a\0b'] }), /^Expected cmd\[0\] to be a string without NUL bytes but received "a\\u0000b"/);
    await refused(run({ image: 'busybox', workdir: '/tmp\0x' }), /^Expected workdir to be a string without NUL bytes/);
    await refused(run({ image: 'busybox', volumes: ['/tmp\0x:/data'] }), /^Expected volumes\[0\] to be a string without NUL bytes/);
    await refused(
      run({ image: 'busybox', volumes: [{ hostPath: '/tmp', containerPath: '/d\0' }] }),
      /^Expected volumes\[0\]\.containerPath to be a string without NUL/,
    );
    for (const key of ['image', 'name', 'hostname', 'user', 'entrypoint', 'network', 'cpusetCpus', 'restart']) {
      await refused(run({ image: 'busybox', [key]: 'x\0y' }), new RegExp(`^Expected ${key} to be a string without NUL bytes`));
    }
    await refused(run({ image: 'busybox', securityOpt: ['no-new-privileges\0'] }), /^Expected securityOpt\[0\] to be a string without NUL/);
  });

  it('names the field, what it takes and what it got, instead of a TypeError', async () => {
    await refused(
      run({ image: 'busybox', cmd: 'true' }),
      'Expected cmd to be an array of strings but received a string "true"; pass ["true"]',
    );
    await refused(
      run({ image: 'busybox', user: { uid: 0 } }),
      'Expected user to be a string uid[:gid] or name[:group] but received an object {"uid":0}; pass "0"',
    );
    await refused(run({ image: 'busybox', user: { uid: 1000, gid: 100 } }), /; pass "1000:100"$/);
    await refused(
      run({ image: 'busybox', user: 0 }),
      'Expected user to be a string uid[:gid] or name[:group] but received a number 0; pass "0"',
    );
    await refused(run({ image: {} }), 'Expected image to be an image reference like busybox or busybox:latest but received an object {}');
    await refused(run({ cmd: ['true'] }), 'Expected image to be an image reference like busybox or busybox:latest but received undefined');
    await refused(run({ image: '' }), /^Expected image to be .* but received a string ""$/);
    await refused(run(null), 'Expected the options of run() to be an object but received null');
    await refused(
      run({ image: 'busybox', env: 'A=b' }),
      'Expected env to be an array of KEY=VALUE strings or an object of strings but received a string "A=b"',
    );
    await refused(run({ image: 'busybox', env: { A: 1 } }), 'Expected env["A"] to be a string but received a number 1; pass "1"');
    await refused(run({ image: 'busybox', tty: 'yes' }), 'Expected tty to be true or false but received a string "yes"');
    await refused(
      run({ image: 'busybox', volumes: '/a:/b' }),
      'Expected volumes to be an array of volumes but received a string "/a:/b"; pass ["/a:/b"]',
    );
    await refused(
      run({ image: 'busybox', volumes: [{ hostPath: '/a' }] }),
      'Expected volumes[0].containerPath to be a non-empty string but received undefined',
    );
    await refused(
      run({ image: 'busybox', volumes: [{ hostPath: '/a', containerPath: '/b', ro: true }] }),
      /^Unknown option "ro" in volumes\[0\]; /,
    );
    await refused(
      run({ image: 'busybox', stdout: 'pipes' }),
      'Expected stdout to be "pipe", "inherit" or "ignore" but received a string "pipes"',
    );
    await refused(run({ image: 'busybox', stdin: -1 }), /^Expected stdin to be an integer from 0 to 2147483647 but received a number -1$/);
    await refused(
      run({ image: 'busybox', ttySize: [0, 80] }),
      'Expected ttySize[0] to be an integer from 1 to 65535 but received a number 0',
    );
    await refused(run({ image: 'busybox', ttySize: 24 }), 'Expected ttySize to be a pair [rows, cols] but received a number 24');
  });

  it('refuses NaN, Infinity, negative and fractional numbers where a count or size is meant', async () => {
    await refused(run({ image: 'busybox', memory: NaN }), 'Expected memory to be a number but received a number NaN');
    await refused(run({ image: 'busybox', cpus: Infinity }), 'Expected cpus to be a number but received a number Infinity');
    await refused(run({ image: 'busybox', memory: {} }), 'Expected memory to be a string or a finite number but received an object {}');
    await refused(run({ image: 'busybox', cpus: -1 }), 'Expected a number of CPUs from 0.01, like 0.5 or 2 for --cpus but received "-1"');
    await refused(
      run({ image: 'busybox', cpus: 10_000 }),
      /^Expected a number of CPUs from 0\.01 to \d+\.00 for --cpus but received "10000": there (is|are) only/,
    );
    await refused(
      run({ image: 'busybox', pidsLimit: 1.5 }),
      'Expected a positive integer, or -1 for unlimited for --pids-limit but received "1.5"',
    );
    await refused(run({ image: 'busybox', cpuShares: -5 }), /for --cpu-shares but received "-5"$/);
    await refused(
      run({ image: 'busybox', user: '4294967295' }),
      'Expected uid[:gid] below 4294967295 for --user but received "4294967295"',
    );
    await refused(run({ image: 'busybox', user: '0:' }), 'Expected uid[:gid] or name[:group] for --user but received "0:"');
  });

  it('quotes a newline in a value instead of printing it', async () => {
    await refused(
      run({ image: 'busybox', name: 'a\nb' }),
      'Expected a container name of letters, digits, _ . - for --name but received "a\\nb"',
    );
    await refused(run({ image: 'busybox', name: '' }), 'Expected a container name of letters, digits, _ . - for --name but received ""');
    await refused(
      run({ image: 'busybox', hostname: 'a\nb' }),
      'Expected a hostname of letters, digits, dots and dashes (at most 63) for --hostname but received "a\\nb"',
    );
    await refused(run({ image: 'busybox', env: ['A\nB=c'] }), 'Expected KEY=VALUE for --env but received "A\\nB=c"');
    await refused(run({ image: 'busybox', workdir: 'tmp\n' }), 'Expected an absolute path for --workdir but received "tmp\\n"');
    await refused(
      run({ image: 'busybox', volumes: ['./rel\n:/data'] }),
      'Expected an absolute host path for --volume but received "./rel\\n"; write it as $PWD/./rel\\n',
    );
    await refused(run({ image: 'busybox', volumes: ['rel\n:/data'] }), /^"rel\\n" includes invalid characters for a local volume name/);
    await refused(run({ image: 'busybox', restart: 'always\n' }), /for --restart but received "always\\n"$/);
    await refused(
      run({ image: 'busybox', pull: 'sometimes\n' }),
      'Expected missing, always or never for --pull but received "sometimes\\n"',
    );
  });

  it('refuses env object keys that would become another key', async () => {
    await refused(run({ image: 'busybox', env: { 'A=B': 'c' } }), 'Expected keys without "=" for env but received "A=B"');
  });

  it('refuses unknown options: a misspelt limit is no limit', async () => {
    await refused(run({ image: 'busybox', memroy: '64m' }), 'Unknown option "memroy" in the options of run(); did you mean "memory"?');
    await refused(run({ image: 'busybox', Cmd: ['true'] }), 'Unknown option "Cmd" in the options of run(); did you mean "cmd"?');
    await refused(
      () => berth.runDetached({ image: 'busybox', stdout: 'pipe' } as never),
      /^Unknown option "stdout" in the options of runDetached\(\); the known ones are .*\bimage\b/,
    );
    await refused(
      () => berth.spawn({ image: 'busybox', frobnicate: 1 } as never),
      /^Unknown option "frobnicate" in the options of spawn\(\); the known ones are .*\bimage\b.*\bpublishAll\b/,
    );
    // set to undefined counts as not set, as a TypeScript optional property does
    expect(() => checkContainerOptions({ image: 'busybox', name: undefined, cmd: undefined }, 'run()', false)).not.toThrow();
  });

  it('checks exec options before looking for the container', async () => {
    const exec = (o: unknown) => () => berth.exec('nosuch', o as never);
    await refused(exec({ cmd: 'ls' }), 'Expected cmd to be a non-empty array of strings but received a string "ls"; pass ["ls"]');
    await refused(exec({ cmd: [] }), 'Expected cmd to be a non-empty array of strings but received an array []');
    await refused(exec({}), 'Expected cmd to be a non-empty array of strings but received undefined');
    await refused(exec({ cmd: ['ls'], env: { A: 'x\0' } }), /^Expected env\["A"\] to be a string without NUL bytes/);
    await refused(exec({ cmd: ['ls'], user: 5 }), /but received a number 5; pass "5"$/);
    await refused(exec({ cmd: ['ls'], workdir: 'rel' }), 'Expected an absolute path for --workdir but received "rel"');
    await refused(exec({ cmd: ['ls'], detach: true }), /^Unknown option "detach" in the options of exec\(\)/);
    await refused(() => berth.exec('a\0b', { cmd: ['ls'] }), /^Expected ref to be a string without NUL bytes/);
  });
});

describe('signals and timeouts', () => {
  it("knows docker's names, with or without SIG, in any case, and the real-time ones", () => {
    expect(parseSignal('SIGTERM')).toBe(15);
    expect(parseSignal('term')).toBe(15);
    expect(parseSignal('CLD')).toBe(17);
    expect(parseSignal('SIGRTMIN')).toBe(34);
    expect(parseSignal('SIGRTMIN+3')).toBe(37);
    expect(parseSignal('rtmin+15')).toBe(49);
    expect(parseSignal('RTMAX-14')).toBe(50);
    expect(parseSignal('SIGRTMAX')).toBe(64);
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal(64)).toBe(64);
  });

  it.each(['99999', '0', '65', 'SIGFOO', '', 'SIGRTMIN+16', 'RTMAX-15', '-9', '1.5', 'SIG', 'TERM\n'])('refuses %j', (bad) => {
    const e = caught(() => parseSignal(bad));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(
      `Expected a signal like SIGTERM, TERM, 15 or SIGRTMIN+3 (numbers 1 to 64) for --signal but received ${JSON.stringify(bad)}`,
    );
  });

  it('refuses a bad signal before the container is looked up (not "not running")', async () => {
    await refused(() => berth.kill('nosuch', 99999), /^Expected a signal like SIGTERM.* but received 99999$/);
    await refused(() => berth.kill('nosuch', 'SIGFOO'), /but received "SIGFOO"$/);
    await refused(() => berth.kill('nosuch', NaN), /but received NaN$/);
  });

  it('takes whole seconds from the CLI, finite seconds from 0 from the API', async () => {
    expect(parseStopTimeout('10')).toBe(10);
    expect(parseStopTimeout(0.5, 'timeout')).toBe(0.5);
    for (const bad of ['abc', '', '-1', '1.5', '1e3', NaN, -1, Infinity, '9'.repeat(400)]) {
      expect(caught(() => parseStopTimeout(bad)).message).toBe(
        `Expected a number of seconds from 0, like 10, for --time but received ${quote(bad)}`,
      );
    }
    await refused(
      () => berth.stop('nosuch', { timeout: NaN }),
      'Expected a number of seconds from 0, like 10, for timeout but received NaN',
    );
    await refused(() => berth.restart('nosuch', { timeout: -1 }), /for timeout but received -1$/);
    await refused(
      () => berth.stop('nosuch', { time: 1 } as never),
      'Unknown option "time" in the options of stop(); did you mean "timeout"?',
    );
  });
});

describe('the roots and the other calls', () => {
  it('refuses a state root or run root that is a file, naming the fix', () => {
    const file = path.join(os.tmpdir(), `berth-root-file-${process.pid}`);
    fs.writeFileSync(file, 'x');
    try {
      expect(caught(() => new Berth({ root: file, runRoot })).message).toBe(
        `The state root ${file} is not a directory; pass --root a directory (or remove the file)`,
      );
      expect(caught(() => new Berth({ root, runRoot: file })).message).toBe(
        `The run root ${file} is not a directory; pass --runroot a directory (or remove the file)`,
      );
      expect(caught(() => new Berth({ root: `${file}/deeper`, runRoot })).message).toBe(
        `The state root ${file}/deeper is not a directory: ${file} is a file; pass --root a directory (or remove the file)`,
      );
      expect(fs.readFileSync(file, 'utf8')).toBe('x');
    } finally {
      fs.rmSync(file);
    }
    // absent roots are fine, and made on first use only
    expect(() => new Berth({ root: path.join(base, 'later'), runRoot })).not.toThrow();
  });

  it('checks the options of new Berth()', () => {
    expect(caught(() => new Berth({ root, runRoot, cgroupParent: '../escape' })).message).toBe(
      'Expected a cgroup name like berth or system.slice/berth (names, no ".." parts) for --cgroup-parent but received "../escape"',
    );
    expect(() => new Berth({ root, runRoot, cgroupParent: '/system.slice/berth' })).not.toThrow();
    expect(caught(() => new Berth({ root, runroot: runRoot } as never)).message).toBe(
      'Unknown option "runroot" in the options of new Berth(); did you mean "runRoot"?',
    );
    expect(caught(() => new Berth({ root: 5 } as never)).message).toBe(
      'Expected root to be a non-empty string but received a number 5; pass "5"',
    );
    expect(caught(() => new Berth({ root, runRoot, cniPath: '/opt/cni/bin' } as never)).message).toMatch(
      /^Expected cniPath to be an array of strings .*; pass \["\/opt\/cni\/bin"\]$/,
    );
  });

  it('checks references, names and paths of every call before using them', async () => {
    await refused(() => berth.remove('a\0b'), /^Expected ref to be a string without NUL bytes/);
    await refused(() => berth.inspect(''), 'Expected ref to be a non-empty string but received a string ""');
    await refused(() => berth.removeImage(5 as never), 'Expected ref to be a non-empty string but received a number 5; pass "5"');
    await refused(() => berth.importImage('/tmp/x.tar\0', 'busybox'), /^Expected tarPath to be a string without NUL/);
    await refused(() => berth.tagImage('busybox', {} as never), 'Expected newRef to be a non-empty string but received an object {}');
    await refused(
      () => berth.saveImages('busybox' as never, '/tmp/x.tar'),
      'Expected refs to be a non-empty array of strings but received a string "busybox"; pass ["busybox"]',
    );
    await refused(
      () => berth.remove('x', { froce: true } as never),
      'Unknown option "froce" in the options of remove(); did you mean "force"?',
    );
    await refused(() => berth.logs('x', { tail: -1 }), 'Expected tail to be an integer of at least 0 but received a number -1');
    await refused(
      () => berth.pullImage('busybox', { concurrency: 0 }),
      'Expected concurrency to be an integer from 1 to 64 but received a number 0',
    );
    await refused(
      () => berth.pullImage('busybox', { credentials: { username: 'u' } as never }),
      'Expected credentials.password to be a string but received undefined',
    );
    await refused(
      () => berth.createNetwork({ name: 'n', internal: 'yes' } as never),
      'Expected internal to be true or false but received a string "yes"',
    );
    await refused(() => berth.connectNetwork('n', 'c', { ip: 5 } as never), 'Expected ip to be a string but received a number 5; pass "5"');
  });
});

describe('CLI flags given as --flag=value', () => {
  const spec: arg.Spec = {
    '--memory': String,
    '-m': '--memory',
    '--env': [String] as [StringConstructor],
    '--rm': Boolean,
    '--detach': Boolean,
    '-d': '--detach',
  };

  it('keeps a value with a line break whole (arg alone cut it at the break)', () => {
    expect(normalizeArgv(spec, ['--memory=1\nm', 'busybox'], true)).toEqual(['--memory', '1\nm', 'busybox']);
    expect(normalizeArgv(spec, ['--env=A=b\r\nc'], false)).toEqual(['--env', 'A=b\r\nc']);
    expect(normalizeArgv(spec, ['--memory=64m'], false)).toEqual(['--memory=64m']);
  });

  it("reads a Boolean flag's value as docker does, and refuses other values", () => {
    expect(normalizeArgv(spec, ['--rm=false', '--detach=true', 'busybox'], true)).toEqual(['--detach', 'busybox']);
    expect(normalizeArgv(spec, ['--rm=0', '--rm=T'], false)).toEqual(['--rm']);
    const e = caught(() => normalizeArgv(spec, ['--rm=no'], false));
    expect([e.code, e.message]).toEqual(['INVALID_ARGUMENT', 'Expected true or false for --rm but received "no"']);
  });

  it('leaves values of String flags and the container command alone', () => {
    // "-m --rm=x": --rm=x is -m's value (joined with "=", or arg would take it for a flag); after
    // the image, everything is the command's
    expect(normalizeArgv(spec, ['-m', '--rm=x', 'busybox', 'sh', '--rm=no', '--memory=a\nb'], true)).toEqual([
      '--memory=--rm=x',
      'busybox',
      'sh',
      '--rm=no',
      '--memory=a\nb',
    ]);
    expect(normalizeArgv(spec, ['--', '--rm=no'], false)).toEqual(['--', '--rm=no']);
  });
});

describe('image limits given to the Berth', () => {
  it('checks maxLayerSize and registryTimeouts, and the store applies the cap', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-limits-'));
    try {
      expect(caught(() => new Berth({ root: path.join(dir, 'r'), registryTimeouts: { conect: 1 } as never })).message).toBe(
        'Unknown option "conect" in registryTimeouts; did you mean "connect"?',
      );
      expect(caught(() => new Berth({ root: path.join(dir, 'r'), maxLayerSize: -1 })).code).toBe('INVALID_ARGUMENT');
      const small = new Berth({ root: path.join(dir, 'r'), runRoot: path.join(dir, 'run'), maxLayerSize: 1000 });
      const tar = path.join(dir, 'layer.tar');
      fs.writeFileSync(tar, Buffer.concat([Buffer.alloc(512, 0x61), Buffer.alloc(4096)]));
      const e = await small.importImage(tar, 'tiny').then(
        () => undefined,
        (err: unknown) => err as BerthError,
      );
      expect(e?.message).toMatch(/inflates past the 1000 bytes limit of uncompressed layer size; raise it with BERTH_MAX_LAYER_SIZE/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
