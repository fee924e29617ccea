/**
 * Docker's seccomp profile format (moby's profiles/seccomp: default.json and `--security-opt
 * seccomp=FILE`) rendered into the OCI `linux.seccomp` section for one container, the way moby's
 * setupSeccomp does: the archMap entry of the host's architecture becomes `architectures`, and a rule
 * is kept only when its includes (all of the listed capabilities, one of the arches, a minimum kernel)
 * hold and its excludes (any listed capability, a listed arch, the kernel at or above minKernel) do not.
 */
import { BerthError } from '../../errors';
import { quote } from '../../util/quote';
import type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSyscall } from './spec';

export interface DockerSeccompFilter {
  arches?: string[] | null;
  caps?: string[] | null;
  minKernel?: string | null;
}

export interface DockerSeccompSyscall {
  name?: string;
  names?: string[] | null;
  action: LinuxSeccompAction;
  errnoRet?: number | null;
  args?: LinuxSeccompArg[] | null;
  comment?: string;
  includes?: DockerSeccompFilter | null;
  excludes?: DockerSeccompFilter | null;
}

export interface DockerSeccompProfile {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number | null;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  flags?: string[] | null;
  listenerPath?: string;
  syscalls?: DockerSeccompSyscall[] | null;
}

export interface DockerProfileTarget {
  /** libseccomp's name of the host architecture, as the profile's includes/excludes use it. */
  arch: 'amd64' | 'x86' | 'arm64' | 'arm' | 'ppc64le' | 's390x' | 'riscv64';
  /** The container's bounding capabilities, CAP_* names. */
  capabilities: readonly string[];
  /** The host's kernel release (os.release()), for minKernel. */
  kernelRelease: string;
}

const SCMP_ARCH: Record<DockerProfileTarget['arch'], string> = {
  amd64: 'SCMP_ARCH_X86_64',
  x86: 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
};

/** "5.10.0-28-amd64" -> [5, 10, 0]; what moby's kernel.ParseRelease keeps of a release. */
function kernelVersion(release: string, field: string): number[] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) throw new BerthError('INVALID_ARGUMENT', `${field}: expected a kernel version like 5.10 but received ${quote(release)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function atLeast(have: number[], want: number[]): boolean {
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i] > want[i];
  return true;
}

export function renderDockerProfile(profile: DockerSeccompProfile, target: DockerProfileTarget): LinuxSeccomp {
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new BerthError('INVALID_ARGUMENT', 'seccomp profile: use either architectures or archMap, not both');
  }
  const kernel = kernelVersion(target.kernelRelease, 'kernel release');
  const architectures = [...(profile.architectures ?? [])];
  const own = profile.archMap?.find((a) => a.architecture === SCMP_ARCH[target.arch]);
  if (own) architectures.push(own.architecture, ...(own.subArchitectures ?? []));

  const hasCap = (c: string) => target.capabilities.includes(c);
  const syscalls: LinuxSyscall[] = [];
  (profile.syscalls ?? []).forEach((call, i) => {
    const field = `seccomp profile: syscalls[${i}]`;
    const inc = call.includes ?? {};
    const exc = call.excludes ?? {};
    if (exc.arches?.includes(target.arch)) return;
    if (exc.caps?.some(hasCap)) return;
    if (exc.minKernel && atLeast(kernel, kernelVersion(exc.minKernel, `${field}.excludes.minKernel`))) return;
    if (inc.arches?.length && !inc.arches.includes(target.arch)) return;
    if (inc.caps?.length && !inc.caps.every(hasCap)) return;
    if (inc.minKernel && !atLeast(kernel, kernelVersion(inc.minKernel, `${field}.includes.minKernel`))) return;
    if (call.name && call.names?.length) throw new BerthError('INVALID_ARGUMENT', `${field}: use either name or names, not both`);
    const rendered: LinuxSyscall = { names: call.name ? [call.name] : [...(call.names ?? [])], action: call.action };
    if (call.errnoRet !== undefined && call.errnoRet !== null) rendered.errnoRet = call.errnoRet;
    if (call.args?.length) rendered.args = call.args.map((a) => ({ ...a }));
    syscalls.push(rendered);
  });

  const spec: LinuxSeccomp = { defaultAction: profile.defaultAction, syscalls };
  if (profile.defaultErrnoRet !== undefined && profile.defaultErrnoRet !== null) spec.defaultErrnoRet = profile.defaultErrnoRet;
  if (architectures.length) spec.architectures = architectures;
  if (profile.flags?.length) spec.flags = [...profile.flags];
  if (profile.listenerPath) spec.listenerPath = profile.listenerPath;
  return spec;
}
