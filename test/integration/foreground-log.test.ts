// docker's logs works on a container that ran in the foreground: Berth.run() (the Node API's
// foreground run, which does not go through the shim) writes the json-file log from the output it
// collects, in the shim's format, so `berth logs` and Berth.logs() read it back.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import type { LogEntry } from '../../src/runtime/logs';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
  },
});
let roots: TempRoots;
let berth: Berth;
beforeAll(() => {
  ({ berth, roots } = fixture);
});

async function entries(ref: string): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of berth.logs(ref)) out.push(e);
  return out;
}

describe('the json-file log of a foreground Berth.run()', () => {
  it('has every line of both streams, an unfinished last line too, with nanosecond times; the CLI reads it', async () => {
    const r = await berth.run({
      image: 'busybox',
      name: 'fg-log',
      cmd: ['sh', '-c', 'echo one; echo two >&2; echo three; printf partial'],
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('one\nthree\npartial');
    const log = await entries('fg-log');
    expect(log.filter((e) => e.stream === 'stdout').map((e) => e.log)).toEqual(['one\n', 'three\n', 'partial']);
    expect(log.filter((e) => e.stream === 'stderr').map((e) => e.log)).toEqual(['two\n']);
    for (const e of log) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const cli = await runCli(['logs', 'fg-log'], { roots });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toBe('one\nthree\npartial');
    expect(cli.stderr).toBe('two\n');
  });

  it('keeps none with --log-driver none (logs says so), and an --rm container leaves none behind', async () => {
    await berth.run({ image: 'busybox', name: 'fg-nolog', logDriver: 'none', cmd: ['echo', 'x'] });
    await expect(entries('fg-nolog')).rejects.toThrow(/configured logging driver does not support reading/);
    const r = await berth.run({ image: 'busybox', rm: true, cmd: ['echo', 'gone'] });
    expect(r.stdout).toBe('gone\n');
    expect(berth.ps({ all: true }).map((c) => c.config.name)).toEqual(['fg-nolog']);
  });
});
