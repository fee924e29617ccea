// `berth exec`: a process that joins a running container, through berth-nsenter (native/core/enter.h).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { native, spawnContainer } from '../native';
import { quote } from '../util/quote';
import { isRunning } from './container-predicates';
import { startError } from './errors';
import { mergeEnv, resolveUser, type ExecOptions } from './options';
import { execPlan, type StdioPlan } from './plan';
import { containerSeccompFilter } from './security-options';
import type { ExitStatus, Started } from './runtime';
import type { ContainerInfo } from './types';

/** Starts a process inside a running container: its namespaces, cgroup, user and environment
 *  unless overridden. Resolves `exited` when that process ends (the container keeps running). */
export function startExec(info: ContainerInfo, o: ExecOptions, stdio: StdioPlan, containerDir: string, joinFiles: string[]): Started {
  const { config, state } = info;
  if (!isRunning(state) || state.pid === undefined) {
    throw new BerthError('INVALID_STATE', `Container ${quote(config.name)} is not running; start it first (berth start ${config.name})`);
  }
  if (o.cmd.length === 0) throw new BerthError('INVALID_ARGUMENT', '"berth exec" requires a command to run in the container');
  const upper = path.join(containerDir, 'upper');
  const user =
    o.user !== undefined ? resolveUser(o.user, [upper, ...config.layers]) : { uid: config.uid, gid: config.gid, groups: config.groups };
  const env = o.env ? mergeEnv(config.env, o.env) : config.env;
  const workdir = o.workdir ?? config.workdir;
  if (!path.posix.isAbsolute(workdir))
    throw new BerthError('INVALID_ARGUMENT', `Expected an absolute path for --workdir but received ${quote(workdir)}`);
  const plan = execPlan(
    state.pid,
    {
      argv: o.cmd,
      env,
      cwd: workdir,
      ...user,
      seccomp: config.seccomp !== false && !config.privileged,
      seccompFilter: containerSeccompFilter(config),
      noNewPrivileges: !!config.noNewPrivileges,
      capabilities: config.capabilities,
    },
    joinFiles,
    stdio,
  );
  let spawned;
  try {
    spawned = spawnContainer(plan);
  } catch (e) {
    throw startError(e, { ...config, argv: o.cmd, workdir }, plan, 'exec in');
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    native().watchExit(spawned.pidfd, (exit) => {
      fs.closeSync(spawned.pidfd);
      resolve({
        exitCode: exit.signal ? 128 + exit.signal : exit.code,
        ...(exit.signal ? { signal: exit.signal } : {}),
        oomKilled: false,
      });
    });
  });
  return { info, pid: spawned.pid, pidfd: spawned.pidfd, ptyMaster: spawned.ptyMaster, exited };
}
