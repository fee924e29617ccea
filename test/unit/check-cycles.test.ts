import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths';

const check = (dir: string) =>
  spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'check-cycles.mjs'), dir], { encoding: 'utf8' });

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cycles-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('scripts/check-cycles.mjs', () => {
  it('finds no runtime import cycle in src/', () => {
    const r = check(path.join(REPO_ROOT, 'src'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('fails on a ring of value imports and names its modules', () => {
    const dir = tree({
      'a.ts': "import { b } from './b';\nexport const a = b;\n",
      'b.ts': "import { a } from './a';\nexport const b = () => a;\n",
    });
    const r = check(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/runtime import cycle: .*a\.ts <-> .*b\.ts/);
    fs.rmSync(dir, { recursive: true });
  });

  it('lets type-only imports and lazy requires close a ring', () => {
    const dir = tree({
      'a.ts': "import type { B } from './b';\nimport { type C } from './c';\nexport const a = (x: B, y: C) => [x, y];\n",
      'b.ts': "import { a } from './a';\nexport type B = typeof a;\n",
      'c.ts': "export type C = number;\nexport function late() { return require('./b'); }\n",
    });
    const r = check(dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    fs.rmSync(dir, { recursive: true });
  });
});
