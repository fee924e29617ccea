/**
 * The schemas of the Berth class's options (see util/validate): what each method of src/index.ts
 * checks before it does anything. Kept here so that index.ts stays the API's shape, not its checks.
 */
import { invalid } from '../errors';
import { parseStopTimeout } from './signals';
import { bool, checkOptions, num, str, stringRecord, strings, typeError, type Schema } from './validate';

/** Options of `new Berth()`. A key that is not here is refused, not ignored: add new options here. */
/** Seconds: until a registry answers, and without a byte of a response body. */
const REGISTRY_TIMEOUTS: Schema = { connect: num({ min: 0.001 }), idle: num({ min: 0.001 }) };

export const BERTH_OPTIONS: Schema = {
  root: str({ nonEmpty: true }),
  runRoot: str({ nonEmpty: true }),
  storageDriver: str(),
  cgroupParent: cgroupName,
  detachedCleanup: bool,
  cniPath: strings(),
  defaultNetwork: str({ nonEmpty: true }),
  maxLayerSize: num({ integer: true, min: 1 }),
  registryTimeouts: (v, field) => checkOptions(v, REGISTRY_TIMEOUTS, field, { prefix: field }),
};
export const FORCE: Schema = { force: bool };
export const TIMEOUT: Schema = { timeout: (v, field) => void parseStopTimeout(v, field) };
export const LOG_OPTIONS: Schema = {
  follow: bool,
  tail: num({ integer: true, min: 0 }),
  since: (v, field) => {
    if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw typeError(field, 'a valid Date', v);
  },
  pollMs: num({ min: 1 }),
};
export const NETWORK_OPTIONS: Schema = {
  name: str({ nonEmpty: true }),
  subnet: str(),
  gateway: str(),
  internal: bool,
  bridge: str({ nonEmpty: true }),
  driver: str({ nonEmpty: true }),
  labels: stringRecord(),
};
export const CREDENTIALS: Schema = { username: str(), password: str() };
export const PULL_OPTIONS: Schema = {
  platform: str({ nonEmpty: true }),
  credentials: (v, field) => checkOptions(v, CREDENTIALS, field, { required: ['username', 'password'], prefix: field }),
  insecureRegistries: strings(),
  concurrency: num({ integer: true, min: 1, max: 64 }),
  registryTimeouts: (v, field) => checkOptions(v, REGISTRY_TIMEOUTS, field, { prefix: field }),
  signal: (v, field) => {
    if (!(v instanceof AbortSignal)) throw typeError(field, 'an AbortSignal', v);
  },
  onProgress: (v, field) => {
    if (typeof v !== 'function') throw typeError(field, 'a function', v);
  },
};

/** A cgroup below the hierarchy's root: a relative path (docker also takes a leading /) whose
 *  parts are names, never "..", so that no container cgroup lands outside it. */
function cgroupName(v: unknown, field: string): void {
  str({ nonEmpty: true })(v, field);
  const parts = (v as string).replace(/^\//, '').split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || !/^[\w.@:-]+$/.test(p))) {
    throw invalid('--cgroup-parent', 'a cgroup name like berth or system.slice/berth (names, no ".." parts)', v);
  }
}

/** The string arguments of an API call (references, names, paths): non-empty, no NUL. */
export function checkArgs(args: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(args)) str({ nonEmpty: true })(v, name);
}
