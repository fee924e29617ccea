import { BerthError } from '../errors';
import { MS } from '../native/constants';
import { quote } from '../util/quote';

/** An OCI mount's options as mount(2) takes them: flags set and cleared, propagation for a second
 *  call, and what the filesystem itself parses (the data string). */
export interface ParsedMountOptions {
  flags: number;
  propagation: number;
  data: string[];
  bind: boolean;
  recursive: boolean;
}

// [flag to set, or 0; flag it clears]: runc's table (libcontainer/specconv).
const FLAGS: Record<string, [number, number]> = {
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  suid: [0, MS.NOSUID],
  nosuid: [MS.NOSUID, 0],
  dev: [0, MS.NODEV],
  nodev: [MS.NODEV, 0],
  exec: [0, MS.NOEXEC],
  noexec: [MS.NOEXEC, 0],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  remount: [MS.REMOUNT, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  atime: [0, MS.NOATIME],
  noatime: [MS.NOATIME, 0],
  diratime: [0, MS.NODIRATIME],
  nodiratime: [MS.NODIRATIME, 0],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0],
  nolazytime: [0, MS.LAZYTIME],
  nosymfollow: [MS.NOSYMFOLLOW, 0],
  symfollow: [0, MS.NOSYMFOLLOW],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

// Options runtimes accept that change nothing here: SELinux relabelling (no SELinux on a host
// berth-oci runs), podman's tmpcopyup (the image's content under a tmpfs; not done, said in debug).
const IGNORED = new Set(['z', 'Z', 'tmpcopyup', 'notmpcopyup', 'copy', 'nocopy', 'U']);

export function parseMountOptions(options: readonly string[], where: string): ParsedMountOptions {
  const out: ParsedMountOptions = { flags: 0, propagation: 0, data: [], bind: false, recursive: false };
  for (const o of options) {
    if (typeof o !== 'string') throw new BerthError('INVALID_ARGUMENT', `${where}.options: expected strings but received ${quote(o)}`);
    if (o === 'bind' || o === 'rbind') {
      out.bind = true;
      out.recursive ||= o === 'rbind';
    } else if (FLAGS[o]) {
      const [set, clear] = FLAGS[o];
      out.flags = (out.flags | set) & ~clear;
    } else if (PROPAGATION[o] !== undefined) {
      out.propagation = PROPAGATION[o];
    } else if (o === 'rro') {
      // recursive read-only: read-only on the mount itself (submounts of a bind keep theirs)
      out.flags |= MS.RDONLY;
    } else if (o === 'idmap' || o === 'ridmap' || o.startsWith('idmap=')) {
      throw new BerthError('INVALID_ARGUMENT', `${where}: idmapped mounts (${quote(o)}) are not supported by berth-oci; drop the option`);
    } else if (!IGNORED.has(o)) {
      out.data.push(o);
    }
  }
  return out;
}
