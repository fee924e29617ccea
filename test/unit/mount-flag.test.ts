// docker's --mount CSV (Go's encoding/csv rules) and its checks, -v's extra mode words,
// --volumes-from's CONTAINER[:ro|rw] and --storage-opt's shape: pure parsing, no containers.
import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors';
import { parseMount, parseMounts, splitCsv } from '../../src/runtime/mount-flag';
import { parseVolume } from '../../src/runtime/options';
import { checkStorageOpts, parseStorageOpts } from '../../src/runtime/storage-opt';
import { parseVolumesFrom, withVolumesFrom } from '../../src/runtime/volumes-from';
import type { ContainerInfo } from '../../src/runtime/types';

function caught(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BerthError);
    return e as BerthError;
  }
  throw new Error('expected a BerthError');
}

describe('splitCsv', () => {
  it('splits on commas and keeps empty fields', () => {
    expect(splitCsv('type=bind,src=/a,dst=/b')).toEqual(['type=bind', 'src=/a', 'dst=/b']);
    expect(splitCsv('a,,b,')).toEqual(['a', '', 'b', '']);
    expect(splitCsv('one')).toEqual(['one']);
  });

  it('reads quoted fields as Go does: commas and doubled quotes inside', () => {
    expect(splitCsv('type=bind,"source=/a,b",target=/c')).toEqual(['type=bind', 'source=/a,b', 'target=/c']);
    expect(splitCsv('"target=/say ""hi"""')).toEqual(['target=/say "hi"']);
    expect(splitCsv('"",x')).toEqual(['', 'x']);
  });

  it('refuses what Go refuses: a bare quote, text after a closing quote, an open quote', () => {
    expect(caught(() => splitCsv('target=/a"b')).message).toMatch(/bare " in the unquoted field "target=\/a\\"b"/);
    expect(caught(() => splitCsv('"target=/a"b')).message).toMatch(/extraneous or missing "/);
    expect(caught(() => splitCsv('"target=/a')).message).toMatch(/no closing "/);
    expect(caught(() => splitCsv('')).message).toMatch(/empty/);
    expect(caught(() => splitCsv('target=/a\nb')).message).toMatch(/line break/);
  });
});

describe('parseMount', () => {
  it('a bind: source and target spellings, readonly forms, propagation, nonrecursive', () => {
    expect(parseMount('type=bind,source=/srv/a/,target=/data/')).toEqual({
      volume: { hostPath: '/srv/a', containerPath: '/data', readonly: false, mustExist: true, mount: true },
    });
    for (const ro of ['readonly', 'ro', 'readonly=true', 'ro=1', 'readonly=True'])
      expect(parseMount(`type=bind,src=/a,dst=/b,${ro}`).volume?.readonly, ro).toBe(true);
    expect(parseMount('type=bind,src=/a,dst=/b,readonly=false').volume?.readonly).toBe(false);
    expect(parseMount('type=bind,src=/a,destination=/b,bind-propagation=RShared,bind-nonrecursive').volume).toMatchObject({
      propagation: 'rshared',
      nonRecursive: true,
    });
    // consistency is macOS's: accepted, nothing changes
    expect(parseMount('type=bind,src=/a,dst=/b,consistency=cached').volume).not.toHaveProperty('consistency');
  });

  it('a volume: named (the default type) or anonymous, nocopy, labels', () => {
    expect(parseMount('source=data,target=/d')).toEqual({
      volume: { hostPath: '', containerPath: '/d', readonly: false, mount: true, volume: 'data' },
    });
    expect(parseMount('type=volume,target=/d,volume-nocopy,volume-label=a=b,volume-label=c').volume).toEqual({
      hostPath: '',
      containerPath: '/d',
      readonly: false,
      mount: true,
      anonymous: true,
      noCopy: true,
      labels: { a: 'b', c: '' },
    });
  });

  it('a tmpfs: docker defaults, size in bytes, mode in octal, ro', () => {
    expect(parseMount('type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770,readonly')).toEqual({
      tmpfs: { containerPath: '/t', options: ['noexec', 'nosuid', 'nodev', 'ro', 'size=1048576', 'mode=1770'], mount: true },
    });
  });

  it('splits several --mount into volumes and tmpfs mounts', () => {
    const m = parseMounts(['type=tmpfs,dst=/t', 'type=bind,src=/a,dst=/a', 'dst=/v']);
    expect(m.volumes.map((v) => v.containerPath)).toEqual(['/a', '/v']);
    expect(m.tmpfs.map((t) => t.containerPath)).toEqual(['/t']);
  });

  it('refuses what docker refuses, naming the problem', () => {
    const cases: Array<[string, RegExp]> = [
      ['type=bind,target=/b', /a bind needs source=HOST_PATH/],
      ['type=bind,src=rel,target=/b', /must be an absolute host path/],
      ['type=bind,src=/a', /target is required/],
      ['type=bind,src=/a,target=b', /must be an absolute path in the container/],
      ['type=volume,target=/', /the target "\/" is the container's root/],
      ['type=tmpfs,src=/x,target=/t', /a tmpfs has no source/],
      ['type=nfs,target=/t', /the type "nfs" is not one of bind, volume, tmpfs/],
      ['type=bind,src=/a,target=/b,tmpfs-size=1m', /tmpfs options do not apply to type=bind/],
      ['type=tmpfs,target=/t,bind-propagation=shared', /bind options do not apply to type=tmpfs/],
      ['type=volume,target=/t,bind-nonrecursive', /bind options do not apply to type=volume/],
      ['type=bind,src=/a,target=/b,volume-nocopy', /volume options do not apply to type=bind/],
      ['type=bind,src=/a,target=/b,bind-propagation=sideways', /bind-propagation takes one of private, rprivate/],
      ['type=bind,src=/a,target=/b,readonly=maybe', /"readonly" takes true or false/],
      ['type=bind,src=/a,target=/b,colour=red', /unexpected key "colour"/],
      ['type=bind,src=/a,target', /the field "target" must be a key=value pair/],
      ['type=tmpfs,target=/t,tmpfs-mode=999', /tmpfs-mode takes an octal mode/],
      ['type=tmpfs,target=/t,tmpfs-size=0', /tmpfs-size takes a size above 0/],
      ['type=volume,src=x y,target=/t', /invalid characters for a local volume name/],
      ['type=volume,src=v,target=/t,volume-opt=type=nfs', /local driver takes no options/],
      ['type=volume,src=v,target=/t,volume-driver=rexray', /only the local driver/],
    ];
    for (const [value, message] of cases) {
      const e = caught(() => parseMount(value));
      expect(e.code, value).toBe('INVALID_ARGUMENT');
      expect(e.message, value).toMatch(message);
      expect(e.message, value).not.toContain('\n');
    }
  });
});

describe('-v mode words', () => {
  it('takes a propagation on a bind, refuses it on a volume or twice; consistency words are ignored', () => {
    expect(parseVolume('/a:/b:rshared,ro')).toEqual({ hostPath: '/a', containerPath: '/b', readonly: true, propagation: 'rshared' });
    expect(parseVolume('/a:/b:cached').propagation).toBeUndefined();
    expect(caught(() => parseVolume('vol:/b:rshared')).message).toMatch(/a propagation mode only on a bind/);
    expect(caught(() => parseVolume('/a:/b:shared,slave')).message).toMatch(/one propagation mode/);
  });
});

describe('--volumes-from', () => {
  const other = {
    config: {
      volumes: [
        { hostPath: '/srv/a', containerPath: '/a', readonly: true },
        { hostPath: '/v/_data', containerPath: '/v', readonly: false, volume: 'vol' },
        { hostPath: '/w/_data', containerPath: '/w', readonly: false, volume: 'f'.repeat(64), anonymous: true },
      ],
    },
  } as unknown as ContainerInfo;
  const resolve = (ref: string) => {
    if (ref === 'other') return other;
    throw new BerthError('CONTAINER_NOT_FOUND', `No such container: "${ref}"`);
  };

  it('parses CONTAINER[:ro|rw]', () => {
    expect(parseVolumesFrom('web')).toEqual({ container: 'web' });
    expect(parseVolumesFrom('web:ro')).toEqual({ container: 'web', mode: 'ro' });
    expect(caught(() => parseVolumesFrom('web:rx')).message).toBe('Expected CONTAINER[:ro|rw] for --volumes-from but received "web:rx"');
  });

  it('takes the binds and volumes in their modes (an anonymous one shared by name), or forced; -v replaces one', () => {
    const o = withVolumesFrom({ image: 'x', volumesFrom: ['other'], volumes: ['/h:/v'] }, resolve);
    expect(o.volumes).toEqual([
      { hostPath: '/srv/a', containerPath: '/a', readonly: true },
      { hostPath: '', containerPath: '/w', readonly: false, volume: 'f'.repeat(64), noCopy: true },
      '/h:/v',
    ]);
    const rw = withVolumesFrom({ image: 'x', volumesFrom: ['other:rw'] }, resolve).volumes as Array<{ readonly: boolean }>;
    expect(rw.map((v) => v.readonly)).toEqual([false, false, false]);
    const ro = withVolumesFrom({ image: 'x', volumesFrom: ['other:ro'] }, resolve).volumes as Array<{ readonly: boolean }>;
    expect(ro.map((v) => v.readonly)).toEqual([true, true, true]);
  });

  it('a missing container is one line naming the flag', () => {
    const e = caught(() => withVolumesFrom({ image: 'x', volumesFrom: ['gone'] }, resolve));
    expect(e.message).toBe('No such container: "gone" for --volumes-from; give an existing container\'s name or ID');
    expect(e.exitStatus).toBe(125);
  });
});

describe('--storage-opt', () => {
  it('takes only size=SIZE', () => {
    expect(parseStorageOpts(['size=1G'])).toBe(1024 ** 3);
    expect(parseStorageOpts(undefined)).toBeUndefined();
    expect(caught(() => parseStorageOpts(['dm.basesize=1G'])).message).toBe(
      'Unknown --storage-opt "dm.basesize=1G": the overlay driver takes only size=SIZE',
    );
    expect(caught(() => parseStorageOpts(['size=0'])).message).toMatch(/size=SIZE above 0/);
  });

  it('refuses size= where the storage is not xfs with pquota, naming the filesystem', () => {
    // /proc is never xfs
    expect(caught(() => checkStorageOpts(['size=1g'], 'overlay', '/proc')).message).toBe(
      "--storage-opt size= needs the overlay storage on xfs mounted with pquota, but berth's storage (/proc) is proc; drop it",
    );
    expect(caught(() => checkStorageOpts(['size=1g'], 'aufs', '/proc')).message).toMatch(/not supported by the aufs storage driver/);
    expect(() => checkStorageOpts(undefined, 'overlay', '/proc')).not.toThrow();
  });
});
