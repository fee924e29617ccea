/** Pure parts of the events journal: docker's event filters, its text line, its since/until times. */
import { BerthError } from '../errors';
import { quote } from '../util/quote';
import type { JournalEvent } from './events-journal';

/** docker's filters: one key's values are ORed, the keys ANDed. */
export type EventFilters = Record<string, string[]>;

const FILTER_KEYS = ['type', 'event', 'container', 'image', 'network', 'volume', 'label', 'scope'];

/** `--filter k=v` values as docker's filter map; an unknown key is refused as docker does. */
export function parseEventFilters(values: string[]): EventFilters {
  const filters: EventFilters = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new BerthError('INVALID_ARGUMENT', `Expected a filter like type=container for --filter but received ${quote(v)}`);
    const key = v.slice(0, eq);
    if (!FILTER_KEYS.includes(key))
      throw new BerthError('INVALID_ARGUMENT', `invalid filter ${quote(key)}: use one of ${FILTER_KEYS.join(', ')}`);
    (filters[key] ??= []).push(v.slice(eq + 1));
  }
  return filters;
}

/** Whether an event passes docker's event filters. `event` matches an action's first word too
 *  (exec_start for `exec_start: sh -c ...`, health_status for `health_status: healthy`). */
export function eventMatches(e: JournalEvent, filters: EventFilters): boolean {
  const attrs = e.Actor.Attributes;
  const any = (key: string, test: (v: string) => boolean) => !filters[key]?.length || filters[key].some(test);
  const isImage = (v: string) =>
    attrs.image === v || attrs.image === `${v}:latest` || (e.Type === 'image' && (e.Actor.ID === v || attrs.name === v));
  return (
    any('type', (v) => v === e.Type) &&
    any('event', (v) => v === e.Action || e.Action.startsWith(`${v}:`)) &&
    any('container', (v) => (e.Type === 'container' && (e.Actor.ID.startsWith(v) || attrs.name === v)) || attrs.container === v) &&
    any('image', isImage) &&
    any('network', (v) => e.Type === 'network' && (e.Actor.ID.startsWith(v) || attrs.name === v)) &&
    any('volume', (v) => e.Type === 'volume' && e.Actor.ID === v) &&
    any('scope', (v) => v === e.scope) &&
    any('label', (v) => {
      const eq = v.indexOf('=');
      return eq < 0 ? v in attrs : attrs[v.slice(0, eq)] === v.slice(eq + 1);
    })
  );
}

/** RFC 3339 with nanoseconds in UTC: 2026-12-03T14:00:00.000000000Z. */
export function eventTimeText(timeNano: number | bigint): string {
  const nanos = BigInt(timeNano);
  const seconds = nanos / 1_000_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${iso}.${String(nanos % 1_000_000_000n).padStart(9, '0')}Z`;
}

/** docker events' text line: time, type, action, actor ID, then the attributes sorted by key. */
export function eventText(e: JournalEvent): string {
  const attrs = Object.entries(e.Actor.Attributes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  const actor = e.Actor.ID ? ` ${e.Actor.ID}` : '';
  return `${eventTimeText(e.timeNano)} ${e.Type} ${e.Action}${actor}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** docker's since/until: Unix seconds (a fraction allowed), an RFC 3339 time or date, or a Go
 *  duration back from now (10m, 1h30m). Nanoseconds since the epoch. */
export function parseEventTime(value: string, flag: string, nowMs = Date.now()): bigint {
  if (/^\d+(\.\d+)?$/.test(value)) {
    const [whole, frac = ''] = value.split('.');
    return BigInt(whole) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
  }
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let seconds = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) seconds += Number(m[1]) * UNIT_SECONDS[m[2]];
    return BigInt(Math.round(nowMs - seconds * 1000)) * 1_000_000n;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Expected Unix seconds, an RFC 3339 time or a duration like 10m for ${flag} but received ${quote(value)}`,
    );
  // the fraction Date.parse drops beyond milliseconds
  const frac = /\.(\d{4,9})/.exec(value)?.[1];
  return BigInt(t) * 1_000_000n + (frac ? BigInt(frac.padEnd(9, '0').slice(3, 9)) : 0n);
}
