/**
 * CNI plugin invocation per the CNI specification 1.0: the command and container in the environment,
 * one plugin's configuration (with name, cniVersion, runtimeConfig and prevResult) on stdin, the
 * result or an error object on stdout. Chains run in order for ADD and CHECK, in reverse for DEL.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import type { Conflist, PluginConf } from './config';
import { toolEnv } from './subnet';

const childProcess = (): typeof import('node:child_process') => require('node:child_process');

/** Where Debian's containernetworking-plugins puts the plugins, then the upstream default. */
export const DEFAULT_CNI_PATH = ['/usr/lib/cni', '/opt/cni/bin'];

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: object;
}

export interface CniCall {
  containerId: string;
  /** Path of the container's network namespace; '' when it is gone (DEL only). */
  netns: string;
  ifname: string;
  /** CNI_ARGS, e.g. IgnoreUnknown=1;IP=10.231.1.5 */
  args?: string;
  /** What the plugins' capabilities ask for, e.g. { portMappings: [...] }. */
  runtimeConfig?: Record<string, unknown>;
  cniPath?: string[];
  /** For messages: the container's name. */
  label?: string;
}

/** The plugin's executable, or an error naming the Debian package. */
export function findPlugin(type: string, cniPath: string[] = DEFAULT_CNI_PATH): string {
  if (!/^[a-zA-Z0-9_.-]+$/.test(type)) throw new BerthError('INVALID_ARGUMENT', `Invalid CNI plugin type "${type}"`);
  for (const dir of cniPath) {
    const p = path.join(dir, type);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next directory */
    }
  }
  throw new BerthError(
    'UNSUPPORTED',
    `CNI plugin "${type}" not found in ${cniPath.join(', ')}: install the Debian package containernetworking-plugins`,
  );
}

/** An executable on PATH (the system directories included), or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of (toolEnv().PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export function requireIptables(): void {
  if (!findTool('iptables'))
    throw new BerthError(
      'UNSUPPORTED',
      'iptables not found: bridge networks need it for NAT and published ports; install the Debian package iptables',
    );
}

/** The configuration one plugin of a chain reads on stdin. */
export function pluginInput(list: Conflist, plugin: PluginConf, call: CniCall, prevResult?: CniResult): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const caps = plugin.capabilities as Record<string, boolean> | undefined;
  if (caps && call.runtimeConfig) {
    const rc: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(call.runtimeConfig)) if (caps[k]) rc[k] = v;
    if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  }
  if (prevResult) conf.prevResult = prevResult;
  return conf;
}

/** Runs one plugin; returns its parsed stdout (the result of ADD, nothing for DEL/CHECK). */
export function invokePlugin(
  command: CniCommand,
  list: Conflist,
  plugin: PluginConf,
  call: CniCall,
  prevResult?: CniResult,
): CniResult | undefined {
  const exe = findPlugin(plugin.type, call.cniPath);
  const r = childProcess().spawnSync(exe, [], {
    input: JSON.stringify(pluginInput(list, plugin, call, prevResult)),
    env: toolEnv({
      CNI_COMMAND: command,
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.netns,
      CNI_IFNAME: call.ifname,
      CNI_ARGS: call.args ?? '',
      CNI_PATH: (call.cniPath ?? DEFAULT_CNI_PATH).join(':'),
    }),
    encoding: 'utf8',
    maxBuffer: 4 * 1024 * 1024,
    timeout: 60_000,
  });
  const where = `${command} ${call.label ?? call.containerId.slice(0, 12)} on network ${list.name}`;
  if (r.error) {
    throw new BerthError('NETWORK_ERROR', `CNI plugin ${plugin.type} (${where}) could not run: ${r.error.message}`, { cause: r.error });
  }
  if (r.status !== 0) {
    throw new BerthError(
      'NETWORK_ERROR',
      `CNI plugin ${plugin.type} failed (${where}): ${pluginErrorText(r.stdout, r.stderr, r.status, r.signal)}`,
    );
  }
  if (command !== 'ADD') return undefined;
  try {
    return JSON.parse(r.stdout) as CniResult;
  } catch {
    throw new BerthError(
      'NETWORK_ERROR',
      `CNI plugin ${plugin.type} (${where}) printed no result JSON: ${oneLine(r.stdout).slice(0, 200)}`,
    );
  }
}

/** The spec's error object {code, msg, details} as one line; else whatever the plugin printed. */
export function pluginErrorText(stdout: string, stderr: string, status: number | null, signal: NodeJS.Signals | null): string {
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    if (e && typeof e.msg === 'string') return oneLine(e.details ? `${e.msg}: ${e.details}` : e.msg);
  } catch {
    /* not JSON */
  }
  const text = oneLine(`${stdout} ${stderr}`.trim());
  return text || (signal ? `killed by ${signal}` : `exit status ${status}`);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, '; ').trim();
}

/** ADD through the chain; on a failure the plugins already run are undone (DEL) before it is thrown. */
export function addChain(list: Conflist, call: CniCall): CniResult {
  let prev: CniResult | undefined;
  const done: PluginConf[] = [];
  try {
    for (const plugin of list.plugins) {
      done.push(plugin);
      prev = invokePlugin('ADD', list, plugin, call, prev) ?? prev;
    }
  } catch (e) {
    try {
      delChain({ ...list, plugins: done }, call, prev);
    } catch {
      /* the ADD error is the one to report */
    }
    throw e;
  }
  if (!prev) throw new BerthError('NETWORK_ERROR', `The CNI chain of network ${list.name} returned no result`);
  return prev;
}

/**
 * DEL through the chain in reverse. Every plugin is tried even when one fails (so that what can be
 * released is); the first failure is thrown afterwards. DEL is idempotent for every plugin berth
 * uses: deleting what is already gone succeeds.
 */
export function delChain(list: Conflist, call: CniCall, prevResult?: CniResult): void {
  let first: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      invokePlugin('DEL', list, plugin, call, prevResult);
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}

/** CHECK through the chain: throws when the container's networking is not as ADD left it. */
export function checkChain(list: Conflist, call: CniCall, prevResult: CniResult): void {
  for (const plugin of list.plugins) invokePlugin('CHECK', list, plugin, call, prevResult);
}

/** The container side of an ADD result: its interface's MAC and first IPv4 address. */
export function containerAddress(result: CniResult, ifname: string): { ip: string; prefixLength: number; gateway?: string; mac: string } {
  const ifaces = result.interfaces ?? [];
  const idx = ifaces.findIndex((i) => i.name === ifname && !!i.sandbox);
  const ipEntry = (result.ips ?? []).find((i) => (idx < 0 || i.interface === undefined || i.interface === idx) && !i.address.includes(':'));
  if (!ipEntry) throw new BerthError('NETWORK_ERROR', `The CNI result gave the container no IPv4 address: ${JSON.stringify(result)}`);
  const [ip, prefix] = ipEntry.address.split('/');
  return {
    ip,
    prefixLength: Number(prefix),
    ...(ipEntry.gateway ? { gateway: ipEntry.gateway } : {}),
    mac: idx >= 0 ? (ifaces[idx].mac ?? '') : '',
  };
}
