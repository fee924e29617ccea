/** linux.resources and linux.cgroupsPath of an OCI config, as berth's cgroup managers take them. */
import { BerthError } from '../errors';
import type { BlockIOLimits, CgroupLimits, DeviceRate } from '../runtime/cgroups';
import { pageSizeBytes, pageSizeName } from '../runtime/cgroups/hugetlb';
import { ociExtraDeviceRules } from '../runtime/device-options';
import { quote } from '../util/quote';
import type { BlockIODevice, Resources, Spec } from './spec';

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
const given = (v: unknown) => v !== undefined && v !== null;

/** An integer field in [min, max], or a one-line error naming it. */
function int(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    fail(field, `expected an integer from ${min} to ${max} but received ${quote(v)}`);
  return v as number;
}

/** The limits berth applies, and whether the device rules allow everything (else docker's list).
 *  Values are checked here; what a cgroup version has no file for is refused by its manager. */
export function specLimits(r: Resources | undefined): { limits: CgroupLimits; allDevices: boolean; deviceRules: string[] } {
  const limits: CgroupLimits = {};
  if (!r) return { limits, allDevices: false, deviceRules: [] };
  memoryLimits(r.memory ?? {}, limits);
  cpuLimits(r.cpu ?? {}, limits);
  if (r.pids && set(r.pids.limit)) limits.pidsLimit = r.pids.limit > 0 ? r.pids.limit : -1;
  if (r.blockIO) {
    const b = blockIOLimits(r.blockIO);
    if (Object.keys(b).length > 0) limits.blockIO = b;
  }
  if (r.hugepageLimits?.length) limits.hugepages = r.hugepageLimits.map(hugepageLimit);
  if (r.unified && Object.keys(r.unified).length > 0) limits.unified = unifiedFiles(r.unified);
  networkLimits(r.network, limits);
  if (r.rdma && Object.keys(r.rdma).length > 0) limits.rdma = rdmaLimits(r.rdma);
  // Docker's device list is what callers send (deny all, then the standard devices): berth applies
  // its own copy of it; only an explicit "allow everything" (privileged) changes that.
  const allDevices = (r.devices ?? []).some(
    (d) => d.allow && (d.type ?? 'a') === 'a' && d.major == null && d.minor == null && (d.access ?? 'rwm').length === 3,
  );
  // its other allow rules (podman's --device) after that list (src/runtime/device-options.ts)
  const deviceRules = allDevices ? [] : ociExtraDeviceRules(r.devices ?? []);
  return { limits, allDevices, deviceRules };
}

function memoryLimits(m: NonNullable<Resources['memory']>, limits: CgroupLimits): void {
  if (set(m.limit) && m.limit! > 0) limits.memory = m.limit;
  if (set(m.swap)) limits.memorySwap = m.swap! < 0 ? -1 : m.swap;
  // 0 is "not set" for these, as runc reads them; -1 is "no limit"
  if (set(m.reservation)) limits.memoryReservation = int(m.reservation, 'memory.reservation', -1);
  if (set(m.kernelTCP)) limits.kernelTcp = int(m.kernelTCP, 'memory.kernelTCP', -1);
  // memory.kernel is ignored, as runc ignores it: the spec deprecates it and Linux no longer
  // enforces kernel memory limits (memory.kmem.limit_in_bytes refuses writes since 5.16).
  if (given(m.swappiness)) limits.memorySwappiness = int(m.swappiness, 'memory.swappiness', 0, 100);
  if (m.disableOOMKiller) limits.disableOOMKiller = true;
  // useHierarchy true is what the kernel does anyway (v2 always, v1 since 5.11: the file is fixed at 1)
  if (m.useHierarchy === false)
    fail('memory.useHierarchy', 'false is not possible: memory cgroups are always hierarchical since Linux 5.11; leave it out');
  if (m.checkBeforeUpdate) fail('memory.checkBeforeUpdate', 'is not supported by berth-oci; leave it out');
}

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

function cpuLimits(c: NonNullable<Resources['cpu']>, limits: CgroupLimits): void {
  if (set(c.shares)) limits.cpuShares = c.shares;
  if (set(c.quota) && c.quota! > 0) limits.cpus = c.quota! / (c.period || 100000);
  if (c.cpus) limits.cpusetCpus = c.cpus;
  if (c.mems) {
    if (!CPU_LIST.test(c.mems)) fail('cpu.mems', `expected a list of memory nodes like 0-1,3 but received ${quote(c.mems)}`);
    limits.cpusetMems = c.mems;
  }
  // As runc: 0 is "not set"; the kernel's -1 (no limit) passes for the runtime.
  if (set(c.realtimePeriod)) limits.cpuRtPeriod = int(c.realtimePeriod, 'cpu.realtimePeriod', 1);
  if (set(c.realtimeRuntime)) limits.cpuRtRuntime = int(c.realtimeRuntime, 'cpu.realtimeRuntime', -1);
  if (given(c.idle)) limits.cpuIdle = int(c.idle, 'cpu.idle', 0, 1);
  if (given(c.burst)) limits.cpuBurst = int(c.burst, 'cpu.burst', 0);
}

const WEIGHT = [10, 1000] as const;
const U32 = 2 ** 32 - 1;

function blockIOLimits(b: NonNullable<Resources['blockIO']>): BlockIOLimits {
  const out: BlockIOLimits = {};
  if (set(b.weight)) out.weight = int(b.weight, 'blockIO.weight', ...WEIGHT);
  if (set(b.leafWeight)) out.leafWeight = int(b.leafWeight, 'blockIO.leafWeight', ...WEIGHT);
  const devNumbers = (d: BlockIODevice, field: string) => {
    if (typeof d !== 'object' || d === null) fail(field, `expected {"major", "minor", ...} but received ${quote(d)}`);
    return { major: int(d.major, `${field}.major`, 0, U32), minor: int(d.minor, `${field}.minor`, 0, U32) };
  };
  const weights = (b.weightDevice ?? []).map((d, i) => {
    const field = `blockIO.weightDevice[${i}]`;
    const w = { ...devNumbers(d, field), ...(set(d.weight) ? { weight: int(d.weight, `${field}.weight`, ...WEIGHT) } : {}) };
    return set(d.leafWeight) ? { ...w, leafWeight: int(d.leafWeight, `${field}.leafWeight`, ...WEIGHT) } : w;
  });
  if (weights.length) out.weightDevices = weights;
  const rates = (list: Array<BlockIODevice & { rate: number }> | undefined, name: string): DeviceRate[] | undefined => {
    const l = (list ?? []).map((d, i) => ({
      ...devNumbers(d, `blockIO.${name}[${i}]`),
      rate: int(d.rate, `blockIO.${name}[${i}].rate`, 0),
    }));
    return l.length ? l : undefined;
  };
  const throttles = {
    readBps: rates(b.throttleReadBpsDevice, 'throttleReadBpsDevice'),
    writeBps: rates(b.throttleWriteBpsDevice, 'throttleWriteBpsDevice'),
    readIops: rates(b.throttleReadIOPSDevice, 'throttleReadIOPSDevice'),
    writeIops: rates(b.throttleWriteIOPSDevice, 'throttleWriteIOPSDevice'),
  };
  for (const [k, v] of Object.entries(throttles)) if (v) out[k as keyof typeof throttles] = v;
  return out;
}

/** pageSize in the kernel's own name ("2048KB" is its "2MB"); limit in bytes (0 forbids them). */
function hugepageLimit(h: { pageSize: string; limit: number }, i: number): { pageSize: string; limit: number } {
  const bytes = typeof h?.pageSize === 'string' ? pageSizeBytes(h.pageSize) : undefined;
  if (!bytes) fail(`hugepageLimits[${i}].pageSize`, `expected a size like 2MB or 1GB but received ${quote(h?.pageSize)}`);
  return { pageSize: pageSizeName(bytes!), limit: int(h.limit, `hugepageLimits[${i}].limit`, 0) };
}

/** Files of the container's own cgroup, by name: nothing that leads elsewhere, nothing that moves
 *  processes or reshapes the tree (berth's job). */
const STRUCTURE = ['cgroup.procs', 'cgroup.threads', 'cgroup.type', 'cgroup.subtree_control', 'cgroup.kill'];
function unifiedFiles(u: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(u)) {
    const field = `unified[${JSON.stringify(key)}]`;
    if (key.includes('/') || key.includes('..') || key.includes('\0') || key === '')
      fail(field, 'a cgroup file name must not contain "/" or ".."');
    if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/i.test(key)) fail(field, 'expected a cgroup v2 file name like memory.high');
    if (STRUCTURE.includes(key)) fail(field, `${key} is berth's to write; leave it out`);
    if (typeof value !== 'string') fail(field, `expected a string value but received ${quote(value)}`);
  }
  return { ...u };
}

function networkLimits(n: Resources['network'], limits: CgroupLimits): void {
  if (!n) return;
  if (given(n.classID)) limits.netClassId = int(n.classID, 'network.classID', 0, U32);
  const prios = (n.priorities ?? []).map((p, i) => {
    if (typeof p?.name !== 'string' || !/^[^\s/]{1,15}$/.test(p.name))
      fail(`network.priorities[${i}].name`, `expected an interface name but received ${quote(p?.name)}`);
    return { name: p.name, priority: int(p.priority, `network.priorities[${i}].priority`, 0, U32) };
  });
  if (prios.length) limits.netPriorities = prios;
}

function rdmaLimits(r: NonNullable<Resources['rdma']>): NonNullable<CgroupLimits['rdma']> {
  const out: NonNullable<CgroupLimits['rdma']> = {};
  for (const [device, l] of Object.entries(r)) {
    const field = `rdma[${JSON.stringify(device)}]`;
    if (!/^[^\s]+$/.test(device)) fail(field, 'expected an RDMA device name');
    out[device] = {
      ...(given(l?.hcaHandles) ? { hcaHandles: int(l.hcaHandles, `${field}.hcaHandles`, 0, U32) } : {}),
      ...(given(l?.hcaObjects) ? { hcaObjects: int(l.hcaObjects, `${field}.hcaObjects`, 0, U32) } : {}),
    };
  }
  return out;
}
