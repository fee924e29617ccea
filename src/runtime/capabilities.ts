import * as fs from 'node:fs';
import { BerthError } from '../errors';
import { CAPS, DEFAULT_CAPS } from '../native/constants';

/** A capability as docker spells it on the command line: NET_ADMIN, net_admin, CAP_NET_ADMIN or ALL. */
function canonical(name: unknown, flag: string): string {
  if (typeof name !== 'string')
    throw new BerthError('INVALID_ARGUMENT', `Expected a capability name like NET_ADMIN for ${flag} but received ${JSON.stringify(name)}`);
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (CAPS[full] === undefined) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Unknown capability ${JSON.stringify(name)} for ${flag}; expected a name like NET_ADMIN or ALL (see capabilities(7))`,
    );
  }
  return full;
}

/** Every capability this process may hand on: its bounding set (a runtime that itself runs without
 *  one, as in a container or a sandbox, cannot grant it: capset would fail). */
function grantable(): string[] {
  let bounding = (1n << 64n) - 1n;
  try {
    const line = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (line) bounding = BigInt(`0x${line[1]}`);
  } catch {
    // no procfs: assume every capability
  }
  return Object.keys(CAPS).filter((c) => (bounding >> BigInt(CAPS[c])) & 1n);
}

export interface CapabilityOptions {
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
}

/**
 * The capabilities a container's processes keep, as docker decides them: every one with
 * --privileged; else docker's defaults, all of them when --cap-add ALL, none when --cap-drop ALL,
 * then the named drops removed and the named adds added (so `--cap-drop ALL --cap-add NET_ADMIN`
 * keeps exactly NET_ADMIN).
 */
export function containerCapabilities(o: CapabilityOptions): string[] {
  const all = grantable();
  if (o.privileged) return all;
  const add = (o.capAdd ?? []).map((c) => canonical(c, '--cap-add'));
  const drop = (o.capDrop ?? []).map((c) => canonical(c, '--cap-drop'));
  const keep = new Set(add.includes('ALL') ? all : drop.includes('ALL') ? [] : DEFAULT_CAPS);
  for (const c of drop) if (c !== 'ALL') keep.delete(c);
  for (const c of add) if (c !== 'ALL') keep.add(c);
  return Object.keys(CAPS).filter((c) => keep.has(c));
}
