/** `berth-oci spec`: a starting config.json, as `runc spec` writes one (and its --rootless form). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OCI_VERSION, type Mount, type Spec } from '../oci/spec';
import { command } from './command';
import { errorMessage, OciCliError } from './errors';

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/** runc's example spec: sh on a terminal in a read-only rootfs/, new pid, network, ipc, uts and
 *  mount namespaces, no devices, the kernel files docker masks masked. */
export function defaultSpec(): Spec {
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** runc's ToRootless: a user namespace mapping the caller to root, the host's network (a rootless
 *  user cannot make one), /sys bound from the host's, no uid=/gid= mount options, no cgroup limits. */
export function toRootless(spec: Spec, uid: number, gid: number): Spec {
  const linux = (spec.linux ??= {});
  linux.namespaces = [...(linux.namespaces ?? []).filter((n) => n.type !== 'network' && n.type !== 'user'), { type: 'user' }];
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  spec.mounts = (spec.mounts ?? []).map((m): Mount => {
    if (path.posix.normalize(m.destination) === '/sys')
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    return m.options ? { ...m, options: m.options.filter((o) => !o.startsWith('gid=') && !o.startsWith('uid=')) } : m;
  });
  delete linux.resources;
  return spec;
}

export const specCommand = command({
  name: 'spec',
  summary: 'create a new specification file',
  args: '',
  description: 'The spec command creates the new specification file named "config.json" for the bundle.',
  flags: [
    { name: 'bundle', short: 'b', kind: 'string', usage: 'path to the root of the bundle directory' },
    { name: 'rootless', kind: 'bool', usage: 'generate a configuration for a rootless container' },
  ],
  minArgs: 0,
  maxArgs: 0,
  run(a, ctx) {
    const spec = a.rootless ? toRootless(defaultSpec(), process.geteuid?.() ?? 0, process.getegid?.() ?? 0) : defaultSpec();
    const file = path.join(a.bundle || '.', 'config.json');
    // Tab-indented as runc's json.MarshalIndent(spec, "", "\t"); never over an existing file.
    try {
      fs.writeFileSync(file, JSON.stringify(spec, null, '\t'), { flag: 'wx', mode: 0o666 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new OciCliError('File config.json exists. Remove it first');
      throw new OciCliError(`write ${file}: ${errorMessage(e)}`);
    }
    ctx.log.debug(`wrote ${path.resolve(file)}`);
    return 0;
  },
});
