// The API boundary of container and exec options: types checked (a JavaScript caller is not held
// to ContainerOptions), then every check that needs no image.
import * as path from 'node:path';
import { invalid } from '../errors';
import { quote } from '../util/quote';
import {
  arrayOf,
  bool,
  checkOptions,
  either,
  isPlainObject,
  num,
  object,
  oneOf,
  str,
  stringRecord,
  strings,
  strOrNum,
  typeError,
  type Check,
  type Schema,
} from '../util/validate';
import {
  type ContainerOptions,
  type ExecOptions,
  parseLimits,
  parseRestart,
  parseLogOpts,
  parseVolume,
  envEntries,
  splitUser,
  parseSecurityOpts,
} from './options';
import { parseLabels } from './metadata-options';
import { HEALTH_SCHEMA, parseHealthFlags } from './health/options';
import { checkDeviceOptions } from './device-options';
import { runFlagsConfig } from './run-flags-config';
import { checkJoinedNetwork, parseNamespaceOptions } from './namespace-options';
import { checkStopOptions } from './stop-options';
import { checkNetworkExtras } from '../network/run-network-extras';
import { checkRunMisc } from './run-misc-options';
import { parseLogDriver } from './logs';

// ---------------------------------------------------------------------------------------------
// The API boundary. Types first (a JavaScript caller is not held to ContainerOptions), then every
// check that needs no image, so that a bad option is refused before anything is pulled or made:
// runtime.create makes volume directories before it parses env, restart and log options.
// Type mismatches name the API field ("Expected cmd to be ..."); a string of the wrong shape gets
// the flag's message, the same from the CLI and the API.
// ---------------------------------------------------------------------------------------------

/** The container store's name rule (store.ts), checked here so that the value is quoted. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** runtime.create's hostname rule. */
const HOSTNAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/;

/** A string (type error otherwise) that must also pass `ok` (the flag's message otherwise). */
function shaped(ok: (s: string) => boolean, option: string, expected: string): Check {
  return (v, field) => {
    str()(v, field);
    if (!ok(v as string)) throw invalid(option, expected, v);
  };
}

const userCheck: Check = (v, field) => {
  if (typeof v === 'string') {
    str()(v, field);
    splitUser(v);
    return;
  }
  const o = isPlainObject(v) ? v : undefined;
  const fix =
    typeof v === 'number'
      ? `pass ${quote(String(v))}`
      : typeof o?.uid === 'number'
        ? `pass ${quote(o.gid === undefined ? `${o.uid}` : `${o.uid}:${String(o.gid)}`)}`
        : undefined;
  throw typeError(field, 'a string uid[:gid] or name[:group]', v, fix);
};

const VOLUME_SCHEMA: Schema = {
  hostPath: str(),
  containerPath: str({ nonEmpty: true }),
  readonly: bool,
  volume: str({ nonEmpty: true }),
  anonymous: bool,
  noCopy: bool,
};

/** 'pipe', 'inherit', 'ignore' or an open file descriptor of this process. */
const stdioCheck: Check = either(
  "'pipe', 'inherit', 'ignore' or a file descriptor",
  [(v) => typeof v === 'string', oneOf('pipe', 'inherit', 'ignore')],
  [(v) => typeof v === 'number', num({ integer: true, min: 0, max: 2 ** 31 - 1 })],
);

/** [rows, cols]: a struct winsize holds unsigned shorts. */
const ttySizeCheck: Check = (v, field) => {
  if (!Array.isArray(v) || v.length !== 2) throw typeError(field, 'a pair [rows, cols]', v);
  v.forEach((n, i) => num({ integer: true, min: 1, max: 65535 })(n, `${field}[${i}]`));
};

export const STDIO_SCHEMA: Schema = { stdin: stdioCheck, stdout: stdioCheck, stderr: stdioCheck, ttySize: ttySizeCheck };

const envCheck: Check = either(
  'an array of KEY=VALUE strings or an object of strings',
  [Array.isArray, strings()],
  [isPlainObject, stringRecord()],
);

const PROCESS_SCHEMA: Schema = {
  env: envCheck,
  workdir: shaped((s) => path.posix.isAbsolute(s), '--workdir', 'an absolute path'),
  user: userCheck,
  tty: bool,
  interactive: bool,
};

const CONTAINER_SCHEMA: Schema = {
  ...PROCESS_SCHEMA,
  image: str({ nonEmpty: true, expected: 'an image reference like busybox or busybox:latest' }),
  cmd: strings(),
  entrypoint: either('a string or an array of strings', [(v) => typeof v === 'string', str()], [Array.isArray, strings()]),
  pull: shaped((s) => ['missing', 'always', 'never'].includes(s), '--pull', 'missing, always or never'),
  name: shaped((s) => NAME_RE.test(s), '--name', 'a container name of letters, digits, _ . -'),
  hostname: shaped((s) => HOSTNAME_RE.test(s), '--hostname', 'a hostname of letters, digits, dots and dashes (at most 63)'),
  volumes: arrayOf(
    either(
      'a HOST:CONTAINER[:ro] (or NAME:CONTAINER, /CONTAINER) string or an object {hostPath or volume, containerPath, readonly}',
      [(v) => typeof v === 'string', str()],
      [isPlainObject, object(VOLUME_SCHEMA, ['containerPath'])],
    ),
    'an array of volumes',
  ),
  memory: strOrNum,
  memorySwap: strOrNum,
  cpus: strOrNum,
  cpuShares: strOrNum,
  cpusetCpus: str(),
  pidsLimit: strOrNum,
  cpuPeriod: strOrNum,
  cpuQuota: strOrNum,
  cpusetMems: str(),
  memoryReservation: strOrNum,
  memorySwappiness: strOrNum,
  oomKillDisable: bool,
  blkioWeight: strOrNum,
  blkioWeightDevice: strings(),
  deviceReadBps: strings(),
  deviceWriteBps: strings(),
  deviceReadIops: strings(),
  deviceWriteIops: strings(),
  rm: bool,
  storageDriver: str(),
  init: bool,
  restart: str(),
  logOpts: strings(),
  logDriver: str(),
  securityOpt: strings(),
  capAdd: strings(),
  capDrop: strings(),
  privileged: bool,
  devices: strings(),
  deviceCgroupRules: strings(),
  readOnly: bool,
  tmpfs: strings(),
  mounts: strings(),
  volumesFrom: strings(),
  storageOpt: strings(),
  shmSize: strOrNum,
  ulimits: strings(),
  sysctls: either('an array of KEY=VALUE strings or an object of strings', [Array.isArray, strings()], [isPlainObject, stringRecord()]),
  oomScoreAdj: strOrNum,
  groupAdd: strings(),
  domainname: str(),
  cgroupParent: str(),
  labels: either('an array of KEY=VALUE strings or an object of strings', [Array.isArray, strings()], [isPlainObject, stringRecord()]),
  network: str(),
  pid: str(),
  ipc: str(),
  uts: str(),
  userns: str(),
  cgroupns: str(),
  ip: str(),
  mac: str(),
  dns: strings(),
  addHosts: strings(),
  publish: strings(),
  publishAll: bool,
  stopSignal: strOrNum,
  stopTimeout: strOrNum,
  networkAliases: strings(),
  links: strings(),
  dnsSearch: strings(),
  dnsOptions: strings(),
  expose: strings(),
  ip6: str(),
  platform: str(),
  runtime: str(),
  ...HEALTH_SCHEMA,
};

const SPAWN_SCHEMA: Schema = { ...CONTAINER_SCHEMA, ...STDIO_SCHEMA };
const EXEC_SCHEMA: Schema = { ...PROCESS_SCHEMA, ...STDIO_SCHEMA, cmd: strings({ nonEmpty: true }) };

/**
 * The options of run()/spawn() (`stdio`: with stdin, stdout, stderr, ttySize) or runDetached():
 * throws a one-line INVALID_ARGUMENT for the first thing wrong. `what` names the call ("run()").
 */
export function checkContainerOptions(o: unknown, what: string, stdio: boolean): asserts o is ContainerOptions {
  checkOptions(o, stdio ? SPAWN_SCHEMA : CONTAINER_SCHEMA, `the options of ${what}`, { required: ['image'] });
  const c = o as ContainerOptions;
  parseLimits(c);
  c.volumes?.forEach((v) => parseVolume(v));
  if (c.env !== undefined) envEntries(c.env);
  parseRestart(c.restart);
  parseLogOpts(c.logOpts);
  parseLogDriver(c.logDriver);
  parseSecurityOpts(c.securityOpt);
  checkDeviceOptions(c);
  runFlagsConfig(c);
  parseLabels(c.labels);
  parseNamespaceOptions(c);
  checkJoinedNetwork(c);
  checkStopOptions(c);
  checkNetworkExtras(c);
  checkRunMisc(c);
  parseHealthFlags(c);
}

/** The options of exec(), as checkContainerOptions. */
export function checkExecOptions(o: unknown, what = 'exec()'): asserts o is ExecOptions {
  checkOptions(o, EXEC_SCHEMA, `the options of ${what}`, { required: ['cmd'] });
  const e = o as ExecOptions;
  if (e.env !== undefined) envEntries(e.env);
}
