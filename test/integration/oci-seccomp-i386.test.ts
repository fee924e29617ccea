/**
 * A 32-bit program (gcc -m32 -static: Debian's gcc-multilib) under docker's default seccomp profile
 * through berth-oci: its syscalls arrive with AUDIT_ARCH_I386 and i386 numbers, and are checked
 * against the profile's i386 rules. Before the filter had them, its first syscall was killed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostChanges, hostSnapshot, type HostSnapshot } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';
import { REPO_ROOT } from '../helpers/paths';

const OCI = path.join(REPO_ROOT, 'bin', 'berth-oci');

/** Each syscall through libc's syscall(), which a 32-bit program makes through the i386 entry. */
const PROGRAM = `#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
static void report(const char *name, long r) {
  if (r < 0) printf("%s errno %d\\n", name, errno);
  else printf("%s ok\\n", name);
}
int main(void) {
  report("getpid", syscall(SYS_getpid));
  report("chown32", syscall(SYS_chown32, "/tmp", 0, 0));
  report("unshare", syscall(SYS_unshare, CLONE_NEWUSER));
  report("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, 0));
  report("clone3", syscall(435, 0, 0));
  return 0;
}
`;

let base: string;
let before: HostSnapshot;

/** gcc -m32 -static of source into dir; the compiler's message when it fails. */
function build32(dir: string, name: string, source: string): { binary?: string; error: string } {
  const src = path.join(dir, `${name}.c`);
  const out = path.join(dir, name);
  fs.writeFileSync(src, source);
  const r = spawnSync('gcc', ['-m32', '-static', '-O2', '-o', out, src], { encoding: 'utf8' });
  return r.status === 0 ? { binary: out, error: '' } : { error: `${r.error ?? ''}${r.stderr}` };
}

// Whether 32-bit static programs can be built here at all: a machine without gcc-multilib skips.
const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp32-'));
const canBuild32 = build32(probeDir, 'empty', 'int main(void) { return 0; }\n').binary !== undefined;

describe.skipIf(!canBuild32)("a 32-bit program under docker's seccomp profile (needs gcc-multilib)", () => {
  beforeAll(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-oci-i386-'));
  });
  afterAll(() => {
    fs.rmSync(base, { recursive: true, force: true });
    fs.rmSync(probeDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    before = hostSnapshot();
  });
  afterEach(() => {
    expect(hostChanges(before)).toEqual([]);
  });

  it('may call an allowed syscall, gets EPERM for a denied one and ENOSYS for clone3', () => {
    const bundle = path.join(base, 'bundle');
    const rootfs = path.join(bundle, 'rootfs');
    fs.mkdirSync(rootfs, { recursive: true });
    spawnSync('tar', ['-xf', busyboxTar(), '-C', rootfs]);
    const { binary, error } = build32(probeDir, 'probe32', PROGRAM);
    expect(error).toBe('');
    fs.copyFileSync(binary!, path.join(rootfs, 'probe32'));
    fs.chmodSync(path.join(rootfs, 'probe32'), 0o755);
    expect(spawnSync(OCI, ['spec', '--bundle', bundle]).status).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    const profile = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'oci', 'docker-default-seccomp.json'), 'utf8'));
    const { renderDockerProfile } = require(path.join(REPO_ROOT, 'dist', 'oci', 'seccomp', 'docker-profile.js'));
    config.linux.seccomp = renderDockerProfile(profile, {
      arch: 'amd64',
      capabilities: config.process.capabilities.bounding,
      kernelRelease: os.release(),
    });
    config.process.terminal = false;
    config.root.readonly = false;
    config.process.args = ['/probe32'];
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));

    const r = spawnSync(OCI, ['--root', path.join(base, 'state'), 'run', '--bundle', bundle, 'probe32'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n')).toEqual(['getpid ok', 'chown32 ok', 'unshare errno 1', 'mount errno 1', 'clone3 errno 38', '']);
  });
});
