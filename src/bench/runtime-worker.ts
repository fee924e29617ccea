/**
 * `node runtime-worker.js JSON`: one runtime's samples (runtime-loop.ts) as one JSON line on
 * stdout, {samples} or {error}. runtimes.ts runs crun through it on a hybrid cgroup host, in a
 * private mount namespace where /sys/fs/cgroup/unified is lazily unmounted: crun refuses a hybrid
 * host but sees a v1 one there, and the host's mounts are untouched. The whole loop runs in the
 * namespace, so unshare's own cost is in no sample.
 */
import { runtimeSamples, type RuntimeRun } from './runtime-loop';
import type { Budget } from './measure';

export interface WorkerArgs {
  readonly run: RuntimeRun;
  readonly budget: Omit<Budget, 'tick' | 'signal'>;
}

async function main(): Promise<void> {
  try {
    const args = JSON.parse(process.argv[2] ?? '') as WorkerArgs;
    const samples = await runtimeSamples(args.run, args.budget);
    process.stdout.write(JSON.stringify({ samples }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: (e as Error).message }) + '\n');
  }
}

if (require.main === module) void main();
