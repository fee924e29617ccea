/**
 * Start-latency rows, each timing a container that runs the image's `true` with no network
 * (a fresh namespace with lo only, as the OCI runtimes' bundle has):
 *   - the floor: the raw syscalls in C (berth-bench's benchFloor) on the image's layers;
 *   - the Node API, warm: Berth.run() in this process, from the call to the exit status, the
 *     --rm container's removal included;
 *   - the CLI, cold: `berth run --rm --network none IMAGE true` as a user types it, Node's startup
 *     included, next to `node -e 0` (what any Node program pays before its first line).
 */
import * as path from 'node:path';
import type { Berth } from '../index';
import { benchAddon, PACKAGE_ROOT } from './addon';
import { chunkedNs, timed, timedSpawn, timeLoop, type Budget } from './measure';
import { FLOOR_ROW, type RowPlan } from './rows';
import type { BenchDirs } from './setup';

export interface StartContext {
  readonly berth: Berth;
  readonly image: string;
  /** The global options the CLI rows pass on: --root, --runroot and the like. */
  readonly cliGlobalArgs: string[];
  /** The environment of spawned Node programs (see runEnv in run.ts). */
  readonly env: NodeJS.ProcessEnv;
}

export function floorRow(d: BenchDirs): RowPlan {
  return {
    name: FLOOR_ROW,
    group: 'floor',
    measure: (budget: Budget) => chunkedNs(budget, (count) => benchAddon().benchFloor(d.imageOverlay, d.floorMerged, d.truePath, count)),
  };
}

export function startRows(d: BenchDirs, ctx: StartContext): RowPlan[] {
  const cli = path.join(PACKAGE_ROOT, 'dist', 'cli', 'berth.js');
  return [
    {
      name: 'berth API run (warm, in-process)',
      group: 'start',
      measure: (budget) =>
        timeLoop(budget, () =>
          timed(async () => {
            const r = await ctx.berth.run({
              image: ctx.image,
              cmd: [d.truePath],
              rm: true,
              network: 'none',
              stdout: 'ignore',
              stderr: 'ignore',
            });
            if (r.exitCode !== 0) throw new Error(`${d.truePath} in the container exited with ${r.exitCode}`);
          }),
        ),
    },
    {
      name: 'berth CLI run --rm (cold)',
      group: 'start',
      measure: (budget) =>
        timeLoop(budget, () =>
          timedSpawn(
            process.execPath,
            ['--', cli, ...ctx.cliGlobalArgs, 'run', '--rm', '--network', 'none', ctx.image, d.truePath],
            d.errFile,
            ctx.env,
          ),
        ),
    },
    {
      name: 'node -e 0',
      group: 'start',
      measure: (budget) => timeLoop(budget, () => timedSpawn(process.execPath, ['-e', '0'], d.errFile, ctx.env)),
    },
  ];
}
