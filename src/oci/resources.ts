/** linux.resources and linux.cgroupsPath of an OCI config, as berth's cgroup managers take them. */
import { BerthError } from '../errors';
import type { ResourceLimits } from '../runtime/limits';
import { quote } from '../util/quote';
import type { Resources, Spec } from './spec';

const fail = (field: string, why: string): never => {
  throw new BerthError('INVALID_ARGUMENT', `config.json linux.resources.${field}: ${why}`);
};

/** Where the container's cgroup goes: its parent below each hierarchy's root, and its own name. */
export function cgroupLocation(spec: Spec, id: string): { parent: string; name: string } {
  const p = spec.linux?.cgroupsPath;
  if (!p) return { parent: 'berth-oci', name: id };
  if (p.includes(':')) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `config.json linux.cgroupsPath ${quote(p)} is a systemd slice path; berth-oci drives cgroupfs only: pass a path like /parent/${id} (podman: --cgroup-manager cgroupfs)`,
    );
  }
  const parts = p.split('/').filter(Boolean);
  if (parts.length === 0 || parts.some((s) => s === '..' || s === '.'))
    throw new BerthError('INVALID_ARGUMENT', `config.json linux.cgroupsPath: ${quote(p)} is not a cgroup path below the root`);
  return { parent: parts.slice(0, -1).join('/'), name: parts[parts.length - 1] };
}

const set = (v: unknown) => v !== undefined && v !== null && v !== 0 && v !== false;

/** The limits berth applies, and whether the device rules allow everything (else docker's list). */
export function specLimits(r: Resources | undefined): { limits: ResourceLimits; allDevices: boolean } {
  const limits: ResourceLimits = {};
  if (!r) return { limits, allDevices: false };
  const m = r.memory ?? {};
  if (set(m.limit) && m.limit! > 0) limits.memory = m.limit;
  if (set(m.swap)) limits.memorySwap = m.swap! < 0 ? -1 : m.swap;
  if (set(m.reservation) && m.reservation! > 0) fail('memory.reservation', 'is not supported by berth-oci yet; leave it out');
  if (m.swappiness !== undefined && m.swappiness !== null && m.swappiness > 100)
    fail('memory.swappiness', `expected 0 to 100 but received ${quote(m.swappiness)}`);
  if (m.disableOOMKiller) fail('memory.disableOOMKiller', 'is not supported by berth-oci; leave it out');
  const c = r.cpu ?? {};
  if (set(c.shares)) limits.cpuShares = c.shares;
  if (set(c.quota) && c.quota! > 0) limits.cpus = c.quota! / (c.period || 100000);
  if (c.cpus) limits.cpusetCpus = c.cpus;
  if (c.mems) fail('cpu.mems', 'is not supported by berth-oci yet; leave it out');
  if (set(c.realtimeRuntime) || set(c.realtimePeriod)) fail('cpu.realtimeRuntime', 'real-time scheduling is not supported by berth-oci');
  if (r.pids && set(r.pids.limit)) limits.pidsLimit = r.pids.limit > 0 ? r.pids.limit : -1;
  if (r.blockIO && Object.values(r.blockIO).some(set))
    fail('blockIO', 'block I/O limits are not supported by berth-oci yet; leave them out');
  if ((r.hugepageLimits ?? []).some((h) => set(h.limit))) fail('hugepageLimits', 'are not supported by berth-oci yet');
  if (r.unified && Object.keys(r.unified).length > 0) fail('unified', 'cgroup v2 files by name are not supported by berth-oci yet');
  // Docker's device list is what callers send (deny all, then the standard devices): berth applies
  // its own copy of it; only an explicit "allow everything" (privileged) changes that.
  const allDevices = (r.devices ?? []).some(
    (d) => d.allow && (d.type ?? 'a') === 'a' && d.major == null && d.minor == null && (d.access ?? 'rwm').length === 3,
  );
  return { limits, allDevices };
}
