import * as fs from 'node:fs';
import * as path from 'node:path';
// Loaded on first use: only commit and export read xattrs.
const childprocess = (): typeof import('node:child_process') => require('node:child_process');
import { BerthError } from '../../errors';

const OPAQUE = 'trusted.overlay.opaque';

/**
 * The directories under `root` that overlayfs treats as opaque (xattr trusted.overlay.opaque=y), as paths
 * relative to `root` ('' for root itself). This runs `getfattr` (Debian package attr) once for the whole
 * tree: a layer has thousands of directories, and a process per directory would dominate a commit.
 * (The addon's listXattrs, which commit and export use for each entry's own attributes, would do too.)
 */
export function opaqueDirs(dir: string): Set<string> {
  const found = new Set<string>();
  if (!fs.existsSync(dir)) return found;
  // getfattr's physical walk (-P) does not enter a root given as a symlink (a short layer link).
  const root = fs.realpathSync(dir);
  let out: Buffer;
  try {
    out = childprocess().execFileSync(
      'getfattr',
      ['-R', '-P', '--absolute-names', '-m', `^${OPAQUE.replace(/\./g, '\\.')}$`, '-d', '--', root],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 1 << 30,
      },
    );
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer; stdout?: Buffer; status?: number };
    if (err.code === 'ENOENT') {
      throw new BerthError(
        'UNSUPPORTED',
        `Cannot read overlay opaque-directory markers under ${root}: getfattr was not found; install the Debian package "attr"`,
        { cause: e },
      );
    }
    // getfattr exits 1 when some file vanished during the walk (a running container); what it printed holds.
    if (err.status !== 1 || !err.stdout) {
      throw new BerthError(
        'INTERNAL',
        `Cannot read overlay opaque-directory markers under ${root}: ${err.stderr?.toString().trim() || err.message}`,
        { cause: e },
      );
    }
    out = err.stdout;
  }
  parseGetfattr(out, (file, name, value) => {
    if (name !== OPAQUE || value !== 'y') return;
    const rel = path.relative(root, file);
    if (!rel.startsWith('..')) found.add(rel);
  });
  return found;
}

/**
 * `getfattr -d` output: "# file: NAME" then "attr=\"value\"" lines, a blank line between files. Names have
 * control characters and non-ASCII bytes as \ooo octal escapes and backslash as \\; the unescaped bytes
 * are UTF-8 (or whatever the name's bytes are: latin1 keeps them intact until decoded).
 */
export function parseGetfattr(out: Buffer, onAttr: (file: string, name: string, value: string) => void): void {
  let file: string | undefined;
  for (const line of out.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      file = unescape(line.slice('# file: '.length));
      continue;
    }
    if (!file || line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const raw = line.slice(eq + 1);
    const value = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
    onAttr(file, line.slice(0, eq), value);
  }
}

function unescape(s: string): string {
  const latin1 = s.replace(/\\([0-7]{3})|\\\\/g, (_m, oct: string | undefined) => (oct ? String.fromCharCode(parseInt(oct, 8)) : '\\'));
  return Buffer.from(latin1, 'latin1').toString('utf8');
}
