/**
 * Compiled seccomp programs kept between berth-oci commands. podman, containerd and Kubernetes
 * send docker's default profile with every container, and compiling it for three ABIs is ~15 ms of
 * a one-shot Node process: a third of `create`'s own work. The program is a pure function of the
 * profile and of the compiler, so it is kept under a digest of both, beside the code that made
 * it (as the launcher keeps V8's code cache): nothing is trusted that this user could not have
 * written itself (the file must be its own and writable by nobody else), and anything unreadable
 * or stale is simply compiled again.
 */
import { createHash } from 'node:crypto';
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
  const file = (section: unknown) =>
    path.join(dir, `${createHash('sha256').update(JSON.stringify(version)).update(JSON.stringify(section)).digest('hex')}.bpf`);
  const uid = process.geteuid?.() ?? 0;
  return {
    get(section) {
      try {
        const f = file(section);
        const fd = fs.openSync(f, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          const st = fs.fstatSync(fd);
          if (st.uid !== uid || (st.mode & 0o022) !== 0 || st.size % 8 !== 0 || st.size === 0) return undefined;
          return fs.readFileSync(fd);
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
        const f = file(section);
        const tmp = `${f}.${process.pid}`;
        fs.writeFileSync(tmp, filter, { mode: 0o600 });
        fs.renameSync(tmp, f);
      } catch {
        // a read-only install: compile every time
      }
    },
  };
}
