/**
 * The ContainerConfig fields of docker's filesystem and process flags (--read-only, --tmpfs,
 * --shm-size, --ulimit, --sysctl, --oom-score-adj, --domainname, --group-add). One function for
 * both checks: the API boundary calls it without the image (group names only shape-checked),
 * containerConfig with the image's layers (group names resolved).
 */
import { parseCgroupParent } from './cgroup-parent';
import { parseShmSize, parseTmpfsList } from './filesystem-options';
import { parseMounts, withMountTmpfs } from './mount-flag';
import { parseStorageOpts } from './storage-opt';
import { parseVolumesFrom } from './volumes-from';
import { checkGroupAdd, parseVolume, resolveGroupAdd, type ContainerOptions } from './options';
import { parseDomainname, parseOomScoreAdj, parseSysctls, parseUlimits } from './process-options';
import type { ContainerConfig } from './types';

export type RunFlagsConfig = Pick<
  ContainerConfig,
  'readonlyRootfs' | 'tmpfs' | 'shmSize' | 'ulimits' | 'sysctls' | 'oomScoreAdj' | 'domainname' | 'cgroupParent'
>;

/** Only what was given goes into config.json. */
export function runFlagsConfig(o: ContainerOptions): RunFlagsConfig {
  const out: RunFlagsConfig = {};
  if (o.readOnly) out.readonlyRootfs = true;
  const mountVolumes = parseMounts(o.mounts).volumes;
  const volumeTargets = [...(o.volumes ?? []).map((v) => parseVolume(v).containerPath), ...mountVolumes.map((v) => v.containerPath)];
  const tmpfs = withMountTmpfs(parseTmpfsList(o.tmpfs, volumeTargets), o.mounts, volumeTargets);
  parseStorageOpts(o.storageOpt);
  o.volumesFrom?.forEach(parseVolumesFrom);
  if (tmpfs.length > 0) out.tmpfs = tmpfs;
  if (o.shmSize !== undefined) out.shmSize = parseShmSize(o.shmSize);
  const ulimits = parseUlimits(o.ulimits);
  if (ulimits.length > 0) out.ulimits = ulimits;
  const sysctls = parseSysctls(o.sysctls, o.network === 'host');
  if (Object.keys(sysctls).length > 0) out.sysctls = sysctls;
  if (o.oomScoreAdj !== undefined) out.oomScoreAdj = parseOomScoreAdj(o.oomScoreAdj);
  if (o.domainname !== undefined) out.domainname = parseDomainname(o.domainname);
  if (o.cgroupParent !== undefined) out.cgroupParent = parseCgroupParent(o.cgroupParent);
  o.groupAdd?.forEach(checkGroupAdd);
  return out;
}

/** The process's groups: its user's, then --group-add's (each once). */
export function processGroups(userGroups: number[], groupAdd: readonly string[] | undefined, layers: string[]): number[] {
  return [...new Set([...userGroups, ...resolveGroupAdd(groupAdd ?? [], layers)])];
}
