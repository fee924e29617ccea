// What the berth-oci integration tests share: a temporary base holding a state root and a busybox
// rootfs, berth-oci as installed run over them, and bundles made by its own `spec`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { Linux, Mount, Process, Spec } from '../../src/oci/spec';
import { busyboxTar } from './fixtures';
import { REPO_ROOT } from './paths';

/** berth-oci as installed: bin/berth-oci, the native front with Node behind it. */
export const BERTH_OCI = path.join(REPO_ROOT, 'bin', 'berth-oci');

export interface OciResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** `berth-oci spec` always writes these parts. */
export type OciConfig = Spec & {
  process: Process & { capabilities: { bounding: string[] } };
  root: NonNullable<Spec['root']>;
  linux: Linux;
  mounts: Mount[];
};

export class OciSandbox {
  readonly base: string;
  readonly root: string;
  /** busybox, shared by the bundles that link to it */
  readonly rootfs: string;
  private calls = 0;

  constructor(prefix: string) {
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.root = path.join(this.base, 'state');
    this.rootfs = path.join(this.base, 'rootfs');
    fs.mkdirSync(this.rootfs);
    spawnSync('tar', ['-xf', busyboxTar(), '-C', this.rootfs]);
  }

  /** berth-oci --root ROOT ARGS. Output goes through files, as a caller's goes to its own pipes: a
   *  created or detached init inherits them, so a pipe to us would stay open for its whole life. */
  oci(args: string[], env: Record<string, string> = {}): OciResult {
    const out = path.join(this.base, `out.${++this.calls}`);
    const [o, e] = [fs.openSync(out, 'w'), fs.openSync(`${out}.err`, 'w')];
    const r = spawnSync(BERTH_OCI, ['--root', this.root, ...args], {
      stdio: ['ignore', o, e],
      timeout: 30_000,
      env: { ...process.env, ...env },
    });
    fs.closeSync(o);
    fs.closeSync(e);
    return { status: r.status ?? -1, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(`${out}.err`, 'utf8') };
  }

  /** A bundle: `berth-oci spec`'s config with process.terminal false, changed by `edit`; its
   *  rootfs the shared busybox (a link), or with `ownRootfs` a copy of its own to write into. */
  bundle(name: string, edit: (c: OciConfig) => void = () => {}, o: { ownRootfs?: boolean } = {}): string {
    const dir = path.join(this.base, name);
    fs.mkdirSync(dir);
    if (o.ownRootfs) {
      fs.mkdirSync(path.join(dir, 'rootfs'));
      spawnSync('tar', ['-xf', busyboxTar(), '-C', path.join(dir, 'rootfs')]);
    } else {
      fs.symlinkSync(this.rootfs, path.join(dir, 'rootfs'));
    }
    const r = spawnSync(BERTH_OCI, ['spec', '--bundle', dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as OciConfig;
    config.process.terminal = false;
    edit(config);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
    return dir;
  }

  /** The containers the state root still holds. */
  ids(): string[] {
    return fs.existsSync(this.root) ? fs.readdirSync(this.root) : [];
  }

  /** delete --force of every container left (each test's afterEach). */
  deleteAll(): void {
    for (const id of this.ids()) this.oci(['delete', '--force', id]);
  }

  remove(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}
