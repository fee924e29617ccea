import { BerthError, invalid } from '../../errors';
import { ociArchitecture } from '../oci';
import type { Descriptor } from '../oci';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An entry of an OCI index or Docker manifest list. */
export interface PlatformDescriptor extends Descriptor {
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] };
}

const PART = /^[a-z0-9_]+$/;

/** `--platform linux/arm64/v8`, as docker spells it. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.split('/');
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => PART.test(p))) {
    throw invalid('--platform', 'a platform like linux/amd64 or linux/arm64/v8', spec);
  }
  const [os, arch, variant] = parts;
  return { os, architecture: ociArchitecture(arch === 'x86_64' ? 'x64' : arch === 'aarch64' ? 'arm64' : arch), variant };
}

/** The platform this process runs on, in OCI words: linux/amd64 for Node's x64. */
export function hostPlatform(): Platform {
  const architecture = ociArchitecture();
  // arm images without a variant are ambiguous; Node's prebuilt arm binaries need ARMv7.
  return { os: 'linux', architecture, variant: architecture === 'arm' ? 'v7' : undefined };
}

function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** arm64 images usually omit the variant, and v8 is the only one in use: treat the two as equal. */
function variantMatches(want: Platform, have: Platform): boolean {
  if (!want.variant) return true;
  if (want.architecture === 'arm64' && (have.variant ?? 'v8') === (want.variant ?? 'v8')) return true;
  return have.variant === want.variant;
}

/**
 * The manifest of an index that runs on `want`, as containerd's default matcher picks it: same os and
 * architecture, a matching variant, and among several the first listed (registries list the preferred one
 * first). Attestation entries ("unknown/unknown") never match.
 */
export function selectPlatform(entries: PlatformDescriptor[], want: Platform, source: string): PlatformDescriptor {
  const candidates = entries.filter((e) => e.platform && e.platform.os === want.os && e.platform.architecture === want.architecture);
  const exact = candidates.find((e) => e.platform!.variant === want.variant) ?? candidates.find((e) => variantMatches(want, e.platform!));
  if (exact) return exact;
  const offered = entries
    .filter((e) => e.platform && e.platform.os !== 'unknown')
    .map((e) => formatPlatform(e.platform!))
    .join(', ');
  throw new BerthError(
    'IMAGE_NOT_FOUND',
    `${source} has no image for ${formatPlatform(want)}${offered ? ` (it has ${offered}); choose one with --platform` : ''}`,
  );
}
