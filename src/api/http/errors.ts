/**
 * Errors as the Docker Engine API answers them: a status code and `{"message": "..."}`. berth's own
 * error codes map onto docker's statuses (errdefs: NotFound 404, Conflict 409, InvalidParameter 400,
 * NotImplemented 501, everything else 500), so clients that switch on the status (the docker CLI
 * pulls on a 404 from create, compose recreates on a 409) behave as against dockerd.
 */
import { BerthError, causeChain, type BerthErrorCode } from '../../errors';

/** An error the API layer raises itself, with the status it answers. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const STATUS: Partial<Record<BerthErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UNSAFE_ARCHIVE: 400,
  UNSUPPORTED: 400,
  DIGEST_MISMATCH: 400,
  CONTAINER_NOT_FOUND: 404,
  IMAGE_NOT_FOUND: 404,
  NETWORK_NOT_FOUND: 404,
  VOLUME_NOT_FOUND: 404,
  CONTAINER_EXISTS: 409,
  NETWORK_EXISTS: 409,
  IMAGE_IN_USE: 409,
  NETWORK_IN_USE: 409,
  INVALID_STATE: 409,
  NOT_ROOT: 403,
};

export const badRequest = (message: string) => new ApiError(400, message);
export const notFound = (message: string) => new ApiError(404, message);
export const conflict = (message: string) => new ApiError(409, message);
export const notImplemented = (message: string) => new ApiError(501, message);

/** The status and the one-line message of any error a handler threw. */
export function errorResponse(e: unknown): { status: number; message: string } {
  if (e instanceof ApiError) return { status: e.status, message: e.message };
  if (e instanceof BerthError) {
    // a cause chain is one line here as in the CLI: "what failed: because"
    return { status: STATUS[e.code] ?? 500, message: causeChain(e).join(': ') };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { status: 500, message };
}
