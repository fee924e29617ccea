// --format on real containers, images, volumes and networks of a temporary root, and berth inspect
// in docker's schema; the docker CLI, pointed at berth system service over the same root, prints
// the same columns for the same state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';
import { docker, startTestService, type TestService } from '../helpers/service';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) if (!['fmt-web', 'fmt-done'].includes(c.config.name)) await b.remove(c.config.id, { force: true });
  },
});
let berth: Berth;
let roots: TempRoots;
let service: TestService;
const cli = (args: string[]) => runCli(args, { roots, env: { BERTH_DEFAULT_NETWORK: 'none' } });
const ok = async (args: string[]) => {
  const r = await cli(args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

beforeAll(async () => {
  ({ berth, roots } = fixture);
  await ok(['run', '-d', '--name', 'fmt-web', '-l', 'app=shop', '-l', 'tier=web', 'busybox', 'sleep', '600']);
  expect((await cli(['run', '--name', 'fmt-done', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
  await ok(['volume', 'create', '-l', 'k=v', 'fmt-vol']);
  await ok(['network', 'create', '--subnet', '10.231.91.0/24', '--bridge', 'br-fmt91', 'fmt-net']);
  service = await startTestService(roots, { env: { BERTH_DEFAULT_NETWORK: 'none' } });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  for (const c of berth.ps({ all: true })) await berth.remove(c.config.id, { force: true });
  if (berth.listNetworks().some((n) => n.name === 'fmt-net')) berth.removeNetwork('fmt-net');
});

describe('berth ps --format', () => {
  it('prints the fields asked for, one line per container', async () => {
    expect(await ok(['ps', '--format', '{{.Names}} {{.State}} {{.Label "app"}}'])).toBe('fmt-web running shop\n');
    const all = await ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
    expect(all).toMatch(/^fmt-done Exited \(3\) .* ago\nfmt-web Up .*\n$/);
  });

  it('table: docker titles, aligned columns', async () => {
    const id = berth.inspect('fmt-web').config.id;
    const out = await ok(['ps', '--format', 'table {{.ID}}\\t{{.Names}}\\t{{.Labels}}']);
    expect(out).toBe(`CONTAINER ID   NAMES     LABELS\n${id.slice(0, 12)}   fmt-web   app=shop,tier=web\n`);
    expect((await ok(['ps', '--no-trunc', '--format', '{{.ID}}'])).trim()).toBe(id);
  });

  it('json: one object per line with docker ps fields', async () => {
    const lines = (await ok(['ps', '-a', '--format', 'json']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.Names).sort()).toEqual(['fmt-done', 'fmt-web']);
    expect(lines.find((l) => l.Names === 'fmt-web')).toMatchObject({
      State: 'running',
      Command: '"sleep 600"',
      Labels: 'app=shop,tier=web',
    });
  });

  it('matches docker ps through berth system service, column for column', async () => {
    for (const format of [
      'table {{.Names}}\\t{{.Status}}',
      'table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.Labels}}',
      '{{.Names}}|{{.Label "tier"}}|{{.State}}',
    ]) {
      const mine = await ok(['ps', '-a', '--format', format]);
      const theirs = await docker(service, roots, ['ps', '-a', '--format', format]);
      expect(theirs.code, theirs.stderr).toBe(0);
      // Status holds seconds that may tick between the two runs
      const settle = (s: string) => s.replace(/\d+ seconds?|Less than a second|About a minute/g, 'N seconds');
      expect(settle(mine)).toBe(settle(theirs.stdout));
    }
  });

  it('a bad template is one line naming the mistake and the fix, exit 125', async () => {
    const r = await cli(['ps', '--format', '{{.Names}']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(`berth: failed to parse template: template: :1: bad character U+007D '}'; close every action with "}}"\n`);
    const field = await cli(['ps', '--format', '{{.Nmes}}']);
    expect(field.code).toBe(125);
    expect(field.stderr).toMatch(
      /^berth: failed to execute template: template: :1:2: executing "" at <\.Nmes>: can't evaluate field Nmes in type \*formatter\.ContainerContext; the fields of berth ps are ID, Names, .*\n$/,
    );
    const theirs = await docker(service, roots, ['ps', '--format', '{{.Names}']);
    expect(theirs.stderr).toContain("template: :1: bad character U+007D '}'");
  });
});

describe('berth inspect in docker schema', () => {
  it('-f reads docker fields: State.Pid is the live pid, Config.Labels as json', async () => {
    const pid = berth.inspect('fmt-web').state.pid!;
    expect(await ok(['inspect', '-f', '{{.State.Pid}}', 'fmt-web'])).toBe(`${pid}\n`);
    expect(await ok(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{json .Config.Labels}}', 'fmt-web'])).toBe(
      'running true {"app":"shop","tier":"web"}\n',
    );
    expect(await ok(['inspect', '--format', '{{.State.ExitCode}} {{.Name}}', 'fmt-done'])).toBe('3 /fmt-done\n');
    const theirs = await docker(service, roots, [
      'inspect',
      '-f',
      '{{.State.Pid}} {{json .Config.Labels}} {{.HostConfig.NetworkMode}}',
      'fmt-web',
    ]);
    expect(await ok(['inspect', '-f', '{{.State.Pid}} {{json .Config.Labels}} {{.HostConfig.NetworkMode}}', 'fmt-web'])).toBe(
      theirs.stdout,
    );
  });

  it("keeps berth's own facts under Berth", async () => {
    const [doc] = JSON.parse(await ok(['inspect', 'fmt-web']));
    expect(doc).toMatchObject({ Id: berth.inspect('fmt-web').config.id, Name: '/fmt-web', State: { Status: 'running' } });
    expect(doc.Berth.stateDir).toContain(roots.root);
    expect(doc.Berth.ociConfig.process.args).toEqual(['sleep', '600']);
    expect(Object.keys(doc.Berth.cgroupPaths).length).toBeGreaterThan(0);
  });

  it('--type image|volume|network, and docker lookup order without it', async () => {
    const imageId = berth.images.resolve('busybox').id;
    expect(await ok(['inspect', '--type', 'image', '-f', '{{.Id}} {{index .RepoTags 0}}', 'busybox'])).toBe(`${imageId} busybox:latest\n`);
    expect(await ok(['inspect', '-f', '{{.Id}}', 'busybox'])).toBe(`${imageId}\n`);
    expect(await ok(['inspect', '-f', '{{.Name}} {{.Driver}} {{.Labels.k}}', 'fmt-vol'])).toBe('fmt-vol local v\n');
    expect(await ok(['inspect', '--type', 'network', '-f', '{{.Name}} {{(index .IPAM.Config 0).Subnet}}', 'fmt-net'])).toBe(
      'fmt-net 10.231.91.0/24\n',
    );
    const missing = await cli(['inspect', '-f', '{{.Name}}', 'fmt-vol', 'nosuch']);
    expect({ code: missing.code, stdout: missing.stdout, stderr: missing.stderr }).toEqual({
      code: 125,
      stdout: 'fmt-vol\n',
      stderr: 'Error: No such object: nosuch\n',
    });
    const wrongType = await cli(['inspect', '--type', 'volume', 'fmt-web']);
    expect(wrongType.stderr).toBe('Error: No such volume: fmt-web\n');
    const theirs = await docker(service, roots, ['inspect', '--type', 'image', '-f', '{{.Id}} {{index .RepoTags 0}}', 'busybox']);
    expect(theirs.stdout).toBe(`${imageId} busybox:latest\n`);
  });
});

describe('images, volume ls, network ls --format', () => {
  it('images', async () => {
    expect(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toBe('busybox:latest\n');
    const table = '{{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Size}}';
    const theirs = await docker(service, roots, ['images', '--format', `table ${table}`]);
    expect(await ok(['images', '--format', `table ${table}`])).toBe(theirs.stdout);
  });

  it('volume ls and network ls', async () => {
    const vol = 'table {{.Name}}\\t{{.Driver}}\\t{{.Labels}}\\t{{.Label "k"}}';
    expect(await ok(['volume', 'ls', '--format', vol])).toBe('VOLUME NAME   DRIVER    LABELS    k\nfmt-vol       local     k=v       v\n');
    expect(await ok(['volume', 'ls', '--format', vol])).toBe((await docker(service, roots, ['volume', 'ls', '--format', vol])).stdout);
    const net = 'table {{.Name}}\\t{{.Driver}}\\t{{.Scope}}\\t{{.Internal}}';
    const mine = await ok(['network', 'ls', '--format', net]);
    expect(mine).toBe('NAME      DRIVER    SCOPE     INTERNAL\nfmt-net   bridge    local     false\n');
    expect(mine).toBe((await docker(service, roots, ['network', 'ls', '--filter', 'name=fmt-net', '--format', net])).stdout);
    // the service made the default network when docker listed them: berth's ls shows it too
    expect((await ok(['network', 'ls', '--format', '{{.ID}} {{.Name}}'])).split('\n')).toContain(
      `${berth.inspectNetwork('fmt-net').id.slice(0, 12)} fmt-net`,
    );
  });

  it('stats', async () => {
    const out = await ok(['stats', '--no-stream', '--format', 'table {{.Container}}\\t{{.Name}}\\t{{.PIDs}}', 'fmt-web']);
    expect(out).toBe('CONTAINER   NAME      PIDS\nfmt-web     fmt-web   1\n');
  });
});
