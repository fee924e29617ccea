// Writes test/fixtures/native/plan-golden.bin: encodePlan (src/native/plan-codec.ts) applied to
// plan-golden.json beside it. The C++ decoder is tested against these bytes (native/tests) and
// test/unit/native.test.ts re-encodes the JSON and compares, so the two sides of the format are
// pinned to one file. Run it only after changing the format on both sides: `node scripts/plan-golden.mjs`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.join(root, 'test/fixtures/native');

// The codec from its TypeScript source (it imports only types), not from a dist/ that may be stale.
const out = await build({
  entryPoints: [path.join(root, 'src/native/plan-codec.ts')],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
const code = Buffer.from(out.outputFiles[0].contents).toString('base64');
const { encodePlan } = await import(`data:text/javascript;base64,${code}`);

const plan = JSON.parse(fs.readFileSync(path.join(fixtures, 'plan-golden.json'), 'utf8'));
// JSON has no bytes: the compiled seccomp program is kept there as hex
plan.seccompFilter = Buffer.from(plan.seccompFilter, 'hex');
const bytes = encodePlan(plan);
fs.writeFileSync(path.join(fixtures, 'plan-golden.bin'), bytes);
console.log(`wrote ${bytes.length} bytes to test/fixtures/native/plan-golden.bin`);
