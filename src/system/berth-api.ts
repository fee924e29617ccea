/**
 * The system operations of class Berth (events, info, version, df, prune): each Berth method is a
 * one-line call into here. Nothing heavy loads with it: src/index.ts imports it on every command.
 */
import type { Berth } from '../index';
import type { JournalEvent } from '../runtime/events-journal';
import type { EventFilters } from '../runtime/events-journal-filter';
import type { DiskUsage } from './disk-usage';
import type { SystemPruneOptions, SystemPruneResult } from './prune';
import { bool, checkOptions } from '../util/validate';

export type { SystemPruneOptions, SystemPruneResult } from './prune';

export interface EventsOptions {
  /** A Date, Unix seconds, or docker's text (Unix seconds, RFC 3339, a duration back from now like 10m). */
  since?: Date | number | string;
  until?: Date | number | string;
  /** docker's event filters: { type: ['container'], event: ['die'] } or ['type=container', 'event=die']. */
  filters?: EventFilters | string[];
  signal?: AbortSignal;
}

function nanos(value: Date | number | string, name: string): bigint {
  const { parseEventTime } = require('../runtime/events-journal-filter') as typeof import('../runtime/events-journal-filter');
  if (value instanceof Date) return BigInt(value.getTime()) * 1_000_000n;
  if (typeof value === 'number') return BigInt(Math.round(value * 1000)) * 1_000_000n;
  return parseEventTime(value, name);
}

export async function* events(berth: Berth, opts: EventsOptions = {}): AsyncGenerator<JournalEvent> {
  const filterModule = require('../runtime/events-journal-filter') as typeof import('../runtime/events-journal-filter');
  const { readEvents } = require('../runtime/events-journal-read') as typeof import('../runtime/events-journal-read');
  const filters = Array.isArray(opts.filters) ? filterModule.parseEventFilters(opts.filters) : (opts.filters ?? {});
  yield* readEvents(berth.runRoot, {
    ...(opts.since !== undefined ? { since: nanos(opts.since, 'since') } : {}),
    ...(opts.until !== undefined ? { until: nanos(opts.until, 'until') } : {}),
    filters,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

export function info(berth: Berth): Record<string, unknown> {
  return (require('./info') as typeof import('./info')).systemInfo(berth);
}

export function version(): Record<string, unknown> {
  return (require('./info') as typeof import('./info')).versionInfo();
}

export function systemDf(berth: Berth): Promise<DiskUsage> {
  return (require('./disk-usage') as typeof import('./disk-usage')).diskUsage(berth);
}

export function systemPrune(berth: Berth, opts: SystemPruneOptions = {}): Promise<SystemPruneResult> {
  checkOptions(opts, { all: bool, volumes: bool }, 'the options of systemPrune()');
  return (require('./prune') as typeof import('./prune')).systemPrune(berth, opts);
}
