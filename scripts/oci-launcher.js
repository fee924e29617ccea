#!/usr/bin/env node
// berth-oci's executable. As scripts/cli-launcher.js does for berth: it runs the bundled command line
// (berth-oci-cli.js) through a V8 code cache kept beside it, since Node 20 has no compile cache of
// its own and a caller such as conmon or containerd's shim runs berth-oci several times for each
// container. A missing, stale or unwritable cache only costs the compile time back.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const Module = require('module');

const file = path.join(__dirname, 'berth-oci-cli.js');
if (process.env.BERTH_DEBUG) {
  // Debugging: stack traces through the source maps to src/*.ts, at the cost of the code cache.
  process.setSourceMapsEnabled(true);
  require(file).cli();
  return;
}
// One cache per command (V8 caches the functions a run compiled); unknown words share one file, so
// arbitrary arguments cannot multiply cache files.
const COMMANDS = new Set([
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
]);
const command = process.argv.slice(2).find((a) => COMMANDS.has(a)) ?? 'other';
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
// The bundle only defines: running the command line is the launcher's call (tests import main.ts).
mod.exports.cli();
