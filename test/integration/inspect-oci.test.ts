// berth inspect shows the OCI config a container's starts run (the one model every start takes).
import { beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

const fixture = withBusybox({ beforeCheck: async (b) => void (await b.prune()) });
let berth: Berth;
let roots: TempRoots;
beforeAll(() => {
  ({ berth, roots } = fixture);
});

describe('inspect', () => {
  it('shows the OCI config the start ran, and that config runs the container as asked', async () => {
    const r = await berth.run({
      image: 'busybox',
      name: 'specced',
      network: 'none',
      hostname: 'ocis',
      user: '1000:1000',
      capAdd: ['NET_ADMIN'],
      volumes: [`${roots.base}:/v:ro`],
      cmd: ['sh', '-c', 'hostname; id -u; grep CapBnd /proc/self/status'],
    });
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['ocis', '1000']);
    const spec = berth.inspect('specced').ociConfig!;
    expect(spec.ociVersion).toBe('1.1.0');
    expect(spec.process).toMatchObject({
      args: ['sh', '-c', 'hostname; id -u; grep CapBnd /proc/self/status'],
      user: { uid: 1000, gid: 1000 },
      cwd: '/',
    });
    expect(spec.process!.capabilities!.bounding).toContain('CAP_NET_ADMIN');
    expect(spec.hostname).toBe('ocis');
    expect(spec.root!.path).toMatch(/\/merged$/);
    expect(spec.mounts![0]).toMatchObject({ destination: '/', type: 'overlay', source: 'overlay' });
    expect(spec.mounts!.find((m) => m.destination === '/v')).toMatchObject({ type: 'bind', source: roots.base, options: ['rbind', 'ro'] });
    expect(spec.linux!.namespaces!.map((n) => n.type)).toEqual(['pid', 'mount', 'uts', 'ipc', 'network', 'cgroup']);
    expect(spec.linux!.readonlyPaths).toContain('/proc/sys');
    expect(spec.annotations).toMatchObject({ 'org.berth.seccomp': 'default' });
    const cli = await runCli(['inspect', 'specced'], { roots });
    expect(JSON.parse(cli.stdout)[0].Berth.ociConfig.process.args[0]).toBe('sh');
  });
});
