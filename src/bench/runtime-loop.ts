/**
 * The timing loop of one OCI runtime on the bench's bundle: `RT --root STATE run --bundle B ID`
 * of `true`, a fresh ID per run, and (untimed) `delete --force` when a run left its state behind.
 * Shared by runtimes.ts and runtime-worker.ts (crun on a hybrid cgroup host, in a namespace).
 */
import { spawnSync } from 'node:child_process';
import { RUN_TIMEOUT_MS, timedSpawn, timeLoop, type Budget } from './measure';

export interface RuntimeRun {
  /** The runtime's executable. */
  readonly cmd: string;
  readonly stateRoot: string;
  readonly bundle: string;
  readonly idPrefix: string;
  readonly errFile: string;
  readonly env: NodeJS.ProcessEnv;
}

export function runtimeSamples(rt: RuntimeRun, budget: Budget): Promise<number[]> {
  return timeLoop(budget, (i) => {
    const id = `${rt.idPrefix}-${i}`;
    try {
      return timedSpawn(rt.cmd, ['--root', rt.stateRoot, 'run', '--bundle', rt.bundle, id], rt.errFile, rt.env);
    } finally {
      deleteLeftovers(rt);
    }
  });
}

/** `delete --force` of every container still in the runtime's state root (ours alone). */
export function deleteLeftovers(rt: Pick<RuntimeRun, 'cmd' | 'stateRoot' | 'env'>): void {
  const opts = { env: rt.env, timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' as const };
  const list = spawnSync(rt.cmd, ['--root', rt.stateRoot, 'list', '-q'], {
    ...opts,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  for (const id of String(list.stdout ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    spawnSync(rt.cmd, ['--root', rt.stateRoot, 'delete', '--force', id], { ...opts, stdio: 'ignore' });
  }
}
