// Bundles the command lines into few files (berth, berth-oci). Node 20 has no compile cache,
// and resolving and compiling ~40 small CommonJS modules costs ~20 ms per invocation: more than the
// container itself (and conmon or containerd's shim run berth-oci several times per container).
// The library (dist/index.js) stays unbundled for programmatic users.
//
// berth is two bundles, so that a start which runs no command (`--version`, `--help`, a mistyped
// command) reads and deserializes ~20 KB instead of ~450 KB (~4 ms, a tenth of Node's own start):
//   berth-cli.js           main.ts, the command table and what they import (flags, help, errors)
//   berth-cli-commands.js  every command's module, loaded by the table's loaders on first use
// The commands bundle takes the modules both import from the core bundle (one BerthError class,
// one quote()): the core publishes them under a global symbol before main runs.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const SHARED = "Symbol.for('berth.cli.shared')";
// Set by the launcher: loads a bundle of its directory through a V8 code cache (a plain require
// when absent, e.g. under BERTH_DEBUG).
const LOAD = "Symbol.for('berth.cli.loadBundle')";

const common = {
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
  logLevel: 'warning',
};

/** The executable: the launcher that runs the bundle through a V8 code cache (it picks the bundle
 *  by its own name). */
function launcher(executable) {
  // A code cache whose bundle changed is normally rejected by V8, but V8 checks only the source's
  // length: drop them all with the bundle they were made from.
  const dir = path.dirname(executable);
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.cache')) fs.rmSync(path.join(dir, f), { force: true });
  fs.copyFileSync('scripts/cli-launcher.js', executable);
  fs.chmodSync(executable, 0o755);
}

async function bundle(entry, outfile, executable) {
  // From tsc's output, not the TypeScript source: tsc emits plain require() for `import * as fs`,
  // where esbuild would copy every export of every builtin through __toESM (~2.5 ms per start).
  await build({ ...common, entryPoints: [entry], outfile });
  launcher(executable);
}

// Node's modules that its startup has not loaded already, and that a module requires at its top
// but most commands never call: the commands bundle initializes every module of the API at once
// (index.ts imports them all), so `ps` loaded child_process, net, dgram and the streams (~3 ms).
// Each becomes an object that requires the module on first use of one of its properties. Not
// worker_threads: the unpack worker's function is sent to the worker as source
// (image/archive/file-writers.ts) and requires it there, where the bundle's names do not exist; a
// function sent that way must require only modules outside this list.
const LAZY_BUILTINS = /^node:(child_process|net|dgram|stream|crypto|zlib|tty|readline|os)$/;
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: LAZY_BUILTINS }, (a) =>
      a.namespace === 'lazy-builtin' || a.kind !== 'require-call'
        ? { path: a.path, external: true }
        : { path: a.path, namespace: 'lazy-builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({
      contents: `let m;
const load = () => (m ??= require(${JSON.stringify(a.path)}));
// configurable: a proxy may not report a property its (empty) target lacks as non-configurable
const own = (k) => { const d = Reflect.getOwnPropertyDescriptor(load(), k); if (d) d.configurable = true; return d; };
module.exports = new Proxy({}, { get: (_, k) => load()[k], has: (_, k) => k in load(), ownKeys: () => Reflect.ownKeys(load()), getOwnPropertyDescriptor: (_, k) => own(k) });
`,
      loader: 'js',
    }));
  },
};

/** berth's two bundles. `table` is the module whose relative imports are the commands. */
async function splitBundle(entry, table, coreFile, commandsFile, executable) {
  const dir = path.dirname(entry);
  const abs = (p) => path.resolve(p);
  // the key both bundles name a module by: its path in the package
  const key = (p) => path.relative(process.cwd(), p);
  const commandModules = new Set();
  // The table's loaders require a command module: in the core, each becomes a stub that takes it
  // from the commands bundle.
  const stubCommands = {
    name: 'stub-commands',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (a) => {
        if (abs(a.importer) !== abs(table) || a.kind !== 'require-call') return undefined;
        const file = abs(path.join(a.resolveDir, a.path)) + '.js';
        // the table's static imports (help, flags) stay in the core
        if (!a.path.match(/^\.\/[\w-]+$/) || ['./help', './flags', './command'].includes(a.path)) return undefined;
        commandModules.add(file);
        return { path: file, namespace: 'command-stub' };
      });
      b.onResolve({ filter: /^\.\/berth-cli-commands\.js$/ }, (a) => ({ path: a.path, external: true }));
      b.onLoad({ filter: /.*/, namespace: 'command-stub' }, (a) => ({
        contents:
          `const load = globalThis[${LOAD}] ?? require;\n` +
          `module.exports = load(${JSON.stringify('./' + path.basename(commandsFile))})[${JSON.stringify(key(a.path))}];\n`,
        resolveDir: path.dirname(coreFile),
        loader: 'js',
      }));
    },
  };
  // Pass 1: the core's module set.
  const first = await build({ ...common, entryPoints: [entry], write: false, outfile: coreFile, metafile: true, plugins: [stubCommands] });
  const coreModules = Object.keys(first.metafile.inputs)
    .filter((f) => !f.startsWith('command-stub:') && abs(f) !== abs(entry))
    .map(abs);
  // Pass 2: the core, publishing its modules before main runs.
  const publish = {
    name: 'publish-core',
    setup(b) {
      b.onResolve({ filter: /^berth-core-entry$/ }, () => ({ path: 'entry', namespace: 'core-entry' }));
      b.onLoad({ filter: /.*/, namespace: 'core-entry' }, () => ({
        contents:
          `globalThis[${SHARED}] = {\n` +
          coreModules.map((f) => `  ${JSON.stringify(key(f))}: require(${JSON.stringify(f)}),`).join('\n') +
          `\n};\nrequire(${JSON.stringify(abs(entry))});\n`,
        resolveDir: dir,
        loader: 'js',
      }));
    },
  };
  await build({ ...common, entryPoints: ['berth-core-entry'], outfile: coreFile, plugins: [publish, stubCommands] });
  // The commands bundle: every command module, the core's modules taken from the core.
  const fromCore = {
    name: 'from-core',
    setup(b) {
      b.onResolve({ filter: /^berth-commands-entry$/ }, () => ({ path: 'entry', namespace: 'commands-entry' }));
      b.onLoad({ filter: /.*/, namespace: 'commands-entry' }, () => ({
        contents: [...commandModules].map((f) => `exports[${JSON.stringify(key(f))}] = require(${JSON.stringify(f)});`).join('\n'),
        resolveDir: dir,
        loader: 'js',
      }));
      b.onResolve({ filter: /.*/ }, async (a) => {
        if (a.pluginData === 'inner' || a.namespace === 'commands-entry' || a.kind === 'entry-point') return undefined;
        const r = await b.resolve(a.path, { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir, pluginData: 'inner' });
        if (r.errors.length > 0 || r.external || !coreModules.includes(abs(r.path))) return undefined;
        return { path: abs(r.path), namespace: 'core-module' };
      });
      b.onLoad({ filter: /.*/, namespace: 'core-module' }, (a) => ({
        contents: `module.exports = globalThis[${SHARED}][${JSON.stringify(key(a.path))}];\n`,
        loader: 'js',
      }));
    },
  };
  await build({ ...common, entryPoints: ['berth-commands-entry'], outfile: commandsFile, plugins: [lazyBuiltins, fromCore] });
  launcher(executable);
}

await splitBundle(
  'dist/cli/main.js',
  'dist/cli/commands.js',
  'dist/cli/berth-cli.js',
  'dist/cli/berth-cli-commands.js',
  'dist/cli/berth.js',
);
await bundle('dist/oci-cli/main.js', 'dist/oci-cli/berth-oci-cli.js', 'dist/oci-cli/berth-oci.js');
