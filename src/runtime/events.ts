/**
 * Container events (start, die, oom, exit) as differences between two looks at the containers'
 * states. Detached containers change state in their shims, in other processes: polling the state
 * files is what sees those changes from anywhere.
 */
import type { ContainerInfo, ContainerState } from './types';
import { hasExited, isRunning } from './container-predicates';

/** Container events, as `watch()` reports them: start (also on restarts), die (the process
 *  ended), oom (it died of the OOM killer), exit (it stopped for good, restart policy included),
 *  health_status (its health check turned healthy or unhealthy: docker's `health_status: S`). */
export interface ContainerEvent {
  type: 'start' | 'die' | 'oom' | 'exit' | 'health_status';
  id: string;
  name: string;
  exitCode?: number;
  /** health_status: the new status. */
  health?: 'healthy' | 'unhealthy';
  time: string;
}

export type ContainerEventType = ContainerEvent['type'];

/** What happened to one container between two of its states, in the order it happened. */
export function stateChanges(
  before: ContainerState | undefined,
  now: ContainerState,
): Array<{ type: ContainerEventType; exitCode?: number; health?: 'healthy' | 'unhealthy' }> {
  const out: Array<{ type: ContainerEventType; exitCode?: number; health?: 'healthy' | 'unhealthy' }> = [];
  // a new pid while running is a restart (by the shim's policy) seen only after it happened
  const restarted = isRunning(now) && (!isRunning(before) || before.pid !== now.pid);
  if (restarted && isRunning(before)) out.push({ type: 'die' });
  if (restarted) out.push({ type: 'start' });
  // docker reports a health check's changes to healthy or unhealthy (starting is where it begins)
  const health = isRunning(now) ? now.health?.Status : undefined;
  if (health && health !== 'starting' && (restarted || before?.health?.Status !== health)) out.push({ type: 'health_status', health });
  if (hasExited(now) && isRunning(before)) {
    out.push({ type: 'die', exitCode: now.exitCode });
    if (now.oomKilled) out.push({ type: 'oom', exitCode: now.exitCode });
    out.push({ type: 'exit', exitCode: now.exitCode });
  }
  return out;
}

/**
 * The events of every container between the states in `seen` and `containers`; `seen` is updated
 * to the new states. A container not in `seen` is new: it starts from no state.
 */
export function containerEvents(
  seen: Map<string, ContainerState>,
  containers: ContainerInfo[],
  now: () => string = () => new Date().toISOString(),
): ContainerEvent[] {
  const events: ContainerEvent[] = [];
  for (const c of containers) {
    const before = seen.get(c.config.id);
    seen.set(c.config.id, c.state);
    for (const { type, exitCode, health } of stateChanges(before, c.state)) {
      events.push({
        type,
        id: c.config.id,
        name: c.config.name,
        time: now(),
        ...(exitCode === undefined ? {} : { exitCode }),
        ...(health ? { health } : {}),
      });
    }
  }
  return events;
}

/** Polls `list` every intervalMs and reports what changed since the call (the containers' states
 *  at the call are the baseline, not events). Returns the function that stops it. */
export function watchContainers(list: () => ContainerInfo[], onEvent: (e: ContainerEvent) => void, intervalMs = 200): () => void {
  const seen = new Map<string, ContainerState>();
  for (const c of list()) seen.set(c.config.id, c.state);
  const timer = setInterval(() => {
    for (const e of containerEvents(seen, list())) onEvent(e);
  }, intervalMs);
  return () => clearInterval(timer);
}
