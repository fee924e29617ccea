/**
 * docker's --platform and --runtime for `run`/`create`. berth runs every container itself (one
 * spawn path), so --runtime names berth's own runtime or is refused; --platform must be the
 * image's platform (a missing image is pulled for it: Berth.ensureImage).
 */
import { BerthError } from '../errors';
import { parsePlatform, type Platform } from '../image/registry/platform';
import type { ImageConfig } from '../image/types';
import { quote } from '../util/quote';

export interface RunMiscOptions {
  /** docker's --platform os/arch[/variant]: the image must be of this platform. */
  platform?: string;
  /** docker's --runtime: berth's own only (berth, berth-oci). */
  runtime?: string;
}

/** The names --runtime takes: the runtime berth is, by the names its two front ends have. */
export const OWN_RUNTIMES = ['berth', 'berth-oci'];

export function checkRunMisc(o: RunMiscOptions): void {
  if (o.runtime !== undefined && !OWN_RUNTIMES.includes(o.runtime)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Unknown runtime ${quote(o.runtime)}: berth runs containers with its own runtime only; give --runtime ${OWN_RUNTIMES.join(' or ')}, or drop it`,
    );
  }
  if (o.platform !== undefined) parsePlatform(o.platform);
}

/** The image checked against --platform (nothing is recorded: the image is of it). */
export function runMiscConfig(o: RunMiscOptions, image: ImageConfig): Record<string, never> {
  checkRunMisc(o);
  if (o.platform === undefined) return {};
  const want = parsePlatform(o.platform);
  const have: Platform = { os: image.os, architecture: image.architecture, variant: (image as { variant?: string }).variant };
  if (!platformMatches(want, have)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `The image is ${format(have)}, which does not match the specified platform ${format(want)}; pull that platform (berth pull --platform ${o.platform}) or drop --platform`,
    );
  }
  return {};
}

/** docker's matcher: same os and architecture; a wanted variant must be the image's (arm64's v8 is its default). */
export function platformMatches(want: Platform, have: Platform): boolean {
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  if (!want.variant) return true;
  const dflt = want.architecture === 'arm64' ? 'v8' : undefined;
  return (have.variant ?? dflt) === want.variant;
}

function format(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
