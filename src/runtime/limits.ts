import * as fs from 'node:fs';
import * as os from 'node:os';
import { BerthError, invalid } from '../errors';
import { quote } from '../util/quote';

/** Resource limits of one container, already parsed into numbers. Undefined means "no limit". */
export interface ResourceLimits {
  memory?: number;
  /** Memory plus swap, in bytes; -1 for unlimited swap. */
  memorySwap?: number;
  /** CPUs as a decimal (1.5 = one and a half CPUs of time per period). */
  cpus?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
}

/** Spaces and tabs around a number are forgiven; a line break or an NBSP is not: .trim() and \s
 *  count them as blank, but a value with one was pasted or generated, not typed. */
const unpad = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, '');

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
/** docker refuses less than this: the runtime itself needs some memory to start a process. */
export const MIN_MEMORY = 6 * 1024 * 1024;

/** "64m", "1g", "512k", "1048576", "64MB", "64MiB": bytes (powers of 1024, as docker). */
export function parseBytes(value: string, option: string): number {
  const m = /^[ \t]*(\d+(?:\.\d+)?)[ \t]*([kmgt]?)(?:i?b)?[ \t]*$/i.exec(value);
  if (!m) throw invalid(option, 'a memory size like 64m, 512k or 1g', value);
  const bytes = Math.floor(parseFloat(m[1]) * UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw invalid(option, 'a memory size like 64m, 512k or 1g', value);
  return bytes;
}

export function parseMemory(value: string, option = '--memory'): number {
  const bytes = parseBytes(value, option);
  if (bytes < MIN_MEMORY) throw invalid(option, 'a memory size of at least 6m', value);
  return bytes;
}

/** --memory-swap: total of memory and swap, or -1 for unlimited swap. */
export function parseMemorySwap(value: string, memory: number | undefined): number {
  if (unpad(value) === '-1') return -1;
  const bytes = parseBytes(value, '--memory-swap');
  if (memory === undefined) throw invalid('--memory-swap', 'a --memory limit as well (the swap limit is memory plus swap)', value);
  if (bytes < memory) throw invalid('--memory-swap', `a size at least as large as --memory (${memory} bytes)`, value);
  return bytes;
}

/** --cpus, at most the CPUs this process may run on (docker's bound: more could never be used,
 *  and is a typo far more often than a plan). */
export function parseCpus(value: string, hostCpus: number = os.availableParallelism()): number {
  const n = Number(value);
  // The kernel's smallest CFS quota is 1 ms of a 100 ms period: 0.01 CPUs, as docker enforces.
  if (!/^[ \t]*\d*\.?\d+[ \t]*$/.test(value) || !(n >= 0.01)) throw invalid('--cpus', 'a number of CPUs from 0.01, like 0.5 or 2', value);
  if (n > hostCpus) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Expected a number of CPUs from 0.01 to ${hostCpus.toFixed(2)} for --cpus but received ${quote(value)}: there ${hostCpus === 1 ? 'is only 1 CPU' : `are only ${hostCpus} CPUs`} available`,
    );
  }
  return n;
}

export function parseCpuShares(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(unpad(value)) || n < 2 || n > 262144) throw invalid('--cpu-shares', 'an integer from 2 to 262144', value);
  return n;
}

export function parsePidsLimit(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(unpad(value)) || !Number.isSafeInteger(n) || (n < 1 && n !== -1))
    throw invalid('--pids-limit', 'a positive integer, or -1 for unlimited', value);
  return n;
}

/** Expands a cpuset list like "0-2,4" to its CPU numbers; throws on malformed input. */
export function parseCpuList(value: string, option = '--cpuset-cpus'): number[] {
  const cpus = new Set<number>();
  // trim(): the sysfs files this also reads end in a newline
  const trimmed = value.trim();
  if (trimmed === '') throw invalid(option, 'a CPU list like 0-1,3', value);
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(unpad(part));
    if (!m) throw invalid(option, 'a CPU list like 0-1,3', value);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 8191) throw invalid(option, 'a CPU list like 0-1,3', value);
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The CPUs this machine has online, from sysfs. */
export function onlineCpus(file = '/sys/devices/system/cpu/online'): number[] {
  return parseCpuList(fs.readFileSync(file, 'utf8'), file);
}

export function parseCpuset(value: string, online: number[] = onlineCpus()): string {
  if (unpad(value) !== value.trim()) throw invalid('--cpuset-cpus', 'a CPU list like 0-1,3', value);
  const wanted = parseCpuList(value);
  const missing = wanted.filter((c) => !online.includes(c));
  if (missing.length > 0) {
    throw invalid('--cpuset-cpus', `CPUs this machine has (${formatCpuList(online)})`, value);
  }
  return formatCpuList(wanted);
}

export function formatCpuList(cpus: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length;) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
