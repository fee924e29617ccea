/**
 * process.apparmorProfile, process.selinuxLabel and linux.mountLabel. berth-oci applies neither
 * LSM yet. On a host without the LSM a label means nothing (runc ignores it there too), so it is
 * accepted and said in debug output; on a host that enforces the LSM, running the container
 * unconfined would silently weaken what the caller asked for, so it is an error.
 */
import * as fs from 'node:fs';
import { BerthError } from '../errors';
import type { Spec } from './spec';

export interface LsmHost {
  apparmor: boolean;
  selinux: boolean;
}

/** Which LSMs this kernel has switched on. */
export function lsmHost(): LsmHost {
  let apparmor = false;
  try {
    apparmor = fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim().startsWith('Y');
  } catch {
    // no AppArmor module
  }
  return { apparmor, selinux: fs.existsSync('/sys/fs/selinux/enforce') };
}

/** Refuses a label the host would enforce; returns the debug lines for those it ignores. */
export function checkLsmLabels(spec: Pick<Spec, 'process' | 'linux'>, host: LsmHost = lsmHost()): string[] {
  const ignored: string[] = [];
  const check = (field: string, value: string | undefined, on: boolean, lsm: string) => {
    if (!value) return;
    if (on)
      throw new BerthError(
        'INVALID_ARGUMENT',
        `config.json ${field} ${JSON.stringify(value)}: berth-oci cannot apply ${lsm} labels and this host enforces ${lsm}; remove the field or use another runtime`,
      );
    ignored.push(`${field} ${JSON.stringify(value)} ignored: this host has no ${lsm}`);
  };
  check('process.apparmorProfile', spec.process?.apparmorProfile, host.apparmor, 'AppArmor');
  check('process.selinuxLabel', spec.process?.selinuxLabel, host.selinux, 'SELinux');
  check('linux.mountLabel', spec.linux?.mountLabel, host.selinux, 'SELinux');
  return ignored;
}
