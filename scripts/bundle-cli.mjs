// Bundles the command lines into one file each (berth, berth-oci). Node 20 has no compile cache,
// and resolving and compiling ~40 small CommonJS modules costs ~20 ms per invocation: more than the
// container itself (and conmon or containerd's shim run berth-oci several times per container).
// The library (dist/index.js) stays unbundled for programmatic users.
import fs from 'node:fs';
import { build } from 'esbuild';

async function bundle(entry, outfile, executable) {
  await build({
    // From tsc's output, not the TypeScript source: tsc emits plain require() for `import * as fs`,
    // where esbuild would copy every export of every builtin through __toESM (~2.5 ms per start).
    entryPoints: [entry],
    outfile,
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
  // The executable: the launcher that runs the bundle through a V8 code cache (it picks the bundle
  // by its own name).
  fs.copyFileSync('scripts/cli-launcher.js', executable);
  fs.chmodSync(executable, 0o755);
}

await bundle('dist/cli/main.js', 'dist/cli/berth-cli.js', 'dist/cli/berth.js');
await bundle('dist/oci-cli/main.js', 'dist/oci-cli/berth-oci-cli.js', 'dist/oci-cli/berth-oci.js');
