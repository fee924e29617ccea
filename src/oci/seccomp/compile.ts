/**
 * The OCI `linux.seccomp` section compiled to a classic-BPF seccomp program for x86_64, in pure
 * TypeScript: libseccomp, which runc and crun use, is not available from npm, and policy belongs in
 * TypeScript anyway; the native child only hands the bytes to seccomp(2).
 *
 * The program:
 *   1. arch != AUDIT_ARCH_X86_64  -> KILL_PROCESS
 *   2. a balanced binary search (jge) over the syscall number, whose leaves are the outcomes of
 *      intervals of numbers: a return of one action, or the conditional rules of one syscall. Besides
 *      the profile's syscalls the intervals say: numbers above the largest one the profile names
 *      -> ERRNO(ENOSYS) when the default refuses (runc's patchbpf stub, see spec.ts); 0x40000000 and
 *      up (x32) -> KILL_PROCESS; 0xffffffff -> the default action.
 * Docker's default profile compiles to 185 instructions, of which a syscall runs 10 (most) to 15
 * (argument checks): the arch check, five or six jge of the search, the return.
 *
 * Foreign ABIs are killed, listed in `architectures` or not. i386 (SCMP_ARCH_X86, also what `int 0x80`
 * from a 64-bit process reports) has a syscall table of its own that this compiler does not carry, and
 * x32 (SCMP_ARCH_X32: nr with bit 30 set) has its own numbers from 512 up. Applying the default action
 * instead would be unsafe: with a deny-list profile (default ALLOW) every i386 syscall would bypass
 * every rule, the classic seccomp escape. Returning an errno to every syscall leaves a process that
 * cannot even exit cleanly; SIGSYS stops it at its first syscall, visibly, which is also what libseccomp
 * does with an architecture the profile does not list. nr == -1 (a tracer skipping a syscall) gets the
 * default action, as in libseccomp.
 *
 * Rules for one syscall follow libseccomp's database, which runc and crun build rule by rule:
 *   - the first rule without conditions decides; any conditional rule before or after it is dropped;
 *   - otherwise the conditional rules are tried in profile order and the first that matches decides
 *     (libseccomp merges them into a tree, which agrees wherever the rules do not overlap with
 *     different actions: the docker profile's personality EQ values, clone's MASKED_EQ, socket's family);
 *   - no matching rule: the default action.
 * Each 64-bit argument is compared as two 32-bit halves, high word first, as libseccomp does: EQ and
 * MASKED_EQ need both halves equal; GT, GE, LT, LE decide on the high word unless it is equal, and only
 * then on the low word, which gives unsigned 64-bit semantics.
 */
import { BerthError } from '../../errors';
import {
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
import { validateSeccomp, type Condition, type LinuxSeccomp, type Rule } from './spec';

export type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator, LinuxSyscall } from './spec';

export interface CompiledSeccomp {
  /** `struct sock_filter[]` as seccomp(2) reads it (see bpf.ts encodeProgram): 8 bytes an instruction. */
  filter: Buffer;
  instructions: number;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). */
  flags: number;
  /** Syscall names the x86_64 table does not have (other architectures' names, newer syscalls): skipped. */
  ignored: string[];
  /** Architectures the profile lists besides x86_64: their syscalls are killed (see above). */
  killedArchitectures: string[];
}

/** The filter bytes alone; compileSeccompFilter says what was ignored and which flags to pass. */
export function compileSeccomp(spec: LinuxSeccomp): Buffer {
  return compileSeccompFilter(spec).filter;
}

export function compileSeccompFilter(spec: LinuxSeccomp): CompiledSeccomp {
  const v = validateSeccomp(spec);
  const intervals = syscallIntervals(v.defaultAction, outcomesBySyscall(v.rules), v.enosysAbove);
  const program: BpfInstruction[] = [
    loadWord(SECCOMP_DATA_ARCH),
    jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    ret(SECCOMP_RET_KILL_PROCESS),
    loadWord(SECCOMP_DATA_NR),
    ...searchTree(intervals, 0, intervals.length - 1, v.defaultAction),
  ];
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
    ignored: v.ignored,
    killedArchitectures: [...new Set(v.architectures.filter((a) => a !== 'SCMP_ARCH_X86_64'))],
  };
}

/** What one syscall number leads to: one action, or conditional rules tried in order. */
type Outcome = { kind: 'action'; action: number } | { kind: 'rules'; rules: Rule[] };

/** A condition that always holds: MASKED_EQ with a zero mask. libseccomp drops it, and so does this;
 *  a rule left without conditions is then unconditional. */
const tautology = (c: Condition): boolean => c.op === 'MASKED_EQ' && c.value === 0n;

function outcomesBySyscall(rules: Rule[]): Map<number, Outcome> {
  const outcomes = new Map<number, Outcome>();
  for (const rule of rules) {
    const conditions = rule.conditions.filter((c) => !tautology(c));
    const seen = outcomes.get(rule.nr);
    if (conditions.length === 0) {
      if (seen?.kind !== 'action') outcomes.set(rule.nr, { kind: 'action', action: rule.action });
    } else if (seen === undefined) {
      outcomes.set(rule.nr, { kind: 'rules', rules: [{ ...rule, conditions }] });
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

function syscallIntervals(defaultAction: number, outcomes: Map<number, Outcome>, enosysAbove: number | undefined): Interval[] {
  const byDefault: Outcome = { kind: 'action', action: defaultAction };
  const points: Interval[] = [{ start: 0, outcome: byDefault }];
  for (const nr of [...outcomes.keys()].sort((a, b) => a - b)) {
    points.push({ start: nr, outcome: outcomes.get(nr) as Outcome }, { start: nr + 1, outcome: byDefault });
  }
  if (enosysAbove !== undefined)
    points.push({ start: enosysAbove + 1, outcome: { kind: 'action', action: (SECCOMP_RET_ERRNO | ENOSYS) >>> 0 } });
  points.push({ start: X32_SYSCALL_BIT, outcome: { kind: 'action', action: SECCOMP_RET_KILL_PROCESS } });
  points.push({ start: 0xffffffff, outcome: byDefault });

  const intervals: Interval[] = [];
  for (const point of points) {
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
