/**
 * The seccomp program across the ABIs of an x86_64 kernel: the dispatch on seccomp_data.arch, each
 * ABI's syscalls checked against its own numbers (x86_64, x32 = nr with __X32_SYSCALL_BIT under
 * AUDIT_ARCH_X86_64, i386 = AUDIT_ARCH_I386), run through the interpreter with each ABI's
 * seccomp_data. The real kernel's answer for i386 is in test/integration/oci-seccomp-i386.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT } from '../../src/oci/seccomp/bpf';
import { compileSeccomp, compileSeccompFilter, type LinuxSeccomp, type LinuxSyscall } from '../../src/oci/seccomp/compile';
import { renderDockerProfile, type DockerSeccompProfile } from '../../src/oci/seccomp/docker-profile';
import { describeReturn, disassemble, runProgram } from '../../src/oci/seccomp/interpret';
import type { Abi } from '../../src/oci/seccomp/spec';
import { I386_SYSCALLS } from '../../src/oci/seccomp/syscalls-i386';
import { X32_SYSCALLS } from '../../src/oci/seccomp/syscalls-x32';
import { X86_64_SYSCALLS } from '../../src/oci/seccomp/syscalls-x86_64';

const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const X86 = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
const ABI: Record<Abi, { arch: number; base: number; table: ReadonlyMap<string, number> }> = {
  x86_64: { arch: AUDIT_ARCH_X86_64, base: 0, table: X86_64_SYSCALLS },
  x32: { arch: AUDIT_ARCH_X86_64, base: X32_SYSCALL_BIT, table: X32_SYSCALLS },
  i386: { arch: AUDIT_ARCH_I386, base: 0, table: I386_SYSCALLS },
};

/** What a syscall of one ABI (by name, or by its number in that ABI) gets: ALLOW, ERRNO(1), ... */
function on(filter: Buffer, abi: Abi, call: string | number, args: (bigint | number)[] = []): string {
  const { arch, base, table } = ABI[abi];
  const nr = typeof call === 'number' ? call : table.get(call);
  if (nr === undefined) throw new Error(`no syscall ${call} on ${abi}`);
  return describeReturn(runProgram(filter, { nr: base + nr, arch, args }));
}
const raw = (filter: Buffer, nr: number, arch: number) => describeReturn(runProgram(filter, { nr, arch }));
const getpidDenied = (architectures?: string[]): Buffer =>
  compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures, syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO' }] });

describe('the architecture dispatch', () => {
  it('a profile naming x86_64 alone (or no architecture): i386, x32 and any other architecture are killed, even with default ALLOW', () => {
    for (const f of [getpidDenied(['SCMP_ARCH_X86_64']), getpidDenied()]) {
      expect(on(f, 'x86_64', 'getpid')).toBe('ERRNO(1)');
      expect(on(f, 'i386', 'getpid')).toBe('KILL_PROCESS');
      expect(on(f, 'x32', 'getpid')).toBe('KILL_PROCESS');
      expect([X32_SYSCALL_BIT + 512, 0x7fffffff].map((nr) => raw(f, nr, AUDIT_ARCH_X86_64))).toEqual(['KILL_PROCESS', 'KILL_PROCESS']);
      expect(raw(f, X86_64_SYSCALLS.get('getpid')!, AUDIT_ARCH_AARCH64)).toBe('KILL_PROCESS');
    }
  });

  it('with x86 and x32 listed, each ABI is checked against its own numbers; other architectures are killed', () => {
    const result = compileSeccompFilter({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: X86,
      syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO' }],
    });
    expect([result.abis, result.killedArchitectures]).toEqual([['x86_64', 'i386', 'x32'], []]);
    const f = result.filter;
    expect((['x86_64', 'i386', 'x32'] as Abi[]).map((abi) => on(f, abi, 'getpid'))).toEqual(['ERRNO(1)', 'ERRNO(1)', 'ERRNO(1)']);
    // x86_64's getpid number (39) is i386's mkdir; i386's (20) is x86_64's and x32's writev
    expect([on(f, 'i386', 39), on(f, 'x86_64', 20), on(f, 'x32', 20)]).toEqual(['ALLOW', 'ALLOW', 'ALLOW']);
    expect(raw(f, 39, AUDIT_ARCH_AARCH64)).toBe('KILL_PROCESS');
  });

  it('an x32 syscall is checked against the x32 rules only, never allowed by an x86_64 one', () => {
    const allowList = (architectures: string[]): Buffer =>
      compileSeccomp({
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures,
        syscalls: [{ names: ['read', 'rt_sigaction'], action: 'SCMP_ACT_ALLOW' }],
      });
    const f = allowList(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32']);
    expect([on(f, 'x86_64', 'rt_sigaction'), on(f, 'x32', 'rt_sigaction'), on(f, 'x32', 'read')]).toEqual(['ALLOW', 'ALLOW', 'ALLOW']);
    // x86_64's rt_sigaction number, 13, is not x32's (512): with the x32 bit it is no allowed syscall
    expect(on(f, 'x32', 13)).toBe('ERRNO(1)');
    expect(on(f, 'i386', 'read')).toBe('KILL_PROCESS');
    const noX32 = allowList(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    expect([on(noX32, 'x32', 'read'), on(noX32, 'i386', 'read'), on(noX32, 'i386', 'rt_sigaction')]).toEqual([
      'KILL_PROCESS',
      'ALLOW',
      'ALLOW',
    ]);
  });

  it('a name is resolved on every covered ABI; only one that none of them knows is ignored', () => {
    const spec = (architectures: string[]): LinuxSeccomp => ({
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures,
      syscalls: [{ names: ['chown32', 'arch_prctl', 'listns', 'arm_fadvise64_64', 'constructor'], action: 'SCMP_ACT_ALLOW' }],
    });
    const all = compileSeccompFilter(spec(X86));
    expect(all.ignored).toEqual(['arm_fadvise64_64', 'constructor']);
    expect([on(all.filter, 'i386', 'chown32'), on(all.filter, 'x86_64', 'arch_prctl'), on(all.filter, 'x32', 'arch_prctl')]).toEqual([
      'ALLOW',
      'ALLOW',
      'ALLOW',
    ]);
    // chown32's i386 number (212) is lookup_dcookie on x86_64: not allowed there (listns keeps it below the ENOSYS range)
    expect(on(all.filter, 'x86_64', 212)).toBe('ERRNO(1)');
    expect(compileSeccompFilter(spec(['SCMP_ARCH_X86_64'])).ignored).toEqual(['chown32', 'arm_fadvise64_64', 'constructor']);
  });

  it('a refusing default answers ENOSYS above the largest syscall the profile names, per ABI', () => {
    const f = compileSeccomp({
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: X86,
      syscalls: [{ names: ['getpid', 'read'], action: 'SCMP_ACT_TRAP' }],
    });
    // x86_64: getpid 39 is the largest; i386: getpid 20; x32: getpid 39 | bit
    expect([38, 39, 40, 470, 0x3fffffff].map((nr) => on(f, 'x86_64', nr))).toEqual([
      'ERRNO(1)',
      'TRAP',
      'ERRNO(38)',
      'ERRNO(38)',
      'ERRNO(38)',
    ]);
    expect([3, 19, 20, 21, 0x40000005].map((nr) => on(f, 'i386', nr))).toEqual(['TRAP', 'ERRNO(1)', 'TRAP', 'ERRNO(38)', 'ERRNO(38)']);
    expect([0, 38, 39, 40, 600].map((nr) => on(f, 'x32', nr))).toEqual(['TRAP', 'ERRNO(1)', 'TRAP', 'ERRNO(38)', 'ERRNO(38)']);
  });

  it('nr -1 (a tracer skipping the syscall) gets the default action on every ABI', () => {
    for (const [defaultAction, expected] of [
      ['SCMP_ACT_ALLOW', 'ALLOW'],
      ['SCMP_ACT_ERRNO', 'ERRNO(1)'],
    ] as const) {
      const f = compileSeccomp({ defaultAction, architectures: X86, syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_TRAP' }] });
      expect([raw(f, -1, AUDIT_ARCH_X86_64), raw(f, -1, AUDIT_ARCH_I386)]).toEqual([expected, expected]);
    }
  });
});

describe('long jumps and rules on every ABI, against a plain model', () => {
  /** Deterministic xorshift, so a failure reproduces. */
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };

  it('agrees on random profiles whose x86_64 block is too long for a conditional jump to i386', () => {
    const names = [...new Set([...X86_64_SYSCALLS.keys(), ...I386_SYSCALLS.keys(), ...X32_SYSCALLS.keys()])];
    for (let round = 0; round < 6; round++) {
      const syscalls: LinuxSyscall[] = [];
      for (let i = 0; i < 150 + rand(150); i++) {
        const value = rand(4);
        syscalls.push({
          names: [names[rand(names.length)]],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 2 + rand(5),
          args: rand(2) ? [{ index: 0, op: 'SCMP_CMP_EQ', value }] : [],
        });
      }
      const filter = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: X86, syscalls });
      // ld arch; jeq x86_64; jeq i386 jt 0 jf 1; ja to the i386 block; ret KILL
      expect(disassemble(filter)[3]).toMatch(/^ {3}3: ja /);
      for (const abi of ['x86_64', 'i386', 'x32'] as Abi[]) {
        const { table } = ABI[abi];
        for (let probe = 0; probe < 150; probe++) {
          const known = syscalls.filter((s) => table.has(s.names[0]));
          const nr = rand(3) === 0 ? rand(600) : table.get(known[rand(known.length)].names[0])!;
          const arg0 = rand(4);
          const rules = syscalls.filter((s) => table.get(s.names[0]) === nr);
          const plain = rules.find((s) => !s.args?.length);
          const match = plain ?? rules.find((s) => BigInt(s.args![0].value) === BigInt(arg0));
          expect([abi, nr, arg0, on(filter, abi, nr, [arg0])]).toEqual([abi, nr, arg0, match ? `ERRNO(${match.errnoRet})` : 'ALLOW']);
        }
      }
    }
  });
});

describe("docker's default profile (moby/profiles seccomp/default.json) on x86_64, i386 and x32", () => {
  const profile = JSON.parse(
    fs.readFileSync(path.join(__dirname, '../fixtures/oci/docker-default-seccomp.json'), 'utf8'),
  ) as DockerSeccompProfile;
  const DOCKER_CAPS =
    'CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE'
      .split(' ')
      .map((cap) => `CAP_${cap}`);
  const spec = renderDockerProfile(profile, { arch: 'amd64', capabilities: DOCKER_CAPS, kernelRelease: '6.1.0-18-amd64' });
  const result = compileSeccompFilter(spec);
  const f = result.filter;
  const ABIS: Abi[] = ['x86_64', 'i386', 'x32'];
  const CLONE_NEWUSER = 0x10000000;
  const SIGCHLD = 17;

  it('compiles to a program of sane size: the x86_64 part as before, x32 and i386 beside it', () => {
    const only = (architectures: string[]) => compileSeccompFilter({ ...spec, architectures }).instructions;
    expect(only(['SCMP_ARCH_X86_64'])).toBe(185);
    expect(only(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'])).toBeLessThan(450);
    expect(only(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'])).toBeLessThan(500);
    expect(result.instructions).toBeLessThan(800);
  });

  it('allows the everyday syscalls of each ABI', () => {
    const everyday: Record<Abi, string[]> = {
      x86_64: ['read', 'write', 'execve', 'openat', 'futex', 'exit_group', 'arch_prctl'],
      i386: ['read', 'write', 'execve', 'openat', 'futex', 'exit_group', 'mmap2', '_llseek', 'socketcall', 'set_thread_area', 'chown32'],
      x32: ['read', 'write', 'execve', 'openat', 'futex', 'exit_group', 'rt_sigaction', 'arch_prctl'],
    };
    for (const abi of ABIS) for (const name of everyday[abi]) expect([abi, name, on(f, abi, name)]).toEqual([abi, name, 'ALLOW']);
  });

  it('denies the dangerous ones with EPERM on every ABI; clone with CLONE_NEWUSER too; clone3 gets ENOSYS', () => {
    for (const abi of ABIS) {
      for (const name of ['kexec_load', 'open_by_handle_at', 'mount', 'unshare', 'setns', 'bpf', 'init_module', 'reboot', 'keyctl'])
        expect([abi, name, on(f, abi, name)]).toEqual([abi, name, 'ERRNO(1)']);
      expect([on(f, abi, 'clone', [SIGCHLD]), on(f, abi, 'clone', [CLONE_NEWUSER | SIGCHLD]), on(f, abi, 'clone3')]).toEqual([
        'ALLOW',
        'ERRNO(1)',
        'ERRNO(38)',
      ]);
    }
  });

  it('personality: only the listed values, on i386 as on x86_64', () => {
    for (const abi of ABIS) {
      expect([0, 8, 0x20000, 0x20008, 0xffffffff].map((p) => on(f, abi, 'personality', [p]))).toEqual(Array(5).fill('ALLOW'));
      expect([0x12345, 1].map((p) => on(f, abi, 'personality', [p]))).toEqual(['ERRNO(1)', 'ERRNO(1)']);
    }
  });
});
