import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { Berth } from '../../src/index';
import { hostChanges, hostSnapshot, tempRoots, type HostSnapshot, type TempRoots } from './env';
import { busyboxTar } from './fixtures';

/**
 * The usual frame of an integration test file: temp roots, a Berth on them with the busybox
 * fixture imported as `busybox`, and after every test a check that the host's mounts and cgroups
 * are as they were before it. `beforeCheck` runs first (e.g. removing the test's containers).
 */
export function withBusybox(opts: { beforeCheck?: (berth: Berth) => Promise<void> | void } = {}): {
  readonly berth: Berth;
  readonly roots: TempRoots;
} {
  const ctx = {} as { berth: Berth; roots: TempRoots };
  let before: HostSnapshot;
  beforeAll(async () => {
    ctx.roots = tempRoots();
    ctx.berth = new Berth({ root: ctx.roots.root, runRoot: ctx.roots.runRoot });
    await ctx.berth.importImage(busyboxTar(), 'busybox');
  });
  afterAll(() => ctx.roots.cleanup());
  beforeEach(() => {
    before = hostSnapshot();
  });
  afterEach(async () => {
    await opts.beforeCheck?.(ctx.berth);
    expect(hostChanges(before)).toEqual([]);
  });
  return ctx;
}
