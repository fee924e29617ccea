import { BerthError } from '../errors';
import type { AttachConnection, AttachExit, ContainerProcess } from '../index';
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

/** docker's --detach-keys: comma-separated keys, each a letter or `ctrl-X` (X one of a-z @ [ \ ] ^ _). */
export function parseDetachKeys(spec: string): number[] {
  const keys: number[] = [];
  for (const k of spec.split(',')) {
    const ctrl = /^ctrl-(.)$/i.exec(k);
    if (ctrl) {
      const c = ctrl[1].toLowerCase();
      const i = 'abcdefghijklmnopqrstuvwxyz'.indexOf(c);
      const special = ['@', '[', '\\', ']', '^', '_'].indexOf(c);
      if (i >= 0) keys.push(i + 1);
      else if (special >= 0) keys.push(special === 0 ? 0 : 27 + special - 1);
      else throw invalidKeys(spec);
    } else if (k.length === 1) keys.push(k.charCodeAt(0));
    else throw invalidKeys(spec);
  }
  return keys;
}

function invalidKeys(spec: string): BerthError {
  return new BerthError(
    'INVALID_ARGUMENT',
    `Invalid detach keys (${spec}) provided; expected keys like ctrl-p,ctrl-q: a letter or ctrl-<a-z, @, [, \\, ], ^, _>, comma-separated`,
  );
}

/** Scans input for the detach keys: what may be sent on, and whether they were typed. Bytes of a
 *  partial match are held back until the match fails (docker does the same). */
export function detachScanner(keys: number[]): (chunk: Buffer) => { out: Buffer; detach: boolean } {
  let matched = 0;
  return (chunk) => {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === keys[matched]) {
        if (++matched === keys.length) return { out: Buffer.from(out), detach: true };
        continue;
      }
      out.push(...keys.slice(0, matched));
      matched = 0;
      // a new match may start here (keys.length > 1: a single key matched above)
      if (b === keys[0]) matched = 1;
      else out.push(b);
    }
    return { out: Buffer.from(out), detach: false };
  };
}

/** A boolean flag given as `--flag=false` (the parser drops it, which reads as "not given"):
 *  for the flags whose default is true, --sig-proxy. Only the words before `operand` count. */
export function flagSetFalse(argv: string[], flag: string, operand?: string): boolean {
  const end = operand === undefined ? argv.length : argv.indexOf(operand);
  return argv.slice(0, end < 0 ? argv.length : end).some((a) => new RegExp(`^${flag}=(0|f|F|false|FALSE|False)$`).test(a));
}

export interface TerminalAttach {
  tty: boolean;
  /** Which streams go to/from this terminal (run -a, start -a/-i, attach --no-stdin). */
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  detachKeys: number[];
  /** Signals sent to berth go to the container (not with a tty, as docker: they travel as bytes). */
  sigProxy: boolean;
  kill: (sig: NodeJS.Signals) => void;
}

/**
 * Connects this terminal to a container through its shim's attach connection until the container
 * exits or the detach keys are typed: raw mode on a tty, window sizes passed on, signals
 * proxied. Resolves with the container's exit, or detached.
 */
export async function attachTerminal(conn: AttachConnection, o: TerminalAttach): Promise<{ exit?: AttachExit; detached: boolean }> {
  // Our stdout closed (`| head`): the shim closes the container's pipe too, so that its writes
  // fail as they did on the pipe it once had (a PID 1 ignores SIGPIPE but not EPIPE).
  const out = (stream: NodeJS.WriteStream, n: 1 | 2) => {
    let broken = false;
    return (b: Buffer) => {
      if (broken) return;
      if (!stream.listenerCount('error'))
        stream.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code !== 'EPIPE') throw e;
          if (!broken) conn.outputClosed(n);
          broken = true;
        });
      stream.write(b);
    };
  };
  if (o.stdout) conn.on('stdout', out(process.stdout, 1));
  if (o.stderr) conn.on('stderr', out(process.stderr, 2));
  const proxied = o.sigProxy && !o.tty ? FORWARDED : [];
  const forward = (sig: NodeJS.Signals) => o.kill(sig);
  for (const s of proxied) process.on(s, forward);
  // With a tty, a signal to berth detaches (the terminal is restored); the container goes on.
  const leave = () => conn.close();
  const leaving: NodeJS.Signals[] = o.tty ? ['SIGINT', 'SIGTERM', 'SIGHUP'] : [];
  for (const s of leaving) process.on(s, leave);
  let restore = () => {};
  let detached = false;
  if (o.stdin) {
    if (o.tty && process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      restore = () => process.stdin.setRawMode(false);
    }
    const scan = o.tty ? detachScanner(o.detachKeys) : undefined;
    process.stdin.on('data', (b: Buffer) => {
      if (!scan) return conn.write(b);
      const r = scan(b);
      if (r.out.length) conn.write(r.out);
      if (r.detach) {
        detached = true;
        conn.close();
      }
    });
    process.stdin.on('end', () => conn.endStdin());
  }
  const resize = () => conn.resize(process.stdout.rows, process.stdout.columns);
  // process.stdout is built on first use (a millisecond): only a tty needs it here
  const sized = o.tty && process.stdout.isTTY;
  if (sized) {
    resize();
    process.stdout.on('resize', resize);
  }
  conn.resume();
  const exit = await conn.closed;
  restore();
  if (sized) process.stdout.off('resize', resize);
  for (const s of proxied) process.off(s, forward);
  for (const s of leaving) process.off(s, leave);
  if (o.stdin) process.stdin.destroy();
  return { exit, detached: detached || !exit };
}
