/**
 * `volume ls -f` and `volume prune -f`: docker's filter semantics. Values of one key are alternatives
 * (any may match), different keys must all match.
 */
import { BerthError } from '../errors';
import { quote } from '../util/quote';

export interface VolumeFilters {
  name?: string[];
  label?: string[];
  dangling?: boolean;
  driver?: string[];
}

/** What a filter is matched against: a volume's name, labels and whether a container uses it. */
export interface FilterSubject {
  name: string;
  driver: string;
  labels: Record<string, string>;
  inUse: boolean;
}

const KEYS = ['name', 'label', 'dangling', 'driver'] as const;

/** KEY=VALUE strings of -f into filters; an unknown key or a dangling value other than a boolean is refused. */
export function parseVolumeFilters(values: readonly string[] | undefined, allowed: readonly string[] = KEYS): VolumeFilters {
  const out: VolumeFilters = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    const value = eq < 0 ? '' : v.slice(eq + 1);
    if (eq < 0 || !allowed.includes(key)) {
      throw new BerthError('INVALID_ARGUMENT', `Invalid filter ${quote(v)}; expected ${allowed.map((k) => `${k}=...`).join(', ')}`);
    }
    if (key === 'dangling') {
      const b = ['true', '1'].includes(value) ? true : ['false', '0'].includes(value) ? false : undefined;
      if (b === undefined) throw new BerthError('INVALID_ARGUMENT', `Invalid filter ${quote(v)}; dangling takes true or false`);
      if (out.dangling !== undefined && out.dangling !== b) {
        throw new BerthError('INVALID_ARGUMENT', 'Conflicting filters dangling=true and dangling=false; give one');
      }
      out.dangling = b;
    } else {
      (out[key as 'name' | 'label' | 'driver'] ??= []).push(value);
    }
  }
  return out;
}

export function matchesVolumeFilters(f: VolumeFilters, v: FilterSubject): boolean {
  // docker: name matches any part of the name
  if (f.name && !f.name.some((n) => v.name.includes(n))) return false;
  if (f.driver && !f.driver.includes(v.driver)) return false;
  if (f.label && !f.label.every((l) => labelMatches(l, v.labels))) return false;
  if (f.dangling !== undefined && f.dangling === v.inUse) return false;
  return true;
}

/** label=KEY: the label is set; label=KEY=VALUE: set to that value. docker requires every label filter. */
function labelMatches(filter: string, labels: Record<string, string>): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
