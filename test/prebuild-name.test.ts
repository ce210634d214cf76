/**
 * The prebuilds are named so that both loaders find them, checked against
 * their own code (scripts/check-prebuild-names.mjs): @electron/rebuild's
 * Prebuildify.findPrebuiltModule() (else Electron Forge rebuilds the addon
 * with Visual Studio) and node-gyp-build's resolve() for Node and Electron.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { pendingBecause, platform } from './helpers/harness';

const root = path.join(__dirname, '..', '..');

describe('prebuild names (scripts/prebuild-name.cjs)', function () {
  it("@electron/rebuild finds every win32 prebuild and node-gyp-build loads it, in Node and in Electron; prebuildify 6's default name is not found", function () {
    if (platform === 'wine')
      pendingBecause(
        this,
        'a packaging check with child processes: it runs on the host (npm test), where the names are decided',
      );
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'check-prebuild-names.mjs')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /win32-x64\/node\.napi\.node: @electron\/rebuild \S+ finds it: true/);
    assert.match(r.stdout, /win32-arm64\/node\.napi\.armv8\.node: @electron\/rebuild \S+ finds it: true/);
    assert.match(r.stdout, /negative control: .* finds it: false/);
  });
});
