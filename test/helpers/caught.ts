import { expect } from 'vitest';
import { BerthError } from '../../src/errors';

/** Runs fn, expects a BerthError and returns it so code and message can be checked exactly. */
export function caught(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BerthError);
    return e as BerthError;
  }
  throw new Error('expected a BerthError, nothing was thrown');
}
