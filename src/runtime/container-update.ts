/**
 * `docker update`: new resource limits (and restart policy) for containers. The limits given are
 * merged over the container's config.json, written to its cgroup files at once if it runs (through
 * its cgroup manager's own plan, as create would write them), and stored, so every later start
 * keeps them. The flags are parsed as run's (parseLimits), so the same values mean the same.
 */
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import { checkOptions, str, strOrNum, type Schema } from '../util/validate';
import type { CgroupLimits, CgroupManager } from './cgroups';
import { applyLimits } from './cgroups/update-limits';
import { isRunning } from './container-predicates';
import { parseLimits, parseRestart } from './options';
import type { ContainerConfig, ContainerInfo } from './types';

/** What `berth update` and Berth.update() take: run's resource flags, and --restart. */
export interface UpdateOptions {
  cpus?: string | number;
  cpuShares?: string | number;
  cpusetCpus?: string;
  cpusetMems?: string;
  cpuPeriod?: string | number;
  cpuQuota?: string | number;
  memory?: string | number;
  memorySwap?: string | number;
  memoryReservation?: string | number;
  pidsLimit?: string | number;
  blkioWeight?: string | number;
  /** no, always, unless-stopped, on-failure[:N]; a detached container's shim takes it at its next start. */
  restart?: string;
}

export const UPDATE_SCHEMA: Schema = {
  cpus: strOrNum,
  cpuShares: strOrNum,
  cpusetCpus: str(),
  cpusetMems: str(),
  cpuPeriod: strOrNum,
  cpuQuota: strOrNum,
  memory: strOrNum,
  memorySwap: strOrNum,
  memoryReservation: strOrNum,
  pidsLimit: strOrNum,
  blkioWeight: strOrNum,
  restart: str(),
};

/** The options checked (types, then values as run parses them), before any container is looked up. */
export function checkUpdateOptions(o: unknown, what = 'update()'): asserts o is UpdateOptions {
  checkOptions(o, UPDATE_SCHEMA, `the options of ${what}`);
  const u = o as UpdateOptions;
  if (Object.values(u).every((v) => v === undefined))
    throw new BerthError(
      'INVALID_ARGUMENT',
      'You must provide one or more flags when using update: --memory, --cpus, --pids-limit, --restart, ...',
    );
  const { memorySwap, ...rest } = limitOptions(u);
  // --memory-swap alone is checked against the container's memory limit (updatedConfig)
  parseLimits({ image: '', ...rest, ...(u.memory !== undefined ? { memorySwap } : {}) });
  if (u.restart !== undefined) parseRestart(u.restart);
}

function limitOptions(u: UpdateOptions): Omit<UpdateOptions, 'restart'> {
  const { restart: _restart, ...limits } = u;
  return limits;
}

/** The container's config with the update merged in. Pure: nothing is written. */
export function updatedConfig(config: ContainerConfig, u: UpdateOptions): ContainerConfig {
  const given = limitOptions(u);
  // --memory-swap alone is checked against the memory limit the container has
  const memory = u.memory ?? (u.memorySwap !== undefined ? config.limits.memory : undefined);
  // a quota alone is a share of the period the container has
  const cpuPeriod = u.cpuPeriod ?? (u.cpuQuota !== undefined ? config.limits.cpuPeriod : undefined);
  const parsed = parseLimits({
    image: config.image,
    ...given,
    ...(memory !== undefined ? { memory } : {}),
    ...(cpuPeriod !== undefined ? { cpuPeriod } : {}),
  });
  const limits: CgroupLimits = { ...config.limits, ...parsed };
  // --cpus is a quota of docker's 100ms period: an earlier --cpu-period goes
  if (u.cpus !== undefined) delete limits.cpuPeriod;
  // a new memory limit without a swap limit: the swap limit create would have given it (unless unlimited)
  if (u.memory !== undefined && u.memorySwap === undefined && config.limits.memorySwap !== -1) delete limits.memorySwap;
  if (limits.memorySwap !== undefined && limits.memorySwap !== -1 && limits.memory !== undefined && limits.memorySwap < limits.memory) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Memory limit should be smaller than already set memoryswap limit (${limits.memorySwap} bytes); update the memoryswap at the same time`,
    );
  }
  let restart = config.restart;
  if (u.restart !== undefined) {
    restart = parseRestart(u.restart);
    if (restart.name !== 'no' && config.autoRemove)
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Restart policy cannot be updated because AutoRemove is enabled for container ${quote(config.name)}`,
      );
  }
  return { ...config, limits, ...(restart ? { restart } : {}) };
}

/** What updateContainer needs of the runtime. */
export interface UpdateRuntime {
  resolve(ref: string): ContainerInfo;
  cgroupsOf(config: Pick<ContainerConfig, 'cgroupParent'>): CgroupManager;
  readonly store: { writeConfig(config: ContainerConfig): void };
}

/** docker update of one container: the cgroup files of a running one, then its config. */
export function updateContainer(rt: UpdateRuntime, ref: string, u: UpdateOptions): ContainerInfo {
  const info = rt.resolve(ref);
  const config = updatedConfig(info.config, u);
  if (isRunning(info.state)) applyLimits(rt.cgroupsOf(config), config.id, config.limits);
  rt.store.writeConfig(config);
  return { config, state: info.state };
}
