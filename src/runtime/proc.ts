import * as fs from 'node:fs';

/** Start time of a process (field 22 of /proc/PID/stat, clock ticks since boot), or undefined when
 *  no such process exists. Together with the PID it identifies one process for good. */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  if (state === 'Z' || state === 'X') return undefined;
  return Number(rest[19]);
}
