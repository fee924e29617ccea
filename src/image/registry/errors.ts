import { BerthError, type BerthErrorCode } from '../../errors';

/** Why a registry request failed, for programs that want more than the message. */
type RegistryFailure = 'unreachable' | 'timeout' | 'insecure' | 'unauthorized' | 'denied' | 'not-found' | 'protocol';

/**
 * A registry failure. BerthErrorCode has no registry code yet, so the closest domain code is used
 * (IMAGE_NOT_FOUND for a missing manifest, INVALID_ARGUMENT for a registry or credentials the user named
 * that do not work) and `failure` says precisely what happened.
 */
export class RegistryError extends BerthError {
  readonly failure: RegistryFailure;
  /** The HTTP status, when the registry answered. */
  readonly status?: number;

  constructor(failure: RegistryFailure, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(codeFor(failure), message, { cause: options.cause });
    this.name = 'RegistryError';
    this.failure = failure;
    this.status = options.status;
  }
}

function codeFor(failure: RegistryFailure): BerthErrorCode {
  switch (failure) {
    case 'not-found':
      return 'IMAGE_NOT_FOUND';
    case 'protocol':
      return 'UNSUPPORTED';
    default:
      return 'INVALID_ARGUMENT';
  }
}

/** The first message of a distribution-spec error body: {"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}. */
export async function registryMessage(res: Response): Promise<string | undefined> {
  try {
    const text = await res.text();
    const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = body.errors?.[0];
    if (first) return [first.code, first.message].filter(Boolean).join(': ');
    return text.trim().slice(0, 200) || undefined;
  } catch {
    return undefined;
  }
}
