#!/usr/bin/env node
// Checks the prebuild names (scripts/prebuild-name.cjs) against the two
// loaders' own code, not against a reading of it:
// - @electron/rebuild (a devDependency, the version Electron Forge uses):
//   its Prebuildify.findPrebuiltModule() must find each win32 prebuild, or
//   every Electron packager would rebuild the addon with Visual Studio;
// - node-gyp-build (a dependency): resolve() must pick the same file for
//   Node and for Electron's runtime (ELECTRON_RUN_AS_NODE), in a child
//   process per arch, since it reads the platform and arch at load.
// A negative control shows the check can fail: prebuildify 6's default
// name (<package>.node) is not found by @electron/rebuild.
//   node scripts/check-prebuild-names.mjs      (exit 0: all found)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ARCHES, prebuildFile } = require('./prebuild-name.cjs');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

// @electron/rebuild exports only its main entry: its detection class is
// loaded by file, from where npm installed it.
const rebuildDir = path.join(root, 'node_modules', '@electron', 'rebuild');
const rebuildVersion = JSON.parse(fs.readFileSync(path.join(rebuildDir, 'package.json'), 'utf8')).version;
const { Prebuildify } = await import(pathToFileURL(path.join(rebuildDir, 'lib', 'module-type', 'prebuildify.js')).href);

/** A package directory holding one prebuild named `file` for win32-<arch>. */
function fakePackage(arch, file) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock2-names-'));
  const moduleDir = path.join(dir, 'node_modules', pkg.name);
  fs.mkdirSync(path.join(moduleDir, 'prebuilds', `win32-${arch}`), { recursive: true });
  // What @electron/rebuild reads: devDependencies (prebuildify) and binary.napi_versions.
  fs.writeFileSync(
    path.join(moduleDir, 'package.json'),
    JSON.stringify({
      name: pkg.name,
      version: pkg.version,
      binary: pkg.binary,
      devDependencies: pkg.devDependencies,
    }),
  );
  fs.writeFileSync(path.join(moduleDir, 'prebuilds', `win32-${arch}`, file), '');
  return { dir, moduleDir };
}

async function electronRebuildFinds(arch, file) {
  const { dir, moduleDir } = fakePackage(arch, file);
  try {
    const rebuilder = { platform: 'win32', arch, ABI: '130', electronVersion: '33.0.0', buildFromSource: false };
    const module = new Prebuildify(rebuilder, moduleDir);
    return (await module.usesTool()) && (await module.findPrebuiltModule());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function nodeGypBuildResolves(arch, file, electron) {
  const { dir, moduleDir } = fakePackage(arch, file);
  try {
    const env = { ...process.env, npm_config_platform: 'win32', npm_config_arch: arch };
    delete env.PREBUILDS_ONLY;
    if (electron) env.ELECTRON_RUN_AS_NODE = '1';
    else delete env.ELECTRON_RUN_AS_NODE;
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        'process.stdout.write(require(process.argv[1]).resolve(process.argv[2]))',
        require.resolve('node-gyp-build'),
        moduleDir,
      ],
      { env, encoding: 'utf8' },
    );
    return r.status === 0 && path.basename(r.stdout) === file;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const failures = [];
for (const arch of ARCHES) {
  const file = prebuildFile(arch);
  const found = await electronRebuildFinds(arch, file);
  const node = nodeGypBuildResolves(arch, file, false);
  const electron = nodeGypBuildResolves(arch, file, true);
  console.log(
    `win32-${arch}/${file}: @electron/rebuild ${rebuildVersion} finds it: ${found}; node-gyp-build loads it in node: ${node}, in electron: ${electron}`,
  );
  if (!found || !node || !electron) failures.push(arch);
}
// The negative control: prebuildify 6's default name.
const defaultName = `${pkg.name.replace(/\//g, '+')}.node`;
const control = await electronRebuildFinds('x64', defaultName);
console.log(
  `negative control: win32-x64/${defaultName} (prebuildify 6's default): @electron/rebuild finds it: ${control}`,
);
if (control) failures.push('control');
if (failures.length > 0) {
  console.error(`check-prebuild-names: FAILED for ${failures.join(', ')}`);
  process.exit(1);
}
console.log('check-prebuild-names: OK');
