/**
 * The volume operations of class Berth (src/index.ts): each method there is a one-line call into
 * here. Options are checked first, so a bad one leaves nothing behind.
 */
import type { Runtime } from '../runtime/runtime';
import { arrayOf, bool, checkOptions, str, stringRecord } from '../util/validate';
import { parseVolumeFilters } from './filters';
import { checkVolumeName } from './names';
import type { VolumeInfo } from './store';

export type { VolumeInfo } from './store';

export interface CreateVolumeOptions {
  /** Without one, a generated 64-hex name (docker's). */
  name?: string;
  labels?: Record<string, string>;
}

export interface ListVolumesOptions {
  /** docker's -f: name=, label=KEY[=VALUE], dangling=true|false, driver=local. */
  filters?: string[];
}

export interface PruneVolumesOptions {
  /** Every unused volume, not only anonymous ones (docker 23+'s --all). */
  all?: boolean;
  /** label=KEY[=VALUE] filters. */
  filters?: string[];
}

export interface VolumePruneResult {
  removed: string[];
  spaceReclaimed: number;
}

const FILTERS = arrayOf(str({ nonEmpty: true }), 'an array of KEY=VALUE filters');

export function createVolume(rt: Runtime, opts: CreateVolumeOptions): VolumeInfo {
  checkOptions(opts, { name: str({ nonEmpty: true }), labels: stringRecord() }, 'the options of createVolume()');
  if (opts.name !== undefined) checkVolumeName(opts.name);
  return rt.volumes.info(rt.volumes.create({ name: opts.name, labels: opts.labels }).record);
}

export function listVolumes(rt: Runtime, opts: ListVolumesOptions): VolumeInfo[] {
  checkOptions(opts, { filters: FILTERS }, 'the options of listVolumes()');
  const filters = parseVolumeFilters(opts.filters);
  return rt.volumes.list(filters).map((v) => rt.volumes.info(v));
}

export function inspectVolume(rt: Runtime, name: string): VolumeInfo {
  return rt.volumes.info(rt.volumes.get(name));
}

export function removeVolume(rt: Runtime, name: string, opts: { force?: boolean }): VolumeInfo | undefined {
  checkOptions(opts, { force: bool }, 'the options of removeVolume()');
  const v = rt.volumes.remove(name, opts);
  return v && rt.volumes.info(v);
}

export function pruneVolumes(rt: Runtime, opts: PruneVolumesOptions): VolumePruneResult {
  checkOptions(opts, { all: bool, filters: FILTERS }, 'the options of pruneVolumes()');
  return rt.volumes.prune({ all: opts.all, filters: parseVolumeFilters(opts.filters, ['label']) });
}
