/**
 * docker's --device and --device-cgroup-rule: the device nodes made in the container's /dev
 * (linux.devices of its OCI config) and the device cgroup rules that let it use them
 * (linux.resources.devices). docker's model is kept: every container gets docker's default rules
 * (deny all, then null, zero, full, random, urandom, tty, console, ptmx, pts, tun and mknod of
 * anything), and these flags only ADD allow rules after them, so that `--device /dev/null:r` still
 * leaves /dev/null writable, exactly as docker does. --privileged allows every device.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError, invalid } from '../errors';
import { major, minor } from '../native/constants';
import type { Device, DeviceCgroupRule } from '../oci/spec';
import { quote } from '../util/quote';
import { DEFAULT_DEVICE_RULES } from './cgroups/v1';
import { hostDevices } from './host-devices';

/** One --device, resolved on the host: what linux.devices gets, and its rule's access. */
export interface DeviceMapping {
  /** The host path it was made from (what inspect shows as PathOnHost). */
  hostPath: string;
  /** Where it appears in the container (absolute). */
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** The host node's permission bits. */
  fileMode: number;
  uid: number;
  gid: number;
  /** r, w and m, in that order: what its cgroup rule allows. */
  permissions: string;
}

/** --device's syntax, before the host is looked at. */
export interface DeviceRequest {
  hostPath: string;
  containerPath: string;
  permissions: string;
}

const PERMS = /^[rwm]{1,3}$/;

/** r, w and m each at most once, in docker's order. */
function validPerms(s: string): boolean {
  return PERMS.test(s) && new Set(s).size === s.length;
}
const orderPerms = (s: string) => ['r', 'w', 'm'].filter((c) => s.includes(c)).join('');

/** HOST[:CONTAINER][:PERMS], as docker's parseDevice reads it: two fields are HOST:PERMS when the
 *  second is a valid mode, else HOST:CONTAINER. */
export function parseDevice(spec: string): DeviceRequest {
  const fix = 'a device like /dev/fuse, /dev/fuse:/dev/fuse or /dev/fuse:/dev/fuse:rwm (PERMS from r, w, m)';
  if (typeof spec !== 'string' || spec === '') throw invalid('--device', fix, spec);
  const parts = spec.split(':');
  const hostPath = parts[0];
  let [containerPath, permissions] = [hostPath, 'rwm'];
  if (parts.length === 2) {
    if (validPerms(parts[1])) permissions = parts[1];
    else containerPath = parts[1];
  } else if (parts.length === 3) {
    if (!validPerms(parts[2])) throw invalid('--device', fix, spec);
    [containerPath, permissions] = [parts[1], parts[2]];
  } else if (parts.length > 3) throw invalid('--device', fix, spec);
  if (!path.posix.isAbsolute(hostPath)) throw invalid('--device', `${fix}: the host path must be absolute`, spec);
  if (!path.posix.isAbsolute(containerPath)) throw invalid('--device', `${fix}: the container path must be absolute`, spec);
  const target = path.posix.normalize(containerPath);
  if (target === '/' || target === '/dev') throw invalid('--device', `${fix}: a container path below /`, spec);
  return { hostPath, containerPath: target, permissions: orderPerms(permissions) };
}

const modeType = (mode: number): 'c' | 'b' | undefined =>
  (mode & 0o170000) === 0o020000 ? 'c' : (mode & 0o170000) === 0o060000 ? 'b' : undefined;

/** The host's devices a request names: the device (symlinks followed, as docker does), or every
 *  device below a directory, each at the same place below the container path. */
export function resolveDevice(req: DeviceRequest): DeviceMapping[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(req.hostPath);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message;
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Error gathering device information while adding custom device ${quote(req.hostPath)}: ${why}; give a device of this host, like /dev/fuse`,
    );
  }
  const one = (p: string, s: fs.Stats, target: string): DeviceMapping => ({
    hostPath: p,
    path: target,
    type: modeType(s.mode)!,
    major: major(s.rdev),
    minor: minor(s.rdev),
    fileMode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    permissions: req.permissions,
  });
  if (modeType(st.mode)) return [one(req.hostPath, st, req.containerPath)];
  if (st.isDirectory()) {
    const found = hostDevices(req.hostPath, '').map((d) => {
      const rel = d.target.replace(/^\/+/, '');
      const s = fs.statSync(path.join(req.hostPath, rel));
      return one(path.join(req.hostPath, rel), s, path.posix.join(req.containerPath, rel));
    });
    if (found.length > 0) return found;
  }
  throw new BerthError(
    'INVALID_ARGUMENT',
    `--device ${quote(req.hostPath)} is not a device (nor a directory of devices); give a character or block device like /dev/fuse`,
  );
}

/** Every --device, resolved; a container path given twice is refused. */
export function resolveDevices(specs: readonly string[] | undefined): DeviceMapping[] {
  const out = (specs ?? []).flatMap((s) => resolveDevice(parseDevice(s)));
  const seen = new Set<string>();
  for (const d of out) {
    if (seen.has(d.path)) throw new BerthError('INVALID_ARGUMENT', `Duplicate --device target ${quote(d.path)}; give each path once`);
    seen.add(d.path);
  }
  return out;
}

const RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** One --device-cgroup-rule in the devices controller's syntax ("c 1:3 rwm", "b 7:* r", "a"):
 *  returned as devices.allow takes it. */
export function parseDeviceCgroupRule(rule: string): string {
  const r = typeof rule === 'string' ? rule.trim().replace(/\s+/g, ' ') : rule;
  if (r === 'a') return 'a *:* rwm';
  const m = typeof r === 'string' ? RULE.exec(r) : null;
  if (!m || !validPerms(m[4]))
    throw invalid('--device-cgroup-rule', 'a rule like "c 1:3 rwm" (TYPE a, b or c; MAJOR:MINOR numbers or *; ACCESS from r, w, m)', rule);
  return `${m[1]} ${m[2]}:${m[3]} ${orderPerms(m[4])}`;
}

export function parseDeviceCgroupRules(rules: readonly string[] | undefined): string[] {
  return (rules ?? []).map(parseDeviceCgroupRule);
}

/** What config.json keeps of these flags (only what was given). */
export function deviceConfig(o: { devices?: string[]; deviceCgroupRules?: string[] }): {
  devices?: DeviceMapping[];
  deviceCgroupRules?: string[];
} {
  const devices = resolveDevices(o.devices);
  const rules = parseDeviceCgroupRules(o.deviceCgroupRules);
  return { ...(devices.length ? { devices } : {}), ...(rules.length ? { deviceCgroupRules: rules } : {}) };
}

/** The checks that need no host (the API boundary's): syntax only. */
export function checkDeviceOptions(o: { devices?: string[]; deviceCgroupRules?: string[] }): void {
  o.devices?.forEach(parseDevice);
  parseDeviceCgroupRules(o.deviceCgroupRules);
}

interface DeviceFields {
  privileged?: boolean;
  devices?: DeviceMapping[];
  deviceCgroupRules?: string[];
}

/** The allow rules a container has beyond docker's defaults, in devices.allow's syntax: each
 *  --device's, then each --device-cgroup-rule. */
export function extraDeviceRules(c: DeviceFields): string[] {
  return [...(c.devices ?? []).map((d) => `${d.type} ${d.major}:${d.minor} ${d.permissions}`), ...(c.deviceCgroupRules ?? [])];
}

/** What the cgroup manager's plan takes for the devices controller. */
export function deviceCgroup(c: DeviceFields): { allDevices: boolean; deviceRules: string[] } {
  return { allDevices: !!c.privileged, deviceRules: c.privileged ? [] : extraDeviceRules(c) };
}

/** "c 1:3 rwm" as an OCI rule. */
function ociRule(rule: string, allow = true): DeviceCgroupRule {
  const [type, nums, access] = rule.split(' ');
  const [maj, min] = nums.split(':');
  return {
    allow,
    type: type as DeviceCgroupRule['type'],
    major: maj === '*' ? null : Number(maj),
    minor: min === '*' ? null : Number(min),
    access,
  };
}

/** linux.devices and linux.resources.devices of the OCI config. The rules are written out only
 *  when the container has rules of its own (docker's defaults are implied otherwise: berth's
 *  cgroup managers apply them to every container). */
export function ociDevices(c: DeviceFields): { devices?: Device[]; rules?: DeviceCgroupRule[] } {
  const given: Device[] = (c.devices ?? []).map((d) => ({
    type: d.type,
    path: d.path,
    major: d.major,
    minor: d.minor,
    fileMode: d.fileMode,
    uid: d.uid,
    gid: d.gid,
  }));
  if (c.privileged) {
    // every host device at its own path, and the --device ones where they were asked (as docker)
    const taken = new Set(given.map((d) => d.path));
    const host: Device[] = hostDevices()
      .filter((d) => !taken.has(`/${d.target}`))
      .map((d) => ({
        type: modeType(d.mode) ?? 'c',
        path: `/${d.target}`,
        major: major(d.rdev),
        minor: minor(d.rdev),
        fileMode: d.mode & 0o7777,
      }));
    return { devices: [...host, ...given] };
  }
  const extra = extraDeviceRules(c);
  return {
    ...(given.length ? { devices: given } : {}),
    ...(extra.length ? { rules: [{ allow: false, access: 'rwm' }, ...[...DEFAULT_DEVICE_RULES, ...extra].map((r) => ociRule(r))] } : {}),
  };
}

/** berth-oci: the allow rules of an OCI config's linux.resources.devices beyond docker's default
 *  list (which every container gets: callers send deny-all, then that list), in devices.allow's
 *  syntax and order, so that podman's or containerd's --device is usable. A deny rule after the
 *  leading deny-all is refused: berth's managers apply allow rules only. */
export function ociExtraDeviceRules(rules: readonly DeviceCgroupRule[], field = 'config.json linux.resources.devices'): string[] {
  const out: string[] = [];
  const defaults = new Set(DEFAULT_DEVICE_RULES);
  rules.forEach((r, i) => {
    const f = `${field}[${i}]`;
    const type = r.type ?? 'a';
    if (!['a', 'b', 'c'].includes(type))
      throw new BerthError('INVALID_ARGUMENT', `${f}.type: expected a, b or c but received ${quote(r.type)}`);
    const num = (v: number | null | undefined, name: string) => {
      if (v === undefined || v === null || v === -1) return '*';
      if (!Number.isSafeInteger(v) || v < 0)
        throw new BerthError('INVALID_ARGUMENT', `${f}.${name}: expected a device number but received ${quote(v)}`);
      return String(v);
    };
    const access = r.access || 'rwm';
    if (!validPerms(access))
      throw new BerthError('INVALID_ARGUMENT', `${f}.access: expected letters of rwm but received ${quote(r.access)}`);
    const rule = `${type} ${num(r.major, 'major')}:${num(r.minor, 'minor')} ${orderPerms(access)}`;
    if (!r.allow) {
      if (i === 0 && rule === 'a *:* rwm') return;
      throw new BerthError(
        'INVALID_ARGUMENT',
        `${f}: a deny rule other than the first deny-all is not supported by berth-oci; leave it out`,
      );
    }
    if (!defaults.has(rule)) out.push(rule);
  });
  return out;
}
