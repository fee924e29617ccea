/** Signals as `runc kill` reads them: a number, or a name with or without SIG in any case. */
import { constants } from 'node:os';
import { OciCliError } from './errors';

/** Linux's highest signal (SIGRTMAX). */
const SIGRTMAX = 64;

export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    // runc passes any number to kill(2), which refuses what is not a signal; refusing it here
    // gives the same answer before any container is touched.
    if (n > SIGRTMAX) throw new OciCliError(`unknown signal ${JSON.stringify(raw)}`);
    return n;
  }
  let name = raw.toUpperCase();
  if (!name.startsWith('SIG')) name = `SIG${name}`;
  const signals = constants.signals as Record<string, number | undefined>;
  const n = Object.hasOwn(signals, name) ? signals[name] : undefined;
  if (n === undefined) throw new OciCliError(`unknown signal ${JSON.stringify(raw)}`);
  return n;
}
