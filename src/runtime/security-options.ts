/**
 * docker's --security-opt: seccomp=unconfined|default|FILE (a docker seccomp profile, rendered
 * into the OCI linux.seccomp the container's starts compile), no-new-privileges[=true|false],
 * systempaths=unconfined (no masked or read-only /proc and /sys paths), apparmor=PROFILE and
 * label=... (berth applies no LSM: accepted and kept where the host has none, refused where the
 * host enforces one, since running unconfined would silently weaken what was asked).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { lsmHost, type LsmHost } from '../oci/lsm';
import { compileSeccomp } from '../oci/seccomp-cache';
import { renderDockerProfile, type DockerProfileTarget, type DockerSeccompProfile } from '../oci/seccomp/docker-profile';
import type { LinuxSeccomp } from '../oci/seccomp/spec';
import { quote } from '../util/quote';

export interface SecurityOptions {
  /** berth's default seccomp filter; false: unconfined. */
  seccomp: boolean;
  noNewPrivileges: boolean;
  /** seccomp=FILE: the profile read from FILE (its path, for messages). */
  seccompProfile?: { file: string; profile: DockerSeccompProfile };
  /** apparmor=PROFILE (kept, not applied: the host has no AppArmor). */
  apparmor?: string;
  /** label=... entries (kept, not applied: the host has no SELinux). */
  label?: string[];
  /** systempaths=unconfined: no masked or read-only paths. */
  systemPathsUnconfined?: boolean;
}

/** What config.json keeps of them (only what differs from the defaults). */
export interface SecurityConfig {
  seccomp?: boolean;
  noNewPrivileges?: boolean;
  /** seccomp=FILE rendered for this container (its capabilities, this host's arch and kernel). */
  seccompProfile?: LinuxSeccomp;
  apparmorProfile?: string;
  securityLabel?: string[];
  systemPathsUnconfined?: boolean;
}

const SUPPORTED =
  'seccomp=unconfined, seccomp=default, seccomp=PROFILE.json, no-new-privileges[=true|false], systempaths=unconfined, apparmor=PROFILE, label=disable|user:U|role:R|type:T|level:L';

const unknown = (o: string, why = '') =>
  new BerthError('INVALID_ARGUMENT', `Unknown --security-opt ${quote(o)}${why}; supported: ${SUPPORTED}`);

const LABEL = /^(disable|nested|(user|role|type|level|filetype):.+)$/;

/** docker's KEY=VALUE, or its older KEY:VALUE. */
function split(o: string): [string, string | undefined] {
  const eq = o.indexOf('=');
  const colon = o.indexOf(':');
  const at = eq >= 0 && (colon < 0 || eq < colon) ? eq : colon;
  return at < 0 ? [o, undefined] : [o.slice(0, at), o.slice(at + 1)];
}

/** A docker seccomp profile from a file: JSON with a defaultAction (checked in full when rendered
 *  and compiled). */
export function readSeccompProfile(file: string): DockerSeccompProfile {
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (e as Error).message;
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Cannot read the seccomp profile ${quote(file)} of --security-opt seccomp: ${why}; give a docker seccomp profile (JSON file), or seccomp=unconfined`,
    );
  }
  let profile: unknown;
  try {
    profile = JSON.parse(text);
  } catch (e) {
    throw new BerthError('INVALID_ARGUMENT', `The seccomp profile ${quote(file)} is not JSON: ${(e as Error).message}`);
  }
  if (
    typeof profile !== 'object' ||
    profile === null ||
    Array.isArray(profile) ||
    typeof (profile as { defaultAction?: unknown }).defaultAction !== 'string'
  ) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `The seccomp profile ${quote(file)} has no defaultAction; expected docker's profile format ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [...]})`,
    );
  }
  const syscalls = (profile as { syscalls?: unknown }).syscalls;
  if (syscalls != null && !Array.isArray(syscalls))
    throw new BerthError('INVALID_ARGUMENT', `The seccomp profile ${quote(file)}: expected syscalls to be an array`);
  return profile as DockerSeccompProfile;
}

/** docker's --security-opt values; anything else is an error listing the supported ones. `host`:
 *  which LSMs the kernel enforces (tests pass their own). */
export function parseSecurityOpts(opts: readonly string[] | undefined, host?: LsmHost): SecurityOptions {
  const out: SecurityOptions = { seccomp: true, noNewPrivileges: false };
  let lsm = host;
  const lsmOn = () => (lsm ??= lsmHost());
  for (const o of opts ?? []) {
    const [key, value] = split(o);
    if (key === 'seccomp' && value) {
      if (value === 'unconfined' || value === 'default' || value === 'builtin') {
        out.seccomp = value !== 'unconfined';
        delete out.seccompProfile;
      } else {
        out.seccomp = true;
        out.seccompProfile = { file: value, profile: readSeccompProfile(value) };
      }
    } else if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) {
      out.noNewPrivileges = value !== 'false';
    } else if (key === 'systempaths' && value === 'unconfined') {
      out.systemPathsUnconfined = true;
    } else if (key === 'apparmor' && value) {
      if (value !== 'unconfined' && lsmOn().apparmor)
        throw new BerthError(
          'UNSUPPORTED',
          `--security-opt ${quote(o)}: berth cannot apply AppArmor profiles and this host enforces AppArmor; leave it out or use apparmor=unconfined`,
        );
      out.apparmor = value;
    } else if (key === 'label' && value && LABEL.test(value)) {
      if (value !== 'disable' && lsmOn().selinux)
        throw new BerthError(
          'UNSUPPORTED',
          `--security-opt ${quote(o)}: berth cannot apply SELinux labels and this host enforces SELinux; leave it out or use label=disable`,
        );
      out.label = [...(out.label ?? []), value];
    } else if (key === 'no-new-privileges') {
      throw unknown(o, ' (no-new-privileges takes true or false)');
    } else {
      throw unknown(o);
    }
  }
  return out;
}

/** The host's architecture as docker profiles' includes/excludes name it. */
function hostArch(): DockerProfileTarget['arch'] {
  const arches: Record<string, DockerProfileTarget['arch']> = {
    x64: 'amd64',
    ia32: 'x86',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return arches[process.arch] ?? 'amd64';
}

/** A profile rendered for a container with these (bounding) capabilities, as moby renders it at
 *  start, and compiled once here so that a profile berth cannot compile is refused at create. */
export function renderSeccompProfile(p: NonNullable<SecurityOptions['seccompProfile']>, capabilities: readonly string[]): LinuxSeccomp {
  try {
    const spec = renderDockerProfile(p.profile, { arch: hostArch(), capabilities, kernelRelease: os.release() });
    compileSeccomp(spec, () => {});
    return spec;
  } catch (e) {
    if (!(e instanceof BerthError)) throw e;
    // one line: the compiler's message names the field (its own cause would print a second line)
    throw new BerthError(e.code, `The seccomp profile ${quote(p.file)}: ${e.message.replace(/^seccomp profile: /, '')}`);
  }
}

/** config.json's fields of the options (only what differs from the defaults). */
export function securityConfig(s: SecurityOptions, capabilities: readonly string[]): SecurityConfig {
  return {
    ...(s.seccomp ? {} : { seccomp: false }),
    ...(s.noNewPrivileges ? { noNewPrivileges: true } : {}),
    ...(s.seccompProfile ? { seccompProfile: renderSeccompProfile(s.seccompProfile, capabilities) } : {}),
    ...(s.apparmor !== undefined ? { apparmorProfile: s.apparmor } : {}),
    ...(s.label ? { securityLabel: s.label } : {}),
    ...(s.systemPathsUnconfined ? { systemPathsUnconfined: true } : {}),
  };
}

/** The compiled filter of a container's own profile (its starts and execs), if it has one and is
 *  not privileged (docker runs privileged containers without seccomp). */
export function containerSeccompFilter(c: SeccompOf): Buffer | undefined {
  const profile = ownSeccompProfile(c);
  return profile && compileSeccomp(profile, () => {});
}

type SeccompOf = { seccompProfile?: LinuxSeccomp; privileged?: boolean; seccomp?: boolean };

/** --security-opt seccomp=FILE's profile where it applies: not privileged, not seccomp=unconfined. */
export function ownSeccompProfile(c: SeccompOf): LinuxSeccomp | undefined {
  return c.seccompProfile && !c.privileged && c.seccomp !== false ? c.seccompProfile : undefined;
}
