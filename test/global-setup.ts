// Tests run what the source says: the CLI tests and the shim's exit command run dist/ and
// build/Release, the API tests run src/. Before any test, whatever is older than its sources is
// rebuilt, so an edit to src/cli or native/ can never go silently untested.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './helpers/paths';

function newestMtime(dir: string, keep: (file: string) => boolean): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full, keep));
    else if (keep(entry.name)) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

const mtime = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;

function run(script: string): void {
  console.log(`global setup: sources changed, running npm run ${script}`);
  execFileSync('npm', ['run', script], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** tsc, then the CLI bundle. A type error does not stop the tests (tsc still emits, and the type
 *  check is lint's job): they run the source as written either way. */
function buildTypeScript(): void {
  console.log('global setup: sources changed, building dist/');
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch {
    console.warn('global setup: tsc reported errors (see above); testing what it emitted');
  }
  execFileSync(process.execPath, ['scripts/bundle-cli.mjs'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}

export default function setup(): void {
  const at = (...p: string[]) => path.join(REPO_ROOT, ...p);
  const native = Math.max(
    newestMtime(at('native'), (f) => /\.(cc|c|h)$/.test(f)),
    mtime(at('binding.gyp')),
  );
  // make relinks only what changed, so the outputs' own times may stay older than an edited test
  // source: a stamp says when the last build ran.
  const stamp = at('build', '.native-built');
  const outputs = ['berth.node', 'berth-shim', 'berth-nsenter', 'berth-init', 'berth-oci', 'berth-health'].map((f) =>
    mtime(at('build', 'Release', f)),
  );
  const built = Math.min(...outputs) === 0 ? 0 : Math.max(Math.min(...outputs), mtime(stamp));
  if (native > built) {
    run('build:native');
    fs.writeFileSync(stamp, '');
  }
  const ts = Math.max(
    newestMtime(at('src'), (f) => f.endsWith('.ts')),
    mtime(at('scripts', 'bundle-cli.mjs')),
    mtime(at('scripts', 'cli-launcher.js')),
  );
  if (ts > mtime(at('dist', 'cli', 'berth-cli.js'))) buildTypeScript();
}
