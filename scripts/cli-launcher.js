#!/usr/bin/env -S node --
// (`--`: Node 20 would otherwise take a `--env-file` of the command line for its own, nodejs/node#54232)
// The executables berth and berth-oci (this file, copied under both names by scripts/bundle-cli.mjs).
// Each runs its bundled command line through a V8 code cache kept beside it: Node 20 has no
// built-in compile cache, and compiling a bundle on every invocation costs ~4 ms, a tenth of Node's
// own startup (and conmon or containerd's shim run berth-oci several times per container). A
// missing, stale or unwritable cache only costs that time back.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const Module = require('module');

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
tool.start(mod.exports);
