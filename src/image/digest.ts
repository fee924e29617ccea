// Loaded on first use: `berth run` reads the store but never needs node:crypto, and loading it costs
// milliseconds on every start.
const crypto = (): typeof import('node:crypto') => require('node:crypto');
import { BerthError } from '../errors';
import { quote } from '../util/quote';

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return SHA256_DIGEST.test(s);
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${crypto().createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a sha256 digest, checked: it becomes a file name, so nothing else may get through. */
export function digestHex(digest: string): string {
  if (!SHA256_DIGEST.test(digest)) throw new BerthError('INTERNAL', `Expected a sha256 digest but received ${quote(digest)}`);
  return digest.slice('sha256:'.length);
}

/** Whether two image IDs name the same image, with or without the sha256: prefix (containers
 *  record the bare hex, the Engine API and records the prefixed form). */
export function sameImageId(a: string, b: string): boolean {
  return a.replace(/^sha256:/, '') === b.replace(/^sha256:/, '');
}

/**
 * OCI chain IDs, bottom layer first: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 * A chain ID names a layer together with everything below it, so equal chains can share one unpacked directory.
 */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    digestHex(diffId);
    out.push(out.length === 0 ? diffId : sha256Digest(`${out[out.length - 1]} ${diffId}`));
  }
  return out;
}
