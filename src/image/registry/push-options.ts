/**
 * What `Berth.pushImage()` takes, reports and returns, and the check of its options. Apart from push.ts
 * so that src/index.ts can check a call without loading the registry client.
 */
import type { Credentials } from './auth';
import type { RegistryTimeouts } from '../limits';
import { CREDENTIALS } from '../../util/api-options';
import { checkOptions, num, strings, typeError, type Schema } from '../../util/validate';

export interface PushOptions {
  /** For registries that need a login; default what `berth login` stored for the registry. */
  credentials?: Credentials;
  /** Hosts that may be reached over plain http besides localhost and 127.0.0.0/8 (--insecure-registry). */
  insecureRegistries?: string[];
  /** Seconds a registry may take to answer (counted from an upload's last byte), and to send the next bytes. */
  registryTimeouts?: RegistryTimeouts;
  /** Layers uploaded at once. Default 5, as docker's max-concurrent-uploads. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (event: PushEvent) => void;
}

/**
 * `preparing` for every layer first, then per layer either `exists` (the registry has the blob), `mounted`
 * (copied from another repository of the registry, `from`), or `pushing` (with bytes sent so far) and
 * `pushed`. `diffId` is the layer's uncompressed digest, which docker shows as the layer's short ID.
 */
export type PushLayerStatus = 'preparing' | 'exists' | 'mounted' | 'pushing' | 'pushed';

export type PushEvent =
  | { type: 'resolved'; name: string; repository: string; tag: string; layers: number }
  | { type: 'layer'; digest: string; diffId: string; status: PushLayerStatus; current?: number; total: number; from?: string };

export interface PushResult {
  /** The fully qualified reference pushed: 127.0.0.1:5000/busybox:latest. */
  name: string;
  tag: string;
  /** The manifest's digest, as the registry now knows the tag (and as RepoDigests then shows it). */
  digest: string;
  /** The manifest's bytes. */
  size: number;
}

const TIMEOUTS: Schema = { connect: num({ min: 0.001 }), idle: num({ min: 0.001 }) };

const PUSH_OPTIONS: Schema = {
  credentials: (v, field) => checkOptions(v, CREDENTIALS, field, { required: ['username', 'password'], prefix: field }),
  insecureRegistries: strings(),
  registryTimeouts: (v, field) => checkOptions(v, TIMEOUTS, field, { prefix: field }),
  concurrency: num({ integer: true, min: 1, max: 64 }),
  signal: (v, field) => {
    if (!(v instanceof AbortSignal)) throw typeError(field, 'an AbortSignal', v);
  },
  onProgress: (v, field) => {
    if (typeof v !== 'function') throw typeError(field, 'a function', v);
  },
};

export function checkPushOptions(opts: unknown): void {
  checkOptions(opts, PUSH_OPTIONS, 'the options of pushImage()');
}
