import { BerthError } from '../errors';
import { quote } from '../util/quote';

/** A parsed docker-style image reference. */
export interface ImageReference {
  /** Registry host, with port when given: "docker.io", "localhost:5000". */
  registry: string;
  /** Repository path inside the registry: "library/busybox". */
  repository: string;
  /** Absent only when the reference names a digest and no tag. */
  tag?: string;
  /** "sha256:<64 hex>" when the reference pins a manifest digest. */
  digest?: string;
}

const DEFAULT_REGISTRY = 'docker.io';
const DEFAULT_TAG = 'latest';

// The grammar of github.com/distribution/reference, written out so the error can say which part is wrong.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HEX64 = /^[a-f0-9]{64}$/;
const MAX_NAME_LENGTH = 255;

function refused(ref: string, why: string): BerthError {
  return new BerthError(
    'INVALID_ARGUMENT',
    `Expected an image reference like busybox:latest or localhost:5000/team/app:1.0 but received ${quote(ref)}: ${why}`,
  );
}

/** Docker's rule: the first component is a registry only if it looks like a host (has "." or ":", or is localhost). */
function splitRegistry(name: string): [string, string] {
  const slash = name.indexOf('/');
  if (slash === -1) return [DEFAULT_REGISTRY, name];
  const first = name.slice(0, slash);
  const looksLikeHost = /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase();
  if (!looksLikeHost) return [DEFAULT_REGISTRY, name];
  return [first === 'index.docker.io' ? DEFAULT_REGISTRY : first, name.slice(slash + 1)];
}

export function parseReference(ref: string): ImageReference {
  if (typeof ref !== 'string' || ref.length === 0) throw refused(String(ref), 'it is empty');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw refused(ref, 'a digest must be sha256: followed by 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw refused(ref, 'a tag is up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"');
  }
  if (rest.length === 0) throw refused(ref, 'the repository name is missing');
  if (rest.length > MAX_NAME_LENGTH) throw refused(ref, `the name is longer than ${MAX_NAME_LENGTH} characters`);

  const [host, path] = splitRegistry(rest);
  if (!DOMAIN.test(host)) throw refused(ref, `${quote(host)} is not a valid registry host`);
  const components = path.split('/');
  for (const c of components) {
    if (c !== c.toLowerCase()) throw refused(ref, 'repository names must be lowercase');
    if (!PATH_COMPONENT.test(c)) {
      throw refused(
        ref,
        `${quote(c)} is not a valid repository name component (letters, digits, and single ".", "_", "__" or "-" between them)`,
      );
    }
  }
  if (host === DEFAULT_REGISTRY && components.length === 1 && HEX64.test(path)) {
    throw refused(ref, 'a 64-character hex string is an image ID, not a name');
  }
  const repository = host === DEFAULT_REGISTRY && components.length === 1 ? `library/${path}` : path;
  return { registry: host, repository, tag: tag ?? (digest ? undefined : DEFAULT_TAG), digest };
}

export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The fully qualified form under which the store records names: docker.io/library/busybox:latest. */
export function normalize(ref: string): string {
  return formatReference(parseReference(ref));
}

/** The short form people type and docker prints: busybox:latest, team/app:1, localhost:5000/app:1. */
export function familiar(name: string): string {
  const r = parseReference(name);
  let repo = `${r.registry}/${r.repository}`;
  if (r.registry === DEFAULT_REGISTRY) {
    repo = r.repository.startsWith('library/') && r.repository.split('/').length === 2 ? r.repository.slice(8) : r.repository;
  }
  return `${repo}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** A reference that can name an image in the store: a tag, never a digest (a digest is a property of content). */
export function parseTagReference(ref: string): ImageReference {
  const r = parseReference(ref);
  if (r.digest) throw refused(ref, 'a name to tag an image with cannot contain a digest');
  return r;
}
