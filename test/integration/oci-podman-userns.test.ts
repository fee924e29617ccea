// podman (Debian's, with conmon) running containers with --uidmap on berth-oci: podman makes the
// mappings, chowns the image for them and sends a user namespace in the config. Skipped only where
// podman, conmon, script or unshare is missing. BERTH_OCI_RUNTIME=/usr/sbin/runc runs it on runc.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostChanges, hostSnapshot, type HostSnapshot } from '../helpers/env';
import { missingProgram, ok, ociRuntimeUnderTest, PODMAN_PROGRAMS, startPodman, TEST_IMAGE, type Podman } from '../helpers/podman';

const missing = missingProgram(PODMAN_PROGRAMS);
const runtime = ociRuntimeUnderTest();

describe.skipIf(missing !== undefined)(
  `podman --uidmap on ${path.basename(runtime, '.js')}${missing ? ` (skipped: ${missing} is missing)` : ''}`,
  () => {
    let p: Podman;
    let before: HostSnapshot;

    beforeAll(async () => {
      p = await startPodman(runtime);
      before = hostSnapshot({ cgroupParent: p.cgroupParent.slice(1) });
    }, 120_000);

    afterAll(async () => {
      if (!p) return;
      await p.cleanup();
      expect(hostChanges(before, hostSnapshot({ cgroupParent: p.cgroupParent.slice(1) }))).toEqual([]);
    }, 120_000);

    it('run --uidmap 0:100000:65536: root inside, its mapping in /proc/self/uid_map', async () => {
      const out = ok(
        await p.podman([
          'run',
          '--rm',
          '--uidmap',
          '0:100000:65536',
          '--gidmap',
          '0:100000:65536',
          TEST_IMAGE,
          'sh',
          '-c',
          'id -u; cat /proc/self/uid_map; touch /tmp/x && echo wrote',
        ]),
      );
      const [uid, map, wrote] = out.trim().split('\n');
      expect([uid, map.trim().split(/\s+/), wrote]).toEqual(['0', ['0', '100000', '65536'], 'wrote']);
    });

    it('-d with --uidmap: the host sees the mapped uid, exec joins the namespace', async () => {
      const id = ok(
        await p.podman(['run', '-d', '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', TEST_IMAGE, 'sleep', '1000']),
      ).trim();
      const pid = Number(ok(await p.podman(['inspect', '--format', '{{.State.Pid}}', id])).trim());
      const status = await import('node:fs').then((fs) => fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe('100000');
      const ex = ok(await p.podman(['exec', id, 'sh', '-c', 'id -u; cat /proc/self/uid_map']));
      expect(
        ex
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/).join(' ')),
      ).toEqual(['0', '0 100000 65536']);
      ok(await p.podman(['stop', '-t', '0', id]));
      // Under load podman's unmount of the container's shm can find it still busy for a moment
      // after the exit (the dead mount namespace's last references go asynchronously): its rm then
      // reports EBUSY, yet removes the container, or a second rm does. Anything else fails.
      const rm = await p.podman(['rm', id]);
      if (rm.code !== 0) {
        expect(rm.stderr).toMatch(/userdata\/shm: device or resource busy/);
        await new Promise((r) => setTimeout(r, 500));
        const again = await p.podman(['rm', id]);
        if (again.code !== 0) expect(again.stderr).toMatch(/no container with name or ID .* found/);
      }
      expect(ok(await p.podman(['ps', '-a', '-q', '--no-trunc']))).not.toContain(id);
    });
  },
);
