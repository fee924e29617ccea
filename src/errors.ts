/**
 * Errors berth raises itself. `code` is a stable domain code programs can switch on;
 * the message is one readable line that names the problem and, where there is one, the fix.
 * A lower-level failure is kept as `cause`.
 */
import { quote } from './util/quote';

export type BerthErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_ROOT'
  | 'UNSUPPORTED'
  | 'CONTAINER_EXISTS'
  | 'CONTAINER_NOT_FOUND'
  | 'INVALID_STATE'
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_IN_USE'
  | 'DIGEST_MISMATCH'
  | 'UNSAFE_ARCHIVE'
  | 'START_FAILED'
  | 'NETWORK_NOT_FOUND'
  | 'VOLUME_NOT_FOUND'
  | 'NETWORK_EXISTS'
  | 'NETWORK_IN_USE'
  | 'NETWORK_ERROR'
  | 'INTERNAL';

export class BerthError extends Error {
  readonly code: BerthErrorCode;
  /** The exit status the CLI should use: 125 unless the command could not be invoked (126) or found (127). */
  readonly exitStatus: number;
  constructor(code: BerthErrorCode, message: string, options?: { cause?: unknown; exitStatus?: number }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
    this.exitStatus = options?.exitStatus ?? 125;
  }
}

/** An error shaped like Node's fs errors: code, errno, syscall, path. Raised by the native addon. */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

export function isSystemError(e: unknown): e is SystemError {
  return e instanceof Error && typeof (e as SystemError).syscall === 'string' && typeof (e as SystemError).code === 'string';
}

/** Expected <what> for <option> but received "<value>": the message shape used for every validation
 *  error. The value is JSON-quoted (see util/quote), so a newline in it cannot split the line. */
export function invalid(option: string, expected: string, received: unknown): BerthError {
  return new BerthError('INVALID_ARGUMENT', `Expected ${expected} for ${option} but received ${quote(received)}`);
}

/** Every message in a cause chain, outermost first: what the CLI prints, one line per cause. */
export function causeChain(e: unknown): string[] {
  const lines: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 8; depth++) {
    lines.push(cur instanceof Error ? cur.message : String(cur));
    cur = cur instanceof Error ? (cur as Error & { cause?: unknown }).cause : undefined;
  }
  return lines;
}
