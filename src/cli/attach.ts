import type { ContainerProcess } from '../index';
import type { ExitStatus } from '../runtime/runtime';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Connects a foreground container process to this terminal until it exits: signals forwarded,
 * and with a tty raw mode, the pty copied both ways and window size changes passed on. Without a
 * tty the process already writes to our own fds and nothing is copied.
 */
export async function attachForeground(proc: ContainerProcess, tty: boolean, interactive: boolean): Promise<ExitStatus> {
  const forward = (sig: NodeJS.Signals) => proc.kill(sig);
  // With a tty, ^C and friends travel as bytes through the pty; only signals sent to berth itself
  // are forwarded.
  const forwarded = tty ? FORWARDED.filter((s) => s !== 'SIGINT' && s !== 'SIGQUIT') : FORWARDED;
  for (const s of forwarded) process.on(s, forward);
  let restore = () => {};
  if (tty) {
    proc.stdout!.pipe(process.stdout, { end: false });
    if (interactive) {
      if (process.stdin.isTTY) {
        process.stdin.setRawMode(true);
        restore = () => process.stdin.setRawMode(false);
      }
      process.stdin.pipe(proc.stdin!);
    }
    process.stdout.on('resize', () => proc.resize(process.stdout.rows, process.stdout.columns));
  }
  const status = await proc.wait();
  restore();
  for (const s of forwarded) process.off(s, forward);
  // stdin may still hold the loop open; everything we owed the caller has been written.
  if (interactive && tty) process.stdin.destroy();
  return status;
}

/** Where the container's stdio goes for a foreground run or exec from the CLI. */
export function foregroundStdio(tty: boolean, interactive: boolean) {
  return {
    // Without a tty the container writes straight to our own fds: no copying through Node.
    stdin: tty ? ('pipe' as const) : interactive ? 0 : ('ignore' as const),
    stdout: tty ? ('pipe' as const) : 1,
    stderr: tty ? ('pipe' as const) : 2,
    // Touching process.stdout builds a stream (a millisecond): only a tty run needs its size.
    ttySize: tty ? ([process.stdout.rows || 24, process.stdout.columns || 80] as [number, number]) : undefined,
  };
}
