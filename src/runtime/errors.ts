import { BerthError, isSystemError } from '../errors';
import { quote } from '../util/quote';
import type { NativeSpawnPlan } from '../native';
import type { ContainerConfig } from './types';
import { isChildStep, startFailureStatus } from './child-steps';

/** Turns a native start failure into a message a user can act on, keeping the system error as cause. */
export function startError(e: unknown, config: ContainerConfig, plan: NativeSpawnPlan, verb = 'start container'): BerthError {
  const name = quote(config.name);
  if (!isSystemError(e)) return new BerthError('START_FAILED', `Cannot ${verb} ${name}`, { cause: e });
  const raw = (e as { step?: string }).step;
  const step = isChildStep(raw) ? raw : undefined;
  const index = (e as { index?: number }).index ?? -1;
  const cmd = config.argv[0];
  if (step === 'execve') {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
      const where = cmd.includes('/') ? `${quote(cmd)}: no such file or directory` : `${quote(cmd)}: executable file not found in $PATH`;
      return new BerthError('START_FAILED', `Cannot ${verb} ${name}: exec ${where}`, {
        cause: e,
        exitStatus: startFailureStatus(step, e.code),
      });
    }
    if (e.code === 'EACCES' || e.code === 'ENOEXEC' || e.code === 'EISDIR') {
      return new BerthError(
        'START_FAILED',
        `Cannot ${verb} ${name}: exec ${quote(e.path ?? cmd)}: permission denied or not an executable`,
        { cause: e, exitStatus: startFailureStatus(step, e.code) },
      );
    }
  }
  const op = step && index >= 0 ? plan.mounts[index] : undefined;
  const volume = op ? config.volumes.find((v) => v.containerPath.replace(/^\/+|\/+$/g, '') === op.target) : undefined;
  if (step === 'mount target in /proc or /sys') {
    const target = volume?.containerPath ?? (op ? `/${op.target}` : undefined);
    return new BerthError(
      'INVALID_ARGUMENT',
      `Mount target ${target === undefined ? 'a mount target' : quote(target)} resolves into /proc or /sys of the container (through a symlink in the image); mount it on another path`,
      { cause: e },
    );
  }
  if (volume && e.code === 'EXDEV') {
    return new BerthError(
      'INVALID_ARGUMENT',
      `Volume target ${quote(volume.containerPath)} leads out of the container's rootfs through a symlink; mount the volume on a path without such a link`,
      { cause: e },
    );
  }
  if (volume && (e.code === 'ENOTDIR' || e.code === 'ENOENT')) {
    return new BerthError(
      'INVALID_ARGUMENT',
      `Volume target ${quote(volume.containerPath)} cannot be created in the image (${e.code}): a file is in the way`,
      { cause: e },
    );
  }
  if (step === 'chdir') {
    return new BerthError('START_FAILED', `Cannot ${verb} ${name}: working directory ${quote(config.workdir)} is not a directory`, {
      cause: e,
    });
  }
  return new BerthError('START_FAILED', `Cannot ${verb} ${name}: ${e.message}`, { cause: e });
}
