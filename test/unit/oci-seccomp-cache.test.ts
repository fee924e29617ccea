// The compiled-seccomp cache (src/oci/seccomp-cache.ts): a program comes back only for the same
// profile compiled by the same code, and only from a file nobody else could have written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seccompCache } from '../../src/oci/seccomp-cache';

let dir: string;
let code: string;
const profile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };
const program = Buffer.alloc(16, 7);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp-cache-'));
  code = path.join(dir, 'compile.js');
  fs.writeFileSync(code, 'v1');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const only = () => {
  const files = fs.readdirSync(path.join(dir, 'cache'));
  expect(files).toHaveLength(1);
  return path.join(dir, 'cache', files[0]);
};

describe('seccompCache', () => {
  it('returns the program stored for the same profile, and nothing for another', () => {
    const c = seccompCache(path.join(dir, 'cache'), [code]);
    expect(c.get(profile)).toBeUndefined();
    c.put(profile, program);
    expect(c.get(profile)).toEqual(program);
    expect(c.get({ ...profile, defaultAction: 'SCMP_ACT_ALLOW' })).toBeUndefined();
    expect(fs.statSync(only()).mode & 0o777).toBe(0o600);
  });

  it('forgets everything when the compiler changed', () => {
    seccompCache(path.join(dir, 'cache'), [code]).put(profile, program);
    fs.writeFileSync(code, 'v2, longer');
    expect(seccompCache(path.join(dir, 'cache'), [code]).get(profile)).toBeUndefined();
  });

  it('ignores a file others could have written, or that is no program', () => {
    const c = seccompCache(path.join(dir, 'cache'), [code]);
    c.put(profile, program);
    fs.chmodSync(only(), 0o620);
    expect(c.get(profile)).toBeUndefined();
    fs.chmodSync(only(), 0o600);
    fs.writeFileSync(only(), Buffer.alloc(5));
    expect(c.get(profile)).toBeUndefined();
    // a file in the right place whose key is another profile's (a collision, or a planted file)
    const other = seccompCache(path.join(dir, 'other'), [code]);
    other.put({ defaultAction: 'SCMP_ACT_ALLOW' }, Buffer.alloc(8, 1));
    fs.copyFileSync(path.join(dir, 'other', fs.readdirSync(path.join(dir, 'other'))[0]), only());
    expect(c.get(profile)).toBeUndefined();
  });

  it('stays bounded: a full cache starts over', () => {
    const c = seccompCache(path.join(dir, 'cache'), [code]);
    for (let i = 0; i < 70; i++) c.put({ ...profile, defaultErrnoRet: i }, program);
    expect(fs.readdirSync(path.join(dir, 'cache')).length).toBeLessThanOrEqual(64);
    expect(c.get({ ...profile, defaultErrnoRet: 69 })).toEqual(program);
  });
});
