// The parsers of docker's resource run flags, on plain values, and the cgroup writes of a period.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeArgv } from '../../src/cli/command';
import { argSpec } from '../../src/cli/flags';
import { v2LimitWrites } from '../../src/runtime/cgroups/v2';
import { asFlagError, parseResourceFlags } from '../../src/runtime/resource-options';
import { resourcesOf } from '../../src/runtime/resource-spec';
import { BerthError } from '../../src/errors';

describe('resource flags', () => {
  it('turn quota and period into cpus of that period', () => {
    expect(parseResourceFlags({ cpuPeriod: '50000', cpuQuota: '25000' }, {})).toEqual({ cpuPeriod: 50000, cpus: 0.5 });
    expect(parseResourceFlags({ cpuQuota: 150000 }, {})).toEqual({ cpus: 1.5 });
    expect(parseResourceFlags({ cpuQuota: '-1' }, {})).toEqual({});
    expect(() => parseResourceFlags({ cpuPeriod: 1000 }, { cpus: 1 })).toThrow('Conflicting options: --cpus and --cpu-period/--cpu-quota');
    for (const bad of ['999', '1000001', '1.5', 'x'])
      expect(() => parseResourceFlags({ cpuPeriod: bad }, {}), bad).toThrow('for --cpu-period');
    for (const bad of ['0', '999', '-2']) expect(() => parseResourceFlags({ cpuQuota: bad }, {}), bad).toThrow('for --cpu-quota');
  });
  it('take memory flags as docker does', () => {
    expect(parseResourceFlags({ memoryReservation: '32m', memorySwappiness: '0', oomKillDisable: true }, { memory: 64 << 20 })).toEqual({
      memoryReservation: 32 << 20,
      memorySwappiness: 0,
      disableOOMKiller: true,
    });
    expect(parseResourceFlags({ memorySwappiness: -1 }, {})).toEqual({});
    expect(() => parseResourceFlags({ memoryReservation: '128m' }, { memory: 64 << 20 })).toThrow('a size at most --memory');
    expect(() => parseResourceFlags({ memorySwappiness: '101' }, {})).toThrow('for --memory-swappiness');
    expect(() => parseResourceFlags({ cpusetMems: '0-' }, {})).toThrow('for --cpuset-mems');
  });
  it('refuse block I/O values out of range and devices that are not block devices', () => {
    expect(parseResourceFlags({ blkioWeight: 0 }, {})).toEqual({});
    expect(parseResourceFlags({ blkioWeight: '10' }, {})).toEqual({ blockIO: { weight: 10 } });
    for (const bad of ['9', '1001', 'x']) expect(() => parseResourceFlags({ blkioWeight: bad }, {}), bad).toThrow('for --blkio-weight');
    expect(() => parseResourceFlags({ deviceReadBps: ['/dev/null:1mb'] }, {})).toThrow('"/dev/null" is not a block device');
    expect(() => parseResourceFlags({ deviceReadIops: ['relative:1'] }, {})).toThrow('with an absolute device path');
  });
  it('shows limits as linux.resources', () => {
    expect(resourcesOf({})).toBeUndefined();
    expect(resourcesOf({ cpus: 0.5, cpuPeriod: 50000, memory: 1 << 26, memorySwap: -1, pidsLimit: -1, disableOOMKiller: true })).toEqual({
      cpu: { quota: 25000, period: 50000 },
      memory: { limit: 1 << 26, swap: -1, disableOOMKiller: true },
      pids: { limit: -1 },
    });
  });
  it("name the flag in a cgroup manager's refusal", () => {
    const e = asFlagError(new BerthError('INVALID_ARGUMENT', 'config.json linux.resources.memory.swappiness: no such file; leave it out'));
    expect((e as Error).message).toBe('--memory-swappiness: no such file; leave it out');
    const other = new Error('x');
    expect(asFlagError(other)).toBe(other);
  });
});

describe('cgroup writes of a period', () => {
  it('v2 writes cpu.max with the period, "max" without a quota', () => {
    const w = (l: Parameters<typeof v2LimitWrites>[1]) => v2LimitWrites('/cg', l).find(([f]) => f === path.join('/cg', 'cpu.max'))?.[1];
    expect(w({ cpus: 0.5, cpuPeriod: 50000 })).toBe('25000 50000');
    expect(w({ cpuPeriod: 20000 })).toBe('max 20000');
    expect(w({ cpus: 2 })).toBe('200000 100000');
  });
});

describe('a value that starts with "-"', () => {
  it('is the value of the flag before it, as docker takes `--memory-swap -1` and `-c -5`', () => {
    const spec = argSpec([
      { name: '--memory-swap', kind: 'string', value: 'SIZE', help: '' },
      { name: '--cpu-shares', short: 'c', kind: 'string', value: 'N', help: '' },
      { name: '--rm', kind: 'boolean', help: '' },
    ]);
    expect(normalizeArgv(spec, ['--memory-swap', '-1', '-c', '-5', '--rm', 'img'], true)).toEqual([
      '--memory-swap=-1',
      '--cpu-shares=-5',
      '--rm',
      'img',
    ]);
  });
});
