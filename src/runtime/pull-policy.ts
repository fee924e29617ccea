import { BerthError } from '../errors';
import type { ImageStore } from '../image/store/store';
import { quote } from '../util/quote';

/**
 * docker's --pull for run: `missing` pulls only when the store lacks the image, `always` asks the
 * registry every time, `never` only looks in the store (the start then fails on a missing image).
 * `pull` is the caller's pull, with its own checks.
 */
export async function ensureImage(
  images: ImageStore,
  ref: string,
  policy: unknown,
  pull: (ref: string) => Promise<unknown>,
): Promise<void> {
  if (policy !== 'missing' && policy !== 'always' && policy !== 'never') {
    throw new BerthError('INVALID_ARGUMENT', `Expected missing, always or never for --pull but received ${quote(policy)}`);
  }
  if (policy === 'never') return;
  if (policy === 'missing') {
    try {
      images.resolve(ref);
      return;
    } catch (e) {
      if (!(e instanceof BerthError) || e.code !== 'IMAGE_NOT_FOUND') throw e;
    }
  }
  try {
    await pull(ref);
  } catch (e) {
    throw new BerthError(
      'IMAGE_NOT_FOUND',
      `Unable to find image ${quote(ref)} locally, and pulling it failed; import it with \`berth import\` or check the reference`,
      { cause: e },
    );
  }
}
