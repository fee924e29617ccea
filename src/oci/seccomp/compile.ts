/**
 * The OCI `linux.seccomp` section compiled to a classic-BPF seccomp program for an x86_64 kernel and
 * the ABIs it runs, in pure TypeScript: libseccomp, which runc and crun use, is not available from
 * npm, and policy belongs in TypeScript anyway; the native child only hands the bytes to seccomp(2).
 *
 * An x86_64 kernel runs three syscall ABIs, each with numbers of its own: x86_64; x32 (SCMP_ARCH_X32),
 * which reports arch AUDIT_ARCH_X86_64 with __X32_SYSCALL_BIT (bit 30) set in nr; and i386
 * (SCMP_ARCH_X86, AUDIT_ARCH_I386: 32-bit programs, and `int 0x80` from 64-bit ones). A profile names
 * syscalls, and each name is resolved in the table of every ABI the filter covers (x86_64 always, x32
 * and i386 when `architectures` lists them), as libseccomp does for a multi-architecture filter.
 *
 * The program:
 *   1. seccomp_data.arch: AUDIT_ARCH_X86_64 -> 2; AUDIT_ARCH_I386 (when listed) -> 3; any other
 *      architecture -> KILL_PROCESS.
 *   2. x86_64 and x32: one balanced binary search (jge) over nr, whose leaves are the outcomes of
 *      intervals of numbers: a return of one action, or the conditional rules of one syscall. Below
 *      0x40000000 the intervals are the x86_64 rules', from 0x40000000 up x32's (nr with the bit set,
 *      which libseccomp likewise checks against x32's rules only). Besides the profile's syscalls the
 *      intervals say: numbers above the largest one the profile names for the ABI -> ERRNO(ENOSYS)
 *      when the default refuses (runc's patchbpf stub, see spec.ts); x32 not listed -> every x32 nr
 *      KILL_PROCESS; 0xffffffff -> the default action.
 *   3. i386: the same search over the i386 rules' intervals.
 * Docker's default profile (x86_64, x86, x32) compiles to 719 instructions: 185 for x86_64 alone (as
 * before x32 and i386 had rules of their own), 238 more for x32, 296 for i386 and its arch check. A syscall runs the arch
 * checks, the ten or so jge of its ABI's search, and the return (a few more with argument checks).
 *
 * An architecture the profile does not list is killed, as libseccomp's bad-architecture action
 * (SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL unless set otherwise) does: applying the default action
 * instead would be unsafe, since with a deny-list profile (default ALLOW) every syscall of an
 * unlisted ABI, i386 through `int 0x80` above all, would bypass every rule, the classic seccomp
 * escape. Returning an errno to every syscall leaves a process that cannot even exit cleanly; SIGSYS
 * stops it at its first syscall, visibly. nr == -1 (a tracer skipping a syscall) gets the default
 * action, as in libseccomp. A name that no covered ABI knows (arm_fadvise64_64, a syscall newer than
 * the tables) is skipped, as runc skips names libseccomp does not know.
 *
 * Rules for one syscall follow libseccomp's database, which runc and crun build rule by rule:
 *   - the first rule without conditions decides; any conditional rule before or after it is dropped;
 *   - otherwise the conditional rules are tried in profile order and the first that matches decides
 *     (libseccomp merges them into a tree, which agrees wherever the rules do not overlap with
 *     different actions: the docker profile's personality EQ values, clone's MASKED_EQ, socket's family);
 *   - no matching rule: the default action.
 * Each 64-bit argument is compared as two 32-bit halves, high word first, as libseccomp does: EQ and
 * MASKED_EQ need both halves equal; GT, GE, LT, LE decide on the high word unless it is equal, and only
 * then on the low word, which gives unsigned 64-bit semantics. An i386 syscall's arguments are 32-bit:
 * the kernel zero-extends them into seccomp_data, so the high words are 0, as libseccomp assumes too.
 */
import { BerthError } from '../../errors';
import {
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  BPF_ALU,
  BPF_AND,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_K,
  BPF_MAXINSNS,
  ENOSYS,
  MAX_COND_JUMP,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  X32_SYSCALL_BIT,
  argHiOffset,
  argLoOffset,
  encodeProgram,
  jump,
  jumpAlways,
  loadWord,
  ret,
  stmt,
  type BpfInstruction,
} from './bpf';
import { validateSeccomp, type Abi, type Condition, type LinuxSeccomp, type Rule, type ValidatedSeccomp } from './spec';

export type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator, LinuxSyscall } from './spec';

export interface CompiledSeccomp {
  /** `struct sock_filter[]` as seccomp(2) reads it (see bpf.ts encodeProgram): 8 bytes an instruction. */
  filter: Buffer;
  instructions: number;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). */
  flags: number;
  /** The ABIs the program checks rules for: x86_64, and x32 and i386 when the profile lists them. */
  abis: Abi[];
  /** Syscall names no covered ABI's table has (other architectures' names, newer syscalls): skipped. */
  ignored: string[];
  /** Architectures the profile lists that an x86_64 kernel does not run: killed, were they to occur. */
  killedArchitectures: string[];
}

/** The filter bytes alone; compileSeccompFilter says what was ignored and which flags to pass. */
export function compileSeccomp(spec: LinuxSeccomp): Buffer {
  return compileSeccompFilter(spec).filter;
}

export function compileSeccompFilter(spec: LinuxSeccomp): CompiledSeccomp {
  const v = validateSeccomp(spec);
  const x86_64 = nrSearch(v, x86_64Intervals(v));
  const i386 = v.abis.includes('i386') ? nrSearch(v, i386Intervals(v)) : undefined;
  const eq = BPF_JMP | BPF_JEQ | BPF_K;
  // The dispatch on seccomp_data.arch: x86_64's block comes right after it, i386's after that one.
  const dispatch: BpfInstruction[] = [];
  if (i386 === undefined) dispatch.push(jump(eq, AUDIT_ARCH_X86_64, 1, 0));
  else if (x86_64.length + 1 <= MAX_COND_JUMP)
    dispatch.push(jump(eq, AUDIT_ARCH_X86_64, 2, 0), jump(eq, AUDIT_ARCH_I386, x86_64.length + 1, 0));
  else dispatch.push(jump(eq, AUDIT_ARCH_X86_64, 3, 0), jump(eq, AUDIT_ARCH_I386, 0, 1), jumpAlways(x86_64.length + 1));
  const program: BpfInstruction[] = [loadWord(SECCOMP_DATA_ARCH), ...dispatch, ret(SECCOMP_RET_KILL_PROCESS), ...x86_64, ...(i386 ?? [])];
  if (program.length > BPF_MAXINSNS) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `linux.seccomp: the profile compiles to ${program.length} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`,
    );
  }
  return {
    filter: encodeProgram(program),
    instructions: program.length,
    flags: v.flags,
    abis: v.abis,
    ignored: v.ignored,
    killedArchitectures: [...new Set(v.architectures.filter((a) => !['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'].includes(a)))],
  };
}

/** One ABI's block: nr loaded, then the search, every path of which returns. */
function nrSearch(v: ValidatedSeccomp, intervals: Interval[]): BpfInstruction[] {
  return [loadWord(SECCOMP_DATA_NR), ...searchTree(intervals, 0, intervals.length - 1, v.defaultAction)];
}

/** What one syscall number leads to: one action, or conditional rules tried in order. */
type Outcome = { kind: 'action'; action: number } | { kind: 'rules'; rules: Rule[] };

/** A condition that always holds: MASKED_EQ with a zero mask. libseccomp drops it, and so does this;
 *  a rule left without conditions is then unconditional. */
const tautology = (c: Condition): boolean => c.op === 'MASKED_EQ' && c.value === 0n;

function outcomesBySyscall(rules: Rule[], abi: Abi, base = 0): Map<number, Outcome> {
  const outcomes = new Map<number, Outcome>();
  for (const rule of rules) {
    if (rule.abi !== abi) continue;
    const nr = base + rule.nr;
    const conditions = rule.conditions.filter((c) => !tautology(c));
    const seen = outcomes.get(nr);
    if (conditions.length === 0) {
      if (seen?.kind !== 'action') outcomes.set(nr, { kind: 'action', action: rule.action });
    } else if (seen === undefined) {
      outcomes.set(nr, { kind: 'rules', rules: [{ ...rule, conditions }] });
    } else if (seen.kind === 'rules') {
      seen.rules.push({ ...rule, conditions });
    }
  }
  return outcomes;
}

/** Syscall numbers [start, next interval's start) sharing one outcome; together they cover 0 .. 2^32-1. */
interface Interval {
  start: number;
  outcome: Outcome;
}

const ENOSYS_ACTION: Outcome = { kind: 'action', action: (SECCOMP_RET_ERRNO | ENOSYS) >>> 0 };
const KILL: Outcome = { kind: 'action', action: SECCOMP_RET_KILL_PROCESS };

/** The points where one ABI's outcomes change, from `from` up: its syscalls, then ENOSYS above the
 *  largest it names (when the default refuses). */
function abiPoints(v: ValidatedSeccomp, abi: Abi, from: number): Interval[] {
  const byDefault: Outcome = { kind: 'action', action: v.defaultAction };
  const outcomes = outcomesBySyscall(v.rules, abi, from);
  const points: Interval[] = [{ start: from, outcome: byDefault }];
  for (const nr of [...outcomes.keys()].sort((a, b) => a - b)) {
    points.push({ start: nr, outcome: outcomes.get(nr) as Outcome }, { start: nr + 1, outcome: byDefault });
  }
  const above = v.enosysAbove[abi];
  if (above !== undefined) points.push({ start: from + above + 1, outcome: ENOSYS_ACTION });
  return points;
}

/** arch AUDIT_ARCH_X86_64: x86_64's numbers below the x32 bit, x32's (or KILL) from it up. */
function x86_64Intervals(v: ValidatedSeccomp): Interval[] {
  const x32 = v.abis.includes('x32') ? abiPoints(v, 'x32', X32_SYSCALL_BIT) : [{ start: X32_SYSCALL_BIT, outcome: KILL }];
  return mergeIntervals(v, [...abiPoints(v, 'x86_64', 0), ...x32]);
}

function i386Intervals(v: ValidatedSeccomp): Interval[] {
  return mergeIntervals(v, abiPoints(v, 'i386', 0));
}

/** The points in order, nr -1 (0xffffffff) last with the default action, as intervals: empty ones
 *  dropped, neighbours with the same action joined. */
function mergeIntervals(v: ValidatedSeccomp, points: Interval[]): Interval[] {
  const all = [...points, { start: 0xffffffff, outcome: { kind: 'action', action: v.defaultAction } as Outcome }];
  const intervals: Interval[] = [];
  for (const point of all) {
    // A later point at the same start replaces an earlier one, whose interval would be empty.
    if (intervals.length > 0 && intervals[intervals.length - 1].start === point.start) intervals.pop();
    const last = intervals[intervals.length - 1];
    // Neighbours returning the same action are one interval: fewer leaves, a shallower search.
    if (last?.outcome.kind === 'action' && point.outcome.kind === 'action' && last.outcome.action === point.outcome.action) continue;
    intervals.push(point);
  }
  return intervals;
}

/**
 * The search over intervals[lo..hi] with A holding nr. Every path of the block ends in a return, so
 * a block is self-contained and its jumps are all forward and local: a node jumps over its left
 * subtree, with a JA (32-bit offset) in between when that subtree is longer than a jt can reach.
 */
function searchTree(intervals: Interval[], lo: number, hi: number, defaultAction: number): BpfInstruction[] {
  if (lo === hi) return leaf(intervals[lo].outcome, defaultAction);
  const mid = (lo + hi + 1) >> 1;
  const left = searchTree(intervals, lo, mid - 1, defaultAction);
  const right = searchTree(intervals, mid, hi, defaultAction);
  const ge = BPF_JMP | BPF_JGE | BPF_K;
  if (left.length <= MAX_COND_JUMP) return [jump(ge, intervals[mid].start, left.length, 0), ...left, ...right];
  return [jump(ge, intervals[mid].start, 0, 1), jumpAlways(left.length), ...left, ...right];
}

function leaf(outcome: Outcome, defaultAction: number): BpfInstruction[] {
  if (outcome.kind === 'action') return [ret(outcome.action)];
  return [...outcome.rules.flatMap(ruleBlock), ret(defaultAction)];
}

/** A jump target inside one condition: an offset within it, or FAIL (the next rule). */
const FAIL = -1;
interface Pending {
  code: number;
  k: number;
  jt: number;
  jf: number;
}

/** A rule's conditions, ANDed, then its return. Any failing comparison jumps just past the return,
 *  to the next rule (or the default action after the last one). */
function ruleBlock(rule: Rule): BpfInstruction[] {
  const body = rule.conditions.flatMap(comparison);
  const length = body.length + 1;
  const resolve = (target: number, at: number): number => {
    const offset = target === FAIL ? length - (at + 1) : target;
    if (offset > MAX_COND_JUMP) throw new BerthError('INTERNAL', `seccomp: rule for ${rule.name} needs a jump of ${offset}`);
    return offset;
  };
  return [...body.map((p, at) => ({ code: p.code, k: p.k, jt: resolve(p.jt, at), jf: resolve(p.jf, at) })), ret(rule.action)];
}

const ld = (offset: number): Pending => ({ ...loadWord(offset) });
const cond = (op: number, k: number, jt: number, jf: number): Pending => ({ code: BPF_JMP | op | BPF_K, k: k >>> 0, jt, jf });
const hiWord = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
const loWord = (v: bigint): number => Number(v & 0xffffffffn);

/** One condition: falls through when it holds, jumps to FAIL when not. */
function comparison(c: Condition): Pending[] {
  const hi = argHiOffset(c.index);
  const lo = argLoOffset(c.index);
  const [kh, kl] = [hiWord(c.value), loWord(c.value)];
  switch (c.op) {
    case 'EQ':
      return [ld(hi), cond(BPF_JEQ, kh, 0, FAIL), ld(lo), cond(BPF_JEQ, kl, 0, FAIL)];
    case 'NE':
      // holds unless both halves are equal: a differing high word skips the low-word test
      return [ld(hi), cond(BPF_JEQ, kh, 0, 2), ld(lo), cond(BPF_JEQ, kl, FAIL, 0)];
    case 'GT':
    case 'GE':
      // high word above: holds; equal: the low word decides; below: fails
      return [ld(hi), cond(BPF_JGT, kh, 3, 0), cond(BPF_JEQ, kh, 0, FAIL), ld(lo), cond(c.op === 'GT' ? BPF_JGT : BPF_JGE, kl, 0, FAIL)];
    case 'LT':
    case 'LE':
      // the complement of GE and GT: high word above fails; below holds; equal: the low word decides
      return [ld(hi), cond(BPF_JGT, kh, FAIL, 0), cond(BPF_JEQ, kh, 0, 2), ld(lo), cond(c.op === 'LT' ? BPF_JGE : BPF_JGT, kl, FAIL, 0)];
    case 'MASKED_EQ':
      return [...maskedHalf(hi, hiWord(c.value), hiWord(c.valueTwo)), ...maskedHalf(lo, loWord(c.value), loWord(c.valueTwo))];
  }
}

/** (word & mask) == (datum & mask), as libseccomp masks the datum too; a zero half-mask always holds
 *  (libseccomp skips it), a full one needs no AND. */
function maskedHalf(offset: number, mask: number, datum: number): Pending[] {
  if (mask === 0) return [];
  const and: Pending[] = mask === 0xffffffff ? [] : [{ ...stmt(BPF_ALU | BPF_AND | BPF_K, mask) }];
  return [ld(offset), ...and, cond(BPF_JEQ, (datum & mask) >>> 0, 0, FAIL)];
}
