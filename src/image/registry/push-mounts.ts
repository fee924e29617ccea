/**
 * Where a registry may already hold a blob: other repositories of the same registry that images of
 * this store came from (RepoDigests) or are named in, and whose manifests list the blob. A mount from
 * there copies it inside the registry instead of uploading it again (docker keeps the same knowledge
 * in its distribution metadata); a mount that fails costs nothing, the registry then opens an
 * ordinary upload.
 */
import type { Descriptor } from '../oci';
import { parseReference, type ImageReference } from '../reference';
import type { StoredImage } from '../store/records';
import type { StoreParts } from '../store/store-parts';

/** Sources tried per blob at most: each failed one is a request. */
const MAX_SOURCES = 3;

/** For each wanted digest, the repositories (inside the registry) to mount it from, most likely first. */
export function mountSources(
  parts: Pick<StoreParts, 'blobs' | 'records' | 'repositories'>,
  target: ImageReference,
  wanted: readonly string[],
): Map<string, string[]> {
  const names = parts.repositories.read();
  const sources = new Map<string, Set<string>>(wanted.map((d) => [d, new Set<string>()]));
  for (const image of parts.records.all()) {
    const repos = repositoriesOf(image, names, target);
    if (repos.length === 0) continue;
    for (const digest of blobsOf(parts, image)) {
      const set = sources.get(digest);
      if (set) for (const r of repos) set.add(r);
    }
  }
  return new Map([...sources].map(([d, set]) => [d, [...set].slice(0, MAX_SOURCES)]));
}

/** The repositories of `target`'s registry, other than the target's own, that `image` is known in. */
function repositoriesOf(image: StoredImage, names: Record<string, string>, target: ImageReference): string[] {
  const refs = [...(image.repoDigests ?? []), ...Object.keys(names).filter((n) => names[n] === image.id)];
  const repos = new Set<string>();
  for (const ref of refs) {
    try {
      const r = parseReference(ref);
      if (r.registry === target.registry && r.repository !== target.repository) repos.add(r.repository);
    } catch {
      // a name the store holds is always valid; a hand-edited record is no reason to fail a push
    }
  }
  // RepoDigests first: where the image was pulled from or pushed to surely has its blobs
  return [...repos];
}

function blobsOf(parts: Pick<StoreParts, 'blobs'>, image: StoredImage): string[] {
  try {
    const m = JSON.parse(parts.blobs.read(image.manifestDigest).toString('utf8')) as { layers?: Descriptor[] };
    return [image.id, ...(m.layers ?? []).map((l) => l.digest)];
  } catch {
    return [image.id];
  }
}
