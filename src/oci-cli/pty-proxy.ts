/**
 * A foreground `berth-oci run` or `exec --tty` without --console-socket: as runc does, berth-oci
 * holds the pty master itself and copies it to and from its own stdio until the process exits;
 * meanwhile the caller's terminal is in raw mode (^C travels as a byte to the container) and its
 * size is the container's.
 */
import * as tty from 'node:tty';
import { native } from '../native';

export interface PtyProxy {
  /** After the process exited: waits for its last output (at most `ms`), then lets go of the
   *  caller's terminal and the master. */
  finish(ms?: number): Promise<void>;
}

export function proxyPty(master: number): PtyProxy {
  // net.Socket refuses tty fds; a tty.ReadStream's TTY handle reads and writes the master.
  const pty = new tty.ReadStream(master);
  const drained = new Promise<void>((resolve) => {
    // When the last holder of the pty's other side is gone, reads fail with EIO: that is EOF.
    pty.on('error', () => resolve());
    pty.on('end', () => resolve());
    pty.on('close', () => resolve());
  });
  pty.pipe(process.stdout, { end: false });
  let restore = () => {};
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    restore = () => process.stdin.setRawMode(false);
  }
  // (not ended with stdin: a container reading a closed pty would see a hangup, not EOF)
  process.stdin.pipe(pty, { end: false });
  // (a terminal that reports no size, as script(1)'s may, leaves the config's consoleSize)
  const resize = () => {
    if (process.stdout.rows > 0 && process.stdout.columns > 0) native().setWinsize(master, process.stdout.rows, process.stdout.columns);
  };
  if (process.stdout.isTTY) {
    resize();
    process.stdout.on('resize', resize);
  }
  return {
    async finish(ms = 500) {
      // (a process the command left in the background may hold the pty open for good)
      await Promise.race([drained, new Promise((r) => setTimeout(r, ms).unref())]);
      restore();
      process.stdout.off('resize', resize);
      process.stdin.unpipe(pty);
      process.stdin.pause();
      pty.destroy();
    },
  };
}
