// `berth ps --filter` as docker's: the same key ORed (label's values all hold), different keys ANDed; label, ancestor, exited,
// status, name, id, volume, network, before/since; the same through Berth.ps({ filters }).
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

const fixture = withBusybox();
let roots: TempRoots;
let berth: Berth;
const cli = (args: string[]) => runCli(args, { roots });

/** The names ps lists with these arguments, sorted. */
async function names(...args: string[]): Promise<string[]> {
  const r = await cli(['ps', '--format', 'json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { Names: string }).Names)
    .sort();
}

beforeAll(async () => {
  ({ berth, roots } = fixture);
  // made in this order (before/since compare creation times)
  const steps = [
    ['create', '--name', 'a', '-l', 'env=prod', '-l', 'team=core', '-v', 'psfilter-vol:/data', '--network', 'none', 'busybox', 'true'],
    ['create', '--name', 'b', '-l', 'env=dev', '--network', 'host', 'busybox', 'true'],
    ['run', '--name', 'c', '--network', 'none', 'busybox', 'sh', '-c', 'exit 3'],
    ['run', '--name', 'd', '--network', 'none', '-v', '/scratch', 'busybox', 'true'],
  ];
  for (const s of steps) {
    const r = await cli(s);
    expect(r.code === 0 || r.code === 3, r.stderr).toBe(true);
    await new Promise((res) => setTimeout(res, 20)); // distinct creation times
  }
  return async () => {
    for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true, volumes: true });
    berth.removeVolume('psfilter-vol', { force: true });
  };
});

describe('ps --filter', () => {
  it('label=KEY and label=KEY=VALUE; labels must all hold (docker), other keys twice are OR, two keys AND', async () => {
    expect(await names('-a', '--filter', 'label=env=prod')).toEqual(['a']);
    expect(await names('-a', '--filter', 'label=env')).toEqual(['a', 'b']);
    expect(await names('-a', '--filter', 'label=env=prod', '--filter', 'label=env=dev')).toEqual([]);
    expect(await names('-a', '--filter', 'label=env', '--filter', 'label=team=core')).toEqual(['a']);
    expect(await names('-a', '-f', 'label=env', '-f', 'name=b')).toEqual(['b']);
    expect(await names('-a', '-f', 'label=team=core', '-f', 'label=env=dev', '-f', 'name=^b$')).toEqual([]);
    expect(await names('-a', '-f', 'label=env', '-f', 'name=^b$', '-f', 'name=^a$')).toEqual(['a', 'b']);
    expect(await names('-a', '-f', 'label=env=staging')).toEqual([]);
  });

  it('exited=CODE and status= look at every container without -a', async () => {
    expect(await names('--filter', 'exited=3')).toEqual(['c']);
    expect(await names('--filter', 'exited=0')).toEqual(['d']);
    expect(await names('--filter', 'exited=0', '--filter', 'exited=3')).toEqual(['c', 'd']);
    expect(await names('--filter', 'status=created')).toEqual(['a', 'b']);
    expect(await names('--filter', 'status=exited')).toEqual(['c', 'd']);
    expect(await names('--filter', 'status=paused')).toEqual([]);
    // without -a and without a status filter: running ones only
    expect(await names('--filter', 'label=env')).toEqual([]);
  });

  it('ancestor= by name, name:tag and image ID prefix; id= by prefix', async () => {
    const id = berth.images.resolve('busybox').id.slice(7);
    expect(await names('-a', '-f', 'ancestor=busybox')).toEqual(['a', 'b', 'c', 'd']);
    expect(await names('-a', '-f', 'ancestor=busybox:latest')).toEqual(['a', 'b', 'c', 'd']);
    expect(await names('-a', '-f', `ancestor=${id.slice(0, 12)}`)).toEqual(['a', 'b', 'c', 'd']);
    expect(await names('-a', '-f', 'ancestor=alpine')).toEqual([]);
    const c = berth.ps({ all: true }).find((x) => x.config.name === 'c')!;
    expect(await names('-a', '-f', `id=${c.config.id.slice(0, 10)}`)).toEqual(['c']);
  });

  it('volume= by name or destination, network= by name', async () => {
    expect(await names('-a', '-f', 'volume=psfilter-vol')).toEqual(['a']);
    expect(await names('-a', '-f', 'volume=/data')).toEqual(['a']);
    expect(await names('-a', '-f', 'volume=/scratch')).toEqual(['d']);
    expect(await names('-a', '-f', 'network=host')).toEqual(['b']);
    expect(await names('-a', '-f', 'network=none')).toEqual(['a', 'c', 'd']);
  });

  it('before= and since= another container', async () => {
    expect(await names('-a', '-f', 'before=c')).toEqual(['a', 'b']);
    expect(await names('-a', '-f', 'since=b')).toEqual(['c', 'd']);
    expect(await names('-a', '-f', 'since=a', '-f', 'before=d')).toEqual(['b', 'c']);
    const r = await cli(['ps', '-a', '-f', 'since=nosuch']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^berth: No such container: nosuch.*\n$/);
  });

  it('refuses an unknown key or a bad value in one line, exit 125', async () => {
    const bad = await cli(['ps', '-f', 'colour=red']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({
      code: 125,
      stderr:
        'berth: Invalid filter "colour"; the filters of ps are label, ancestor, exited, status, name, id, volume, network, before, since, health\n',
    });
    const status = await cli(['ps', '-f', 'status=sleeping']);
    expect(status.code).toBe(125);
    expect(status.stderr).toMatch(/^berth: Expected created, restarting, running, .* for --filter status but received "sleeping"\n$/);
    expect((await cli(['ps', '-f', 'exited=x'])).code).toBe(125);
    expect((await cli(['ps', '-f', 'noequals'])).code).toBe(125);
  });

  it('the API takes the same filters, as strings or an object', () => {
    const n = (list: ReturnType<Berth['ps']>) => list.map((c) => c.config.name).sort();
    expect(n(berth.ps({ all: true, filters: ['label=env', 'name=a'] }))).toEqual(['a']);
    expect(n(berth.ps({ filters: { exited: ['3', '0'] } }))).toEqual(['c', 'd']);
    expect(n(berth.ps({ all: true, filters: { label: 'env=dev' } }))).toEqual(['b']);
    expect(() => berth.ps({ filters: { label: 3 } as never })).toThrow(/filters\.label to be an array of strings/);
  });
});
