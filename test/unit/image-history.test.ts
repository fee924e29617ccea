/** imageHistory on records: history entries paired with layers, and the fallback when they do not match. */
import { describe, expect, it } from 'vitest';
import { imageHistory } from '../../src/image/store/history';
import type { StoreParts } from '../../src/image/store/store-parts';
import type { ImageRecord } from '../../src/image/types';

const sizes: Record<string, number> = { c1: 100, c2: 20 };
const parts = { layers: { get: (chainId: string) => ({ size: sizes[chainId] }) } } as unknown as StoreParts;

function record(history: ImageRecord['config']['history']): ImageRecord {
  return {
    id: 'sha256:img',
    names: ['docker.io/library/x:1'],
    created: '2026-01-02T03:04:05Z',
    chainIds: ['c1', 'c2'],
    config: { rootfs: { type: 'layers', diff_ids: ['d1', 'd2'] }, history },
  } as unknown as ImageRecord;
}

describe('imageHistory', () => {
  it('pairs non-empty history entries with the layers bottom first and lists them newest first', () => {
    const rows = imageHistory(
      parts,
      record([
        { created: '2026-01-01T00:00:00Z', created_by: 'ADD rootfs' },
        { created: '2026-01-01T00:00:10Z', created_by: 'ENV A=1', empty_layer: true },
        { created: '2026-01-01T00:00:20Z', created_by: 'RUN make', comment: 'built' },
      ]),
    );
    expect(rows).toEqual([
      { Id: 'sha256:img', Tags: ['docker.io/library/x:1'], Created: 1767225620, CreatedBy: 'RUN make', Size: 20, Comment: 'built' },
      { Id: '<missing>', Tags: [], Created: 1767225610, CreatedBy: 'ENV A=1', Size: 0, Comment: '' },
      { Id: '<missing>', Tags: [], Created: 1767225600, CreatedBy: 'ADD rootfs', Size: 100, Comment: '' },
    ]);
  });

  it('lists one row per layer when the history is missing or does not account for every layer', () => {
    for (const history of [undefined, [{ created_by: 'only one' }]]) {
      const rows = imageHistory(parts, record(history));
      expect(rows.map((r) => [r.Id, r.Size, r.CreatedBy, r.Created])).toEqual([
        ['sha256:img', 20, '', 1767323045],
        ['<missing>', 100, '', 1767323045],
      ]);
    }
  });
});
