import type { NativeMountOp, NativeSpawnPlan } from './index';

/** Writes the flat plan format native/core/plan_codec.cc reads: the same field order, strings as u32
 *  length + UTF-8, numbers as f64, lists as u32 count + items. One format for the addon and the shim
 *  (which has no Node), so both start containers from the very same bytes. */
class Encoder {
  // One buffer written in place (grown by doubling): a plan is a few hundred fields, and a Buffer
  // per field cost a millisecond on a cold start.
  private buf = Buffer.allocUnsafe(16384);
  private at = 4;

  constructor() {
    this.buf.write('BPL1', 0, 'latin1');
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
  num(n: number): void {
    this.room(8);
    this.at = this.buf.writeDoubleLE(n, this.at);
  }
  count(n: number): void {
    this.room(4);
    this.at = this.buf.writeUInt32LE(n, this.at);
  }
  str(s: string): void {
    // at most 3 bytes of UTF-8 per UTF-16 unit
    this.room(4 + s.length * 3);
    const n = this.buf.write(s, this.at + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.at);
    this.at += 4 + n;
  }
  /** Raw bytes, length-prefixed as a string is (the decoder keeps them as they are). */
  bytes(b: Buffer): void {
    this.count(b.length);
    this.room(b.length);
    b.copy(this.buf, this.at);
    this.at += b.length;
  }
  strs(list: string[]): void {
    this.count(list.length);
    for (const s of list) this.str(s);
  }
  nums(list: number[]): void {
    this.count(list.length);
    for (const n of list) this.num(n);
  }
  flag(b: boolean): void {
    this.num(b ? 1 : 0);
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

function mountOp(e: Encoder, op: NativeMountOp): void {
  e.str(op.kind);
  e.str(op.target);
  e.str(op.source);
  e.str(op.fstype);
  e.str(op.data);
  e.num(op.flags);
  e.num(op.create);
  e.flag(op.sourceInRoot);
  e.flag(op.optional);
  e.num(op.mode);
  e.num(op.rdev);
  e.flag(op.intoKernelFs ?? false);
  e.num(op.propagation ?? 0);
}

const EMPTY = Buffer.alloc(0);

export function encodePlan(p: NativeSpawnPlan): Buffer {
  const e = new Encoder();
  e.strs(p.namespaces);
  e.str(p.rootfs);
  e.str(p.rootfsMount.source);
  e.str(p.rootfsMount.fstype);
  e.str(p.rootfsMount.data);
  e.num(p.rootfsMount.flags);
  e.count(p.mounts.length);
  for (const op of p.mounts) mountOp(e, op);
  e.str(p.hostname);
  e.strs(p.cgroupDirs);
  e.count(p.cgroupWrites.length);
  for (const [file, value] of p.cgroupWrites) {
    e.str(file);
    e.str(value);
  }
  e.strs(p.cgroupProcs);
  e.flag(p.loopbackUp);
  e.strs(p.execCandidates);
  e.strs(p.argv);
  e.strs(p.env);
  e.str(p.cwd);
  e.num(p.uid);
  e.num(p.gid);
  e.nums(p.groups);
  e.nums(p.capsDrop);
  e.num(p.capsKeep[0]);
  e.num(p.capsKeep[1]);
  e.flag(p.noNewPrivileges);
  for (const fd of p.stdio) e.num(fd);
  e.flag(p.tty);
  e.num(p.ttySize[0]);
  e.num(p.ttySize[1]);
  e.num(p.parentDeathSignal);
  e.num(p.joinPid ?? 0);
  e.flag(p.blockSignals ?? false);
  e.str(p.netnsPath ?? '');
  e.flag(p.seccomp ?? false);
  e.str(p.helperPath ?? '');
  e.str(p.initPath ?? '');
  e.str(p.execFifoPath ?? '');
  e.str(p.consoleSocket ?? '');
  e.flag(p.rootfsReadonly ?? false);
  e.num(p.rootfsPropagation ?? 0);
  e.flag(p.noPivot ?? false);
  e.num(p.umask ?? 0o022);
  const rlimits = p.rlimits ?? [];
  e.count(rlimits.length);
  for (const [resource, soft, hard] of rlimits) {
    e.num(resource);
    e.num(soft);
    e.num(hard);
  }
  e.str(p.oomScoreAdj === undefined ? '' : String(p.oomScoreAdj));
  e.str(p.domainname ?? '');
  const joins = p.joinNamespaces ?? [];
  e.count(joins.length);
  for (const [type, nsPath] of joins) {
    e.str(type);
    e.str(nsPath);
  }
  e.bytes(p.seccompFilter ?? EMPTY);
  e.flag(p.capsForAnyUser ?? false);
  e.num(p.capsInheritable?.[0] ?? 0);
  e.num(p.capsInheritable?.[1] ?? 0);
  e.nums(p.capsAmbient ?? []);
  e.str(p.uidMap ?? '');
  e.str(p.gidMap ?? '');
  e.num(p.preserveFds ?? 0);
  const hooks = p.createContainerHooks ?? [];
  e.count(hooks.length);
  for (const h of hooks) {
    e.str(h.path);
    e.strs(h.args);
    e.strs(h.env);
    e.num(h.timeout);
  }
  e.str(p.hookState?.[0] ?? '');
  e.str(p.hookState?.[1] ?? '');
  return e.done();
}
