/** docker's `since`/`until` values (events, logs): Unix seconds with an optional fraction, an
 *  RFC 3339 time, or a duration back from now (10m, 1h30m). */
import { badRequest } from '../http/errors';

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Seconds since the epoch, or undefined when absent or empty. */
export function parseTimeQuery(value: string | null, nowSeconds = Date.now() / 1000): number | undefined {
  if (value === null || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let seconds = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) seconds += Number(m[1]) * UNIT_SECONDS[m[2]];
    return nowSeconds - seconds;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw badRequest(`invalid time ${JSON.stringify(value)}: give Unix seconds, an RFC 3339 time or a duration such as 10m`);
  return t / 1000;
}
