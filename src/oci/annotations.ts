/** Annotations the translation reads: what an OCI config has no field for. */
export const ANNOTATION = {
  /** 'default': berth's built-in seccomp filter (native/core/seccomp.cc); 'unconfined': none;
   *  'profile': the config's linux.seccomp (--security-opt seccomp=FILE), compiled by the caller. */
  seccomp: 'org.berth.seccomp',
  /** 'true': berth-init runs as PID 1 with the process as its child. */
  init: 'org.berth.init',
} as const;
