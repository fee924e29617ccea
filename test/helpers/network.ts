import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chooseSubnet, formatCidr, hostPrefixes, type Cidr } from '../../src/network/subnet';

/** Network state of the host a test must leave as it found it. */
export interface NetSnapshot {
  links: string[];
  /** iptables-save lines without counters and comments, sorted. */
  iptables: string[];
  ipForward: string;
}

export function netSnapshot(): NetSnapshot {
  return { links: links(), iptables: iptablesRules(), ipForward: fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() };
}

export function links(): string[] {
  return fs.readdirSync('/sys/class/net').sort();
}

export function iptablesRules(): string[] {
  let out = '';
  try {
    out = execFileSync('iptables-save', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  return (
    out
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
      // a table and built-in chains with the ACCEPT policy, and nothing in them, is what no table is:
      // iptables-nft creates them on first use (the plugins') and has no way to delete a table
      .filter((l) => !l.startsWith('*') && l !== 'COMMIT' && !/^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT$/.test(l))
      .sort()
  );
}

/** What differs, readable: `+ link veth1234`, `- -A POSTROUTING ...`. */
export function netChanges(before: NetSnapshot, after?: NetSnapshot, opts: { ipForward?: boolean } = {}): string[] {
  if (after) return netDiff(before, after, opts);
  // The native bridge driver leaves a released veth to the kernel, which removes it with the
  // container's namespace on a worker of its own (tens of ms, longer when namespaces die in a
  // burst): a container's host end (bv...) may outlive its stop by that much. Only those are
  // waited for, up to 2 s; anything else, or a veth still there then, is a leak. A host end the
  // snapshot caught while the kernel was removing it (`- link bv...`) is no change of the test's.
  const deadline = Date.now() + 2000;
  for (;;) {
    const out = netDiff(before, netSnapshot(), opts).filter((c) => !c.startsWith('- link bv'));
    if (Date.now() > deadline || out.length === 0 || !out.every((c) => c.startsWith('+ link bv'))) return out;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
  }
}

function netDiff(before: NetSnapshot, after: NetSnapshot, opts: { ipForward?: boolean }): string[] {
  const out: string[] = [];
  const diff = (kind: string, a: string[], b: string[]) => {
    for (const x of b) if (!a.includes(x)) out.push(`+ ${kind} ${x}`);
    for (const x of a) if (!b.includes(x)) out.push(`- ${kind} ${x}`);
  };
  diff('link', before.links, after.links);
  diff('iptables', before.iptables, after.iptables);
  if (opts.ipForward && before.ipForward !== after.ipForward) out.push(`ip_forward ${before.ipForward} -> ${after.ipForward}`);
  return out;
}

/**
 * Undoes what the CNI plugins left in iptables since `before` and that no DEL removes: portmap's
 * CNI-HOSTPORT-* chains and their jumps (the plugin creates them once per host and never deletes
 * them). Touches only CNI-* chains and rules jumping to them that were not there before, and only
 * once none of them holds a container's rule any more.
 */
export function removeCniBaseChains(before: NetSnapshot): void {
  const now = iptablesRules();
  const added = now.filter((l) => !before.iptables.includes(l));
  let table = '';
  const byTable = new Map<string, { rules: string[]; chains: string[] }>();
  const full = execFileSync('iptables-save', { encoding: 'utf8' }).split('\n');
  for (const l of full) {
    if (l.startsWith('*')) table = l.slice(1);
    const norm = l.replace(/ \[\d+:\d+\]$/, '');
    if (!added.includes(norm)) continue;
    const t = byTable.get(table) ?? { rules: [], chains: [] };
    byTable.set(table, t);
    if (/^-A \S+ .*-j CNI-/.test(norm) || /^-A CNI-/.test(norm)) t.rules.push(norm);
    else if (/^:CNI-/.test(norm)) t.chains.push(norm.slice(1).split(' ')[0]);
  }
  for (const [t, { rules, chains }] of byTable) {
    for (const r of rules) {
      const args = splitRule(r.replace(/^-A /, '-D '));
      execFileSync('iptables', ['-w', '-t', t, ...args], { stdio: 'ignore' });
    }
    for (const c of chains) execFileSync('iptables', ['-w', '-t', t, '-X', c], { stdio: 'ignore' });
  }
}

/** iptables-save quotes comments: split like a shell would. */
function splitRule(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rule))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return out;
}

export function restoreIpForward(before: NetSnapshot): void {
  fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', `${before.ipForward}\n`);
}

/** /24s of 10.231.0.0/16 that overlap nothing on this host, distinct from each other. */
export function testSubnets(n: number): string[] {
  const taken: Cidr[] = hostPrefixes();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = chooseSubnet(taken, [['10.231.0.0', '10.231.255.0']]);
    if (!c) throw new Error('no free /24 in 10.231.0.0/16 on this host');
    taken.push(c);
    out.push(formatCidr(c));
  }
  return out;
}

/** Addresses host-local holds for a network (files named like an address). */
export function leases(runRoot: string, network: string): string[] {
  try {
    return fs
      .readdirSync(path.join(runRoot, 'cni', 'networks', network))
      .filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
      .sort();
  } catch {
    return [];
  }
}

/** A TCP port nothing on the host listens on, from a range tests own. */
export function freeHostPort(from = 38100): number {
  const listening = new Set<number>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') listening.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  for (let p = from; p < from + 1000; p++) if (!listening.has(p)) return p;
  throw new Error('no free port');
}
