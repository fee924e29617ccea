import { BerthError } from '../errors';

/**
 * The default cap on one layer's uncompressed size. Docker has none, and a 134 KB zstd file can claim
 * terabytes. 64 GiB is above the largest real layers: ECR accepts layers up to 52,000 MiB and GHCR up
 * to 10 GB (compressed), and what fills such layers (model weights, CUDA libraries) barely compresses.
 * A bomb is stopped after at most this much was written to tmp/.
 */
const DEFAULT_MAX_LAYER_SIZE = 64 * 1024 ** 3;
export const MAX_LAYER_SIZE_ENV = 'BERTH_MAX_LAYER_SIZE';

/** Seconds until a registry must have answered a request (connect and response headers). */
const DEFAULT_CONNECT_TIMEOUT = 30;
/** Seconds a registry may send nothing while berth waits for bytes of a body. */
const DEFAULT_IDLE_TIMEOUT = 60;
export const CONNECT_TIMEOUT_ENV = 'BERTH_REGISTRY_CONNECT_TIMEOUT';
export const IDLE_TIMEOUT_ENV = 'BERTH_REGISTRY_TIMEOUT';

export interface RegistryTimeouts {
  /** Seconds until the registry answered a request (connected and sent its response headers). */
  connect?: number;
  /** Seconds without a byte while a response body is awaited. */
  idle?: number;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** The layer size cap: the option, else $BERTH_MAX_LAYER_SIZE ("100g", "512m", bytes), else the default. */
export function maxLayerSize(option: number | undefined): number {
  if (option !== undefined) {
    if (!Number.isSafeInteger(option) || option <= 0) throw badSize('the maxLayerSize option', JSON.stringify(option));
    return option;
  }
  const env = process.env[MAX_LAYER_SIZE_ENV];
  if (env === undefined || env === '') return DEFAULT_MAX_LAYER_SIZE;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(env);
  const bytes = m ? Math.floor(parseFloat(m[1]) * UNITS[m[2].toLowerCase()]) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw badSize(MAX_LAYER_SIZE_ENV, JSON.stringify(env));
  return bytes;
}

/** Timeouts in seconds: the options, else the environment, else the defaults. */
export function registryTimeouts(opts: RegistryTimeouts = {}): Required<RegistryTimeouts> {
  return {
    connect: seconds(opts.connect, CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT),
    idle: seconds(opts.idle, IDLE_TIMEOUT_ENV, DEFAULT_IDLE_TIMEOUT),
  };
}

function seconds(option: number | undefined, env: string, fallback: number): number {
  const raw = option ?? process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
  // setTimeout keeps 32-bit milliseconds: past ~24 days it would fire at once.
  if (!Number.isFinite(n) || n <= 0 || n > 2_000_000) {
    const shown = typeof raw === 'number' ? String(raw) : JSON.stringify(raw);
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Expected a number of seconds like 60 for ${option !== undefined ? 'the registry timeout option' : env} but received ${shown}`,
    );
  }
  return n;
}

function badSize(what: string, shown: string): BerthError {
  return new BerthError('INVALID_ARGUMENT', `Expected a size like 64g, 512m or a number of bytes for ${what} but received ${shown}`);
}

/** 64 GiB, 512 MiB, 1000 bytes: for messages. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}
