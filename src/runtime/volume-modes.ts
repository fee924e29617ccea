/**
 * The -v mode words docker checks beyond ro/rw/nocopy: a propagation (for binds only, at most
 * one) and the SELinux relabels z/Z, which are no-ops on a host without SELinux (as docker, whose
 * relabel does nothing there) and refused on one with it (berth does not relabel).
 */
import * as fs from 'node:fs';
import { invalid } from '../errors';

export const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

let selinux: boolean | undefined;
/** SELinux is on when selinuxfs is mounted with an enforce file (what libselinux checks). */
const selinuxEnabled = () => (selinux ??= fs.existsSync('/sys/fs/selinux/enforce'));

/** The propagation word of a -v's modes, if any; throws for a propagation on a volume, two of
 *  them, or z/Z where SELinux would need a relabel. */
export function checkVolumeModes(spec: string, modes: readonly string[], isBind: boolean): string | undefined {
  const props = modes.filter((m) => PROPAGATIONS.includes(m));
  if (props.length > 1) throw invalid('--volume', 'one propagation mode', spec);
  if (props.length === 1 && !isBind) throw invalid('--volume', 'a propagation mode only on a bind of a host path', spec);
  if ((modes.includes('z') || modes.includes('Z')) && selinuxEnabled())
    throw invalid('--volume', 'no z or Z: SELinux is enabled here and berth does not relabel; drop the mode', spec);
  return props[0];
}
