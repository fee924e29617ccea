import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli, tempRoots, type TempRoots } from '../helpers/env';
import { FakeRegistry, tarOf } from '../fixtures/registry/fake-registry';

// A registry that stalls mid-layer, against the CLI as users run it: other commands on the same root
// must not wait for the stalled pull, the pull must give up with one line when told to, and what a
// killed pull leaves in tmp/ must go with the next command of any kind.

let reg: FakeRegistry;
let roots: TempRoots;
let work: string;
/** The stalled layer: large enough to be cut in half and still leave bytes on disk. */
let bigLayer: string;

beforeAll(async () => {
  reg = await new FakeRegistry().start();
  const noise = Buffer.alloc(1 << 20);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
  const img = reg.image('app', 'big', [
    { tar: tarOf({ 'etc/os-release': 'fake\n' }) },
    { tar: tarOf({ 'big.bin': noise }), compression: 'none' },
  ]);
  bigLayer = img.layers[1];
  reg.stall.add(bigLayer);
});

afterAll(async () => {
  await reg?.stop();
});

beforeEach(() => {
  roots = tempRoots();
  work = fs.mkdtempSync(path.join(roots.base, 'work-'));
});

afterEach(() => {
  roots.cleanup();
});

const ls = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

function rootfsTar(name: string): string {
  const file = path.join(work, `${name}.tar`);
  fs.writeFileSync(file, tarOf({ [`etc/${name}`]: `${name}\n` }));
  return file;
}

/** Bytes of blob files in the pull directories under tmp/. */
function stagedBytes(): number {
  let total = 0;
  const tmp = path.join(roots.root, 'tmp');
  for (const d of ls(tmp)) {
    const dir = path.join(tmp, d);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of ls(dir)) if (f.startsWith('blob-')) total += fs.statSync(path.join(dir, f)).size;
  }
  return total;
}

describe('a pull stalled by its registry', () => {
  it('blocks no other command: import, rmi and images complete; killed, it leaves debris that `berth ps` sweeps', async () => {
    expect((await runCli(['import', rootfsTar('first'), 'first'], { roots })).code).toBe(0);
    const stalled = reg.nextStall();
    const child = spawn(process.execPath, [CLI_PATH, 'pull', `${reg.host}/app:big`], {
      env: { ...process.env, BERTH_ROOT: roots.root, BERTH_RUNROOT: roots.runRoot },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await Promise.race([stalled, exited.then(() => Promise.reject(new Error('the pull ended before the registry stalled')))]);
      for (let i = 0; i < 200 && stagedBytes() === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(stagedBytes()).toBeGreaterThan(0);

      // Each would have waited for the pull's store lock, i.e. forever (runCli kills it after 20 s).
      const imported = await runCli(['import', rootfsTar('second'), 'second'], { roots, timeoutMs: 20_000 });
      expect([imported.code, imported.stderr]).toEqual([0, '']);
      const removed = await runCli(['rmi', 'first'], { roots, timeoutMs: 20_000 });
      expect([removed.code, removed.stderr]).toEqual([0, '']);
      const images = await runCli(['images'], { roots, timeoutMs: 20_000 });
      expect(images.stdout).toContain('second');
      expect(images.stdout).not.toContain('first');
      expect(ls(path.join(roots.root, 'tmp'))).toEqual([expect.stringMatching(new RegExp(`^pull-p${child.pid}-s\\d+-[0-9a-f]+$`))]);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // The owner is dead: a command that writes nothing removes its partial download.
    const ps = await runCli(['ps', '-a'], { roots });
    expect(ps.code).toBe(0);
    expect(ls(path.join(roots.root, 'tmp'))).toEqual([]);
    expect(ls(path.join(roots.root, 'layers'))).toHaveLength(1); // second's; nothing of the pull
  });

  it('gives up after BERTH_REGISTRY_TIMEOUT seconds of silence, in one line, exit 125, keeping nothing', async () => {
    const cli = await runCli(['pull', `${reg.host}/app:big`], { roots, env: { BERTH_REGISTRY_TIMEOUT: '1' } });
    expect(cli.code).toBe(125);
    expect(cli.stderr).toBe(
      `berth: Registry ${reg.host} sent nothing for 1 s while downloading blob ${bigLayer} of ${reg.host}/app; check the registry or raise BERTH_REGISTRY_TIMEOUT\n`,
    );
    for (const dir of ['tmp', 'layers', 'images', 'blobs/sha256']) expect(ls(path.join(roots.root, dir))).toEqual([]);
  });
});
