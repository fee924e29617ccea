/**
 * Starting a container's health check monitor (native/health: berth-health) and reading what it
 * writes. The monitor is a small static executable started detached from a sealed copy, after the
 * container runs (foreground and detached starts alike); it outlives this process, follows the
 * shim's restarts of the container and exits with it. Node decides everything here: the check's
 * exec plan (the container's user, environment, directory, seccomp and capabilities, as `berth
 * exec` runs) is encoded once; the monitor only replaces the pid it joins.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../errors';
import { native } from '../../native';
import { encodePlan } from '../../native/plan-codec';
import { writeFileAtomic } from '../../util/fs';
import { execPlan } from '../plan';
import { SHIM_PATH } from '../shim';
import type { ContainerConfig, ContainerState } from '../types';
import { formatGoDuration, healthArgv } from './options';

/** Beside berth-shim in build/Release. */
export const HEALTH_PATH = path.join(path.dirname(SHIM_PATH), 'berth-health');

/** docker's State.Health. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

export function healthFiles(containerDir: string) {
  return {
    config: path.join(containerDir, 'health.conf'),
    plan: path.join(containerDir, 'health.plan'),
    health: path.join(containerDir, 'health.json'),
    /** The monitor's pid (tests, and anyone who wants to see it). */
    pid: path.join(containerDir, 'health.pid'),
  };
}

/** Where encodePlan puts joinPid: the bytes two plans differing only in it differ at. */
function joinPidOffset(plan: Parameters<typeof encodePlan>[0]): number {
  const a = encodePlan({ ...plan, joinPid: 1 });
  const b = encodePlan({ ...plan, joinPid: 2 });
  const first = a.findIndex((byte, i) => byte !== b[i]);
  // the f64s 1.0 and 2.0 share their low bytes: the field starts up to 7 bytes before the first difference
  for (let offset = Math.max(0, first - 7); offset <= first; offset++)
    if (a.readDoubleLE(offset) === 1 && b.readDoubleLE(offset) === 2) return offset;
  throw new BerthError('INTERNAL', 'Cannot locate joinPid in the encoded plan');
}

/**
 * Starts berth-health for a container that now runs (`state`: its running state). A container
 * without a health check is left alone. The check starts as `starting` in health.json.
 */
export function startHealthMonitor(config: ContainerConfig, state: ContainerState, containerDir: string, joinFiles: string[]): void {
  const hc = config.healthcheck;
  if (!hc || state.pid === undefined || state.pidStartTime === undefined) return;
  if (!fs.existsSync(HEALTH_PATH))
    throw new BerthError('INTERNAL', `berth-health is missing at ${HEALTH_PATH}; rebuild the native parts with \`npm rebuild berth\``);
  const files = healthFiles(containerDir);
  const plan = execPlan(
    state.pid,
    {
      argv: healthArgv(hc.test, hc.shell),
      env: config.env,
      cwd: config.workdir,
      uid: config.uid,
      gid: config.gid,
      groups: config.groups,
      seccomp: config.seccomp !== false && !config.privileged,
      noNewPrivileges: !!config.noNewPrivileges,
      capabilities: config.capabilities,
    },
    joinFiles,
    { fds: [0, 1, 2], tty: false, ttySize: [24, 80] },
  );
  fs.writeFileSync(files.plan, encodePlan(plan));
  const lines = [
    `plan=${files.plan}`,
    `health=${files.health}`,
    `state=${path.join(containerDir, 'state.json')}`,
    `pid=${state.pid}`,
    `pid_start=${state.pidStartTime}`,
    `interval_ms=${hc.intervalMs}`,
    `timeout_ms=${hc.timeoutMs}`,
    `start_period_ms=${hc.startPeriodMs}`,
    `start_interval_ms=${hc.startIntervalMs}`,
    `retries=${hc.retries}`,
    `join_pid_offset=${joinPidOffset(plan)}`,
    `timeout_text=${formatGoDuration(hc.timeoutMs * 1e6)}`,
  ];
  if (lines.some((l) => l.includes('\n'))) throw new BerthError('INVALID_ARGUMENT', 'A path given to berth-health contains a newline');
  fs.writeFileSync(files.config, lines.join('\n') + '\n');
  writeFileAtomic(files.health, JSON.stringify({ Status: 'starting', FailingStreak: 0, Log: [] } satisfies HealthState) + '\n');
  // node:child_process loads here only: a container without a health check never needs it.
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  // From a sealed in-memory copy, as the shim: /proc/PID/exe is never the host's file.
  const sealed = `/proc/${process.pid}/fd/${native().sealedExecutable(HEALTH_PATH)}`;
  const child = spawn(sealed, [files.config], { argv0: 'berth-health', stdio: 'ignore', detached: true });
  child.on('error', () => {}); // a monitor that could not start leaves health.json at starting
  child.unref();
  if (child.pid !== undefined) fs.writeFileSync(files.pid, `${child.pid}\n`);
}

/** What the monitor last wrote, if the container has a health check. */
export function readHealth(config: ContainerConfig, containerDir: string): HealthState | undefined {
  if (!config.healthcheck) return undefined;
  try {
    return JSON.parse(fs.readFileSync(healthFiles(containerDir).health, 'utf8')) as HealthState;
  } catch {
    return undefined;
  }
}

/** ps's suffix to "Up 5 seconds": " (healthy)", " (health: starting)", " (unhealthy)". */
export function healthSuffix(health: HealthState | undefined): string {
  if (!health) return '';
  return health.Status === 'starting' ? ' (health: starting)' : ` (${health.Status})`;
}
