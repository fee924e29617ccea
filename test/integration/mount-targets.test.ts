// A volume never lands in the container's /proc or /sys, however the image's symlinks lead there
// (runc refuses the same): a bind over /proc/sys/kernel would hand the container the host's kernel
// knobs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/index';
import { BerthError } from '../../src/errors';
import { withBusybox } from '../helpers/berth';

const fixture = withBusybox({ beforeCheck: async (b) => void (await b.prune()) });
let berth: Berth;
let hostDir: string;
beforeAll(async () => {
  berth = fixture.berth;
  hostDir = path.join(fixture.roots.base, 'volume');
  fs.mkdirSync(hostDir);
  fs.writeFileSync(path.join(hostDir, 'file'), 'host data\n');
  // an image whose /data leads into procfs, /sysdata into sysfs and /etc/hosts into procfs
  const r = await berth.run({
    image: 'busybox',
    name: 'maker',
    network: 'none',
    cmd: ['sh', '-c', 'ln -s /proc/sys/kernel /data && ln -s /sys/kernel /sysdata && ln -s proc/sys/kernel/hostname /relproc'],
  });
  expect(r.exitCode).toBe(0);
  await berth.commit('maker', 'links');
  await berth.remove('maker');
});

async function refused(containerPath: string): Promise<BerthError> {
  const before = berth.ps({ all: true }).length;
  const e = await berth.run({ image: 'links', network: 'none', rm: true, volumes: [`${hostDir}:${containerPath}`], cmd: ['true'] }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BerthError);
  expect(berth.ps({ all: true }).length).toBe(before);
  return e as BerthError;
}

describe('mount targets', () => {
  it.each(['/data', '/data/', '/sysdata', '/relproc', '/data/random'])(
    'refuses a volume on %s, which resolves into /proc or /sys',
    async (target) => {
      const e = await refused(target);
      expect(e.code).toBe('INVALID_ARGUMENT');
      // (named as docker normalises the destination: /data/ is /data)
      expect(e.message).toBe(
        `Mount target ${JSON.stringify(target.replace(/(.)\/$/, '$1'))} resolves into /proc or /sys of the container (through a symlink in the image); mount it on another path`,
      );
    },
  );

  it('still mounts a volume beside those links, and the masks and read-only paths still apply', async () => {
    const r = await berth.run({
      image: 'links',
      network: 'none',
      rm: true,
      volumes: [`${hostDir}:/elsewhere`],
      cmd: ['sh', '-c', 'cat /elsewhere/file; echo 1 > /proc/sys/kernel/hostname 2>/dev/null && echo writable || echo read-only'],
    });
    expect(r.stdout).toBe('host data\nread-only\n');
  });
});
