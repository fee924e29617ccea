/**
 * Extended attributes in layer tarballs, for the xattr tests: PAX SCHILY.xattr.* headers built byte by
 * byte (so a test can carry binary values and names no packer would write), file capabilities in
 * the kernel's vfs_cap_data form, and the attributes of a path as the kernel reports them.
 */
import { native } from '../../src/native';
import { paxRecord } from '../../src/image/archive/pax-xattrs';
import type { Member } from './layer-tar';

export const CAP_NET_RAW = 13;

/** vfs_cap_data revision 2 (20 bytes, little-endian): `cap_NAME+ep` for the capability numbers given. */
export function fileCaps(caps: number[]): Buffer {
  const buf = Buffer.alloc(20);
  const VFS_CAP_REVISION_2 = 0x02000000;
  const VFS_CAP_FLAGS_EFFECTIVE = 0x1;
  buf.writeUInt32LE(VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, 0);
  for (const c of caps) {
    const word = c < 32 ? 4 : 12; // permitted[0], then permitted[1] after inheritable[0]
    buf.writeUInt32LE((buf.readUInt32LE(word) | (1 << (c % 32))) >>> 0, word);
  }
  return buf;
}

/** A PAX 'x' member: the next member gets these records. */
export function paxMember(name: string, records: Array<[string, Buffer | string]>): Member {
  return { path: `PaxHeader/${name}`, type: 'ExtendedHeader', body: Buffer.concat(records.map(([k, v]) => paxRecord(k, v))) };
}

/** `member` preceded by a PAX header carrying `xattrs` as SCHILY.xattr.* records. */
export function withXattrs(member: Member, xattrs: Record<string, Buffer | string>): Member[] {
  return [
    paxMember(
      member.path,
      Object.entries(xattrs).map(([n, v]) => [`SCHILY.xattr.${n}`, v]),
    ),
    member,
  ];
}

/** Every extended attribute of `file` itself (lgetxattr semantics), by name. */
export function xattrsOf(file: string): Record<string, Buffer> {
  return Object.fromEntries(native().listXattrs(file));
}
