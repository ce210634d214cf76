#!/usr/bin/env node
'use strict';
// Where a prebuild of the addon lives: one name for every script, workflow
// and test. Two loaders must find it:
// - node-gyp-build (at run time) accepts any prebuilds/<platform>-<arch>/*.node
//   whose tags fit; `node.napi` is runtime-agnostic (Node and Electron);
// - @electron/rebuild (Electron Forge, electron-builder) skips rebuilding a
//   prebuildify package only when it finds prebuilds/<platform>-<arch>/
//   node.napi.<ext> or electron.napi.<ext>, where <ext> is `armv8.node` on
//   arm64 and `node` elsewhere (src/module-type/prebuildify.ts). prebuildify 6
//   would name ours winsock2.node, which @electron/rebuild does not look for
//   and rebuilds with Visual Studio, so the build runs with
//   `--name node.napi` (and `--tag-armv 8` on arm64).
// test/prebuild-name.test.ts checks both loaders' own code against this.
//   node scripts/prebuild-name.cjs <arch>   ->  prebuilds/win32-<arch>/<file>
const path = require('node:path');

const ARCHES = ['x64', 'ia32', 'arm64'];

/** The file name (no directory) of the win32 prebuild for `arch`. */
function prebuildFile(arch) {
  if (!ARCHES.includes(arch)) throw new Error(`prebuild-name: arch must be one of ${ARCHES.join(', ')}, not ${arch}`);
  return arch === 'arm64' ? 'node.napi.armv8.node' : 'node.napi.node';
}

/** prebuilds/win32-<arch>/<file>, with forward slashes (tarball paths, workflows). */
function prebuildPath(arch) {
  return path.posix.join('prebuilds', `win32-${arch}`, prebuildFile(arch));
}

/** The prebuildify arguments that produce that name. */
function prebuildifyNameArgs(arch) {
  return arch === 'arm64' ? ['--name', 'node.napi', '--tag-armv', '8'] : ['--name', 'node.napi'];
}

module.exports = { ARCHES, prebuildFile, prebuildPath, prebuildifyNameArgs };

if (require.main === module) {
  const [what, arch] = process.argv.slice(2);
  if (what === '--prebuildify-args') console.log(prebuildifyNameArgs(arch ?? '').join(' '));
  else console.log(prebuildPath(what ?? ''));
}
