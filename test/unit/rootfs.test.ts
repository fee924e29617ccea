import { describe, expect, it } from 'vitest';
import { kernelFilesystems, parseStorageDriver, rootfsMount, type RootfsLayout } from '../../src/runtime/rootfs';
import { caught } from '../helpers/caught';

const BOTH = new Set(['overlay', 'aufs', 'ext4', 'tmpfs']);

const layout = (lowers: string[], dir = '/var/lib/berth/containers/abc'): RootfsLayout => ({
  lowers,
  upper: `${dir}/upper`,
  work: `${dir}/work`,
  merged: `${dir}/merged`,
});

describe('rootfsMount: overlay', () => {
  it('lists lowers top first joined by ":", then upperdir and workdir', () => {
    const m = rootfsMount('overlay', layout(['/l/top', '/l/mid', '/l/base']), BOTH);
    expect(m.source).toBe('overlay');
    expect(m.fstype).toBe('overlay');
    expect(m.flags).toBe(0);
    expect(m.data).toBe(
      'lowerdir=/l/top:/l/mid:/l/base,upperdir=/var/lib/berth/containers/abc/upper,workdir=/var/lib/berth/containers/abc/work',
    );
  });

  it('works with a single layer', () => {
    expect(rootfsMount('overlay', layout(['/l/only'], '/c'), BOTH).data).toBe('lowerdir=/l/only,upperdir=/c/upper,workdir=/c/work');
  });

  it('never puts the merged directory in the options', () => {
    expect(rootfsMount('overlay', layout(['/l/a'], '/c'), BOTH).data).not.toContain('merged');
  });

  it('refuses when the kernel has no overlayfs, naming the fix', () => {
    const e = caught(() => rootfsMount('overlay', layout(['/l/a']), new Set(['aufs', 'ext4'])));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toContain('overlayfs');
    expect(e.message).toContain('/proc/filesystems');
    expect(e.message).toContain('modprobe overlay');
  });

  it('does not take a filesystem whose name merely contains "overlay"', () => {
    expect(() => rootfsMount('overlay', layout(['/l/a']), new Set(['fuse.fuse-overlayfs']))).toThrow(/modprobe overlay/);
  });
});

describe('rootfsMount: aufs', () => {
  it('puts the writable upper branch first, then the lowers top first as ro+wh', () => {
    const m = rootfsMount('aufs', layout(['/l/top', '/l/base'], '/c'), BOTH);
    expect(m.source).toBe('none');
    expect(m.fstype).toBe('aufs');
    expect(m.flags).toBe(0);
    expect(m.data).toBe('dirs=/c/upper=rw:/l/top=ro+wh:/l/base=ro+wh');
  });

  it('refuses when the kernel has no aufs, naming --storage-driver overlay as the fix', () => {
    const e = caught(() => rootfsMount('aufs', layout(['/l/a']), new Set(['overlay'])));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toContain('aufs');
    expect(e.message).toContain('--storage-driver overlay');
  });
});

describe('rootfsMount: validation', () => {
  it.each([
    ['a comma', '/l/a,b'],
    ['a colon', '/l/a:b'],
    ['an equals sign', '/l/a=b'],
    ['a space', '/l/a b'],
    ['a tab', '/l/a\tb'],
    ['a newline', '/l/a\nb'],
  ])('refuses a lower path with %s', (_, bad) => {
    for (const driver of ['overlay', 'aufs'] as const) {
      const e = caught(() => rootfsMount(driver, layout(['/l/ok', bad]), BOTH));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain(JSON.stringify(bad));
      expect(e.message).toContain('--root');
    }
  });

  it('refuses such characters in the upper and work paths too', () => {
    const l = layout(['/l/a'], '/c');
    expect(() => rootfsMount('overlay', { ...l, upper: '/my root/upper' }, BOTH)).toThrow(/"\/my root\/upper"/);
    expect(() => rootfsMount('overlay', { ...l, work: '/c/w,ork' }, BOTH)).toThrow(/"\/c\/w,ork"/);
  });

  it('checks paths before the filesystem (a bad path is the first thing to fix)', () => {
    const e = caught(() => rootfsMount('overlay', layout(['/l/a:b']), new Set()));
    expect(e.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses an unknown driver', () => {
    const e = caught(() => rootfsMount('btrfs' as never, layout(['/l/a']), BOTH));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('Expected overlay or aufs for --storage-driver but received "btrfs"');
  });

  // data = 'lowerdir=' + lowers.join(':') + ',upperdir=/c/upper,workdir=/c/work'
  const fixed = 'lowerdir='.length + ',upperdir=/c/upper,workdir=/c/work'.length;
  /** Lowers whose overlay option string is exactly `total` bytes long (ASCII). */
  function lowersOfLength(total: number): string[] {
    const lowers: string[] = [];
    let len = fixed;
    while (true) {
      const next = `/layers/${String(lowers.length).padStart(4, '0')}`; // 12 bytes
      const added = next.length + (lowers.length > 0 ? 1 : 0);
      if (len + added > total) break;
      lowers.push(next);
      len += added;
    }
    // pad the last layer's name to hit the length exactly
    lowers[lowers.length - 1] += 'x'.repeat(total - len);
    return lowers;
  }

  it('accepts an option string of exactly 4095 bytes', () => {
    const lowers = lowersOfLength(4095);
    const m = rootfsMount('overlay', layout(lowers, '/c'), BOTH);
    expect(m.data.length).toBe(4095);
  });

  it('refuses too many layers for one page of mount options (4096 bytes and more)', () => {
    const lowers = lowersOfLength(4096);
    expect(`lowerdir=${lowers.join(':')},upperdir=/c/upper,workdir=/c/work`.length).toBe(4096);
    const e = caught(() => rootfsMount('overlay', layout(lowers, '/c'), BOTH));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toContain(`This image has ${lowers.length} layers`);
    expect(e.message).toContain('4096 bytes');
    expect(e.message).toContain('shorter --root');
  });

  it('applies the same limit to aufs', () => {
    const lowers = Array.from({ length: 400 }, (_, i) => `/layers/${i}`);
    expect(() => rootfsMount('aufs', layout(lowers, '/c'), BOTH)).toThrow(/too many for one aufs mount option string/);
    expect(() => rootfsMount('aufs', layout(lowers.slice(0, 100), '/c'), BOTH)).not.toThrow();
  });

  // BUG: the limit is one page of *bytes* (the comment says so), but the check compares
  // data.length, which counts UTF-16 code units. Layer paths with non-ASCII characters (a --root
  // like /srv/bérth) make the real byte length exceed 4095 while data.length stays below it, so the
  // kernel gets a truncated option string instead of berth refusing it.
  const nonAscii = Array.from({ length: 240 }, (_, i) => `/srv/bérth/l/${i}`);
  it('(fixture check) the non-ASCII layer list is short in code units but long in bytes', () => {
    const data = `lowerdir=${nonAscii.join(':')},upperdir=/c/upper,workdir=/c/work`;
    expect(data.length).toBe(4012);
    expect(Buffer.byteLength(data)).toBe(4252);
  });
  it('measures the option string in bytes, not UTF-16 code units (non-ASCII --root)', () => {
    expect(() => rootfsMount('overlay', layout(nonAscii, '/c'), BOTH)).toThrow(/too many/);
  });
});

describe('parseStorageDriver', () => {
  it.each([
    ['overlay', 'overlay'],
    ['overlay2', 'overlay'],
    ['aufs', 'aufs'],
  ])('%s -> %s', (input, driver) => {
    expect(parseStorageDriver(input)).toBe(driver);
  });

  it.each(['', 'btrfs', 'Overlay', 'overlayfs', ' overlay', 'vfs'])('refuses %j', (input) => {
    const e = caught(() => parseStorageDriver(input));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Expected overlay or aufs for --storage-driver but received "${input}"`);
  });
});

describe('kernelFilesystems', () => {
  it('reads the names of /proc/filesystems-format text, nodev ones included', () => {
    const text = 'nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\n\text3\n\text4\nnodev\toverlay\n\tvfat\nnodev\tfuse.sshfs\n';
    const fss = kernelFilesystems(text);
    expect([...fss].sort()).toEqual(['ext3', 'ext4', 'fuse.sshfs', 'overlay', 'proc', 'sysfs', 'tmpfs', 'vfat']);
    expect(fss.has('nodev')).toBe(false);
    expect(fss.has('')).toBe(false);
  });

  it('returns an empty set for empty text', () => {
    expect(kernelFilesystems('').size).toBe(0);
    expect(kernelFilesystems('\n\n').size).toBe(0);
  });

  it("reads the running kernel's list by default", () => {
    const fss = kernelFilesystems();
    expect(fss.has('proc')).toBe(true);
    expect(fss.has('nodev')).toBe(false);
  });

  it('feeds rootfsMount: a kernel list without overlay refuses the overlay driver', () => {
    expect(() => rootfsMount('overlay', layout(['/l/a']), kernelFilesystems('nodev\ttmpfs\n\text4\n'))).toThrow(/modprobe overlay/);
    expect(rootfsMount('overlay', layout(['/l/a']), kernelFilesystems('nodev\toverlay\n')).fstype).toBe('overlay');
  });
});
