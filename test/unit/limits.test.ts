import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import {
  MIN_MEMORY,
  formatCpuList,
  onlineCpus,
  parseBytes,
  parseCpuList,
  parseCpuShares,
  parseCpus,
  parseCpuset,
  parseMemory,
  parseMemorySwap,
  parsePidsLimit,
} from '../../src/runtime/limits';
import { caught } from '../helpers/caught';

const K = 1024;
const M = 1024 ** 2;
const G = 1024 ** 3;

describe('parseBytes', () => {
  it.each([
    ['1048576', 1048576],
    ['0', 0],
    ['512k', 512 * K],
    ['512K', 512 * K],
    ['64m', 64 * M],
    ['64M', 64 * M],
    ['1g', G],
    ['2t', 2 * 1024 ** 4],
    ['64MB', 64 * M],
    ['64mb', 64 * M],
    ['64MiB', 64 * M],
    ['64mib', 64 * M],
    ['1KiB', K],
    ['100b', 100],
    [' 64m ', 64 * M],
    ['64 m', 64 * M],
    ['1.5g', 1.5 * G],
    ['0.5k', 512],
    ['1.7', 1], // fractions of a byte are dropped
  ])('%j is %d bytes', (input, bytes) => {
    expect(parseBytes(input, '--memory')).toBe(bytes);
  });

  it.each([
    '6x4',
    '',
    '   ',
    '-1',
    '-64m',
    'm',
    '64mm',
    '64kb2',
    '1,5g',
    '0x10',
    '1e3',
    '64p',
    '.5m',
    '5.m',
    '64\nm',
    '64m\n',
    '\u00a064m',
  ])('refuses %j naming the option and the value', (input) => {
    const e = caught(() => parseBytes(input, '--shm-size'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Expected a memory size like 64m, 512k or 1g for --shm-size but received ${JSON.stringify(input)}`);
  });

  it('refuses sizes beyond what a double holds exactly', () => {
    const e = caught(() => parseBytes('99999999t', '--memory'));
    expect(e.message).toBe('Expected a memory size like 64m, 512k or 1g for --memory but received "99999999t"');
    // the largest exactly representable size still parses
    expect(parseBytes(String(Number.MAX_SAFE_INTEGER), '--memory')).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('parseMemory', () => {
  it('parses docker-style sizes', () => {
    expect(parseMemory('64m')).toBe(64 * M);
    expect(parseMemory('1g')).toBe(G);
    expect(parseMemory('64MiB')).toBe(64 * M);
    expect(parseMemory(String(MIN_MEMORY))).toBe(MIN_MEMORY);
  });

  it('accepts exactly 6m, the minimum', () => {
    expect(MIN_MEMORY).toBe(6 * M);
    expect(parseMemory('6m')).toBe(6 * M);
    expect(parseMemory('6144k')).toBe(6 * M);
  });

  it('uses the exact message shape for a malformed size', () => {
    const e = caught(() => parseMemory('6x4'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('Expected a memory size like 64m, 512k or 1g for --memory but received "6x4"');
  });

  it.each(['', '-1'])('refuses %j as malformed', (input) => {
    expect(caught(() => parseMemory(input)).message).toBe(
      `Expected a memory size like 64m, 512k or 1g for --memory but received "${input}"`,
    );
  });

  it.each(['512k', '5m', '0', String(MIN_MEMORY - 1), '6143k'])('refuses %j, below 6m', (input) => {
    const e = caught(() => parseMemory(input));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Expected a memory size of at least 6m for --memory but received "${input}"`);
  });

  it('names the option it was given', () => {
    expect(caught(() => parseMemory('1k', '-m')).message).toBe('Expected a memory size of at least 6m for -m but received "1k"');
  });
});

describe('parseMemorySwap', () => {
  it('takes -1 as unlimited swap, with or without a memory limit', () => {
    expect(parseMemorySwap('-1', 64 * M)).toBe(-1);
    expect(parseMemorySwap('-1', undefined)).toBe(-1);
    expect(parseMemorySwap(' -1 ', 64 * M)).toBe(-1);
  });

  it('returns memory plus swap in bytes', () => {
    expect(parseMemorySwap('128m', 64 * M)).toBe(128 * M);
    expect(parseMemorySwap('1g', 64 * M)).toBe(G);
  });

  it('accepts a total equal to memory (no swap at all)', () => {
    expect(parseMemorySwap('64m', 64 * M)).toBe(64 * M);
  });

  it('refuses a total below the memory limit, naming the memory limit in bytes', () => {
    const e = caught(() => parseMemorySwap('32m', 64 * M));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Expected a size at least as large as --memory (${64 * M} bytes) for --memory-swap but received "32m"`);
  });

  it('refuses a swap limit without a memory limit', () => {
    const e = caught(() => parseMemorySwap('128m', undefined));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^Expected a --memory limit as well .* for --memory-swap but received "128m"$/);
  });

  it('refuses malformed sizes before anything else', () => {
    expect(caught(() => parseMemorySwap('lots', undefined)).message).toBe(
      'Expected a memory size like 64m, 512k or 1g for --memory-swap but received "lots"',
    );
    expect(caught(() => parseMemorySwap('-2', 64 * M)).message).toBe(
      'Expected a memory size like 64m, 512k or 1g for --memory-swap but received "-2"',
    );
  });
});

describe('parseCpus', () => {
  it.each([
    ['0.5', 0.5],
    ['.5', 0.5],
    ['1', 1],
    ['1.5', 1.5],
    ['2', 2],
    [' 3 ', 3],
    ['1024', 1024],
    ['0.01', 0.01],
  ])('%j is %d CPUs (on a 1024-CPU host)', (input, n) => {
    expect(parseCpus(input, 1024)).toBe(n);
  });

  it.each(['0', '0.0', '-1', '-0.5', 'abc', '', '1e1', '0x2', '1/2', 'NaN', 'Infinity', '1.2.3', '1\n2'])('refuses %j', (input) => {
    const e = caught(() => parseCpus(input, 1024));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Expected a number of CPUs from 0.01, like 0.5 or 2 for --cpus but received ${JSON.stringify(input)}`);
  });

  it('refuses more CPUs than the host has, as docker does', () => {
    expect(parseCpus('2', 2)).toBe(2);
    expect(caught(() => parseCpus('1000', 2)).message).toBe(
      'Expected a number of CPUs from 0.01 to 2.00 for --cpus but received "1000": there are only 2 CPUs available',
    );
    expect(caught(() => parseCpus('2.01', 2)).message).toMatch(/from 0\.01 to 2\.00 .*received "2\.01"/);
    expect(caught(() => parseCpus('1.5', 1)).message).toBe(
      'Expected a number of CPUs from 0.01 to 1.00 for --cpus but received "1.5": there is only 1 CPU available',
    );
    // the default is this machine's count
    const host = os.availableParallelism();
    expect(parseCpus(String(host))).toBe(host);
    expect(caught(() => parseCpus(String(host + 1))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('parseCpuShares', () => {
  it.each([
    ['2', 2],
    ['512', 512],
    ['1024', 1024],
    ['262144', 262144],
    [' 100 ', 100],
  ])('%j is %d', (input, n) => {
    expect(parseCpuShares(input)).toBe(n);
  });

  it.each(['0', '1', '262145', '-5', '1.5', 'abc', '', '1e3', '512\n'])('refuses %j', (input) => {
    const e = caught(() => parseCpuShares(input));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Expected an integer from 2 to 262144 for --cpu-shares but received ${JSON.stringify(input)}`);
  });
});

describe('parsePidsLimit', () => {
  it.each([
    ['1', 1],
    ['100', 100],
    ['-1', -1],
    [' 42 ', 42],
  ])('%j is %d', (input, n) => {
    expect(parsePidsLimit(input)).toBe(n);
  });

  it.each(['0', '-2', '1.5', 'max', '', 'ten', '\n42'])('refuses %j', (input) => {
    const e = caught(() => parsePidsLimit(input));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Expected a positive integer, or -1 for unlimited for --pids-limit but received ${JSON.stringify(input)}`);
  });
});

describe('parseCpuList / formatCpuList', () => {
  it.each([
    ['0', [0]],
    ['0-2', [0, 1, 2]],
    ['0-2,4', [0, 1, 2, 4]],
    ['1,3,5', [1, 3, 5]],
    ['0-1,3-4,7', [0, 1, 3, 4, 7]],
    ['4,0-2', [0, 1, 2, 4]], // sorted
    ['1,1,0-1', [0, 1]], // de-duplicated
    ['3-3', [3]],
    ['0-1\n', [0, 1]], // sysfs content ends in a newline
    [' 0-1 ', [0, 1]],
    ['0-1, 3', [0, 1, 3]], // spaces around a part are tolerated
    ['8191', [8191]],
  ])('%j expands to %j', (input, cpus) => {
    expect(parseCpuList(input)).toEqual(cpus);
  });

  it.each([
    ['0-2,4', '0-2,4'],
    ['0,1,2,4', '0-2,4'],
    ['4,2,0,1', '0-2,4'],
    ['0-3,5-7,9', '0-3,5-7,9'],
    ['5', '5'],
    ['0,2,4', '0,2,4'],
    ['1-2', '1-2'],
  ])('%j round-trips to %j', (input, canonical) => {
    const cpus = parseCpuList(input);
    expect(formatCpuList(cpus)).toBe(canonical);
    // the canonical form parses back to the same CPUs
    expect(parseCpuList(canonical)).toEqual(cpus);
  });

  it('formats an empty list as the empty string', () => {
    expect(formatCpuList([])).toBe('');
  });

  it.each(['', ' ', '2-1', 'a', '0-', '-1', '1,,2', '0-2,', '0;1', '1-2-3', '8192', '0-8192', '1.5'])('refuses %j', (input) => {
    const e = caught(() => parseCpuList(input));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Expected a CPU list like 0-1,3 for --cpuset-cpus but received ${JSON.stringify(input)}`);
  });

  it('names the option (or file) it was given', () => {
    expect(caught(() => parseCpuList('x', '/sys/x')).message).toBe('Expected a CPU list like 0-1,3 for /sys/x but received "x"');
  });
});

describe('parseCpuset', () => {
  const online = [0, 1, 2, 3, 6, 7];

  it('returns the canonical list of wanted CPUs that are online', () => {
    expect(parseCpuset('0-2', online)).toBe('0-2');
    expect(parseCpuset('3,1,2', online)).toBe('1-3');
    expect(parseCpuset('6-7,0', online)).toBe('0,6-7');
  });

  it('refuses CPUs the machine does not have, listing those it has', () => {
    const e = caught(() => parseCpuset('0-4', online));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('Expected CPUs this machine has (0-3,6-7) for --cpuset-cpus but received "0-4"');
    expect(() => parseCpuset('5', online)).toThrow(/CPUs this machine has \(0-3,6-7\)/);
    expect(() => parseCpuset('8', online)).toThrow(BerthError);
  });

  it('refuses malformed lists before checking online CPUs', () => {
    expect(caught(() => parseCpuset('x', online)).message).toBe('Expected a CPU list like 0-1,3 for --cpuset-cpus but received "x"');
    // a line break is no blank in a flag (the sysfs files parseCpuList also reads end in one)
    expect(caught(() => parseCpuset('0\n', online)).message).toBe('Expected a CPU list like 0-1,3 for --cpuset-cpus but received "0\\n"');
  });

  it('defaults to the online CPUs from sysfs (cpu 0 is always online)', () => {
    expect(parseCpuset('0')).toBe('0');
    expect(() => parseCpuset('8191')).toThrow(/CPUs this machine has/);
  });
});

describe('onlineCpus', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-limits-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a sysfs-format file', () => {
    const f = path.join(dir, 'online');
    fs.writeFileSync(f, '0-3,8\n');
    expect(onlineCpus(f)).toEqual([0, 1, 2, 3, 8]);
  });

  it('names the file when its content is malformed', () => {
    const f = path.join(dir, 'bad');
    fs.writeFileSync(f, 'garbage\n');
    expect(() => onlineCpus(f)).toThrow(`for ${f} but received`);
  });

  it('reads the real file by default', () => {
    const cpus = onlineCpus();
    expect(cpus.length).toBeGreaterThan(0);
    expect(cpus).toContain(0);
  });
});
