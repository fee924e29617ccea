// docker's health check flags and the image's HEALTHCHECK: Go durations, the Test forms, the
// merge of flags over the image's fields, the refusals (exit 125 from the CLI), ps's suffix and the
// health_status events.
import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import { formatGoDuration, healthArgv, healthConfig, parseGoDuration, parseHealthFlags } from '../../src/runtime/health/options';
import { stateChanges } from '../../src/runtime/events';
import { healthSuffix, type HealthState } from '../../src/runtime/health/monitor';
import type { ContainerState } from '../../src/runtime/types';
import { caught } from '../helpers/caught';

const MS = 1e6;
const S = 1e9;

describe('parseGoDuration (time.ParseDuration)', () => {
  it.each([
    ['0', 0],
    ['1s', S],
    ['500ms', 500 * MS],
    ['1m30s', 90 * S],
    ['1.5s', 1.5 * S],
    ['.5s', 0.5 * S],
    ['1h', 3600 * S],
    ['2h45m', (2 * 3600 + 45 * 60) * S],
    ['100us', 100e3],
    ['100µs', 100e3],
    ['7ns', 7],
    ['1m0.5s', 60.5 * S],
    ['-1s', -S],
  ])('%s is %d ns', (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });

  it.each(['', '1', '10', 's', '1x', '1 s', '1S', '1.2.3s', 'ms', '1sm', '5 '])('%j is not a duration', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('formatGoDuration (Duration.String)', () => {
  it.each([
    [0, '0s'],
    [300 * MS, '300ms'],
    [S, '1s'],
    [1.5 * S, '1.5s'],
    [90 * S, '1m30s'],
    [3600 * S, '1h0m0s'],
    [1500, '1.5µs'],
  ])('%d ns prints as %s', (ns, text) => {
    expect(formatGoDuration(ns)).toBe(text);
  });
});

describe('the Test forms', () => {
  it('CMD runs its argv, CMD-SHELL its line through /bin/sh -c (or the image SHELL)', () => {
    expect(healthArgv(['CMD', 'curl', '-f', 'http://localhost/'])).toEqual(['curl', '-f', 'http://localhost/']);
    expect(healthArgv(['CMD-SHELL', 'test -f /ok || exit 1'])).toEqual(['/bin/sh', '-c', 'test -f /ok || exit 1']);
    expect(healthArgv(['CMD-SHELL', 'x'], ['/bin/ash', '-ec'])).toEqual(['/bin/ash', '-ec', 'x']);
  });

  it("NONE, an empty Test, and no check at all are no health check; a broken image's check is refused", () => {
    expect(healthConfig({ Test: ['NONE'] }, {})).toBeUndefined();
    expect(healthConfig({ Test: [] }, {})).toBeUndefined();
    expect(healthConfig(undefined, {})).toBeUndefined();
    expect(caught(() => healthConfig({ Test: ['SHELL', 'x'] }, {})).message).toMatch(/neither CMD, CMD-SHELL nor NONE/);
    expect(caught(() => healthConfig({ Test: ['CMD'] }, {})).message).toMatch(/has no command/);
  });
});

describe('healthConfig: flags over the image over the defaults', () => {
  it("docker's defaults: 30s interval and timeout, 0s start period, 5s start interval, 3 retries", () => {
    expect(healthConfig(undefined, { healthCmd: 'true' })).toEqual({
      test: ['CMD-SHELL', 'true'],
      intervalMs: 30_000,
      timeoutMs: 30_000,
      startPeriodMs: 0,
      startIntervalMs: 5_000,
      retries: 3,
    });
  });

  it("the image's fields (nanoseconds) where no flag is given; 0 means the default", () => {
    const image = { Test: ['CMD', 'check'], Interval: 2 * S, Timeout: 0, StartPeriod: 10 * S, Retries: 7 };
    expect(healthConfig(image, { healthTimeout: '250ms' })).toMatchObject({
      test: ['CMD', 'check'],
      intervalMs: 2000,
      timeoutMs: 250,
      startPeriodMs: 10_000,
      retries: 7,
    });
    // --health-cmd replaces the Test only; --health-retries 0 is the image's (docker: 0 = unset)
    expect(healthConfig(image, { healthCmd: 'ok', healthRetries: '0' })).toMatchObject({
      test: ['CMD-SHELL', 'ok'],
      intervalMs: 2000,
      retries: 7,
    });
  });

  it("--no-healthcheck disables the image's check; the image's SHELL is kept for CMD-SHELL", () => {
    expect(healthConfig({ Test: ['CMD', 'check'] }, { noHealthcheck: true })).toBeUndefined();
    expect(healthConfig({ Test: ['CMD-SHELL', 'x'] }, {}, ['/bin/ash', '-c'])?.shell).toEqual(['/bin/ash', '-c']);
    expect(healthConfig({ Test: ['CMD', 'x'] }, {}, ['/bin/ash', '-c'])?.shell).toBeUndefined();
  });

  it('API numbers are nanoseconds, as in docker’s HealthConfig', () => {
    expect(healthConfig(undefined, { healthCmd: 'x', healthInterval: 200 * MS, healthRetries: 2 })).toMatchObject({
      intervalMs: 200,
      retries: 2,
    });
  });
});

describe('refusals: one line naming the flag', () => {
  const refused = (o: Parameters<typeof parseHealthFlags>[0]) => {
    const e = caught(() => parseHealthFlags(o));
    expect(e).toBeInstanceOf(BerthError);
    expect((e as BerthError).exitStatus).toBe(125);
    return e.message;
  };

  it('malformed and too short durations, negative or fractional retries, an empty command, a conflict', () => {
    expect(refused({ healthInterval: '5x' })).toBe('Expected a duration like 30s, 500ms or 1m30s for --health-interval but received "5x"');
    expect(refused({ healthTimeout: '10' })).toMatch(/for --health-timeout but received "10"/);
    expect(refused({ healthStartPeriod: '500us' })).toBe(
      '--health-start-period must be at least 1ms (or 0 for the default 0s) but received "500us"',
    );
    expect(refused({ healthInterval: '-1s' })).toMatch(/--health-interval must be at least 1ms/);
    expect(refused({ healthRetries: '-1' })).toBe('--health-retries cannot be negative but received "-1"');
    expect(refused({ healthRetries: '1.5' })).toMatch(/a whole number of retries/);
    expect(refused({ healthCmd: '  ' })).toMatch(/--health-cmd/);
    expect(refused({ noHealthcheck: true, healthInterval: '1s' })).toMatch(/Conflicting options: --no-healthcheck/);
  });
});

describe('ps STATUS suffix', () => {
  it('as docker prints it', () => {
    expect(healthSuffix(undefined)).toBe('');
    expect(healthSuffix({ Status: 'starting', FailingStreak: 0, Log: [] })).toBe(' (health: starting)');
    expect(healthSuffix({ Status: 'healthy', FailingStreak: 0, Log: [] })).toBe(' (healthy)');
    expect(healthSuffix({ Status: 'unhealthy', FailingStreak: 3, Log: [] })).toBe(' (unhealthy)');
  });
});

describe('health_status events', () => {
  const state = (pid: number, status?: HealthState['Status']): ContainerState => ({
    status: 'running',
    pid,
    pidStartTime: pid,
    ...(status ? { health: { Status: status, FailingStreak: 0, Log: [] } } : {}),
  });

  it("as docker's: a change to healthy or unhealthy, never to starting", () => {
    expect(stateChanges(state(5, 'starting'), state(5, 'healthy'))).toEqual([{ type: 'health_status', health: 'healthy' }]);
    expect(stateChanges(state(5, 'healthy'), state(5, 'unhealthy'))).toEqual([{ type: 'health_status', health: 'unhealthy' }]);
    expect(stateChanges(state(5, 'healthy'), state(5, 'healthy'))).toEqual([]);
    expect(stateChanges(state(5, 'healthy'), state(5, 'starting'))).toEqual([]);
    expect(stateChanges(state(5), state(5))).toEqual([]);
    // a restart seen already healthy again: start, then its health
    expect(stateChanges(state(5, 'healthy'), state(6, 'healthy'))).toEqual([
      { type: 'die' },
      { type: 'start' },
      { type: 'health_status', health: 'healthy' },
    ]);
    // an exited container's last health is no event
    expect(
      stateChanges(state(5, 'healthy'), {
        status: 'exited',
        pid: 5,
        exitCode: 0,
        health: { Status: 'unhealthy', FailingStreak: 3, Log: [] },
      }).map((e) => e.type),
    ).toEqual(['die', 'exit']);
  });
});
