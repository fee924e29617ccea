/**
 * docker's resource flags beyond the basic ones of limits.ts, parsed into CgroupLimits (the
 * fields linux.resources fills): --cpu-period, --cpu-quota, --cpuset-mems, --memory-reservation,
 * --memory-swappiness, --oom-kill-disable, --blkio-weight, --blkio-weight-device and the four
 * --device-{read,write}-{bps,iops} throttles (devices given by host path, as docker takes them).
 */
import * as fs from 'node:fs';
import { BerthError, invalid } from '../errors';
import { major, minor } from '../native/constants';
import { quote } from '../util/quote';
import type { BlockIOLimits, CgroupLimits, DeviceRate } from './cgroups';
import { formatCpuList, parseBytes, parseCpuList } from './limits';

/** What the API and the CLI take for these flags (numbers may be strings, as typed). */
export interface ResourceFlagOptions {
  cpuPeriod?: string | number;
  cpuQuota?: string | number;
  cpusetMems?: string;
  memoryReservation?: string | number;
  memorySwappiness?: string | number;
  oomKillDisable?: boolean;
  blkioWeight?: string | number;
  blkioWeightDevice?: string[];
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
}

function integer(value: string | number, option: string, expected: string, min: number, max: number): number {
  const s = String(value).replace(/^[ \t]+|[ \t]+$/g, '');
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) throw invalid(option, expected, value);
  return n;
}

/** The memory nodes this machine has online (one node, 0, where sysfs has no node directory). */
export function onlineMemoryNodes(file = '/sys/devices/system/node/online'): number[] {
  return fs.existsSync(file) ? parseCpuList(fs.readFileSync(file, 'utf8'), file) : [0];
}

/** A block device of the host by path, as its device numbers. */
function blockDevice(devicePath: string, option: string, given: string): { major: number; minor: number } {
  if (!devicePath.startsWith('/')) throw invalid(option, 'DEVICE_PATH:VALUE with an absolute device path like /dev/sda', given);
  const st = fs.statSync(devicePath, { throwIfNoEntry: false, bigint: false });
  if (!st) throw new BerthError('INVALID_ARGUMENT', `${option} ${quote(given)}: there is no device ${quote(devicePath)} on this host`);
  if (!st.isBlockDevice())
    throw new BerthError('INVALID_ARGUMENT', `${option} ${quote(given)}: ${quote(devicePath)} is not a block device`);
  return { major: major(st.rdev), minor: minor(st.rdev) };
}

/** DEVICE:VALUE entries, the value parsed by `value`. */
function perDevice<T>(entries: readonly string[] | undefined, option: string, value: (v: string, given: string) => T) {
  return (entries ?? []).map((given) => {
    const colon = given.lastIndexOf(':');
    if (colon <= 0) throw invalid(option, 'DEVICE_PATH:VALUE, like /dev/sda:100', given);
    return { ...blockDevice(given.slice(0, colon), option, given), value: value(given.slice(colon + 1), given) };
  });
}

const WEIGHT = 'a weight from 10 to 1000';

function blockIO(o: ResourceFlagOptions): BlockIOLimits | undefined {
  const b: BlockIOLimits = {};
  if (o.blkioWeight !== undefined) {
    const w = integer(o.blkioWeight, '--blkio-weight', `${WEIGHT} (0 for the default)`, 0, 1000);
    if (w !== 0 && w < 10) throw invalid('--blkio-weight', `${WEIGHT} (0 for the default)`, o.blkioWeight);
    if (w !== 0) b.weight = w;
  }
  const weights = perDevice(o.blkioWeightDevice, '--blkio-weight-device', (v, given) => {
    const w = Number(v);
    if (!/^\d+$/.test(v) || w < 10 || w > 1000) throw invalid('--blkio-weight-device', `DEVICE_PATH:WEIGHT with ${WEIGHT}`, given);
    return w;
  });
  if (weights.length) b.weightDevices = weights.map(({ major, minor, value }) => ({ major, minor, weight: value }));
  const rates = (list: string[] | undefined, option: string, parse: (v: string, given: string) => number): DeviceRate[] | undefined => {
    const l = perDevice(list, option, parse).map(({ major, minor, value }) => ({ major, minor, rate: value }));
    return l.length ? l : undefined;
  };
  const bps = (option: string) => (v: string, given: string) => {
    if (!/^\d/.test(v)) throw invalid(option, 'DEVICE_PATH:RATE with a rate like 1mb, 512kb or 1048576', given);
    return parseBytes(v, option);
  };
  const iops = (option: string) => (v: string, given: string) =>
    integer(v, option, 'DEVICE_PATH:N with a number of operations per second', 0, Number.MAX_SAFE_INTEGER) || invalidZero(option, given);
  const throttles = {
    readBps: rates(o.deviceReadBps, '--device-read-bps', bps('--device-read-bps')),
    writeBps: rates(o.deviceWriteBps, '--device-write-bps', bps('--device-write-bps')),
    readIops: rates(o.deviceReadIops, '--device-read-iops', iops('--device-read-iops')),
    writeIops: rates(o.deviceWriteIops, '--device-write-iops', iops('--device-write-iops')),
  };
  for (const [k, v] of Object.entries(throttles)) if (v) b[k as keyof typeof throttles] = v;
  return Object.keys(b).length > 0 ? b : undefined;
}

const invalidZero = (option: string, given: string): never => {
  throw invalid(option, 'DEVICE_PATH:N with a number of operations per second above 0', given);
};

/** These flags' limits; `base` holds --memory and --cpus, which some of them are checked against. */
export function parseResourceFlags(o: ResourceFlagOptions, base: CgroupLimits): CgroupLimits {
  const out: CgroupLimits = {};
  const period =
    o.cpuPeriod === undefined
      ? undefined
      : integer(o.cpuPeriod, '--cpu-period', 'a period in microseconds from 1000 to 1000000', 1000, 1000000);
  const quota =
    o.cpuQuota === undefined
      ? undefined
      : integer(o.cpuQuota, '--cpu-quota', 'a quota in microseconds from 1000, or -1 for none', -1, Number.MAX_SAFE_INTEGER);
  if (quota !== undefined && quota >= 0 && quota < 1000)
    throw invalid('--cpu-quota', 'a quota in microseconds from 1000, or -1 for none', o.cpuQuota);
  if (base.cpus !== undefined && (period !== undefined || quota !== undefined))
    throw new BerthError(
      'INVALID_ARGUMENT',
      'Conflicting options: --cpus and --cpu-period/--cpu-quota set the same limit; give one of them',
    );
  if (period !== undefined) out.cpuPeriod = period;
  if (quota !== undefined && quota > 0) out.cpus = quota / (period ?? 100000);
  if (o.cpusetMems !== undefined) {
    const nodes = parseCpuList(o.cpusetMems, '--cpuset-mems');
    const online = onlineMemoryNodes();
    if (nodes.some((n) => !online.includes(n)))
      throw invalid('--cpuset-mems', `memory nodes this machine has (${formatCpuList(online)})`, o.cpusetMems);
    out.cpusetMems = formatCpuList(nodes);
  }
  if (o.memoryReservation !== undefined) {
    const r = parseBytes(String(o.memoryReservation), '--memory-reservation');
    if (base.memory !== undefined && r > base.memory)
      throw invalid('--memory-reservation', `a size at most --memory (${base.memory} bytes)`, o.memoryReservation);
    if (r > 0) out.memoryReservation = r;
  }
  if (o.memorySwappiness !== undefined) {
    const s = integer(o.memorySwappiness, '--memory-swappiness', 'an integer from 0 to 100 (-1 for the default)', -1, 100);
    if (s >= 0) out.memorySwappiness = s;
  }
  if (o.oomKillDisable) out.disableOOMKiller = true;
  const b = blockIO(o);
  if (b) out.blockIO = b;
  return out;
}

/** A cgroup manager's refusal names the linux.resources field (berth-oci's terms): for `run`,
 *  the flag that asked for it. */
const FLAG_OF_FIELD: Array<[RegExp, string]> = [
  [/^memory\.swappiness/, '--memory-swappiness'],
  [/^memory\.disableOOMKiller/, '--oom-kill-disable'],
  [/^memory\.reservation/, '--memory-reservation'],
  [/^blockIO\.weightDevice/, '--blkio-weight-device'],
  [/^blockIO\.weight/, '--blkio-weight'],
  [/^blockIO/, '--blkio-weight / --device-*-bps / --device-*-iops'],
  [/^cpu\.mems|^cpuset/, '--cpuset-mems'],
  [/^cpu/, '--cpu-period / --cpu-quota / --cpus'],
  [/^devices/, '--device / --device-cgroup-rule'],
];

export function asFlagError(e: unknown): unknown {
  const m = e instanceof BerthError ? /^config\.json linux\.resources\.([A-Za-z.[\]0-9]+): (.*)$/.exec(e.message) : null;
  const flag = m && FLAG_OF_FIELD.find(([re]) => re.test(m[1]))?.[1];
  return flag ? new BerthError('INVALID_ARGUMENT', `${flag}: ${m[2]}`) : e;
}
