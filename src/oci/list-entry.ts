/** One row of `berth-oci list`, as runc's list has it: the state plus rootfs, created (RFC 3339,
 *  nanoseconds) and owner (the user owning the state directory). Shared by the command line and
 *  by create, which records it for the native front (native-state.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { State } from './spec';

/** runc's containerState, in its JSON field order. */
export interface ListEntry {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

/** The entry of a state whose directory is below `root`; the state may carry created, rootfs
 *  and owner itself. */
export function listEntryOf(root: string, s: State): ListEntry {
  const extra = s as State & { created?: unknown; rootfs?: unknown; owner?: unknown };
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(path.join(root, s.id));
  } catch {
    st = undefined;
  }
  const created = typeof extra.created === 'string' ? extra.created : st ? goTime(st.birthtimeMs > 0 ? st.birthtime : st.ctime) : '';
  const e: ListEntry = {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: s.pid ?? 0,
    status: s.status,
    bundle: s.bundle,
    rootfs: typeof extra.rootfs === 'string' ? extra.rootfs : '',
    created,
    owner: typeof extra.owner === 'string' ? extra.owner : st ? userName(st.uid) : '',
  };
  if (s.annotations && Object.keys(s.annotations).length > 0) e.annotations = s.annotations;
  return e;
}

/** Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped. */
function goTime(d: Date): string {
  return d.toISOString().replace(/\.?0+Z$/, 'Z');
}

/** The name of a uid from /etc/passwd, or runc's `#uid`. */
function userName(uid: number): string {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && f[2] === String(uid)) return f[0];
    }
  } catch {
    // no passwd: the number
  }
  return `#${uid}`;
}
