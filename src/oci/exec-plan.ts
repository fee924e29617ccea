/** `berth-oci exec`: a process for a running container, from its process.json (or flags), as the
 *  same plan shape `specToPlan` makes, joining the init's namespaces instead of creating them. */
import * as path from 'node:path';
import { BerthError } from '../errors';
import type { NativeSpawnPlan } from '../native';
import { quote } from '../util/quote';
import type { Process, Spec } from './spec';
import { NEW_NAMESPACE } from './namespaces';
import { capabilitiesOf, execCandidates, preservedFds, rlimitsOf } from './process-plan';

export interface ExecPlanContext {
  joinFiles: string[];
  consoleSocket?: string;
  helperPath: string;
  seccompFilter?: Buffer;
  /** runc's --preserve-fds: the caller's fds 3..3+N-1 become the process's. */
  preserveFds?: number;
}

export function execToPlan(pid: number, p: Process, config: Spec, ctx: ExecPlanContext): NativeSpawnPlan {
  if (!Array.isArray(p.args) || p.args.length === 0)
    throw new BerthError('INVALID_ARGUMENT', 'process.args: expected a non-empty array of strings');
  const cwd = p.cwd || config.process?.cwd || '/';
  if (!path.posix.isAbsolute(cwd))
    throw new BerthError('INVALID_ARGUMENT', `process.cwd: expected an absolute path but received ${quote(cwd)}`);
  const user = p.user ?? config.process?.user ?? { uid: 0, gid: 0 };
  const env = p.env ?? config.process?.env ?? [];
  const caps = capabilitiesOf({ ...p, user });
  const preserveFds = preservedFds(ctx.preserveFds);
  // every namespace of the container's, joined through its pidfd in one setns(2) (the user
  // namespace first: the kernel checks the others against its privileges)
  const namespaces = (config.linux?.namespaces ?? []).map((n) => NEW_NAMESPACE[n.type]).filter((n): n is string => !!n);
  return {
    namespaces: [...new Set(namespaces)],
    rootfs: '',
    rootfsMount: { source: '', fstype: '', flags: 0, data: '' },
    mounts: [],
    hostname: '',
    cgroupDirs: [],
    cgroupWrites: [],
    cgroupProcs: ctx.joinFiles,
    loopbackUp: false,
    execCandidates: execCandidates(p.args[0], env),
    argv: p.args,
    env,
    cwd,
    uid: user.uid,
    gid: user.gid,
    groups: user.additionalGids ?? [],
    umask: user.umask ?? 0o022,
    capsDrop: caps.drop,
    capsKeep: caps.mask,
    capsForAnyUser: true,
    capsInheritable: caps.inheritable,
    capsAmbient: caps.ambient,
    noNewPrivileges: !!(p.noNewPrivileges ?? config.process?.noNewPrivileges),
    rlimits: rlimitsOf(p),
    stdio: [0, 1, 2],
    tty: !!p.terminal,
    ttySize: [p.consoleSize?.height ?? 24, p.consoleSize?.width ?? 80],
    parentDeathSignal: 0,
    joinPid: pid,
    helperPath: ctx.helperPath,
    ...(ctx.consoleSocket ? { consoleSocket: ctx.consoleSocket } : {}),
    seccomp: false,
    ...(ctx.seccompFilter ? { seccompFilter: ctx.seccompFilter } : {}),
    ...(preserveFds ? { preserveFds } : {}),
  };
}
