/**
 * Layer tarballs for the unpack tests (test/unit/image-unpack-*.test.ts): members written as raw
 * headers, so a test can say things no well-behaved packer would, and the directories an unpack
 * runs in, fresh for every test.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Header } from 'tar';
import { afterEach, beforeEach } from 'vitest';
import { unpackLayer } from '../../src/image/archive/unpack';

/** One tar member, written as a raw header so the test can say things no well-behaved packer would. */
export interface Member {
  path: string;
  type?: string;
  mode?: number;
  body?: string | Buffer;
  linkpath?: string;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmaj?: number;
  devmin?: number;
}

export const MTIME = new Date(1_000_000_000_000); // whole seconds: tar keeps second precision

export function rawTar(members: Member[], { end = true } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const body = typeof m.body === 'string' ? Buffer.from(m.body) : (m.body ?? Buffer.alloc(0));
    const header = new Header({
      path: m.path,
      type: (m.type ?? 'File') as Header['type'],
      mode: m.mode ?? (m.type === 'Directory' ? 0o755 : 0o644),
      size: body.length,
      linkpath: m.linkpath,
      uid: m.uid ?? 0,
      gid: m.gid ?? 0,
      mtime: m.mtime ?? MTIME,
      devmaj: m.devmaj ?? 0,
      devmin: m.devmin ?? 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (end) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export const isRoot = process.getuid?.() === 0;
export const has = (tool: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

export const majorOf = (rdev: number): number => (rdev >> 8) & 0xfff;
export const minorOf = (rdev: number): number => (rdev & 0xff) | ((rdev >> 12) & 0xfff00);

export interface UnpackDirs {
  tmp: string;
  /** The parent of the layer directory: must hold nothing after a refusal. */
  work: string;
  /** The layer directory an unpack creates. */
  target: string;
  /** A directory an escaping archive would write into. */
  outside: string;
  /** Writes data to a file in tmp; returns its path. */
  writeTar(name: string, data: Buffer): string;
  /** unpackLayer of an in-memory tarball into target. */
  unpackBuffer(data: Buffer): ReturnType<typeof unpackLayer>;
}

/** Fresh directories for every test of the calling file (made in beforeEach, removed in afterEach). */
export function unpackDirs(): UnpackDirs {
  const dirs: UnpackDirs = {
    tmp: '',
    work: '',
    target: '',
    outside: '',
    writeTar(name, data) {
      const file = path.join(dirs.tmp, name);
      fs.writeFileSync(file, data);
      return file;
    },
    unpackBuffer: (data) => unpackLayer(Readable.from([data]), dirs.target),
  };
  beforeEach(() => {
    dirs.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-unpack-'));
    dirs.work = path.join(dirs.tmp, 'work');
    dirs.outside = path.join(dirs.tmp, 'outside');
    fs.mkdirSync(dirs.work);
    fs.mkdirSync(dirs.outside);
    dirs.target = path.join(dirs.work, 'layer');
  });
  afterEach(() => {
    fs.rmSync(dirs.tmp, { recursive: true, force: true });
  });
  return dirs;
}
