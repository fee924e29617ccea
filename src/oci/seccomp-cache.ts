/**
 * Compiled seccomp programs kept between berth-oci commands. podman, containerd and Kubernetes
 * send docker's default profile with every container, and compiling it for three ABIs is ~15 ms of
 * a one-shot Node process: a third of `create`'s own work. The program is a pure function of the
 * profile and of the compiler, so it is kept under a key of both, beside the code that made
 * it (as the launcher keeps V8's code cache): nothing is trusted that this user could not have
 * written itself (the file must be its own and writable by nobody else), and anything unreadable
 * or stale is simply compiled again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const MAX_ENTRIES = 64;

export interface SeccompCache {
  get(section: unknown): Buffer | undefined;
  put(section: unknown, filter: Buffer): void;
}

/** A cache in `dir`, its keys also naming `code` (the files whose content compiled the program:
 *  a rebuilt berth never reads an older one's programs). */
export function seccompCache(dir: string, code: string[]): SeccompCache {
  const version = code.map((f) => {
    try {
      const st = fs.statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      return `${f}:-`;
    }
  });
  // The file holds its whole key before the program, and a read compares it: the name is only a
  // bucket, so no hash collision can hand back another profile's program (and node:crypto, ~9 ms
  // to load, is not needed).
  const keyOf = (section: unknown) => Buffer.from(JSON.stringify([version, section]));
  const file = (key: Buffer) => path.join(dir, `${fnv1a(key, 0x811c9dc5)}${fnv1a(key, 0x01000193)}.bpf`);
  const uid = process.geteuid?.() ?? 0;
  return {
    get(section) {
      try {
        const key = keyOf(section);
        const fd = fs.openSync(file(key), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          const st = fs.fstatSync(fd);
          if (st.uid !== uid || (st.mode & 0o022) !== 0) return undefined;
          const data = fs.readFileSync(fd);
          const length = data.length >= 4 ? data.readUInt32LE(0) : -1;
          const program = data.subarray(4 + length);
          if (length !== key.length || !data.subarray(4, 4 + length).equals(key)) return undefined;
          return program.length > 0 && program.length % 8 === 0 ? Buffer.from(program) : undefined;
        } finally {
          fs.closeSync(fd);
        }
      } catch {
        return undefined;
      }
    },
    put(section, filter) {
      try {
        fs.mkdirSync(dir, { mode: 0o700, recursive: true });
        const entries = fs.readdirSync(dir);
        // bounded: a caller with a profile per container starts the cache over now and then
        if (entries.length >= MAX_ENTRIES) for (const e of entries) fs.rmSync(path.join(dir, e), { force: true });
        const key = keyOf(section);
        const f = file(key);
        const tmp = `${f}.${process.pid}`;
        const length = Buffer.alloc(4);
        length.writeUInt32LE(key.length);
        fs.writeFileSync(tmp, Buffer.concat([length, key, filter]), { mode: 0o600 });
        fs.renameSync(tmp, f);
      } catch {
        // a read-only install: compile every time
      }
    },
  };
}

/** 32-bit FNV-1a from `basis`, as 8 hex digits. */
function fnv1a(data: Buffer, basis: number): string {
  let h = basis >>> 0;
  for (const byte of data) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** linux.seccomp compiled (src/oci/seccomp loads only for configs that have one, and only when
 *  the program is not in the cache already). */
export function compileSeccomp(section: unknown, warn: (line: string) => void): Buffer {
  // Keyed by the code that compiles: bundled, one file holds all of it; built but not bundled,
  // this file and every one of the compiler's. Run from the TypeScript sources (tests), nothing is
  // kept: a source tree gets no cache directory.
  const compiler = path.join(__dirname, 'seccomp');
  let code: string[] = [__filename];
  try {
    code = [__filename, ...fs.readdirSync(compiler).map((f) => path.join(compiler, f))];
  } catch {
    // bundled: no compiler directory beside it
  }
  const cache = __filename.endsWith('.js') ? seccompCache(path.join(__dirname, '.seccomp-cache'), code) : undefined;
  const cached = cache?.get(section);
  if (cached) return cached;
  const { compileSeccompFilter } = require('./seccomp/compile') as typeof import('./seccomp/compile');
  const out = compileSeccompFilter(section as import('./seccomp/compile').LinuxSeccomp);
  // Names no listed architecture knows (docker's profile lists a few newer or foreign ones) are
  // left out, as runc and libseccomp leave names they do not know: worth a line only when debugging.
  if (out.ignored.length && process.env.BERTH_DEBUG) warn(`seccomp: syscalls unknown to berth-oci left out: ${out.ignored.join(' ')}`);
  cache?.put(section, out.filter);
  return out.filter;
}
