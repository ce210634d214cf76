/**
 * Loads the native addon with node-gyp-build from the package root: from a
 * prebuild in prebuilds/<platform>-<arch>/ or a source build in build/.
 * The root is found by walking up to the package.json named "winsock2", so
 * this works from dist/lib (the package) and out/lib (the tests).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isNativeAddon, type NativeAddon } from './addon';

/** The directory of winsock2's package.json above `start`, or null. */
export function findPackageRoot(start: string = __dirname): string | null {
  let dir = start;
  for (;;) {
    const file = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown };
      if (pkg.name === 'winsock2') return dir;
    } catch {
      // no (readable) package.json here: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

type NodeGypBuild = (dir: string) => unknown;

/** Loads the addon or throws an Error whose message says why not. */
export function loadAddon(): NativeAddon {
  if (process.platform !== 'win32') {
    throw new Error(`the native provider exists only on Windows (this is ${process.platform})`);
  }
  const root = findPackageRoot();
  if (root === null) throw new Error(`cannot find the winsock2 package root above ${__dirname}`);
  let load: NodeGypBuild;
  try {
    load = require('node-gyp-build') as NodeGypBuild;
  } catch (err) {
    throw new Error(`node-gyp-build is not installed: ${(err as Error).message}`);
  }
  let addon: unknown;
  try {
    addon = load(root);
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    // node-gyp-build says "No native build was found for ..." when nothing fits.
    throw new Error(`the native addon could not be loaded from ${root} (${process.platform}-${process.arch}, node ${process.versions.node}): ${message}`);
  }
  if (!isNativeAddon(addon)) throw new Error(`the native addon in ${root} does not have the expected exports (stale build?)`);
  return addon;
}
