#!/usr/bin/env -S node --
// (`--`: Node 20 would otherwise take a `--env-file` of the command line for its own, nodejs/node#54232)
// The executables berth and berth-oci (this file, copied under both names by scripts/bundle-cli.mjs).
// Each runs its bundled command line through a V8 code cache kept beside it: Node 20 has no
// built-in compile cache, and compiling a bundle on every invocation costs ~4 ms, a tenth of Node's
// own startup (and conmon or containerd's shim run berth-oci several times per container). A
// missing, stale or unwritable cache only costs that time back. berth has two bundles: a small
// core that answers --version, --help and mistakes, and the commands, which the core loads through
// loadBundle below on first use (scripts/bundle-cli.mjs).
// Not Node's startup snapshot (--snapshot-blob): on Node 20 starting from a user-land snapshot that
// does nothing already costs more than this file with its core bundle (bench/cold-start.mjs prints
// both rows), and a blob is tied to the exact node binary, so it would need an install step.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
// The CommonJS loader's class, as this module's own: require('module') would also load the ESM
// loader and the source map support (~1 ms) that nothing here uses.
const Module = module.constructor;

// One cache per command: V8 caches the functions a run compiled, and `run` needs others than `ps`.
// Unknown words share one file, so arbitrary arguments cannot multiply cache files.
const TOOLS = {
  'berth.js': {
    bundle: 'berth-cli.js',
    commands: ['run', 'ps', 'rm', 'inspect', 'import', 'images', 'rmi', 'pull', 'tag', 'exec', 'logs', 'stop', 'start', 'kill'],
    // the CLI bundle runs its command line when loaded
    start: () => {},
  },
  'berth-oci.js': {
    bundle: 'berth-oci-cli.js',
    commands: [
      'create',
      'start',
      'state',
      'kill',
      'delete',
      'run',
      'exec',
      'ps',
      'list',
      'pause',
      'resume',
      'update',
      'events',
      'features',
      'spec',
    ],
    // the bundle only defines: running the command line is the launcher's call (tests import main.ts)
    start: (exports) => exports.cli(),
  },
};
const tool = TOOLS[path.basename(__filename)] ?? TOOLS['berth.js'];
const file = path.join(__dirname, tool.bundle);
if (process.env.BERTH_DEBUG) {
  // Debugging: stack traces through the source maps to src/*.ts, at the cost of the code cache.
  process.setSourceMapsEnabled(true);
  tool.start(require(file));
  return;
}
const command = process.argv.slice(2).find((a) => tool.commands.includes(a)) ?? 'other';

/** Runs a bundle of this directory (a CommonJS module) through its code cache for `command`. */
function load(file) {
  const cacheFile = `${file}.${process.version}.${command}.cache`;
  const source = fs.readFileSync(file, 'utf8').replace(/^#!.*/, '');
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(__dirname);
  if (cachedData === undefined || script.cachedDataRejected) {
    // Written at exit, so the cache holds every function this run compiled, not just the top level.
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        // read-only install or not root: run uncached
      }
    });
  }
  script.runInThisContext().call(mod.exports, mod.exports, (id) => mod.require(id), mod, file, __dirname);
  mod.loaded = true;
  return mod.exports;
}

// berth's core bundle loads the commands bundle on first use of a command (scripts/bundle-cli.mjs).
const loaded = new Map();
globalThis[Symbol.for('berth.cli.loadBundle')] = (name) => {
  const bundle = path.join(__dirname, name);
  if (!loaded.has(bundle)) loaded.set(bundle, load(bundle));
  return loaded.get(bundle);
};
tool.start(load(file));
