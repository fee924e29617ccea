import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  parseCmdline,
  parseStat,
  parseStatusUid,
  processExecutable,
  processExists,
  processInfo,
  processStartTime,
} from '../../src/util/proc';

/** A /proc/PID/stat line: pid, (comm), then fields 3.. as given, padded to the 52 the kernel writes. */
function statLine(pid: number, comm: string, fields: Record<number, string | number>): string {
  const rest = Array.from({ length: 50 }, (_, i) => String(fields[i + 3] ?? 0));
  return `${pid} (${comm}) ${rest.join(' ')}\n`;
}

describe('parseStat', () => {
  it('reads state, parent and start time (fields 3, 4 and 22)', () => {
    expect(parseStat(statLine(42, 'sh', { 3: 'S', 4: 7, 22: 123456 }))).toEqual({ command: 'sh', state: 'S', ppid: 7, startTime: 123456 });
  });

  it('takes a command name with spaces and parentheses whole (fields resume after the last ")")', () => {
    const line = statLine(9, 'a) (b c)', { 3: 'R', 4: 1, 22: 99 });
    expect(parseStat(line)).toEqual({ command: 'a) (b c)', state: 'R', ppid: 1, startTime: 99 });
  });

  it('is undefined for text that is no stat line', () => {
    for (const text of ['', 'garbage', '1 (x', '1 (x) S 0 0']) expect(parseStat(text)).toBeUndefined();
  });

  it("agrees with this process's own stat file", () => {
    const text = fs.readFileSync('/proc/self/stat', 'utf8');
    const stat = parseStat(text)!;
    expect(stat.ppid).toBe(process.ppid);
    expect(stat.state).toBe('R');
    expect(stat.startTime).toBe(Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]));
  });
});

describe('parseStatusUid and parseCmdline', () => {
  it('reads the real uid of the Uid: line', () => {
    expect(parseStatusUid('Name:\tsh\nUmask:\t0022\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n')).toBe(1000);
    expect(parseStatusUid('Name:\tsh\n')).toBe(-1);
  });

  it('joins the NUL-separated arguments with spaces; empty without any', () => {
    expect(parseCmdline('sh\0-c\0echo hi\0')).toBe('sh -c echo hi');
    expect(parseCmdline('')).toBe('');
  });
});

describe('processStartTime', () => {
  it('is undefined for a pid that cannot exist', () => {
    expect(processStartTime(2 ** 22 + 7)).toBeUndefined();
  });

  it('is stable for this process and matches field 22 of /proc/self/stat', () => {
    const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(processStartTime(process.pid)).toBe(Number(fields[19]));
    expect(processStartTime(process.pid)).toBe(processStartTime(process.pid));
  });

  it('differs between this process and pid 1 (an older process)', () => {
    const mine = processStartTime(process.pid)!;
    const init = processStartTime(1);
    if (init !== undefined) expect(init).toBeLessThanOrEqual(mine);
  });

  it('is undefined for a zombie, which processExists still sees', async () => {
    // sh forks a short sleep and execs a long one in its place, which never reaps the short one: a zombie until killed
    const parent = spawn('/bin/sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((r) => parent.stdout.once('data', (b: Buffer) => r(b.toString()))));
      const state = () => parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))?.state;
      for (let i = 0; i < 1000 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 5));
      expect(state()).toBe('Z');
      expect(processStartTime(pid)).toBeUndefined();
      expect(processExists(pid)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

describe('processInfo and processExecutable', () => {
  it('describe this process', () => {
    const me = processInfo(process.pid)!;
    expect(me).toMatchObject({ pid: process.pid, ppid: process.ppid, uid: process.getuid!() });
    expect(me.command).not.toBe('');
    expect(processExecutable(process.pid)).toBe(fs.realpathSync(process.execPath));
  });

  it('are undefined for a pid that cannot exist', () => {
    expect(processInfo(2 ** 22 + 7)).toBeUndefined();
    expect(processExecutable(2 ** 22 + 7)).toBeUndefined();
    expect(processExists(2 ** 22 + 7)).toBe(false);
  });
});
