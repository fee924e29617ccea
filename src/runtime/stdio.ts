import * as fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';

// node:net and node:tty load only when a stream is wanted: a CLI run that hands the container its
// own fds needs neither, and loading them costs a millisecond.
const net = (): typeof import('node:net') => require('node:net');
const tty = (): typeof import('node:tty') => require('node:tty');
import { native } from '../native';
import type { StdioPlan } from './plan';

/** Where one of the container's standard streams goes: a pipe to this process, this process's own
 *  fd, /dev/null, or any fd. */
export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number;

export interface StdioStreams {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
}

/** Host-side ends of the container's stdio, opened before spawn and turned into streams after. */
export class StdioSetup {
  readonly plan: StdioPlan;
  private readonly childEnds: number[] = [];
  private readonly parentEnds: Array<number | undefined> = [undefined, undefined, undefined];

  constructor(options: [StdioOption, StdioOption, StdioOption], tty: boolean, ttySize: [number, number] = [24, 80]) {
    const fds: [number, number, number] = [0, 1, 2];
    if (!tty) {
      options.forEach((o, i) => {
        if (o === 'inherit') fds[i] = i;
        else if (typeof o === 'number') fds[i] = o;
        else if (o === 'ignore') {
          fds[i] = fs.openSync('/dev/null', i === 0 ? 'r' : 'w');
          this.childEnds.push(fds[i]);
        } else {
          const [r, w] = native().pipe();
          fds[i] = i === 0 ? r : w;
          this.parentEnds[i] = i === 0 ? w : r;
          this.childEnds.push(fds[i]);
        }
      });
    }
    this.plan = { fds, tty, ttySize };
  }

  /** After spawn: close our copies of the child's ends, wrap ours (or the pty master) as streams. */
  attach(ptyMaster: number): StdioStreams {
    this.closeChildEnds();
    if (this.plan.tty) {
      // net.Socket refuses tty fds; a tty.ReadStream's TTY handle reads and writes the master.
      const pty = new (tty().ReadStream)(ptyMaster);
      // When the last process holding the pty's other side exits, reads fail with EIO: that is EOF.
      pty.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EIO') throw e;
        pty.push(null);
      });
      return { stdin: pty, stdout: pty, stderr: null };
    }
    const wrap = (i: number) => {
      const fd = this.parentEnds[i];
      return fd === undefined ? null : new (net().Socket)({ fd, readable: i !== 0, writable: i === 0 });
    };
    return { stdin: wrap(0), stdout: wrap(1), stderr: wrap(2) };
  }

  /** Releases everything when spawn failed. */
  abort(): void {
    this.closeChildEnds();
    for (const fd of this.parentEnds) if (fd !== undefined) fs.closeSync(fd);
  }

  private closeChildEnds(): void {
    for (const fd of this.childEnds.splice(0)) fs.closeSync(fd);
  }
}
