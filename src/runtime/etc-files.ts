import * as fs from 'node:fs';
import * as path from 'node:path';

/** /etc/hostname, /etc/hosts and /etc/resolv.conf for a container, bind-mounted over the image's. */
export function writeEtcFiles(dir: string, hostname: string): void {
  fs.writeFileSync(path.join(dir, 'hostname'), `${hostname}\n`);
  fs.writeFileSync(
    path.join(dir, 'hosts'),
    `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`,
  );
  let resolv = '';
  try {
    // Loopback resolvers of the host are unreachable from the container's own network namespace.
    resolv = fs.readFileSync('/etc/resolv.conf', 'utf8').split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l)).join('\n');
  } catch {
    /* a host without resolv.conf gives an empty one */
  }
  fs.writeFileSync(path.join(dir, 'resolv.conf'), resolv);
}
