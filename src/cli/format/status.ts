/** docker's Status column of a container ("Up 5 seconds (healthy)", "Exited (0) 2 minutes ago"),
 *  shared by ps, the Engine API's /containers/json and system df. Kept apart from ps.ts so that
 *  the API's converters can use it without loading the ps command. */
import { healthSuffix } from '../../runtime/health/monitor';
import { hasExited, isRunning } from '../../runtime/container-predicates';
import type { ContainerInfo } from '../../runtime/types';
import { humanDuration } from '../command';

export function statusText(c: ContainerInfo, now = Date.now()): string {
  const s = c.state;
  if (isRunning(s)) return `Up ${humanDuration(now - Date.parse(s.startedAt!))}${s.paused ? ' (Paused)' : healthSuffix(s.health)}`;
  if (hasExited(s)) return `Exited (${s.exitCode ?? 255}) ${humanDuration(now - Date.parse(s.finishedAt ?? c.config.created))} ago`;
  return 'Created';
}
