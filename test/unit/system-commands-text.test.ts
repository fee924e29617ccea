// The text of berth version, system info, system df and system prune, from plain data.
import { describe, expect, it } from 'vitest';
import { reclaimableText, summaryTable } from '../../src/cli/system-df';
import { binarySize, infoText } from '../../src/cli/system-info';
import { pruneText } from '../../src/cli/system-prune';
import { versionText } from '../../src/cli/version';
import type { DiskUsage } from '../../src/system/disk-usage';

describe('system df', () => {
  it("prints docker's summary with reclaimable shares", () => {
    const row = (total: number, active: number, size: number, reclaimable: number) => ({ total, active, size, reclaimable, items: [] });
    const u = {
      images: row(2, 1, 4_260_000, 2_130_000),
      containers: row(3, 1, 300, 200),
      volumes: row(1, 1, 0, 0),
      buildCache: { total: 0, active: 0, size: 0, reclaimable: 0 },
    } as unknown as DiskUsage;
    expect(summaryTable(u).split('\n')).toEqual([
      'TYPE            TOTAL   ACTIVE   SIZE     RECLAIMABLE',
      'Images          2       1        4.26MB   2.13MB (50%)',
      'Containers      3       1        300B     200B (66%)',
      'Local Volumes   1       1        0B       0B',
      'Build Cache     0       0        0B       0B',
      '',
    ]);
    expect(reclaimableText({ total: 1, active: 0, size: 10, reclaimable: 10 }, false)).toBe('10B');
  });
});

describe('system prune', () => {
  it('names what it deleted, then the total', () => {
    expect(
      pruneText({
        containers: ['c1'],
        networks: ['n1'],
        images: { untagged: ['busybox:latest'], deleted: ['sha256:aa'] },
        volumes: [],
        reclaimed: 2_000_000,
      }),
    ).toBe(
      'Deleted Containers:\nc1\n\nDeleted Networks:\nn1\n\nDeleted Images:\nuntagged: busybox:latest\ndeleted: sha256:aa\n\nTotal reclaimed space: 2.00MB\n',
    );
    expect(pruneText({ containers: [], networks: [], images: { untagged: [], deleted: [] }, volumes: [], reclaimed: 0 })).toBe(
      'Total reclaimed space: 0B\n',
    );
  });
});

describe('info and version', () => {
  it("lays docker info's fields out", () => {
    const text = infoText({
      Containers: 3,
      ContainersRunning: 1,
      ContainersPaused: 0,
      ContainersStopped: 2,
      Images: 4,
      ServerVersion: '0.1.0',
      Driver: 'overlay2',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: '2',
      KernelVersion: '6.1.0',
      OperatingSystem: 'Debian GNU/Linux 12 (bookworm)',
      Architecture: 'x86_64',
      NCPU: 2,
      MemTotal: 4 * 1024 ** 3,
      DockerRootDir: '/var/lib/berth',
    });
    for (const line of [
      ' Containers: 3',
      '  Running: 1',
      '  Paused: 0',
      '  Stopped: 2',
      ' Images: 4',
      ' Server Version: 0.1.0',
      ' Storage Driver: overlay2',
      ' Cgroup Driver: cgroupfs',
      ' Cgroup Version: 2',
      ' Kernel Version: 6.1.0',
      ' Operating System: Debian GNU/Linux 12 (bookworm)',
      ' Architecture: x86_64',
      ' CPUs: 2',
      ' Total Memory: 4GiB',
      ' Docker Root Dir: /var/lib/berth',
    ])
      expect(text.split('\n')).toContain(line);
    expect(binarySize(4_102_000_000)).toBe('3.82GiB');
  });

  it('has a client and a server section', () => {
    const text = versionText({
      Version: '0.1.0',
      ApiVersion: '1.43',
      MinAPIVersion: '1.24',
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: '6.1',
    });
    expect(text).toMatch(/^Client:\n Version: +0\.1\.0\n API version: +1\.43\n/);
    expect(text).toContain('\nServer: berth\n Engine:\n  Version:          0.1.0\n  API version:      1.43 (minimum version 1.24)\n');
  });
});
