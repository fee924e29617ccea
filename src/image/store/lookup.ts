import { BerthError } from '../../errors';
import type { ImageRecords, StoredImage } from './records';
import { familiar, formatReference, parseReference, type ImageReference } from '../reference';
import type { NameMap } from './repositories';
import { quote } from '../../util/quote';

const FULL_ID = /^(?:sha256:)?([a-f0-9]{64})$/;
const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{1,63})$/;

/**
 * Find the image `ref` means, in docker's order: a full ID; a name (or name@digest); an ID prefix, which
 * must be unique. A ref that is neither a valid name nor hex is an input error, not "not found".
 */
export function findImage(records: ImageRecords, names: NameMap, ref: string): StoredImage | undefined {
  const full = FULL_ID.exec(ref);
  if (full) return records.get(`sha256:${full[1]}`);
  if (!ref.startsWith('sha256:')) {
    let parsed: ImageReference | undefined;
    try {
      parsed = parseReference(ref);
    } catch (e) {
      if (!ID_PREFIX.test(ref)) throw e;
    }
    if (parsed?.digest) {
      const digest = parsed.digest;
      const repoDigest = `${parsed.registry}/${parsed.repository}@${digest}`;
      return records.all().find((r) => r.repoDigests?.includes(repoDigest)) ?? records.all().find((r) => r.manifestDigest === digest);
    }
    const id = parsed ? names[formatReference(parsed)] : undefined;
    if (id) return records.get(id);
  }
  const prefix = ID_PREFIX.exec(ref);
  if (!prefix) return undefined;
  const matches = records.ids().filter((id) => id.startsWith(`sha256:${prefix[1]}`));
  if (matches.length > 1) {
    throw new BerthError('INVALID_ARGUMENT', `The image ID prefix ${quote(ref)} matches ${matches.length} images; give more of the ID`);
  }
  return matches.length === 1 ? records.get(matches[0]) : undefined;
}

/** The repositories.json key `ref` would be, when it is a tag reference (not an ID, not a digest). */
export function nameKey(ref: string): string | undefined {
  if (FULL_ID.test(ref) || ref.startsWith('sha256:')) return undefined;
  try {
    const r = parseReference(ref);
    return r.digest ? undefined : formatReference(r);
  } catch {
    return undefined;
  }
}

export function shortId(id: string): string {
  return id.slice('sha256:'.length, 'sha256:'.length + 12);
}

/** `ref` as a person would type it, or as given when it is not a name. */
export function display(ref: string): string {
  try {
    return familiar(ref);
  } catch {
    return ref;
  }
}

export function imageNotFound(ref: string): BerthError {
  const name = nameKey(ref);
  if (!name) return new BerthError('IMAGE_NOT_FOUND', `No such image: ${quote(ref)}`);
  const shown = familiar(name);
  return new BerthError(
    'IMAGE_NOT_FOUND',
    `No such image: ${quote(shown)}; pull it with \`berth pull ${shown}\` or import it with \`berth import FILE.tar ${shown}\``,
  );
}
