/**
 * iptables rules of the native bridge driver, in chains of berth's own so that removal is exact:
 *
 *   nat    BERTH-NAT-<net id12>   from POSTROUTING: masquerading of the subnet going out through
 *                                 anything but its bridge; of 127.0.0.0/8 going to a published port
 *                                 (localhost -> container, with route_localnet on the bridge, as
 *                                 portmap's snat does); of hairpin traffic to a published port
 *          BERTH-DNAT-<net id12>  from PREROUTING and OUTPUT (to a local address): jumps to the
 *                                 network's containers' chains
 *          BERTH-P-<ctr id16>     one container's DNAT rules (its published ports)
 *   filter BERTH-FWD-<net id12>   from FORWARD: the network's traffic accepted (a host whose
 *                                 FORWARD policy drops, as docker leaves it)
 *
 * The network's chains are installed once per network (at create, or at first use after a reboot
 * or a flush: a marker under the network's lease dir says they are in place), never per container.
 * A container's ports cost one iptables-restore on start and one on stop, none without ports.
 * An internal network has none of these.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { findTool } from './cni';
import { toolEnv } from './subnet';
import type { NetworkInfo, PortMapping } from './types';

const childProcess = (): typeof import('node:child_process') => require('node:child_process');

/** Where the marker of installed network rules lives: beside the network's leases (runRoot: gone
 *  after a reboot, like the rules). */
const MARKER = '.berth-rules';

export const natChain = (info: NetworkInfo) => `BERTH-NAT-${info.id.slice(0, 12)}`;
export const dnatChain = (info: NetworkInfo) => `BERTH-DNAT-${info.id.slice(0, 12)}`;
export const fwdChain = (info: NetworkInfo) => `BERTH-FWD-${info.id.slice(0, 12)}`;
export const portChain = (containerId: string) => `BERTH-P-${containerId.slice(0, 16)}`;

/** Jumps from the built-in chains: [table, chain, rule...]. */
function jumps(info: NetworkInfo): Array<[string, string, string[]]> {
  const c = ['-m', 'comment', '--comment', `berth network ${info.name}`];
  return [
    ['nat', 'POSTROUTING', [...c, '-j', natChain(info)]],
    ['nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', ...c, '-j', dnatChain(info)]],
    ['nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', ...c, '-j', dnatChain(info)]],
    ['filter', 'FORWARD', [...c, '-j', fwdChain(info)]],
  ];
}

/** The network's chains as an iptables-restore --noflush batch (declaring a chain creates it or
 *  empties it: running this twice gives the same rules). */
export function networkRulesBatch(info: NetworkInfo): string {
  const br = info.bridge;
  const s = info.subnet;
  const nat = natChain(info);
  const fwd = fwdChain(info);
  return [
    '*nat',
    `:${nat} - [0:0]`,
    `:${dnatChain(info)} - [0:0]`,
    `-A ${nat} -s ${s} ! -o ${br} -j MASQUERADE`,
    `-A ${nat} -s 127.0.0.0/8 -o ${br} -j MASQUERADE`,
    `-A ${nat} -s ${s} -o ${br} -m conntrack --ctstate DNAT -j MASQUERADE`,
    'COMMIT',
    '*filter',
    `:${fwd} - [0:0]`,
    `-A ${fwd} -i ${br} -j ACCEPT`,
    `-A ${fwd} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT`,
    'COMMIT',
    '',
  ].join('\n');
}

/** A container's published ports: its chain and the jump to it from the network's DNAT chain. */
export function portsBatch(info: NetworkInfo, containerId: string, ip: string, ports: PortMapping[]): string {
  const chain = portChain(containerId);
  const lines = ['*nat', `:${chain} - [0:0]`];
  for (const p of ports) {
    const dst = p.hostIP ? `-d ${p.hostIP}/32 ` : '';
    lines.push(
      `-A ${chain} ${dst}-p ${p.protocol} -m ${p.protocol} --dport ${p.hostPort} -j DNAT --to-destination ${ip}:${p.containerPort}`,
    );
  }
  lines.push(`-A ${dnatChain(info)} -j ${chain}`, 'COMMIT', '');
  return lines.join('\n');
}

/** Removal of a container's chain: the jump, its rules, the chain. */
export function portsRemovalBatch(dnat: string, containerId: string): string {
  const chain = portChain(containerId);
  return ['*nat', `-D ${dnat} -j ${chain}`, `-F ${chain}`, `-X ${chain}`, 'COMMIT', ''].join('\n');
}

function tool(name: string): string {
  const p = findTool(name);
  if (!p)
    throw new BerthError(
      'UNSUPPORTED',
      `${name} not found: bridge networks need it for NAT and published ports; install the Debian package iptables`,
    );
  return p;
}

function restore(batch: string): void {
  try {
    childProcess().execFileSync(tool('iptables-restore'), ['-w', '--noflush'], {
      input: batch,
      stdio: ['pipe', 'ignore', 'pipe'],
      env: toolEnv(),
    });
  } catch (e) {
    const err = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim();
    throw new BerthError('NETWORK_ERROR', `iptables-restore failed: ${err.replace(/\s*\n\s*/g, '; ')}`, { cause: e });
  }
}

/** Runs iptables; true on exit status 0. */
function iptables(args: string[]): boolean {
  const r = childProcess().spawnSync(tool('iptables'), ['-w', ...args], { stdio: 'ignore', env: toolEnv() });
  return r.status === 0;
}

export class NativeRules {
  constructor(private readonly dataDir: string) {}

  private marker(info: NetworkInfo): string {
    return path.join(this.dataDir, info.name, MARKER);
  }

  /** The network's chains and jumps, unless the marker says they are there. The caller holds the
   *  network's lock. */
  ensureNetwork(info: NetworkInfo): void {
    if (info.internal) return;
    const marker = this.marker(info);
    if (fs.existsSync(marker)) return;
    restore(networkRulesBatch(info));
    for (const [table, chain, rule] of jumps(info)) {
      if (!iptables(['-t', table, '-C', chain, ...rule]) && !iptables(['-t', table, '-A', chain, ...rule])) {
        throw new BerthError('NETWORK_ERROR', `iptables could not add the jump to ${rule[rule.length - 1]} in ${table} ${chain}`);
      }
    }
    fs.mkdirSync(path.dirname(marker), { recursive: true, mode: 0o755 });
    fs.writeFileSync(marker, `${info.id}\n`);
  }

  /** Every rule and chain of the network, leaked container chains included; idempotent. */
  removeNetwork(info: NetworkInfo): void {
    fs.rmSync(this.marker(info), { force: true });
    if (!findTool('iptables') || !findTool('iptables-save')) return;
    const dnat = dnatChain(info);
    let saved = '';
    try {
      saved = childProcess().execFileSync(tool('iptables-save'), ['-t', 'nat'], { encoding: 'utf8', env: toolEnv() });
    } catch {
      /* nothing to read: the deletes below still run */
    }
    const leaked = [...saved.matchAll(new RegExp(`^-A ${dnat} -j (BERTH-P-[0-9a-f]+)`, 'gm'))].map((m) => m[1]);
    for (const [table, chain, rule] of jumps(info)) {
      for (let i = 0; i < 10 && iptables(['-t', table, '-D', chain, ...rule]); i++);
    }
    for (const [table, chain] of [['nat', natChain(info)], ['nat', dnat], ...leaked.map((c) => ['nat', c]), ['filter', fwdChain(info)]]) {
      if (iptables(['-t', table, '-F', chain])) iptables(['-t', table, '-X', chain]);
    }
  }

  /** A container's published ports, one iptables-restore. */
  addPorts(info: NetworkInfo, containerId: string, ip: string, ports: PortMapping[]): void {
    if (ports.length > 0) restore(portsBatch(info, containerId, ip, ports));
  }

  /** Removes a container's port chain: one iptables-restore; if that fails (a part was gone
   *  already), each step alone. */
  removePorts(dnat: string, containerId: string): void {
    try {
      restore(portsRemovalBatch(dnat, containerId));
    } catch {
      const chain = portChain(containerId);
      for (let i = 0; i < 10 && iptables(['-t', 'nat', '-D', dnat, '-j', chain]); i++);
      if (iptables(['-t', 'nat', '-F', chain])) iptables(['-t', 'nat', '-X', chain]);
    }
  }
}
