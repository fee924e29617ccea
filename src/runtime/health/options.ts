/**
 * docker's health check flags (--health-cmd, --health-interval, --health-timeout,
 * --health-start-period, --health-start-interval, --health-retries, --no-healthcheck) and the
 * image's HEALTHCHECK, merged as docker merges them: each flag given replaces that field of the
 * image's check, the rest is the image's, then docker's defaults.
 */
import { BerthError, invalid } from '../../errors';
import { quote } from '../../util/quote';
import { bool, str, strOrNum, strings, type Schema } from '../../util/validate';

/** The image config's Healthcheck (durations in nanoseconds; 0 = the default). */
export interface ImageHealthcheck {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** What the container runs, resolved at create (config.json). */
export interface HealthConfig {
  /** docker's Test: ['CMD', argv...] or ['CMD-SHELL', command]. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  /** The interval while the container is starting inside its start period. */
  startIntervalMs: number;
  retries: number;
  /** The image's SHELL, for CMD-SHELL (absent: /bin/sh -c). */
  shell?: string[];
}

/** The API's names of the flags. Durations in Go's syntax (1s, 500ms, 1m30s) or nanoseconds. */
export interface HealthOptions {
  healthCmd?: string;
  /** docker's Healthcheck.Test as the Engine API gives it: ['CMD', argv...], ['CMD-SHELL', command]
   *  or ['NONE']; instead of healthCmd. */
  healthTest?: string[];
  healthInterval?: string | number;
  healthTimeout?: string | number;
  healthStartPeriod?: string | number;
  healthStartInterval?: string | number;
  healthRetries?: string | number;
  noHealthcheck?: boolean;
}

export const HEALTH_SCHEMA: Schema = {
  healthCmd: str(),
  healthTest: strings(),
  healthInterval: strOrNum,
  healthTimeout: strOrNum,
  healthStartPeriod: strOrNum,
  healthStartInterval: strOrNum,
  healthRetries: strOrNum,
  noHealthcheck: bool,
};

const DEFAULTS = { interval: 30_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 3 };

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds: "1h30m", "1.5s", "500ms", "0". Undefined if malformed. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!m) return undefined;
  let ns = 0;
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ns += Number(part[1]) * UNIT_NS[part[2]];
  return Math.round(m[1] === '-' ? -ns : ns);
}

/** Go's Duration.String: "300ms", "1m30s", "1.5s", "0s" (what docker prints for a timeout). */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  ns = Math.abs(ns);
  const trim = (n: number) => String(Number(n.toFixed(9)));
  if (ns < 1e3) return `${sign}${ns}ns`;
  if (ns < 1e6) return `${sign}${trim(ns / 1e3)}µs`;
  if (ns < 1e9) return `${sign}${trim(ns / 1e6)}ms`;
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const s = (ns % 60e9) / 1e9;
  return `${sign}${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trim(s)}s`;
}

/** A flag's duration in nanoseconds: 0 (the default) or at least 1ms, as docker requires. */
function durationFlag(value: string | number | undefined, flag: string, dflt: number): number | undefined {
  if (value === undefined) return undefined;
  const ns = typeof value === 'number' ? value : parseGoDuration(value.trim());
  if (ns === undefined || !Number.isFinite(ns)) throw invalid(flag, 'a duration like 30s, 500ms or 1m30s', value);
  if (ns !== 0 && ns < 1e6)
    throw new BerthError(
      'INVALID_ARGUMENT',
      `${flag} must be at least 1ms (or 0 for the default ${formatGoDuration(dflt * 1e6)}) but received ${quote(value)}`,
    );
  return ns;
}

function retriesFlag(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : /^[+-]?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw invalid('--health-retries', 'a whole number of retries like 3', value);
  if (n < 0) throw new BerthError('INVALID_ARGUMENT', `--health-retries cannot be negative but received ${quote(value)}`);
  return n;
}

/** The flags alone, as the CLI and API give them (checked before the image is known). */
export function parseHealthFlags(o: HealthOptions): ImageHealthcheck & { disabled?: true } {
  const given = {
    Interval: durationFlag(o.healthInterval, '--health-interval', DEFAULTS.interval),
    Timeout: durationFlag(o.healthTimeout, '--health-timeout', DEFAULTS.timeout),
    StartPeriod: durationFlag(o.healthStartPeriod, '--health-start-period', DEFAULTS.startPeriod),
    StartInterval: durationFlag(o.healthStartInterval, '--health-start-interval', DEFAULTS.startInterval),
    Retries: retriesFlag(o.healthRetries),
  };
  if (o.healthCmd !== undefined && o.healthCmd.trim() === '') throw invalid('--health-cmd', 'a command to run', o.healthCmd);
  if (o.healthTest !== undefined && o.healthCmd !== undefined)
    throw new BerthError('INVALID_ARGUMENT', 'Conflicting options: healthTest and healthCmd; give one or the other');
  if (o.healthTest?.[0] === 'NONE' && !o.noHealthcheck) return { Test: ['NONE'], disabled: true };
  const anyGiven = o.healthCmd !== undefined || o.healthTest !== undefined || Object.values(given).some((v) => v !== undefined);
  if (o.noHealthcheck) {
    if (anyGiven) throw new BerthError('INVALID_ARGUMENT', 'Conflicting options: --no-healthcheck and --health-*; give one or the other');
    return { Test: ['NONE'], disabled: true };
  }
  const test = o.healthTest?.length ? o.healthTest : o.healthCmd !== undefined ? ['CMD-SHELL', o.healthCmd] : undefined;
  return { ...(test ? { Test: test } : {}), ...given };
}

/** The container's check: the flags over the image's HEALTHCHECK, docker's defaults under both;
 *  undefined when there is none (or it is NONE). `shell`: the image's SHELL, for CMD-SHELL. */
export function healthConfig(image: ImageHealthcheck | undefined, o: HealthOptions, shell?: string[] | null): HealthConfig | undefined {
  const flags = parseHealthFlags(o);
  if (flags.disabled) return undefined;
  const test = flags.Test ?? image?.Test ?? [];
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  if (test[0] !== 'CMD' && test[0] !== 'CMD-SHELL')
    throw new BerthError('INVALID_ARGUMENT', `The image's HEALTHCHECK test ${quote(test)} is neither CMD, CMD-SHELL nor NONE`);
  if (test.length < 2 || (test[0] === 'CMD-SHELL' && test.length !== 2))
    throw new BerthError('INVALID_ARGUMENT', `The image's HEALTHCHECK test ${quote(test)} has no command; rebuild it or pass --health-cmd`);
  // 0 (docker's "not set") takes the next one down
  const pick = (flag: number | undefined, img: number | undefined, dflt: number) =>
    flag ? Math.ceil(flag / 1e6) : img && img > 0 ? Math.ceil(img / 1e6) : dflt;
  return {
    test: [...test],
    intervalMs: pick(flags.Interval, image?.Interval, DEFAULTS.interval),
    timeoutMs: pick(flags.Timeout, image?.Timeout, DEFAULTS.timeout),
    startPeriodMs: pick(flags.StartPeriod, image?.StartPeriod, DEFAULTS.startPeriod),
    startIntervalMs: pick(flags.StartInterval, image?.StartInterval, DEFAULTS.startInterval),
    retries: flags.Retries || (image?.Retries && image.Retries > 0 ? image.Retries : DEFAULTS.retries),
    ...(test[0] === 'CMD-SHELL' && shell && shell.length > 0 ? { shell: [...shell] } : {}),
  };
}

/** The command the check runs: CMD's argv as given, CMD-SHELL's line through the image's shell. */
export function healthArgv(test: readonly string[], shell: readonly string[] = ['/bin/sh', '-c']): string[] {
  return test[0] === 'CMD-SHELL' ? [...shell, test[1]] : test.slice(1);
}
