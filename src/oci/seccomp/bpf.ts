/**
 * Classic BPF as seccomp runs it: the few opcodes the compiler emits, the seccomp_data offsets and
 * return values (linux/filter.h, linux/bpf_common.h, linux/seccomp.h), and the one byte layout the
 * native side passes to seccomp(2) as `struct sock_fprog.filter`.
 */

/** One `struct sock_filter`: jt and jf are forward offsets counted from the next instruction. */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const BPF_LD = 0x00;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_W = 0x00;
export const BPF_ABS = 0x20;
export const BPF_AND = 0x50;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_K = 0x00;

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** jt and jf are u8: a conditional jump reaches at most 255 instructions ahead. */
export const MAX_COND_JUMP = 255;

/** struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }, little-endian. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_SIZE = 64;
export const argLoOffset = (index: number): number => 16 + 8 * index;
export const argHiOffset = (index: number): number => 16 + 8 * index + 4;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** seccomp(2) SECCOMP_SET_MODE_FILTER flags (linux/seccomp.h). */
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
export const SECCOMP_FILTER_FLAG_LOG = 2;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;

/** linux/audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE, and EM_386 | __AUDIT_ARCH_LE. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
/** x32 syscalls arrive with arch AUDIT_ARCH_X86_64 and this bit set in nr (__X32_SYSCALL_BIT). */
export const X32_SYSCALL_BIT = 0x40000000;

export const ENOSYS = 38;
export const EPERM = 1;

export const stmt = (code: number, k: number): BpfInstruction => ({ code, jt: 0, jf: 0, k: k >>> 0 });
export const jump = (code: number, k: number, jt: number, jf: number): BpfInstruction => ({ code, jt, jf, k: k >>> 0 });
export const loadWord = (offset: number): BpfInstruction => stmt(BPF_LD | BPF_W | BPF_ABS, offset);
export const ret = (action: number): BpfInstruction => stmt(BPF_RET | BPF_K, action);
export const jumpAlways = (offset: number): BpfInstruction => stmt(BPF_JMP | BPF_JA, offset);

/** Size of one `struct sock_filter` in bytes. */
export const SOCK_FILTER_SIZE = 8;

/**
 * The program as the kernel reads `struct sock_filter filter[]` on x86_64 (little-endian, no padding):
 *   bytes 0-1  u16 code   (little-endian)
 *   byte  2    u8  jt
 *   byte  3    u8  jf
 *   bytes 4-7  u32 k      (little-endian)
 * The native side hands this buffer to seccomp(2) as is, with len = buffer.length / 8.
 */
export function encodeProgram(program: readonly BpfInstruction[]): Buffer {
  const buf = Buffer.alloc(program.length * SOCK_FILTER_SIZE);
  program.forEach((insn, i) => {
    const at = i * SOCK_FILTER_SIZE;
    buf.writeUInt16LE(insn.code, at);
    buf.writeUInt8(insn.jt, at + 2);
    buf.writeUInt8(insn.jf, at + 3);
    buf.writeUInt32LE(insn.k >>> 0, at + 4);
  });
  return buf;
}

/** The inverse of encodeProgram, for the interpreter and for debug output. */
export function decodeProgram(buf: Buffer): BpfInstruction[] {
  if (buf.length % SOCK_FILTER_SIZE !== 0) throw new RangeError(`a seccomp program is a multiple of 8 bytes, not ${buf.length}`);
  const program: BpfInstruction[] = [];
  for (let at = 0; at < buf.length; at += SOCK_FILTER_SIZE) {
    program.push({ code: buf.readUInt16LE(at), jt: buf.readUInt8(at + 2), jf: buf.readUInt8(at + 3), k: buf.readUInt32LE(at + 4) });
  }
  return program;
}
