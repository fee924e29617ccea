import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { list as tarList, type ReadEntry } from 'tar';
import { applyChanges } from '../../src/image/transfer/commit-changes';
import { writeDiffTar } from '../../src/image/archive/diff-tar';
import { writeFlatTar, type Branch } from '../../src/image/transfer/flatten';
import { parseGetfattr } from '../../src/image/archive/overlay-xattrs';
import { makeWhiteout, markOpaque } from '../../src/image/archive/special-files';
import { TarWriter } from '../../src/image/archive/tar-writer';

const isRoot = process.getuid?.() === 0;
const has = (tool: string): boolean => {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('applyChanges (commit --change)', () => {
  it('takes exec and shell forms of CMD and ENTRYPOINT, with the Dockerfile rule that ENTRYPOINT drops an inherited CMD', () => {
    const base = { Cmd: ['sh'], Env: ['PATH=/bin'] };
    expect(applyChanges(base, ['CMD ["echo", "hi"]']).Cmd).toEqual(['echo', 'hi']);
    expect(applyChanges(base, ['cmd echo $HOME']).Cmd).toEqual(['/bin/sh', '-c', 'echo $HOME']);
    expect(applyChanges(base, ['ENTRYPOINT ["top"]'])).toMatchObject({ Entrypoint: ['top'], Cmd: null });
    expect(applyChanges(base, ['CMD ["-b"]', 'ENTRYPOINT ["top"]'])).toMatchObject({ Entrypoint: ['top'], Cmd: ['-b'] });
    expect(base).toEqual({ Cmd: ['sh'], Env: ['PATH=/bin'] }); // not modified
  });

  it('sets ENV (K=V pairs with quotes, or the legacy "K value"), WORKDIR relative to the last, USER, LABEL, EXPOSE', () => {
    const c = applyChanges({ Env: ['PATH=/bin', 'A=1'], WorkingDir: '/app' }, [
      'ENV A=2 B="two words" C=x\\ y',
      'ENV LEGACY some value',
      'WORKDIR sub',
      'WORKDIR ../other',
      'USER 1000:1000',
      'LABEL a=b "c d"=e',
      'EXPOSE 80 53/UDP',
    ]);
    expect(c.Env).toEqual(['PATH=/bin', 'A=2', 'B=two words', 'C=x y', 'LEGACY=some value']);
    expect(c.WorkingDir).toBe('/app/other');
    expect(c.User).toBe('1000:1000');
    expect(c.Labels).toEqual({ a: 'b', 'c d': 'e' });
    expect(c.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
  });

  it('refuses what it cannot apply, naming the instruction', () => {
    expect(() => applyChanges({}, ['RUN make'])).toThrow(
      'Expected one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER or WORKDIR for --change but received "RUN make"',
    );
    expect(() => applyChanges({}, ['CMD'])).toThrow('The --change "CMD" has no value');
    expect(() => applyChanges({}, ['CMD ["a", 1]'])).toThrow(/JSON array of strings/);
    expect(() => applyChanges({}, ['ENV A="open'])).toThrow('has an unclosed " quote');
    expect(() => applyChanges({}, ['EXPOSE http'])).toThrow('Expected a port like 80 or 53/udp for --change EXPOSE but received "http"');
  });
});

describe('parseGetfattr', () => {
  it('decodes octal escapes and backslashes in names', () => {
    const seen: string[] = [];
    parseGetfattr(
      Buffer.from('# file: /a/we ird\\012x\ntrusted.overlay.opaque="y"\n\n# file: /b\\\\c/\\303\\251\nuser.x="1"\n'),
      (f, n, v) => seen.push(`${f}|${n}|${v}`),
    );
    expect(seen).toEqual(['/a/we ird\nx|trusted.overlay.opaque|y', '/b\\c/é|user.x|1']);
  });
});

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-commit-unit-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function put(dir: string, rel: string, content = rel): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
}

async function entries(write: (w: TarWriter) => void): Promise<Array<{ path: string; type: string; linkpath?: string; body: string }>> {
  const file = path.join(tmp, `out-${Math.random()}.tar`);
  const fd = fs.openSync(file, 'w');
  const w = new TarWriter(fd);
  write(w);
  const { digest, size } = w.finish();
  fs.closeSync(fd);
  expect(size).toBe(fs.statSync(file).size);
  expect(digest).toMatch(/^sha256:/);
  const out: Array<{ path: string; type: string; linkpath?: string; body: string }> = [];
  await tarList({
    file,
    onReadEntry: (e: ReadEntry) => {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () =>
        out.push({ path: e.path, type: e.type, ...(e.linkpath ? { linkpath: e.linkpath } : {}), body: Buffer.concat(chunks).toString() }),
      );
    },
  });
  return out;
}

describe('TarWriter', () => {
  it('writes long names and link targets through PAX headers that tar readers understand', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
    const src = path.join(tmp, 'src');
    fs.writeFileSync(src, 'body');
    const got = await entries((w) => {
      const a = { mode: 0o644, uid: 0, gid: 0, mtime: new Date(1e12) };
      w.file(long, a, src, 4);
      w.symlink('l', a, `/${long}`);
    });
    expect(got).toEqual([
      { path: long, type: 'File', body: 'body' },
      { path: 'l', type: 'SymbolicLink', linkpath: `/${long}`, body: '' },
    ]);
  });
});

describe.skipIf(!isRoot || !has('getfattr') || !has('setfattr'))('overlay layers to archives', () => {
  /** lower: base content; middle: deletes, replaces, makes a dir opaque; top (an upper dir): more of the same. */
  function layers(): { lower: string; middle: string; top: string } {
    const lower = path.join(tmp, 'lower');
    put(lower, 'etc/keep');
    put(lower, 'etc/gone');
    put(lower, 'opq/old');
    put(lower, 'dir-to-file/x');
    put(lower, 'file-to-dir');
    put(lower, 'deep/a/b');
    const middle = path.join(tmp, 'middle');
    fs.mkdirSync(path.join(middle, 'etc'), { recursive: true });
    makeWhiteout(path.join(middle, 'etc/gone'));
    put(middle, 'opq/new');
    markOpaque(path.join(middle, 'opq'));
    put(middle, 'dir-to-file', 'now a file');
    put(middle, 'file-to-dir/inner');
    put(middle, 'deep/a/c');
    const top = path.join(tmp, 'top');
    put(top, 'deep/a/d');
    fs.mkdirSync(path.join(top, 'deep'), { recursive: true });
    makeWhiteout(path.join(top, 'etc-keep-gone'));
    fs.mkdirSync(path.join(top, 'etc'), { recursive: true });
    makeWhiteout(path.join(top, 'etc/keep'));
    put(top, 'etc/hostname', ''); // an empty bind-mount target: left out
    put(top, 'h1', 'same');
    fs.linkSync(path.join(top, 'h1'), path.join(top, 'h2'));
    return { lower, middle, top };
  }

  it('writeDiffTar turns whiteout devices into .wh. entries and opaque dirs into .wh..wh..opq, sorted, parents first', async () => {
    const { middle, top } = layers();
    const mid = await entries((w) => writeDiffTar(middle, w, { driver: 'overlay' }));
    expect(mid.map((e) => e.path)).toEqual([
      'deep/',
      'deep/a/',
      'deep/a/c',
      'dir-to-file',
      'etc/',
      'etc/.wh.gone',
      'file-to-dir/',
      'file-to-dir/inner',
      'opq/',
      'opq/.wh..wh..opq',
      'opq/new',
    ]);
    const up = await entries((w) => writeDiffTar(top, w, { driver: 'overlay' }));
    expect(up.map((e) => e.path)).toEqual(['deep/', 'deep/a/', 'deep/a/d', 'etc/', 'etc/.wh.keep', '.wh.etc-keep-gone', 'h1', 'h2']);
    expect(up.find((e) => e.path === 'h2')).toMatchObject({ type: 'Link', linkpath: 'h1' });
  });

  it('writeFlatTar merges top-down as overlayfs does: whiteouts hide, opaque dirs cut, a file ends a directory', async () => {
    const { lower, middle, top } = layers();
    // The middle branch through a symlink, as the short layer links (root/l/XXXXXXXX) give it.
    const viaLink = path.join(tmp, 'short-link');
    fs.symlinkSync(middle, viaLink);
    const branches: Branch[] = [
      { dir: top, format: 'overlay', skipEmptyFiles: ['etc/hostname'] },
      { dir: viaLink, format: 'overlay' },
      { dir: lower, format: 'overlay' },
    ];
    const flat = await entries((w) => writeFlatTar(branches, w));
    expect(flat.map((e) => `${e.path}${e.type === 'File' ? `=${e.body}` : e.type === 'Link' ? `->${e.linkpath}` : ''}`)).toEqual([
      'deep/',
      'deep/a/',
      'deep/a/b=deep/a/b',
      'deep/a/c=deep/a/c',
      'deep/a/d=deep/a/d',
      'dir-to-file=now a file',
      'etc/',
      'file-to-dir/',
      'file-to-dir/inner=file-to-dir/inner',
      'h1=same',
      'h2->h1',
      'opq/',
      'opq/new=opq/new',
    ]);
  });
});
