import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHILD_STEPS, startFailureStatus } from '../../src/runtime/child-steps';
import { REPO_ROOT } from '../helpers/paths';

describe('child failure steps', () => {
  it('are the very list native/core/errors.h declares, in its order', () => {
    const header = fs.readFileSync(path.join(REPO_ROOT, 'native', 'core', 'errors.h'), 'utf8');
    const native = [...header.matchAll(/X\((\w+), "([^"]*)"\)/g)].filter((m) => m[1] !== 'None').map((m) => m[2]);
    expect(native.length).toBeGreaterThan(40);
    expect([...CHILD_STEPS]).toEqual(native);
  });

  it('map to 127 for a missing command, 126 for one that cannot run, else 125', () => {
    expect(startFailureStatus('execve', 'ENOENT')).toBe(127);
    expect(startFailureStatus('execve', 'ENOTDIR')).toBe(127);
    expect(startFailureStatus('execve', 'EACCES')).toBe(126);
    expect(startFailureStatus('mount', 'ENOENT')).toBe(125);
    expect(startFailureStatus(undefined, undefined)).toBe(125);
  });
});
