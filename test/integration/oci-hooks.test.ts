// OCI hooks run for real by berth-oci: the host's (prestart, createRuntime, poststart, poststop)
// on the host, createContainer in the container before pivot_root, startContainer inside the
// container before its process, each with the state on
// stdin; a failing hook fails its step where the spec says so.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostChanges, hostSnapshot, type HostSnapshot } from '../helpers/env';
import { BERTH_OCI as OCI, OciSandbox } from '../helpers/oci';
import type { Hooks } from '../../src/oci/spec';

let sandbox: OciSandbox;
let base: string;
let root: string;
let before: HostSnapshot;

/** A bundle with its own writable copy of busybox (hooks write into it). */
function bundle(name: string, args: string[], hooks: Hooks): string {
  return sandbox.bundle(
    name,
    (c) => {
      c.process.args = args;
      c.root.readonly = false;
      c.hooks = hooks;
    },
    { ownRootfs: true },
  );
}

/** `run`, its stdout a file (the init's), its stderr berth-oci's own (run waits for the init). */
function run(id: string, b: string): { status: number; stdout: string; stderr: string } {
  const out = path.join(base, `${id}.out`);
  const fd = fs.openSync(out, 'w');
  const r = spawnSync(OCI, ['--root', root, 'run', '--bundle', b, id], { stdio: ['ignore', fd, 'pipe'], timeout: 30_000 });
  fs.closeSync(fd);
  return { status: r.status ?? -1, stdout: fs.readFileSync(out, 'utf8'), stderr: r.stderr.toString() };
}

beforeAll(() => {
  sandbox = new OciSandbox('berth-oci-hooks-');
  ({ base, root } = sandbox);
});
afterAll(() => sandbox.remove());
beforeEach(() => {
  before = hostSnapshot();
});
afterEach(() => {
  sandbox.deleteAll();
  expect(hostChanges(before)).toEqual([]);
});

describe('OCI hooks', () => {
  it('startContainer runs inside the container, before its process, with the state on stdin', () => {
    const hostMarker = path.join(base, 'host-side');
    const b = bundle('inside', ['cat', '/from-hook'], {
      // the path resolves in the container (busybox's sh; the host's /bin/sh would do as well, so
      // the hook proves where it ran by what it sees: its pid in the container's PID namespace)
      startContainer: [
        {
          path: '/bin/sh',
          args: [
            'sh',
            '-c',
            `{ cat; echo; echo "pid $$"; echo "env $HOOK_VAR"; if test -e ${hostMarker}; then echo host; fi; } > /from-hook`,
          ],
          env: ['HOOK_VAR=set-by-config'],
          timeout: 10,
        },
      ],
      poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${hostMarker}`] }],
    });
    fs.writeFileSync(hostMarker, '');
    const r = run('inside', b);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [state, ...rest] = r.stdout.split('\n');
    expect(JSON.parse(state)).toMatchObject({ id: 'inside', status: 'created', bundle: b });
    // pid 2: the container's init is 1; a host process would have a host pid
    expect(rest).toContain('pid 2');
    expect(rest).toContain('env set-by-config');
    // the host's files are not in its view
    expect(rest).not.toContain('host');
    // poststop ran on the host, at delete
    expect(JSON.parse(fs.readFileSync(hostMarker, 'utf8'))).toMatchObject({ id: 'inside', status: 'stopped' });
  });

  it('a failing startContainer hook fails the start, in one line, and run leaves nothing', () => {
    const b = bundle('failing', ['true'], { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no way >&2; exit 3'] }] });
    const r = run('failing', b);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('berth-oci: startContainer hook 0 ("/bin/sh") exited with 3: no way\n');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('a startContainer hook past its timeout is killed and fails the start', () => {
    const b = bundle('slow', ['true'], { startContainer: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] });
    const started = Date.now();
    const r = run('slow', b);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('berth-oci: startContainer hook 0 ("/bin/sleep") timed out after 1 s\n');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('createContainer runs in the container before pivot_root: the host path, the container namespaces, the state on stdin', () => {
    const hook = path.join(base, 'create-hook.sh');
    // host paths resolve (the script itself, and the bundle's rootfs by its host path)
    fs.writeFileSync(
      hook,
      `#!/bin/sh\nstate=$(cat)\nroot=$(echo "$state" | sed 's/.*"bundle":"\\([^"]*\\)".*/\\1/')/rootfs\n` +
        `{ echo "$state"; echo "hostname $(hostname)"; echo "pid $$"; echo "var $HOOK_VAR"; } > "$root/from-create-hook"\n`,
      { mode: 0o755 },
    );
    const b = bundle('created', ['sh', '-c', 'cat /from-create-hook; echo "init-pid $(cat /proc/1/stat | cut -d" " -f1)"'], {
      createContainer: [{ path: hook, args: ['create-hook.sh'], env: ['HOOK_VAR=from-config'], timeout: 10 }],
    });
    const config = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
    config.hostname = 'in-container';
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    const pidFile = path.join(base, 'created.pid');
    // (the created init holds the caller's stdio until start: files, not pipes)
    const out = path.join(base, 'created.out');
    const fd = fs.openSync(out, 'w');
    const created = spawnSync(OCI, ['--root', root, 'create', '--bundle', b, '--pid-file', pidFile, 'created'], {
      stdio: ['ignore', fd, fd],
      timeout: 30_000,
    });
    fs.closeSync(fd);
    expect(fs.readFileSync(out, 'utf8')).toBe('');
    expect(created.status).toBe(0);
    const lines = fs.readFileSync(path.join(b, 'rootfs', 'from-create-hook'), 'utf8').split('\n');
    // the state names the init by the caller's pid, status creating
    expect(JSON.parse(lines[0])).toEqual({
      ociVersion: '1.1.0',
      id: 'created',
      status: 'creating',
      pid: Number(fs.readFileSync(pidFile, 'utf8')),
      bundle: b,
      annotations: {},
    });
    // the container's UTS and PID namespaces (the init is 1 there)
    expect(lines).toContain('hostname in-container');
    expect(lines).toContain('pid 2');
    expect(lines).toContain('var from-config');
    expect(spawnSync(OCI, ['--root', root, 'delete', '--force', 'created']).status).toBe(0);
  });

  it('a failing createContainer hook fails create in one line, naming it, and leaves nothing', () => {
    const b = bundle('create-fails', ['true'], { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 5'] }] });
    const r = run('create-fails', b);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('berth-oci: create create-fails: createContainer hook 0 ("/bin/sh") exited with 5\n');
    expect(fs.existsSync(root) ? fs.readdirSync(root) : []).toEqual([]);
    const slow = bundle('create-slow', ['true'], { createContainer: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] });
    const t = run('create-slow', slow);
    expect(t.status).toBe(1);
    expect(t.stderr).toBe('berth-oci: create create-slow: createContainer hook 0 ("/bin/sleep") timed out\n');
    expect(fs.readdirSync(root)).toEqual([]);
  });
});
