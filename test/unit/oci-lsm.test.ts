// apparmorProfile, selinuxLabel and mountLabel (src/oci/lsm.ts): ignored, and said, where the host
// has no such LSM; refused where it enforces one, since running unconfined would weaken the config.
import { describe, expect, it } from 'vitest';
import { checkLsmLabels } from '../../src/oci/lsm';

const labelled = {
  process: { apparmorProfile: 'containers-default-0.50', selinuxLabel: 'system_u:system_r:container_t:s0' },
  linux: { mountLabel: 'system_u:object_r:container_file_t:s0' },
} as Parameters<typeof checkLsmLabels>[0];

describe('LSM labels', () => {
  it('are ignored on a host with neither LSM, each named in a debug line', () => {
    expect(checkLsmLabels(labelled, { apparmor: false, selinux: false })).toEqual([
      'process.apparmorProfile "containers-default-0.50" ignored: this host has no AppArmor',
      'process.selinuxLabel "system_u:system_r:container_t:s0" ignored: this host has no SELinux',
      'linux.mountLabel "system_u:object_r:container_file_t:s0" ignored: this host has no SELinux',
    ]);
  });

  it('are refused where the host enforces the LSM, naming the field', () => {
    expect(() => checkLsmLabels(labelled, { apparmor: true, selinux: false })).toThrow(
      /^config.json process.apparmorProfile "containers-default-0.50": berth-oci cannot apply AppArmor labels and this host enforces AppArmor/,
    );
    expect(() => checkLsmLabels({ linux: { mountLabel: 'x' } }, { apparmor: false, selinux: true })).toThrow(/linux.mountLabel "x"/);
  });

  it('are nothing to say when absent, on any host', () => {
    expect(checkLsmLabels({ process: undefined }, { apparmor: true, selinux: true })).toEqual([]);
  });
});
