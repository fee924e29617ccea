// docker's mount flags of `berth run`/`create`, seen from inside real containers: --mount
// (bind, volume, tmpfs; readonly, bind-propagation, volume-nocopy, tmpfs-size/mode), -v with a
// single file, -v propagation words, --volumes-from (and :ro), inspect's Mounts; bad input one
// line, exit 125, nothing left behind (--mount bind source missing, --volumes-from missing,
// --read-only with a volume over /, --storage-opt size= on this host's storage).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/index';
import { withBusybox } from '../helpers/berth';
import { runCli, type TempRoots } from '../helpers/env';

const fixture = withBusybox({
  beforeCheck: async (b) => {
    for (const c of b.ps({ all: true })) await b.remove(c.config.id, { force: true });
    for (const v of b.listVolumes()) b.removeVolume(v.Name, { force: true });
  },
});
let roots: TempRoots;
let berth: Berth;
let host: string;
beforeAll(() => {
  ({ berth, roots } = fixture);
  host = path.join(roots.base, 'host');
  fs.mkdirSync(host);
});

const cli = (args: string[]) => runCli(args, { roots });
/** `berth run --rm FLAGS busybox sh -c SCRIPT`: its exit code and output. */
const run = (flags: string[], script: string) => cli(['run', '--rm', ...flags, 'busybox', 'sh', '-c', script]);
const hostDir = (name: string, files: Record<string, string> = {}) => {
  const dir = path.join(host, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), content);
  return dir;
};
/** The mountinfo line of a mount point, as the container sees it. */
const mountinfo = (out: string, target: string) => out.split('\n').find((l) => l.split(' ')[4] === target) ?? '';

describe('--mount type=bind', () => {
  it('binds a host directory; readonly refuses a write, the default writes through to the host', async () => {
    const dir = hostDir('bind-ro', { f: 'hello\n' });
    const ro = await run(['--mount', `type=bind,source=${dir},target=/m,readonly`], 'cat /m/f; touch /m/new 2>/dev/null || echo refused');
    expect(ro.stdout).toBe('hello\nrefused\n');
    expect(fs.existsSync(path.join(dir, 'new'))).toBe(false);
    const rw = await run(['--mount', `type=bind,src=${dir},dst=/m`], 'echo written > /m/new && echo ok');
    expect(rw.stdout, rw.stderr).toBe('ok\n');
    expect(fs.readFileSync(path.join(dir, 'new'), 'utf8')).toBe('written\n');
  });

  it('a quoted CSV field holds a comma in the target', async () => {
    const dir = hostDir('csv', { f: 'csv\n' });
    const r = await run(['--mount', `type=bind,src=${dir},"target=/a,b"`], 'cat "/a,b/f"');
    expect(r.stdout, r.stderr).toBe('csv\n');
  });

  it('bind-propagation=rshared makes the bind a shared mount (shared:N); the default and rprivate are private', async () => {
    const dir = hostDir('prop');
    const r = await run(
      [
        '--mount',
        `type=bind,src=${dir},dst=/shared,bind-propagation=rshared`,
        '--mount',
        `type=bind,src=${dir},dst=/private,bind-propagation=rprivate`,
        '-v',
        `${dir}:/plain`,
        '-v',
        `${dir}:/vshared:shared`,
      ],
      'cat /proc/self/mountinfo',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(mountinfo(r.stdout, '/shared')).toMatch(/ shared:\d+ /);
    expect(mountinfo(r.stdout, '/vshared')).toMatch(/ shared:\d+ /);
    for (const t of ['/private', '/plain']) {
      expect(mountinfo(r.stdout, t), t).not.toBe('');
      expect(mountinfo(r.stdout, t), t).not.toMatch(/shared:/);
    }
  });

  it('bind-nonrecursive binds without rbind in the OCI config', async () => {
    const dir = hostDir('nonrec');
    expect(
      (await cli(['create', '--name', 'nonrec', '--mount', `type=bind,src=${dir},dst=/n,bind-nonrecursive`, 'busybox', 'true'])).code,
    ).toBe(0);
    const m = berth.inspect('nonrec').ociConfig!.mounts!.find((x) => x.destination === '/n');
    expect(m?.options).toEqual(['bind']);
  });
});

describe('bind propagation with the host (linux.rootfsPropagation)', () => {
  const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: 'pipe' });
  /** Whether `dir` is a mount point of the host. */
  const hostMounted = (dir: string) =>
    fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === dir);

  it('a host mount under an rshared or rslave source is seen inside after the start, not under a default bind; only rshared sends back', async () => {
    // the source is a shared mount of its own (this host's / may be private, as docker needs)
    const src = hostDir('prop-host');
    sh('mount', '-t', 'tmpfs', '-o', 'size=1m', 'berth-prop-src', src);
    try {
      sh('mount', '--make-shared', src);
      const start = async (name: string, vol: string) => {
        const r = await cli(['run', '-d', '--name', name, '--privileged', '-v', vol, 'busybox', 'sleep', '1000']);
        expect(r.code, r.stderr).toBe(0);
      };
      await start('p-shared', `${src}:/s:rshared`);
      await start('p-slave', `${src}:/s:rslave`);
      await start('p-default', `${src}:/s`);
      const inspect = JSON.parse((await cli(['inspect', 'p-shared'])).stdout);
      expect(inspect).toBeDefined();
      fs.mkdirSync(path.join(src, 'sub'));
      sh('mount', '-t', 'tmpfs', '-o', 'size=1m', 'berth-prop-sub', path.join(src, 'sub'));
      const seen = async (name: string, script: string) => {
        const r = await cli(['exec', name, 'sh', '-c', script]);
        expect(r.stderr).toBe('');
        return r.stdout;
      };
      const subInside = 'grep -c "^berth-prop-sub /s/sub " /proc/mounts || true';
      expect(await seen('p-shared', subInside)).toBe('1\n');
      expect(await seen('p-slave', subInside)).toBe('1\n');
      expect(await seen('p-default', subInside)).toBe('0\n');
      // back to the host: only from the rshared bind
      for (const [name, dir] of [
        ['p-shared', 'back-shared'],
        ['p-slave', 'back-slave'],
        ['p-default', 'back-default'],
      ] as const) {
        fs.mkdirSync(path.join(src, dir));
        expect(await seen(name, `mount -t tmpfs -o size=1m berth-prop-back /s/${dir} && echo ok`)).toBe('ok\n');
      }
      expect(hostMounted(path.join(src, 'back-shared'))).toBe(true);
      expect(hostMounted(path.join(src, 'back-slave'))).toBe(false);
      expect(hostMounted(path.join(src, 'back-default'))).toBe(false);
    } finally {
      for (const name of ['p-shared', 'p-slave', 'p-default']) {
        const r = await cli(['rm', '-f', name]);
        expect(r.stderr, name).toBe('');
      }
      sh('umount', '-R', src);
    }
  });

  it("sets the OCI config's rootfsPropagation as docker does (shared, rslave, none) and rprivate on the other binds", async () => {
    const dir = hostDir('prop-spec');
    const spec = async (vol: string) => {
      const r = await cli(['create', '--name', 'spec', '-v', vol, '-v', `${dir}:/other`, 'busybox', 'true']);
      expect(r.code, r.stderr).toBe(0);
      const s = berth.inspect('spec').ociConfig!;
      expect((await cli(['rm', 'spec'])).code).toBe(0);
      return { root: s.linux?.rootfsPropagation, other: s.mounts?.find((m) => m.destination === '/other')?.options };
    };
    expect(await spec(`${dir}:/s:rshared`)).toEqual({ root: 'shared', other: ['rbind', 'rprivate'] });
    expect(await spec(`${dir}:/s:slave`)).toEqual({ root: 'rslave', other: ['rbind', 'rprivate'] });
    expect(await spec(`${dir}:/s:rprivate`)).toEqual({ root: undefined, other: ['rbind'] });
  });
});

describe('--mount type=volume and type=tmpfs', () => {
  it('makes the named volume and copies the image content into it, unless volume-nocopy; volume-label labels it', async () => {
    const r = await run(['--mount', 'type=volume,source=etcvol,target=/etc,volume-label=team=a'], 'cat /etc/berth-fixture');
    expect(r.stdout, r.stderr).toBe('busybox fixture\n');
    const v = berth.inspectVolume('etcvol');
    expect(v.Labels).toEqual({ team: 'a' });
    expect(fs.readFileSync(path.join(v.Mountpoint, 'berth-fixture'), 'utf8')).toBe('busybox fixture\n');
    const nocopy = await run(['--mount', 'src=emptyvol,dst=/etc,volume-nocopy'], 'ls -A /etc | wc -l');
    expect(nocopy.stdout.trim(), nocopy.stderr).toBe('0');
    expect(fs.readdirSync(berth.inspectVolume('emptyvol').Mountpoint)).toEqual([]);
  });

  it('a tmpfs with tmpfs-size and tmpfs-mode, over docker noexec,nosuid,nodev, visible in /proc/mounts', async () => {
    const r = await run(['--mount', 'type=tmpfs,destination=/t,tmpfs-size=2m,tmpfs-mode=1770'], 'grep " /t " /proc/mounts; stat -c %a /t');
    expect(r.code, r.stderr).toBe(0);
    const [line, mode] = r.stdout.trim().split('\n');
    expect(line.split(' ')[2]).toBe('tmpfs');
    expect(line.split(' ')[3].split(',')).toEqual(expect.arrayContaining(['size=2048k', 'mode=1770', 'noexec', 'nosuid', 'nodev']));
    expect(mode).toBe('1770');
  });
});

describe('-v with a single file', () => {
  it('binds a host file over a file of the image and onto a new path; ro refuses writes', async () => {
    const file = path.join(host, 'single.conf');
    fs.writeFileSync(file, 'from host\n');
    const r = await run(
      ['-v', `${file}:/etc/passwd-copy`, '-v', `${file}:/etc/group:ro`],
      'cat /etc/passwd-copy /etc/group; test -f /etc/passwd-copy && echo file; echo more >> /etc/passwd-copy; echo x >> /etc/group 2>/dev/null || echo refused',
    );
    expect(r.stdout, r.stderr).toBe('from host\nfrom host\nfile\nrefused\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('from host\nmore\n');
    const m = await run(['--mount', `type=bind,src=${file},dst=/opt/one.conf,ro`], 'cat /opt/one.conf; test -f /opt/one.conf && echo file');
    expect(m.stdout, m.stderr).toBe('from host\nmore\nfile\n');
  });
});

describe('--volumes-from', () => {
  it("sees the other container's volumes and binds in their modes (not its tmpfs); :ro forces read-only", async () => {
    const dir = hostDir('vf', { b: 'bind data\n' });
    const made = await cli([
      'run',
      '--name',
      'source',
      '-v',
      'vfdata:/data',
      '-v',
      '/anon',
      '-v',
      `${dir}:/b:ro`,
      '--mount',
      'type=tmpfs,dst=/tmp/t',
      'busybox',
      'sh',
      '-c',
      'echo shared > /data/x; echo anon > /anon/y',
    ]);
    expect(made.code, made.stderr).toBe(0); // exited now: --volumes-from takes a container in any state
    const r = await run(
      ['--volumes-from', 'source'],
      'cat /data/x /anon/y /b/b; echo w >> /data/x && echo data-rw; echo w >> /b/b 2>/dev/null || echo bind-ro; grep -c " /tmp/t " /proc/mounts',
    );
    expect(r.stdout, r.stderr).toBe('shared\nanon\nbind data\ndata-rw\nbind-ro\n0\n');
    const ro = await run(['--volumes-from', 'source:ro'], 'cat /data/x; echo w >> /data/x 2>/dev/null || echo data-ro');
    expect(ro.stdout, ro.stderr).toBe('shared\nw\ndata-ro\n');
    // a -v or --tmpfs at one of its destinations replaces that mount
    const over = await run(
      ['--volumes-from', 'source', '-v', `${hostDir('over', { x: 'over\n' })}:/data`, '--tmpfs', '/anon'],
      'cat /data/x; ls -A /anon | wc -l',
    );
    expect(over.stdout, over.stderr).toBe('over\n0\n');
    // the anonymous volume stays the source container's: rm -v of a user keeps it
    const anon = berth.inspect('source').mounts!.find((m) => m.Destination === '/anon')!;
    expect((await cli(['create', '--name', 'user', '--volumes-from', 'source', 'busybox', 'true'])).code).toBe(0);
    expect((await cli(['rm', '-v', 'user'])).code).toBe(0);
    expect(fs.readFileSync(path.join(anon.Source, 'y'), 'utf8')).toBe('anon\n');
  });
});

describe('inspect', () => {
  it('shows --mount and --volumes-from mounts as docker does', async () => {
    const dir = hostDir('insp');
    const made = await cli([
      'create',
      '--name',
      'insp',
      '--mount',
      `type=bind,src=${dir},dst=/b,readonly,bind-propagation=rslave`,
      '--mount',
      'type=volume,src=inspvol,dst=/v',
      '--mount',
      'type=tmpfs,dst=/t,readonly',
      'busybox',
      'true',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const volSource = berth.inspectVolume('inspvol').Mountpoint;
    const expected = [
      { Type: 'bind', Source: dir, Destination: '/b', Mode: '', RW: false, Propagation: 'rslave' },
      { Type: 'volume', Name: 'inspvol', Driver: 'local', Source: volSource, Destination: '/v', Mode: '', RW: true, Propagation: '' },
      { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: false, Propagation: '' },
    ];
    expect(berth.inspect('insp').mounts).toEqual(expected);
    expect((await cli(['create', '--name', 'insp2', '--volumes-from', 'insp:rw', 'busybox', 'true'])).code).toBe(0);
    const cliInspect = JSON.parse((await cli(['inspect', 'insp2'])).stdout) as Array<{ Mounts: unknown }>;
    expect(cliInspect[0].Mounts).toEqual([
      { ...expected[0], RW: true },
      { ...expected[1], RW: true },
    ]);
  });
});

describe('bad input', () => {
  it('is one line, exit 125, and leaves nothing behind', async () => {
    expect((await cli(['create', '--name', 'keep', 'busybox', 'true'])).code).toBe(0);
    const missing = path.join(host, 'no-such-dir');
    const before = fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort();
    const cases: Array<[string[], string]> = [
      [
        ['--mount', `type=bind,source=${missing},target=/m`],
        `Invalid --mount type=bind: the bind source path "${missing}" does not exist; create it first (-v would make a directory)`,
      ],
      [['--volumes-from', 'nothere'], 'No such container: "nothere" for --volumes-from; give an existing container\'s name or ID'],
      [['--volumes-from', 'keep:rx'], 'Expected CONTAINER[:ro|rw] for --volumes-from but received "keep:rx"'],
      [['--read-only', '-v', 'rootvol:/'], 'A volume cannot be mounted on the container\'s root "/"; choose a directory below it'],
      [
        ['--read-only', '--mount', 'type=volume,src=rootvol,dst=/'],
        'Invalid --mount "type=volume,src=rootvol,dst=/": the target "/" is the container\'s root; choose a directory below it (--read-only makes / read-only)',
      ],
      [['--storage-opt', 'foo=bar'], 'Unknown --storage-opt "foo=bar": the overlay driver takes only size=SIZE'],
      [
        ['--mount', 'type=bind,src=/tmp,dst=/a,colour=red'],
        'Invalid --mount "type=bind,src=/tmp,dst=/a,colour=red": unexpected key "colour" in "colour=red"',
      ],
      [
        ['--mount', 'type=tmpfs,dst=/a', '--tmpfs', '/a'],
        'Duplicate mount point "/a": a --mount type=tmpfs and another mount both mount there; keep one',
      ],
      [['--mount', 'type=volume,dst=/a', '-v', '/h:/a'], 'Duplicate mount point "/a": two --volume mount there; keep one'],
    ];
    // this host's storage is not xfs with pquota: size= is refused, naming the filesystem
    const storage = await cli(['run', '--storage-opt', 'size=1G', 'busybox', 'true']);
    expect(storage.code).toBe(125);
    expect(storage.stderr).toMatch(
      /^berth: --storage-opt size= needs the overlay storage on xfs mounted with pquota, but berth's storage \(.*\) is \w+; drop it\n$/,
    );
    for (const [flags, message] of cases) {
      for (const cmd of [['run'], ['run', '-d'], ['create']]) {
        const r = await cli([...cmd, ...flags, 'busybox', 'true']);
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }, JSON.stringify([cmd, flags])).toEqual({
          code: 125,
          stdout: '',
          stderr: `berth: ${message}\n`,
        });
      }
    }
    expect(fs.existsSync(missing)).toBe(false);
    expect(fs.readdirSync(roots.root, { recursive: true, encoding: 'utf8' }).sort()).toEqual(before);
    expect(berth.ps({ all: true }).map((c) => c.config.name)).toEqual(['keep']);
    expect(berth.listVolumes()).toEqual([]);
  });
});
