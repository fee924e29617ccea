/**
 * A classic-BPF interpreter for seccomp programs, with the checks the kernel applies when the program
 * is loaded (bpf_check_classic and seccomp_check_filter, for the opcodes the compiler emits). The tests
 * run compiled profiles through it; debug output can use it to say what a syscall would get.
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_MAXINSNS,
  BPF_RET,
  BPF_W,
  SECCOMP_DATA_SIZE,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  decodeProgram,
  type BpfInstruction,
} from './bpf';

/** struct seccomp_data, with the arguments as unsigned 64-bit values. */
export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  args?: readonly (bigint | number)[];
}

const LD_ABS = BPF_LD | BPF_W | BPF_ABS;
const AND_K = BPF_ALU | BPF_AND | BPF_K;
const JA = BPF_JMP | BPF_JA;
const JEQ = BPF_JMP | BPF_JEQ | BPF_K;
const JGT = BPF_JMP | BPF_JGT | BPF_K;
const JGE = BPF_JMP | BPF_JGE | BPF_K;
const JSET = BPF_JMP | BPF_JSET | BPF_K;
const RET_K = BPF_RET | BPF_K;
const CONDITIONAL = new Set([JEQ, JGT, JGE, JSET]);
const KNOWN = new Set([LD_ABS, AND_K, JA, RET_K, ...CONDITIONAL]);

/** Throws what the kernel would refuse with EINVAL: a program it would not load. */
export function verifyProgram(program: readonly BpfInstruction[]): void {
  if (program.length === 0 || program.length > BPF_MAXINSNS)
    throw new Error(`a seccomp program has 1 to ${BPF_MAXINSNS} instructions, not ${program.length}`);
  program.forEach((insn, pc) => {
    if (!KNOWN.has(insn.code)) throw new Error(`instruction ${pc}: opcode 0x${insn.code.toString(16)} is not one this interpreter runs`);
    if (insn.code === LD_ABS && (insn.k % 4 !== 0 || insn.k >= SECCOMP_DATA_SIZE))
      throw new Error(`instruction ${pc}: load of seccomp_data offset ${insn.k}`);
    if (insn.code === JA && insn.k >= program.length - pc - 1) throw new Error(`instruction ${pc}: ja ${insn.k} leaves the program`);
    if (CONDITIONAL.has(insn.code) && (pc + insn.jt + 1 >= program.length || pc + insn.jf + 1 >= program.length)) {
      throw new Error(`instruction ${pc}: jt ${insn.jt} / jf ${insn.jf} leave the program`);
    }
  });
  if (program[program.length - 1].code !== RET_K) throw new Error('the last instruction of a seccomp program must be a return');
}

function dataBytes(data: SeccompData): Buffer {
  const buf = Buffer.alloc(SECCOMP_DATA_SIZE);
  buf.writeInt32LE(data.nr | 0, 0);
  buf.writeUInt32LE(data.arch >>> 0, 4);
  buf.writeBigUInt64LE(data.instructionPointer ?? 0n, 8);
  (data.args ?? []).forEach((a, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), 16 + 8 * i));
  return buf;
}

/** Runs a verified program on one syscall and returns the SECCOMP_RET_* value it yields. */
export function runProgram(filter: Buffer | readonly BpfInstruction[], data: SeccompData): number {
  const program = Buffer.isBuffer(filter) ? decodeProgram(filter) : filter;
  verifyProgram(program);
  const mem = dataBytes(data);
  let a = 0;
  // Every jump is forward, so the loop ends within program.length steps.
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc];
    switch (code) {
      case LD_ABS:
        a = mem.readUInt32LE(k);
        break;
      case AND_K:
        a = (a & k) >>> 0;
        break;
      case JA:
        pc += k;
        break;
      case JEQ:
        pc += a === k ? jt : jf;
        break;
      case JGT:
        pc += a > k ? jt : jf;
        break;
      case JGE:
        pc += a >= k ? jt : jf;
        break;
      case JSET:
        pc += (a & k) !== 0 ? jt : jf;
        break;
      case RET_K:
        return k >>> 0;
    }
  }
  throw new Error('the program ran past its end');
}

/** A return value the way libseccomp names actions: ALLOW, ERRNO(1), TRACE(7), KILL_PROCESS, ... */
export function describeReturn(value: number): string {
  const data = value & SECCOMP_RET_DATA;
  switch ((value & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SECCOMP_RET_KILL_PROCESS:
      return 'KILL_PROCESS';
    case SECCOMP_RET_KILL_THREAD:
      return data === 0 ? 'KILL_THREAD' : `KILL_THREAD(${data})`;
    case SECCOMP_RET_TRAP:
      return 'TRAP';
    case SECCOMP_RET_ERRNO:
      return `ERRNO(${data})`;
    case SECCOMP_RET_USER_NOTIF:
      return 'NOTIFY';
    case SECCOMP_RET_TRACE:
      return `TRACE(${data})`;
    case SECCOMP_RET_LOG:
      return 'LOG';
    case SECCOMP_RET_ALLOW:
      return 'ALLOW';
    default:
      return `0x${value.toString(16)}`;
  }
}

/** One line an instruction, with absolute jump targets, for debug output. */
export function disassemble(filter: Buffer): string[] {
  const hex = (k: number) => `0x${k.toString(16)}`;
  return decodeProgram(filter).map(({ code, jt, jf, k }, pc) => {
    const at = `${pc}`.padStart(4);
    const to = (off: number) => pc + 1 + off;
    switch (code) {
      case LD_ABS:
        return `${at}: ld [${k}]`;
      case AND_K:
        return `${at}: and #${hex(k)}`;
      case JA:
        return `${at}: ja ${to(k)}`;
      case JEQ:
      case JGT:
      case JGE:
      case JSET: {
        const name = code === JEQ ? 'jeq' : code === JGT ? 'jgt' : code === JGE ? 'jge' : 'jset';
        return `${at}: ${name} #${hex(k)} jt ${to(jt)} jf ${to(jf)}`;
      }
      case RET_K:
        return `${at}: ret ${describeReturn(k)}`;
      default:
        return `${at}: op ${hex(code)} jt ${jt} jf ${jf} k ${hex(k)}`;
    }
  });
}
