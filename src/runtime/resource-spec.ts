/**
 * A container's limits as the linux.resources of its OCI config, the fields docker's flags fill
 * (moby's daemon/oci_linux.go): what `berth inspect` shows. Starts apply config.limits through the
 * cgroup manager directly (the same values), so the two cannot disagree on what is set.
 */
import type { Resources } from '../oci/spec';
import type { CgroupLimits, DeviceRate } from './cgroups';

const rates = (list: DeviceRate[] | undefined) => list?.map(({ major, minor, rate }) => ({ major, minor, rate }));

/** Only the sections a limit was given for; undefined when there is none. */
export function resourcesOf(l: CgroupLimits): Resources | undefined {
  const r: Resources = {};
  const memory: NonNullable<Resources['memory']> = {
    ...(l.memory !== undefined ? { limit: l.memory } : {}),
    ...(l.memorySwap !== undefined ? { swap: l.memorySwap } : {}),
    ...(l.memoryReservation !== undefined ? { reservation: l.memoryReservation } : {}),
    ...(l.memorySwappiness !== undefined ? { swappiness: l.memorySwappiness } : {}),
    ...(l.disableOOMKiller ? { disableOOMKiller: true } : {}),
  };
  const period = l.cpuPeriod ?? (l.cpus !== undefined ? 100000 : undefined);
  const cpu: NonNullable<Resources['cpu']> = {
    ...(l.cpuShares !== undefined ? { shares: l.cpuShares } : {}),
    ...(l.cpus !== undefined ? { quota: Math.round(l.cpus * period!) } : {}),
    ...(period !== undefined ? { period } : {}),
    ...(l.cpusetCpus !== undefined ? { cpus: l.cpusetCpus } : {}),
    ...(l.cpusetMems !== undefined ? { mems: l.cpusetMems } : {}),
  };
  if (Object.keys(memory).length) r.memory = memory;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (l.pidsLimit !== undefined) r.pids = { limit: l.pidsLimit };
  const b = l.blockIO;
  if (b) {
    const blockIO: NonNullable<Resources['blockIO']> = {
      ...(b.weight !== undefined ? { weight: b.weight } : {}),
      ...(b.weightDevices ? { weightDevice: b.weightDevices.map((d) => ({ ...d })) } : {}),
      ...(b.readBps ? { throttleReadBpsDevice: rates(b.readBps) } : {}),
      ...(b.writeBps ? { throttleWriteBpsDevice: rates(b.writeBps) } : {}),
      ...(b.readIops ? { throttleReadIOPSDevice: rates(b.readIops) } : {}),
      ...(b.writeIops ? { throttleWriteIOPSDevice: rates(b.writeIops) } : {}),
    };
    r.blockIO = blockIO;
  }
  return Object.keys(r).length ? r : undefined;
}
