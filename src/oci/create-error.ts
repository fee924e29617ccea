/** berth-oci create's native failures in the words runc's callers know. */
import { BerthError } from '../errors';

/** A native start failure in the words runc's callers know (the cause kept). */
export function createError(e: unknown, id: string): unknown {
  const err = e as NodeJS.ErrnoException & { step?: string; path?: string };
  if (!(e instanceof Error) || !err.step) return e;
  const where = err.path ?? '';
  if (err.step === 'execve' && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) {
    return new BerthError('START_FAILED', `create ${id}: exec: ${JSON.stringify(where)}: executable file not found in $PATH`, {
      cause: e,
      exitStatus: 127,
    });
  }
  if (err.step === 'mount' && err.code === 'EXDEV') {
    return new BerthError('INVALID_ARGUMENT', `create ${id}: mount destination ${where} leads out of the rootfs through a symlink`, {
      cause: e,
    });
  }
  if (err.step === 'createContainer hook' || err.step === 'createContainer hook timeout') {
    const hook = `createContainer hook ${(err as { index?: number }).index ?? 0} (${JSON.stringify(where)})`;
    const why = err.step === 'createContainer hook timeout' ? 'timed out' : `exited with ${err.errno}`;
    // (no cause: the native error's errno text would misread the exit status)
    return new BerthError('START_FAILED', `create ${id}: ${hook} ${why}`);
  }
  if (err.step === 'mount target in /proc or /sys') {
    return new BerthError('INVALID_ARGUMENT', `create ${id}: mount destination ${where} resolves into /proc or /sys through a symlink`, {
      cause: e,
    });
  }
  return new BerthError('START_FAILED', `create ${id}: ${err.message}`, { cause: e });
}
