// Bundles the CLI into one file. Node 20 has no compile cache, and resolving and compiling ~40 small
// CommonJS modules costs ~20 ms per invocation: more than the container itself. The library
// (dist/index.js) stays unbundled for programmatic users.
import fs from 'node:fs';
import { build } from 'esbuild';

await build({
  // From tsc's output, not the TypeScript source: tsc emits plain require() for `import * as fs`,
  // where esbuild would copy every export of every builtin through __toESM (~2.5 ms per start).
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/cli/berth-cli.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // node-tar is large and only `import` needs it: it stays a runtime require from node_modules.
  external: ['tar', 'fzstd', 'cli-progress'],
  // Smaller source is less to read and hash before V8 can use its code cache (~1.5 ms per start).
  minify: true,
  // Chained through tsc's maps back to src/*.ts: BERTH_DEBUG's stack traces name real lines.
  sourcemap: true,
  // The package.json version is read at runtime, not inlined.
  logLevel: 'warning',
});

// The executable: a small launcher that runs the bundle through a V8 code cache.
fs.copyFileSync('scripts/cli-launcher.js', 'dist/cli/berth.js');
fs.chmodSync('dist/cli/berth.js', 0o755);

// berth-oci, bundled the same way: containerd's shim and conmon run it several times per container.
await build({
  entryPoints: ['dist/oci-cli/main.js'],
  outfile: 'dist/oci-cli/berth-oci-cli.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['tar', 'fzstd', 'cli-progress'],
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
fs.copyFileSync('scripts/cli-launcher.js', 'dist/oci-cli/berth-oci.js');
fs.chmodSync('dist/oci-cli/berth-oci.js', 0o755);
