/** Volume names and labels as docker's local driver takes them. */
import { BerthError } from '../errors';
import { quote } from '../util/quote';

/** docker's local driver: at least two characters, the first a letter or digit. */
export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** docker 23+ marks anonymous volumes with this label; `volume prune` without --all removes only those. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export function checkVolumeName(name: string): void {
  if (!VOLUME_NAME_RE.test(name)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `${quote(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed (at least two); to bind a host directory, give an absolute path`,
    );
  }
}

/** KEY=VALUE (or KEY, an empty value) entries of --label into a record; an empty key is refused. */
export function parseVolumeLabels(entries: readonly string[] | Record<string, string> | undefined): Record<string, string> {
  if (entries === undefined) return {};
  if (!Array.isArray(entries)) return { ...(entries as Record<string, string>) };
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    if (key === '') throw new BerthError('INVALID_ARGUMENT', `Expected KEY=VALUE for --label but received ${quote(e)}`);
    out[key] = eq < 0 ? '' : e.slice(eq + 1);
  }
  return out;
}
