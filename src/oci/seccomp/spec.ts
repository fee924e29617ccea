/**
 * The OCI runtime spec's `linux.seccomp` section (runtime-spec 1.1, config-linux.md) and its
 * validation into the plain rules compile.ts turns into BPF. Where the spec leaves a choice, runc's
 * (libcontainer/seccomp/seccomp_linux.go) is taken, because the callers (podman, containerd) were
 * tested against runc: SCMP_ACT_KILL is KILL_THREAD, errnoRet defaults to EPERM for ERRNO and TRACE,
 * a rule whose action equals the default action is dropped, unknown syscall names are skipped, and a
 * rule with two conditions on the same argument becomes one rule per condition, so those are ORed
 * (runc and crun both do this; conditions on different arguments are ANDed).
 */
import { BerthError } from '../../errors';
import { quote } from '../../util/quote';
import {
  ENOSYS,
  EPERM,
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
} from './bpf';
import { I386_SYSCALLS } from './syscalls-i386';
import { X32_SYSCALLS } from './syscalls-x32';
import { X86_64_SYSCALLS } from './syscalls-x86_64';

export type LinuxSeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type LinuxSeccompOperator =
  'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

/** One comparison of a 64-bit syscall argument. Values are unsigned 64-bit: a JSON number above
 *  2^53 - 1 has already lost precision in JSON.parse, so such values must come as a bigint. For
 *  SCMP_CMP_MASKED_EQ, `value` is the mask and `valueTwo` what the masked argument must equal. */
export interface LinuxSeccompArg {
  index: number;
  value: number | bigint;
  valueTwo?: number | bigint;
  op: LinuxSeccompOperator;
}

export interface LinuxSyscall {
  names: string[];
  action: LinuxSeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccomp {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number;
  /** SCMP_ARCH_* names. The filter always covers x86_64, and x32 and i386 (SCMP_ARCH_X86) when
   *  listed; see compile.ts for the others. */
  architectures?: string[];
  /** SECCOMP_FILTER_FLAG_* names, passed to seccomp(2). */
  flags?: string[];
  /** Not supported: berth has no seccomp agent socket (SCMP_ACT_NOTIFY). */
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export type Operator = 'NE' | 'LT' | 'LE' | 'EQ' | 'GE' | 'GT' | 'MASKED_EQ';

export interface Condition {
  index: number;
  op: Operator;
  /** The datum (for MASKED_EQ: the mask). */
  value: bigint;
  /** MASKED_EQ only: the value the masked argument is compared with. */
  valueTwo: bigint;
}

/** The syscall ABIs of an x86_64 kernel, each with a table of its own (scripts/gen-syscalls.mjs). */
export type Abi = 'x86_64' | 'x32' | 'i386';

/** The architecture names of the ABIs, and their numbers. x32's are without __X32_SYSCALL_BIT. */
export const ABIS: ReadonlyMap<string, { abi: Abi; syscalls: ReadonlyMap<string, number> }> = new Map([
  ['SCMP_ARCH_X86_64', { abi: 'x86_64', syscalls: X86_64_SYSCALLS }],
  ['SCMP_ARCH_X32', { abi: 'x32', syscalls: X32_SYSCALLS }],
  ['SCMP_ARCH_X86', { abi: 'i386', syscalls: I386_SYSCALLS }],
]);

/** One rule for one syscall number of one ABI, its conditions ANDed. */
export interface Rule {
  name: string;
  abi: Abi;
  nr: number;
  action: number;
  conditions: Condition[];
}

export interface ValidatedSeccomp {
  /** SECCOMP_RET_* value of the default action, data included. */
  defaultAction: number;
  /** Per ABI, the largest syscall number the profile names, above which a refusing default answers
   *  ENOSYS instead (runc's patchbpf stub); absent when it does not. */
  enosysAbove: Partial<Record<Abi, number>>;
  /** Rules in profile order, already without those whose action is the default action. */
  rules: Rule[];
  flags: number;
  architectures: string[];
  /** The ABIs the filter covers: x86_64, then x32 and i386 when listed. */
  abis: Abi[];
  /** Names no covered ABI knows, in first-seen order. */
  ignored: string[];
}

const FIELD = 'linux.seccomp';
const U64_MAX = (1n << 64n) - 1n;

const ACTIONS: readonly LinuxSeccompAction[] = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
];
const OPERATORS: readonly LinuxSeccompOperator[] = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
];
/** The spec's list, and LOONGARCH64 which runtime-spec 1.2 adds. */
const ARCHITECTURES: readonly string[] = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
];
/** TSYNC is harmless in berth's single-threaded child; the others are what runc supports. */
const FLAGS: ReadonlyMap<string, number> = new Map([
  ['SECCOMP_FILTER_FLAG_TSYNC', SECCOMP_FILTER_FLAG_TSYNC],
  ['SECCOMP_FILTER_FLAG_LOG', SECCOMP_FILTER_FLAG_LOG],
  ['SECCOMP_FILTER_FLAG_SPEC_ALLOW', SECCOMP_FILTER_FLAG_SPEC_ALLOW],
]);

function invalid(field: string, expected: string, received: unknown): BerthError {
  return new BerthError('INVALID_ARGUMENT', `${field}: expected ${expected} but received ${quote(received)}`);
}

function unsupported(field: string, what: string): BerthError {
  return new BerthError('UNSUPPORTED', `${field}: ${what}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalArray(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(field, 'an array', v);
  return v;
}

function errnoValue(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > SECCOMP_RET_DATA) {
    throw invalid(field, 'an integer from 0 to 65535', v);
  }
  return v;
}

/** The SECCOMP_RET_* value of an action; errnoRet is the data of ERRNO and TRACE (EPERM if absent). */
function actionValue(action: unknown, errnoRet: unknown, field: string, errnoField: string): number {
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw invalid(field, `one of ${ACTIONS.join(', ')}`, action);
  }
  const given = errnoRet !== undefined && errnoRet !== null;
  // crun refuses an errno it could not return; runc ignores it. Refusing says so instead of dropping it.
  if (given && action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') {
    const why = `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one, not ${action}`;
    throw new BerthError('INVALID_ARGUMENT', `${errnoField}: expected no value (${why}) but received ${quote(errnoRet)}`);
  }
  const data = given ? errnoValue(errnoRet, errnoField) : EPERM;
  switch (action as LinuxSeccompAction) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET_TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET_ERRNO | data) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET_TRACE | data) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET_LOG;
    case 'SCMP_ACT_NOTIFY':
      throw unsupported(field, 'SCMP_ACT_NOTIFY is not supported: berth has no seccomp user-notification agent (listenerPath)');
  }
}

function u64(v: unknown, field: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > U64_MAX) throw invalid(field, 'an unsigned 64-bit integer', v);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalid(field, 'an unsigned 64-bit integer', v);
  if (!Number.isSafeInteger(v)) {
    throw invalid(field, 'a number below 2^53 (larger JSON numbers lose precision when parsed; pass a bigint)', v);
  }
  return BigInt(v);
}

function condition(v: unknown, field: string): Condition {
  if (!isObject(v)) throw invalid(field, 'an object', v);
  const { index, op } = v;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 5) {
    throw invalid(`${field}.index`, 'an argument index from 0 to 5', index);
  }
  if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) {
    throw invalid(`${field}.op`, `one of ${OPERATORS.join(', ')}`, op);
  }
  const value = u64(v.value, `${field}.value`);
  const valueTwo = v.valueTwo === undefined || v.valueTwo === null ? 0n : u64(v.valueTwo, `${field}.valueTwo`);
  return { index, op: op.slice('SCMP_CMP_'.length) as Operator, value, valueTwo };
}

/** runc adds a rule whose conditions share an argument as one rule per condition (libseccomp cannot
 *  AND two comparisons of one argument), so the conditions are ORed; berth does the same. */
function splitSharedArguments(conditions: Condition[]): Condition[][] {
  const indexes = new Set(conditions.map((c) => c.index));
  return indexes.size === conditions.length ? [conditions] : conditions.map((c) => [c]);
}

export function validateSeccomp(spec: unknown): ValidatedSeccomp {
  if (!isObject(spec)) throw invalid(FIELD, 'an object', spec);
  if (spec.listenerPath !== undefined && spec.listenerPath !== null && spec.listenerPath !== '') {
    throw unsupported(`${FIELD}.listenerPath`, 'seccomp user notification (a seccomp agent socket) is not supported');
  }
  const defaultAction = actionValue(spec.defaultAction, spec.defaultErrnoRet, `${FIELD}.defaultAction`, `${FIELD}.defaultErrnoRet`);

  const architectures = optionalArray(spec.architectures, `${FIELD}.architectures`).map((a, i) => {
    if (typeof a !== 'string' || !ARCHITECTURES.includes(a))
      throw invalid(`${FIELD}.architectures[${i}]`, `one of ${ARCHITECTURES.join(', ')}`, a);
    return a;
  });

  let flags = 0;
  optionalArray(spec.flags, `${FIELD}.flags`).forEach((f, i) => {
    const bit = typeof f === 'string' ? FLAGS.get(f) : undefined;
    if (bit === undefined) throw invalid(`${FIELD}.flags[${i}]`, `one of ${[...FLAGS.keys()].join(', ')}`, f);
    flags |= bit;
  });

  const abis = [...new Set(['SCMP_ARCH_X86_64', ...architectures])].flatMap((a) => {
    const found = ABIS.get(a);
    return found ? [found] : [];
  });
  const rules: Rule[] = [];
  const ignored: string[] = [];
  const largest: Partial<Record<Abi, number>> = {};
  optionalArray(spec.syscalls, `${FIELD}.syscalls`).forEach((call, i) => {
    const field = `${FIELD}.syscalls[${i}]`;
    if (!isObject(call)) throw invalid(field, 'an object', call);
    const names = optionalArray(call.names, `${field}.names`);
    if (names.length === 0) throw invalid(`${field}.names`, 'at least one syscall name', call.names);
    const action = actionValue(call.action, call.errnoRet, `${field}.action`, `${field}.errnoRet`);
    const conditions = optionalArray(call.args, `${field}.args`).map((a, j) => condition(a, `${field}.args[${j}]`));
    names.forEach((name, j) => {
      if (typeof name !== 'string' || name === '') throw invalid(`${field}.names[${j}]`, 'a syscall name', name);
      let known = false;
      for (const { abi, syscalls } of abis) {
        const nr = syscalls.get(name);
        if (nr === undefined) continue; // chown32 on x86_64, arch_prctl on i386
        known = true;
        // runc's ENOSYS stub counts every named syscall, including rules dropped just below.
        largest[abi] = Math.max(largest[abi] ?? -1, nr);
        if (action === defaultAction) continue;
        for (const group of splitSharedArguments(conditions)) rules.push({ name, abi, nr, action, conditions: group });
      }
      if (!known && !ignored.includes(name)) ignored.push(name);
    });
  });

  const enosysAbove: Partial<Record<Abi, number>> = {};
  for (const { abi } of abis) {
    const above = enosysStub(spec.defaultAction, defaultAction, largest[abi] ?? -1);
    if (above !== undefined) enosysAbove[abi] = above;
  }
  return { defaultAction, enosysAbove, rules, flags, architectures, abis: abis.map((a) => a.abi), ignored };
}

/**
 * runc prepends a stub that answers ENOSYS for syscalls newer than any the profile names, so that
 * a libc probing a new syscall (clone3, faccessat2 in their day) falls back instead of failing on
 * EPERM. It does so only when the default action refuses: not for ALLOW, LOG or TRACE.
 */
function enosysStub(name: unknown, defaultAction: number, largest: number): number | undefined {
  if (largest < 0 || name === 'SCMP_ACT_ALLOW' || name === 'SCMP_ACT_LOG' || name === 'SCMP_ACT_TRACE') return undefined;
  if (defaultAction === (SECCOMP_RET_ERRNO | ENOSYS) >>> 0) return undefined;
  return largest;
}
