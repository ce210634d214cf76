#!/usr/bin/env node
'use strict';
// npm runs this instead of its default `node-gyp rebuild` (which it would run
// because binding.gyp exists). The native provider exists only on Windows, so
// everywhere else installing must never invoke a compiler and never fail.
if (process.platform !== 'win32') process.exit(0);

const { spawnSync } = require('node:child_process');
const path = require('node:path');

// On Windows: node-gyp-build loads a matching prebuild from prebuilds/ and only
// compiles from source (binding.gyp, via node-gyp) when none fits.
let bin;
try {
  bin = require.resolve('node-gyp-build/bin.js');
} catch {
  console.warn('winsock2: node-gyp-build is missing; the native provider will be unavailable.');
  process.exit(0);
}
const result = spawnSync(process.execPath, [bin], { stdio: 'inherit', cwd: path.join(__dirname, '..') });
if (result.status !== 0) {
  // Installing must not fail: 'auto' falls back to the emulated provider (the
  // same plain TCP on the wire), and asking for provider 'native' later
  // reports why it cannot load.
  console.warn(
    'winsock2: the native addon could not be built; provider "native" will be unavailable ' +
      'and "auto" uses "emulated" (plain TCP too; the condition runs after the TCP handshake). ' +
      'Install the Visual Studio C++ build tools to build it.',
  );
}
process.exit(0);
