/**
 * How `stop` ends a container: docker's --stop-signal (over the image's STOPSIGNAL, default
 * SIGTERM) and --stop-timeout (seconds before SIGKILL, default 10; `stop -t` overrides it).
 * Fixed at create and kept in config.json (stopSignal, stopTimeout), so every stop, restart and
 * the API's stop() honour them.
 */
import * as os from 'node:os';
import { invalid } from '../errors';
import { parseSignal } from '../util/signals';
import type { ContainerConfig } from './types';

export interface StopFlagOptions {
  /** docker's --stop-signal: a name (SIGUSR1, USR1) or a number; default the image's STOPSIGNAL, else SIGTERM. */
  stopSignal?: string | number;
  /** docker's --stop-timeout: seconds stop waits before SIGKILL (-1: forever); default 10. */
  stopTimeout?: string | number;
}

export const DEFAULT_STOP_SIGNAL = 15;
export const DEFAULT_STOP_TIMEOUT = 10;

/** The config fields of the flags, only what differs from the defaults. */
export function stopConfig(o: StopFlagOptions, imageStopSignal?: string): Pick<ContainerConfig, 'stopSignal' | 'stopTimeout'> {
  const given = o.stopSignal ?? (imageStopSignal || undefined);
  const signal =
    given === undefined ? undefined : parseSignal(given, o.stopSignal !== undefined ? '--stop-signal' : "the image's STOPSIGNAL");
  const timeout = o.stopTimeout === undefined ? undefined : parseStopTimeoutFlag(o.stopTimeout, '--stop-timeout');
  return {
    ...(signal !== undefined && signal !== DEFAULT_STOP_SIGNAL ? { stopSignal: signal } : {}),
    ...(timeout !== undefined ? { stopTimeout: timeout } : {}),
  };
}

/** Seconds, a whole number; -1 waits for ever (docker's "no timeout"). */
export function parseStopTimeoutFlag(v: string | number, option: string): number {
  const s = String(v).trim();
  if (!/^-?\d+$/.test(s) || Number(s) < -1 || Number(s) > 2 ** 31 - 1) throw invalid(option, 'a number of seconds (-1 for no timeout)', v);
  return Number(s);
}

/** The check of the options that needs no image (the image's STOPSIGNAL is checked at create). */
export function checkStopOptions(o: StopFlagOptions): void {
  stopConfig(o);
}

/** What stop sends and how long it waits: `timeoutSeconds` (stop -t) over the container's own. */
export function stopPlan(config: ContainerConfig, timeoutSeconds?: number): { signal: number; timeoutMs: number } {
  const t = timeoutSeconds ?? config.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
  return { signal: config.stopSignal ?? DEFAULT_STOP_SIGNAL, timeoutMs: t < 0 ? Infinity : t * 1000 };
}

/** The OCI annotation image tools read a stop signal from (containerd, CRI-O: the image config's
 *  StopSignal), by name; berth's own stop reads config.json. */
export const STOP_SIGNAL_ANNOTATION = 'org.opencontainers.image.stopSignal';

export function stopAnnotations(config: Pick<ContainerConfig, 'stopSignal'>): Record<string, string> {
  if (config.stopSignal === undefined) return {};
  const name = Object.entries(os.constants.signals).find(([, n]) => n === config.stopSignal)?.[0];
  return { [STOP_SIGNAL_ANNOTATION]: name ?? String(config.stopSignal) };
}
