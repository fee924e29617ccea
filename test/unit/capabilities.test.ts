import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPS } from '../../src/native/constants';
import { containerCapabilities } from '../../src/runtime/capabilities';
import { containerMounts } from '../../src/runtime/plan';
import { caught } from '../helpers/caught';
import type { ContainerConfig } from '../../src/runtime/types';

describe("containerCapabilities (docker's --cap-add, --cap-drop, --privileged)", () => {
  it("keeps docker's defaults, adds and drops names with or without CAP_, in any case", () => {
    expect(containerCapabilities({}).sort()).toEqual([...DEFAULT_CAPS].sort());
    const caps = containerCapabilities({ capAdd: ['net_admin', 'CAP_SYS_PTRACE'], capDrop: ['MKNOD'] });
    expect(caps).toContain('CAP_NET_ADMIN');
    expect(caps).toContain('CAP_SYS_PTRACE');
    expect(caps).not.toContain('CAP_MKNOD');
  });

  it('ALL: --cap-drop ALL --cap-add X keeps exactly X; --cap-add ALL keeps every capability berth holds', () => {
    expect(containerCapabilities({ capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] })).toEqual(['CAP_NET_BIND_SERVICE']);
    const all = containerCapabilities({ capAdd: ['ALL'] });
    expect(all).toContain('CAP_SYS_ADMIN');
    expect(containerCapabilities({ privileged: true })).toEqual(all);
  });

  it('refuses an unknown name in one line naming the flag', () => {
    const e = caught(() => containerCapabilities({ capAdd: ['FOO'] }));
    expect([e.code, e.message]).toEqual([
      'INVALID_ARGUMENT',
      'Unknown capability "FOO" for --cap-add; expected a name like NET_ADMIN or ALL (see capabilities(7))',
    ]);
  });
});

describe('--privileged mounts', () => {
  const config = (privileged: boolean): ContainerConfig => ({
    id: 'c',
    name: 'c',
    image: 'i',
    imageId: 'sha256:a',
    created: '',
    argv: ['true'],
    env: ['PATH=/bin'],
    workdir: '/',
    uid: 0,
    gid: 0,
    groups: [],
    hostname: 'h',
    tty: false,
    interactive: false,
    autoRemove: false,
    volumes: [],
    limits: {},
    storageDriver: 'overlay',
    layers: ['/l'],
    privileged,
  });

  it("writable /sys, no masks or read-only paths, and the host's devices", () => {
    const plain = containerMounts(config(false), '/c');
    const priv = containerMounts(config(true), '/c');
    expect(plain.find((o) => o.target === 'sys')!.flags & 1).toBe(1);
    expect(priv.find((o) => o.target === 'sys')!.flags & 1).toBe(0);
    // masks land inside /proc and /sys; privileged has none (its own cgroup's tree, bound under
    // /sys/fs/cgroup, is the only mount that still lands inside sysfs)
    const masks = (ops: typeof plain) => ops.filter((o) => o.intoKernelFs && !o.target.startsWith('sys/fs/cgroup'));
    expect(masks(plain).length).toBeGreaterThan(0);
    expect(masks(priv)).toEqual([]);
    expect(priv.filter((o) => o.kind === 'mknod').length).toBeGreaterThan(plain.filter((o) => o.kind === 'mknod').length);
  });
});
