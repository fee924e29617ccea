/** The berth-bench addon (native/bench): mount(2) and start-floor timings, kept out of berth.node. */
import * as path from 'node:path';

export interface BenchAddon {
  /** Nanoseconds per mount(2) in a throwaway mount namespace, one per iteration. */
  benchMount(fstype: string, source: string, target: string, data: string, iterations: number, flags?: number): number[];
  /** Nanoseconds per clone(5 namespaces) + overlay mount + pivot_root + execve(argv0) + wait. */
  benchFloor(overlayData: string, merged: string, argv0: string, iterations: number): number[];
}

/** The package's root: two levels above this file in dist/bench, src/bench, and the CLI bundle
 *  dist/cli/berth-cli.js alike. */
export const PACKAGE_ROOT = path.join(__dirname, '..', '..');

let loaded: BenchAddon | undefined;

export function benchAddon(): BenchAddon {
  if (!loaded) {
    const file = path.join(PACKAGE_ROOT, 'build', 'Release', 'berth-bench.node');
    try {
      loaded = require(file) as BenchAddon;
    } catch (e) {
      throw new Error(`the benchmark addon ${file} does not load (${(e as Error).message}); build it with npm run build:native`);
    }
  }
  return loaded;
}

export const MS_BIND = 4096;
