import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_ARCH_X86_64, decodeProgram, encodeProgram } from '../../src/oci/seccomp/bpf';
import {
  compileSeccomp,
  compileSeccompFilter,
  type LinuxSeccomp,
  type LinuxSeccompAction,
  type LinuxSeccompArg,
  type LinuxSeccompOperator,
  type LinuxSyscall,
} from '../../src/oci/seccomp/compile';
import { renderDockerProfile, type DockerSeccompProfile } from '../../src/oci/seccomp/docker-profile';
import { describeReturn, disassemble, runProgram, verifyProgram } from '../../src/oci/seccomp/interpret';
import { X86_64_SYSCALLS } from '../../src/oci/seccomp/syscalls-x86_64';
import { caught } from '../helpers/caught';

const NR = (name: string): number => {
  const nr = X86_64_SYSCALLS.get(name);
  if (nr === undefined) throw new Error(`no syscall ${name}`);
  return nr;
};

/** What `nr` (a name or a number) with `args` gets from the compiled filter, as ALLOW, ERRNO(1), ... */
function verdict(filter: Buffer, nr: string | number, args: (bigint | number)[] = [], arch = AUDIT_ARCH_X86_64): string {
  return describeReturn(runProgram(filter, { nr: typeof nr === 'string' ? NR(nr) : nr, arch, args }));
}
const compiled = (spec: LinuxSeccomp) => compileSeccomp(spec);
const one = (call: LinuxSyscall, defaultAction: LinuxSeccompAction = 'SCMP_ACT_ALLOW') => compiled({ defaultAction, syscalls: [call] });
const arg = (index: number, op: LinuxSeccompOperator, value: bigint | number, valueTwo?: bigint | number): LinuxSeccompArg =>
  valueTwo === undefined ? { index, op, value } : { index, op, value, valueTwo };

describe('the byte layout', () => {
  it('is struct sock_filter: u16 code LE, u8 jt, u8 jf, u32 k LE, 8 bytes each', () => {
    const { filter, instructions } = compileSeccompFilter({ defaultAction: 'SCMP_ACT_ALLOW' });
    expect(filter.length).toBe(instructions * 8);
    // ld [4] (seccomp_data.arch); jeq #AUDIT_ARCH_X86_64 jt 1 jf 0; ret KILL_PROCESS; ld [0] (nr)
    expect(filter.subarray(0, 32).toString('hex')).toBe('2000000004000000' + '150001003e0000c0' + '0600000000000080' + '2000000000000000');
    expect(encodeProgram(decodeProgram(filter))).toEqual(filter);
    expect(disassemble(filter).slice(0, 3)).toEqual(['   0: ld [4]', '   1: jeq #0xc000003e jt 3 jf 2', '   2: ret KILL_PROCESS']);
  });
});

describe('actions', () => {
  it.each<[LinuxSeccompAction, number | undefined, string]>([
    ['SCMP_ACT_KILL', undefined, 'KILL_THREAD'],
    ['SCMP_ACT_KILL_THREAD', undefined, 'KILL_THREAD'],
    ['SCMP_ACT_KILL_PROCESS', undefined, 'KILL_PROCESS'],
    ['SCMP_ACT_TRAP', undefined, 'TRAP'],
    ['SCMP_ACT_ERRNO', undefined, 'ERRNO(1)'],
    ['SCMP_ACT_ERRNO', 13, 'ERRNO(13)'],
    ['SCMP_ACT_ERRNO', 0, 'ERRNO(0)'],
    ['SCMP_ACT_TRACE', undefined, 'TRACE(1)'],
    ['SCMP_ACT_TRACE', 4242, 'TRACE(4242)'],
    ['SCMP_ACT_LOG', undefined, 'LOG'],
  ])('%s (errnoRet %s) as a rule gives %s, other syscalls the default', (action, errnoRet, expected) => {
    const filter = one({ names: ['getpid'], action, ...(errnoRet === undefined ? {} : { errnoRet }) });
    expect(verdict(filter, 'getpid')).toBe(expected);
    expect(verdict(filter, 'getppid')).toBe('ALLOW');
  });

  it('ALLOW as a rule, ERRNO as the default with defaultErrnoRet, and each action as the default', () => {
    const filter = compiled({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
    });
    expect([verdict(filter, 'read'), verdict(filter, 'write')]).toEqual(['ALLOW', 'ERRNO(38)']);
    expect(verdict(compiled({ defaultAction: 'SCMP_ACT_ERRNO' }), 'write')).toBe('ERRNO(1)');
    expect(verdict(compiled({ defaultAction: 'SCMP_ACT_KILL_PROCESS' }), 'write')).toBe('KILL_PROCESS');
    expect(verdict(compiled({ defaultAction: 'SCMP_ACT_LOG' }), 'write')).toBe('LOG');
    expect(verdict(compiled({ defaultAction: 'SCMP_ACT_TRACE', defaultErrnoRet: 9 }), 'write')).toBe('TRACE(9)');
  });

  it('SCMP_ACT_NOTIFY and listenerPath are refused as unsupported', () => {
    const e = caught(() => one({ names: ['read'], action: 'SCMP_ACT_NOTIFY' }));
    expect([e.code, e.message]).toEqual([
      'UNSUPPORTED',
      'linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported: berth has no seccomp user-notification agent (listenerPath)',
    ]);
    expect(caught(() => compiled({ defaultAction: 'SCMP_ACT_NOTIFY' })).message).toMatch(/^linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY/);
    const l = caught(() => compiled({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock' }));
    expect([l.code, l.message]).toEqual([
      'UNSUPPORTED',
      'linux.seccomp.listenerPath: seccomp user notification (a seccomp agent socket) is not supported',
    ]);
  });
});

describe('argument comparisons on 64-bit values, as hi then lo halves', () => {
  // Around both halves' edges: the high word 0, 1, 2, 0x80000000 and 0xffffffff, the low word at its ends.
  // prettier-ignore
  const values = [0n, 1n, 5n, 0x7fffffffn, 0xffffffffn, 0x100000000n, 0x100000001n, 0x100000005n, 0x1ffffffffn, 0x200000001n,
    0x8000000000000000n, 0xffffffff00000000n, 0xfffffffffffffffen, 0xffffffffffffffffn];
  const holds: Record<Exclude<LinuxSeccompOperator, 'SCMP_CMP_MASKED_EQ'>, (a: bigint, d: bigint) => boolean> = {
    SCMP_CMP_NE: (a, d) => a !== d,
    SCMP_CMP_LT: (a, d) => a < d,
    SCMP_CMP_LE: (a, d) => a <= d,
    SCMP_CMP_EQ: (a, d) => a === d,
    SCMP_CMP_GE: (a, d) => a >= d,
    SCMP_CMP_GT: (a, d) => a > d,
  };
  it.each(Object.keys(holds) as (keyof typeof holds)[])('%s agrees with unsigned 64-bit BigInt comparison', (op) => {
    for (const d of values) {
      const filter = one({ names: ['lseek'], action: 'SCMP_ACT_ERRNO', errnoRet: 7, args: [arg(1, op, d)] });
      for (const a of values)
        expect([op, d, a, verdict(filter, 'lseek', [0, a])]).toEqual([op, d, a, holds[op](a, d) ? 'ERRNO(7)' : 'ALLOW']);
    }
  });

  it('the classic pitfalls: a high word that decides alone, an equal high word that defers to the low one', () => {
    const gt = one({ names: ['lseek'], action: 'SCMP_ACT_ERRNO', args: [arg(0, 'SCMP_CMP_GT', 0x100000005n)] });
    expect(verdict(gt, 'lseek', [0x200000001n])).toBe('ERRNO(1)'); // low word 1 < 5, but the high word is larger
    expect(verdict(gt, 'lseek', [0x100000005n])).toBe('ALLOW');
    expect(verdict(gt, 'lseek', [0xffffffffn])).toBe('ALLOW'); // low word larger, high word smaller
    const eq = one({ names: ['lseek'], action: 'SCMP_ACT_ERRNO', args: [arg(0, 'SCMP_CMP_EQ', 1)] });
    expect(verdict(eq, 'lseek', [0x100000001n])).toBe('ALLOW'); // the high word is compared too
  });

  it('SCMP_CMP_MASKED_EQ: value is the mask, valueTwo the wanted bits, in both halves', () => {
    const masks = [0xffn, 0xff00000000n, 0x7e020000n, 0xffffffffffffffffn, 0x8000000000000001n];
    const datums = [0n, 0x12n, 0x1200000000n, 0x80000000ffffffffn];
    for (const m of masks) {
      for (const d of datums) {
        const filter = one({ names: ['lseek'], action: 'SCMP_ACT_ERRNO', args: [arg(2, 'SCMP_CMP_MASKED_EQ', m, d)] });
        for (const a of [...values, 0x12n, 0x1200000000n, 0x1200000012n]) {
          expect([m, d, a, verdict(filter, 'lseek', [0, 0, a])]).toEqual([m, d, a, (a & m) === (d & m) ? 'ERRNO(1)' : 'ALLOW']);
        }
      }
    }
  });

  it('a zero mask always holds, so the rule is unconditional (libseccomp drops the comparison)', () => {
    const filter = one({ names: ['lseek'], action: 'SCMP_ACT_ERRNO', args: [arg(0, 'SCMP_CMP_MASKED_EQ', 0, 5)] });
    expect(verdict(filter, 'lseek', [123])).toBe('ERRNO(1)');
  });
});

describe('rules', () => {
  it('conditions on different arguments are ANDed', () => {
    const filter = one({
      names: ['mmap'],
      action: 'SCMP_ACT_ERRNO',
      args: [arg(0, 'SCMP_CMP_EQ', 1), arg(2, 'SCMP_CMP_GT', 5), arg(5, 'SCMP_CMP_NE', 0)],
    });
    expect(verdict(filter, 'mmap', [1, 0, 6, 0, 0, 1])).toBe('ERRNO(1)');
    // each breaks one condition: arg0 != 1, arg2 <= 5, arg5 == 0
    const misses = [[2, 0, 6, 0, 0, 1], [1, 0, 5, 0, 0, 1], [1, 0, 6, 0, 0, 0]]; // prettier-ignore
    for (const args of misses) expect(verdict(filter, 'mmap', args)).toBe('ALLOW');
  });

  it('conditions on the same argument become one rule each, ORed, as runc and crun do', () => {
    const filter = one({ names: ['mmap'], action: 'SCMP_ACT_ERRNO', args: [arg(0, 'SCMP_CMP_EQ', 1), arg(0, 'SCMP_CMP_EQ', 2)] });
    expect([1, 2, 3].map((a) => verdict(filter, 'mmap', [a]))).toEqual(['ERRNO(1)', 'ERRNO(1)', 'ALLOW']);
  });

  it('conditional rules of one syscall: the first that matches decides, else the default', () => {
    const filter = compiled({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['ioctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [arg(1, 'SCMP_CMP_EQ', 1)] },
        { names: ['ioctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 6, args: [arg(1, 'SCMP_CMP_LT', 10)] },
      ],
    });
    expect([1, 2, 20].map((a) => verdict(filter, 'ioctl', [0, a]))).toEqual(['ERRNO(5)', 'ERRNO(6)', 'ALLOW']);
  });

  it('an unconditional rule wins over conditional ones before or after it; the first unconditional one wins', () => {
    const cond: LinuxSyscall = { names: ['ioctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [arg(1, 'SCMP_CMP_EQ', 1)] };
    const plain = (errnoRet: number): LinuxSyscall => ({ names: ['ioctl'], action: 'SCMP_ACT_ERRNO', errnoRet });
    for (const syscalls of [
      [cond, plain(9)],
      [plain(9), cond],
      [plain(9), plain(8)],
    ]) {
      expect(verdict(compiled({ defaultAction: 'SCMP_ACT_ALLOW', syscalls }), 'ioctl', [0, 1])).toBe('ERRNO(9)');
    }
  });

  it('a rule with the default action is dropped (runc), so a later rule can decide', () => {
    const filter = compiled({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['ioctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [arg(1, 'SCMP_CMP_EQ', 1)] },
        { names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [arg(1, 'SCMP_CMP_LT', 5)] },
      ],
    });
    expect(verdict(filter, 'ioctl', [0, 1])).toBe('ALLOW');
  });

  it('unknown names are skipped and reported; names like "constructor" are not found on a prototype', () => {
    const result = compileSeccompFilter({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['chown32', 'getpid', 'no_such_call', 'constructor', 'chown32'], action: 'SCMP_ACT_ALLOW' }],
    });
    expect(result.ignored).toEqual(['chown32', 'no_such_call', 'constructor']);
    expect(verdict(result.filter, 'getpid')).toBe('ALLOW');
  });
});

describe('flags and validation', () => {
  it('flags become the seccomp(2) flag bits', () => {
    const flags = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'];
    expect(compileSeccompFilter({ defaultAction: 'SCMP_ACT_ALLOW', flags }).flags).toBe(7);
    expect(compileSeccompFilter({ defaultAction: 'SCMP_ACT_ALLOW' }).flags).toBe(0);
  });

  it('accepts a bigint for values JSON numbers cannot carry', () => {
    const filter = one({ names: ['lseek'], action: 'SCMP_ACT_ERRNO', args: [arg(0, 'SCMP_CMP_EQ', 0xfffffffffffffff1n)] });
    expect([verdict(filter, 'lseek', [0xfffffffffffffff1n]), verdict(filter, 'lseek', [0xfffffffffffffff0n])]).toEqual([
      'ERRNO(1)',
      'ALLOW',
    ]);
  });

  const calls = (call: object): LinuxSeccomp => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO' }, call] as LinuxSyscall[],
  });
  // prettier-ignore
  it.each<[string, LinuxSeccomp, string]>([
    ['an unknown op', calls({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_FOO' }] }),
      'linux.seccomp.syscalls[1].args[0].op: expected one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ but received "SCMP_CMP_FOO"'],
    ['an index past 5', calls({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }),
      'linux.seccomp.syscalls[1].args[0].index: expected an argument index from 0 to 5 but received 6'],
    ['a negative value', calls({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }),
      'linux.seccomp.syscalls[1].args[0].value: expected an unsigned 64-bit integer but received -1'],
    ['an imprecise number', calls({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }),
      'linux.seccomp.syscalls[1].args[0].value: expected a number below 2^53 (larger JSON numbers lose precision when parsed; pass a bigint) but received 1152921504606847000'],
    ['a bigint past 2^64', calls({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1n << 64n, valueTwo: 0, op: 'SCMP_CMP_EQ' }] }),
      'linux.seccomp.syscalls[1].args[0].value: expected an unsigned 64-bit integer but received 18446744073709551616n'],
    ['an unknown action', calls({ names: ['read'], action: 'SCMP_ACT_FOO' }),
      'linux.seccomp.syscalls[1].action: expected one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY but received "SCMP_ACT_FOO"'],
    ['errnoRet with ALLOW', calls({ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 5 }),
      'linux.seccomp.syscalls[1].errnoRet: expected no value (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one, not SCMP_ACT_ALLOW) but received 5'],
    ['errnoRet past 16 bits', calls({ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 65536 }),
      'linux.seccomp.syscalls[1].errnoRet: expected an integer from 0 to 65535 but received 65536'],
    ['no names', calls({ names: [], action: 'SCMP_ACT_ERRNO' }),
      'linux.seccomp.syscalls[1].names: expected at least one syscall name but received []'],
    ['an empty name', calls({ names: ['read', ''], action: 'SCMP_ACT_ERRNO' }),
      'linux.seccomp.syscalls[1].names[1]: expected a syscall name but received ""'],
    ['an unknown architecture', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_Z80'] },
      'linux.seccomp.architectures[1]: expected one of SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64, SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64, SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X, SCMP_ARCH_PARISC, SCMP_ARCH_PARISC64, SCMP_ARCH_RISCV64, SCMP_ARCH_LOONGARCH64 but received "SCMP_ARCH_Z80"'],
    ['an unknown flag', { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] },
      'linux.seccomp.flags[0]: expected one of SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW but received "SECCOMP_FILTER_FLAG_NEW_LISTENER"'],
    ['no default action', {} as LinuxSeccomp,
      'linux.seccomp.defaultAction: expected one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY but received undefined'],
  ])('refuses %s in one line naming the field', (_what, spec, message) => {
    const e = caught(() => compileSeccomp(spec));
    expect([e.code, e.message]).toEqual(['INVALID_ARGUMENT', message]);
  });

  it('refuses a profile the kernel could not load (over 4096 instructions)', () => {
    const gt = (i: number) => arg(i, 'SCMP_CMP_GT', 1);
    const syscalls = [...X86_64_SYSCALLS.keys()]
      .slice(0, 200)
      .map((name) => ({ names: [name], action: 'SCMP_ACT_ERRNO' as const, args: [0, 1, 2, 3].map(gt) }));
    expect(caught(() => compiled({ defaultAction: 'SCMP_ACT_ALLOW', syscalls })).message).toMatch(
      /^linux\.seccomp: the profile compiles to \d+ BPF instructions, more than the kernel's limit of 4096$/,
    );
  });
});

describe('the search over syscall numbers, against a plain model of the rules', () => {
  /** Deterministic xorshift, so a failure reproduces. */
  let seed = 0x9e3779b9;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const ops = ['NE', 'LT', 'LE', 'EQ', 'GE', 'GT', 'MASKED_EQ'].map((op) => `SCMP_CMP_${op}` as LinuxSeccompOperator);
  const small = () => BigInt(rand(8)) << BigInt(rand(2) * 32);
  const holds = (c: LinuxSeccompArg, a: bigint): boolean => {
    const d = BigInt(c.value);
    if (c.op === 'SCMP_CMP_MASKED_EQ') return (a & d) === (BigInt(c.valueTwo ?? 0) & d);
    return { SCMP_CMP_NE: a !== d, SCMP_CMP_LT: a < d, SCMP_CMP_LE: a <= d, SCMP_CMP_EQ: a === d, SCMP_CMP_GE: a >= d, SCMP_CMP_GT: a > d }[
      c.op
    ];
  };

  it('agrees on random profiles, long jumps included', () => {
    const names = [...X86_64_SYSCALLS.keys()];
    let sawLongJump = false;
    for (let round = 0; round < 12; round++) {
      const syscalls: LinuxSyscall[] = [];
      for (let i = 0; i < 20 + rand(300); i++) {
        const indexes = [...new Set(Array.from({ length: rand(4) }, () => rand(6)))];
        const args = indexes.map((index) => arg(index, ops[rand(ops.length)], small(), small()));
        syscalls.push({ names: [names[rand(names.length)]], action: 'SCMP_ACT_ERRNO', errnoRet: 2 + rand(5), args });
      }
      const filter = compiled({ defaultAction: 'SCMP_ACT_ALLOW', syscalls });
      sawLongJump ||= disassemble(filter).some((line) => line.includes(': ja '));
      for (let probe = 0; probe < 300; probe++) {
        const nr = rand(4) === 0 ? rand(500) : NR(syscalls[rand(syscalls.length)].names[0]);
        const args = Array.from({ length: 6 }, small);
        const rules = syscalls.filter((s) => NR(s.names[0]) === nr);
        const plain = rules.find((s) => !s.args?.length || s.args.every((c) => c.op === 'SCMP_CMP_MASKED_EQ' && BigInt(c.value) === 0n));
        const match = plain ?? rules.find((s) => (s.args ?? []).every((c) => holds(c, args[c.index])));
        expect([nr, args, verdict(filter, nr, args)]).toEqual([nr, args, match ? `ERRNO(${match.errnoRet})` : 'ALLOW']);
      }
    }
    expect(sawLongJump).toBe(true);
  });

  it('the kernel-side checks reject what it would refuse', () => {
    const insn = (code: number, jt: number, k: number) => ({ code, jt, jf: 0, k });
    expect(() => verifyProgram([insn(0x15, 1, 0), insn(0x06, 0, 0)])).toThrow(/leave the program/);
    expect(() => verifyProgram([insn(0x20, 0, 4)])).toThrow(/must be a return/);
    expect(() => verifyProgram([insn(0x20, 0, 64), insn(0x06, 0, 0)])).toThrow(/offset 64/);
  });
});

describe("docker's default profile (moby/profiles seccomp/default.json)", () => {
  const profile = JSON.parse(
    fs.readFileSync(path.join(__dirname, '../fixtures/oci/docker-default-seccomp.json'), 'utf8'),
  ) as DockerSeccompProfile;
  const DOCKER_CAPS =
    'CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE'
      .split(' ')
      .map((cap) => `CAP_${cap}`);
  const render = (caps: string[]) => renderDockerProfile(profile, { arch: 'amd64', capabilities: caps, kernelRelease: '6.1.0-18-amd64' });
  const spec = render(DOCKER_CAPS);
  const result = compileSeccompFilter(spec);
  const f = result.filter;
  const CLONE_NEWUSER = 0x10000000;
  const SIGCHLD = 17;
  const PTHREAD_CLONE_FLAGS = 0x3d0f00;

  it('renders as podman and containerd send it: x86_64 with its sub-architectures, default ERRNO(EPERM)', () => {
    expect(spec.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect([spec.defaultAction, spec.defaultErrnoRet]).toEqual(['SCMP_ACT_ERRNO', 1]);
    expect(result.abis).toEqual(['x86_64', 'i386', 'x32']);
    expect(result.killedArchitectures).toEqual([]);
  });

  it('stays far below the 4096-instruction limit (the rules of all three ABIs: see oci-seccomp-arch.test.ts)', () => {
    expect(result.instructions).toBeLessThan(800);
  });

  it('allows the everyday syscalls and denies the dangerous ones with EPERM', () => {
    for (const name of ['read', 'write', 'execve', 'openat', 'futex', 'epoll_wait', 'exit_group', 'chroot', 'ptrace', 'arch_prctl'])
      expect([name, verdict(f, name)]).toEqual([name, 'ALLOW']);
    for (const name of ['kexec_load', 'open_by_handle_at', 'mount', 'unshare', 'setns', 'bpf', 'init_module', 'reboot', 'keyctl'])
      expect([name, verdict(f, name)]).toEqual([name, 'ERRNO(1)']);
  });

  it('personality: only the listed values', () => {
    expect([0, 8, 0x20000, 0x20008, 0xffffffff].map((p) => verdict(f, 'personality', [p]))).toEqual(Array(5).fill('ALLOW'));
    expect([0x12345, 1, 0x1ffffffffn].map((p) => verdict(f, 'personality', [p]))).toEqual(Array(3).fill('ERRNO(1)'));
  });

  it('clone without namespace flags is allowed, with CLONE_NEWUSER it is denied; clone3 gets ENOSYS', () => {
    expect(verdict(f, 'clone', [SIGCHLD])).toBe('ALLOW');
    expect(verdict(f, 'clone', [PTHREAD_CLONE_FLAGS])).toBe('ALLOW');
    expect(verdict(f, 'clone', [CLONE_NEWUSER | SIGCHLD])).toBe('ERRNO(1)');
    expect(verdict(f, 'clone3')).toBe('ERRNO(38)');
  });

  it('socket: every family but AF_ALG (38) and AF_VSOCK (40)', () => {
    expect([2, 10, 16, 37, 39, 41, 45].map((family) => verdict(f, 'socket', [family]))).toEqual(Array(7).fill('ALLOW'));
    expect([38, 40, 0x100000002n].map((family) => verdict(f, 'socket', [family]))).toEqual(['ERRNO(1)', 'ERRNO(1)', 'ALLOW']);
  });

  it('syscalls newer than any it names get ENOSYS; names no x86 ABI has are reported as ignored', () => {
    expect([471, 600].map((nr) => verdict(f, nr))).toEqual(['ERRNO(38)', 'ERRNO(38)']);
    // recv and send are socketcall(2) operations on i386, riscv_hwprobe is RISC-V's
    expect(result.ignored).toEqual(['recv', 'riscv_hwprobe', 'send']);
  });

  // The byte layout and the kernel's verifier, for real: python3's ctypes loads the filter into a child
  // (no_new_privs, so no root needed) and reports what a few syscalls return; no native code of berth's.
  const python = process.arch === 'x64' && spawnSync('python3', ['-c', 'pass']).status === 0;
  it.skipIf(!python)('a real kernel loads it and answers as the interpreter does', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp-')), 'filter.bpf');
    fs.writeFileSync(file, f);
    const script = `import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
data = open(sys.argv[1], 'rb').read()
buf = ctypes.create_string_buffer(data, len(data))
prog = (ctypes.c_uint64 * 2)(len(data) // 8, ctypes.addressof(buf))  # struct sock_fprog { u16 len; filter* } on x86_64
assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
assert libc.syscall(317, 1, 0, prog) == 0, ctypes.get_errno()  # seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)
# getpid, personality(0x12345), unshare(CLONE_NEWUSER), clone3, a syscall newer than the profile
for nr, a0 in [(39, 0), (135, 0x12345), (272, 0x10000000), (435, 0), (471, 0)]:
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), ctypes.c_long(a0))
    print(-ctypes.get_errno() if r == -1 else 'ok')`;
    const run = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
    fs.rmSync(path.dirname(file), { recursive: true });
    expect([run.stderr, run.stdout.trim().split('\n')]).toEqual(['', ['ok', '-1', '-1', '-38', '-38']]);
  });

  it('with CAP_SYS_ADMIN, clone with namespace flags and mount are allowed', () => {
    const admin = compileSeccomp(render([...DOCKER_CAPS, 'CAP_SYS_ADMIN']));
    expect([verdict(admin, 'clone', [CLONE_NEWUSER | SIGCHLD]), verdict(admin, 'mount'), verdict(admin, 'clone3')]).toEqual([
      'ALLOW',
      'ALLOW',
      'ALLOW',
    ]);
  });
});
