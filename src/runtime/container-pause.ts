/**
 * docker pause/unpause through the cgroup freezer (src/oci/freezer.ts, shared with berth-oci): v1's
 * freezer hierarchy, which every container joins (cgroups/v1.ts), or v2's cgroup.freeze. The
 * freezer is the truth about "paused": it is read whenever a container is looked up, never stored,
 * so it cannot go stale (a container that exits, or a freeze someone else lifted, reads right).
 */
import * as path from 'node:path';
import { BerthError } from '../errors';
import { freezer } from '../oci/freezer';
import { isRunning } from './container-predicates';
import type { CgroupManager } from './cgroups';
import type { ContainerConfig, ContainerInfo } from './types';

const V1_FREEZER = '/sys/fs/cgroup/freezer';
const V2_ROOT = '/sys/fs/cgroup';
/** How long a freeze may stay FREEZING (tasks in uninterruptible sleep) before it is given up. */
const FREEZE_TIMEOUT_MS = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The container's cgroup as freezer.ts locates it: its parent below the hierarchy's root, its name. */
export function freezerLocation(cgroups: CgroupManager, config: Pick<ContainerConfig, 'id'>): { parent: string; name: string } {
  const dirs = cgroups.dirs(config.id);
  const root = cgroups.version === 1 ? V1_FREEZER : V2_ROOT;
  const own = dirs.find((d) => d.startsWith(`${root}/`)) ?? dirs[0];
  return { parent: path.relative(root, path.dirname(own)), name: config.id };
}

/** The info with `paused` as the freezer says now (a stored one, from an older write, dropped). */
export function withPaused(cgroups: CgroupManager, c: ContainerInfo): ContainerInfo {
  const paused = isRunning(c.state) && freezer.isFrozen(freezerLocation(cgroups, c.config));
  if (!paused && c.state.paused === undefined) return c;
  const { paused: _stale, ...state } = c.state;
  return { config: c.config, state: paused ? { ...state, paused: true } : state };
}

/** Freezes every process of a running container and waits until the kernel says they are. */
export async function pause(cgroups: CgroupManager, c: ContainerInfo): Promise<void> {
  if (!isRunning(c.state)) throw new BerthError('INVALID_STATE', `Container ${c.config.id} is not running`);
  if (c.state.paused) throw new BerthError('INVALID_STATE', `Container ${c.config.id} is already paused`);
  const where = freezerLocation(cgroups, c.config);
  try {
    freezer.freeze(where);
  } catch (e) {
    throw new BerthError(
      'INVALID_STATE',
      `Cannot pause container ${c.config.id}: it has no freezer cgroup (started before berth joined the freezer? restart it)`,
      { cause: e },
    );
  }
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  for (let n = 0; !freezer.settled(where); n++) {
    if (Date.now() > deadline) {
      freezer.thaw(where);
      throw new BerthError(
        'INTERNAL',
        `Cannot pause container ${c.config.id}: its processes did not freeze within ${FREEZE_TIMEOUT_MS} ms`,
      );
    }
    // v1 can stay FREEZING while a task sleeps uninterruptibly: asking again (as runc does) lets
    // tasks that woke up meanwhile be frozen
    if (cgroups.version === 1 && n % 10 === 9) freezer.freeze(where);
    await sleep(1);
  }
}

export function unpause(cgroups: CgroupManager, c: ContainerInfo): void {
  if (!c.state.paused) throw new BerthError('INVALID_STATE', `Container ${c.config.id} is not paused`);
  freezer.thaw(freezerLocation(cgroups, c.config));
}

/** After a stop signal or SIGKILL to a paused container: a frozen task takes no signal (v1), so it
 *  is thawed to receive it, as dockerd resumes a paused container it stops. */
export function thawIfPaused(cgroups: CgroupManager, c: ContainerInfo): void {
  if (c.state.paused) freezer.thaw(freezerLocation(cgroups, c.config));
}

/** docker's refusal of exec into a paused container. */
export function refuseIfPaused(c: ContainerInfo): void {
  if (c.state.paused) throw new BerthError('INVALID_STATE', `Container ${c.config.id} is paused, unpause the container before exec`);
}
