/**
 * One list of native sources and defines for every build (native/build.json):
 * binding.gyp (node-gyp, prebuildify) and CMakeLists.txt (cmake-js) read it,
 * and so does scripts/build-win-cross.sh. These tests fail when a file is
 * added to native/ but not to the list, when a build lists sources of its
 * own again, and when a user's source build would treat warnings as errors.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pendingBecause } from './helpers/harness';

const root = path.join(__dirname, '..', '..');
const build = JSON.parse(fs.readFileSync(path.join(root, 'native', 'build.json'), 'utf8')) as {
  sources: string[];
  defines: string[];
};
/** Built only by the mingw builds: node-gyp and cmake-js bring their own delay-load hook. */
const MINGW_ONLY = ['native/delay_load_hook.cc'];

let pythonFound: string | null | undefined;
function python(): string | null {
  if (pythonFound !== undefined) return pythonFound;
  pythonFound =
    ['python3', 'python'].find((c) => spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0) ?? null;
  return pythonFound;
}

/** binding.gyp as gyp itself expands it for OS=win (node-gyp's own gyp). */
function gypForWindows(
  ctx: Mocha.Context,
  env: NodeJS.ProcessEnv,
): { sources: string[]; defines: string[]; warnAsError: string } {
  const py = python();
  if (py === null) pendingBecause(ctx, 'no python here to run gyp (node-gyp needs it; CI has it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock2-gyp-'));
  try {
    // node-gyp's addon.gypi gives the target its type; this stands in for it.
    fs.writeFileSync(path.join(dir, 'type.gypi'), "{'target_defaults': {'type': 'loadable_module'}}");
    const gyp = path.join(root, 'node_modules', 'node-gyp', 'gyp', 'gyp_main.py');
    const r = spawnSync(
      py,
      [
        gyp,
        'binding.gyp',
        '-f',
        'gypd',
        '--depth=.',
        '-DOS=win',
        '-I',
        path.join(dir, 'type.gypi'),
        `--generator-output=${dir}`,
      ],
      { cwd: root, env, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const out =
      fs.readdirSync(dir).find((f) => f.endsWith('.gypd')) ?? fs.readdirSync(root).find((f) => f.endsWith('.gypd'));
    assert.ok(out, 'gyp wrote no .gypd');
    const file = fs.existsSync(path.join(dir, out)) ? path.join(dir, out) : path.join(root, out);
    const text = fs.readFileSync(file, 'utf8');
    if (file.startsWith(root)) fs.rmSync(file);
    // A .gypd is a Python literal of plain strings, lists and dicts.
    const json = JSON.parse(
      text
        .replace(/^#.*$/gm, '')
        .replace(/'/g, '"')
        .replace(/,(\s*[\]}])/g, '$1'),
    ) as {
      targets: {
        sources: string[];
        configurations: Record<
          string,
          { defines: string[]; msvs_settings: { VCCLCompilerTool: { WarnAsError: string } } }
        >;
      }[];
    };
    const target = json.targets[0];
    assert.ok(target);
    const config = Object.values(target.configurations)[0];
    assert.ok(config);
    return {
      sources: target.sources,
      defines: config.defines,
      warnAsError: config.msvs_settings.VCCLCompilerTool.WarnAsError,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('native build: one source list (native/build.json)', function () {
  this.timeout(60_000); // gyp runs in python: about a second each

  it('lists every native/*.cc (the mingw-only delay-load hook aside), each once', function () {
    const onDisk = fs
      .readdirSync(path.join(root, 'native'))
      .filter((f) => f.endsWith('.cc'))
      .map((f) => `native/${f}`)
      .filter((f) => !MINGW_ONLY.includes(f))
      .sort();
    assert.deepEqual([...build.sources].sort(), onDisk);
    assert.equal(new Set(build.sources).size, build.sources.length);
  });

  it('binding.gyp, as gyp expands it for Windows, has exactly those sources and defines', function () {
    const env = { ...process.env };
    delete env['WINSOCK2_WERROR'];
    const gyp = gypForWindows(this, env);
    assert.deepEqual(gyp.sources, build.sources);
    assert.deepEqual(
      gyp.defines.filter((d) => d !== '_HAS_EXCEPTIONS=1'),
      build.defines,
    );
  });

  it("warnings are errors only in this project's CI builds (WINSOCK2_WERROR=1), never in a user's source build", function () {
    const env = { ...process.env };
    delete env['WINSOCK2_WERROR'];
    assert.equal(gypForWindows(this, env).warnAsError, 'false', "node-gyp on a user's machine");
    assert.equal(
      gypForWindows(this, { ...env, WINSOCK2_WERROR: '1' }).warnAsError,
      'true',
      'the prebuild and test workflows',
    );
    const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
    const code = cmake
      .split('\n')
      .filter((l) => !l.trim().startsWith('#'))
      .join('\n');
    // /WX and -Werror appear only inside the WINSOCK2_WERROR branches.
    for (const flag of ['/WX', '-Werror']) {
      const at = code.indexOf(flag);
      assert.ok(at > 0, `CMakeLists.txt has no ${flag} for CI builds`);
      assert.match(
        code.slice(Math.max(0, code.lastIndexOf('if(', at)), at),
        /^if\(WINSOCK2_WERROR\)/,
        `${flag} outside if(WINSOCK2_WERROR)`,
      );
    }
  });

  it('CMakeLists.txt and build-win-cross.sh read native/build.json and list no sources or defines of their own', function () {
    const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
    assert.match(cmake, /require\('\.\/native\/build\.json'\)\.sources/);
    assert.match(cmake, /require\('\.\/native\/build\.json'\)\.defines/);
    const cross = fs.readFileSync(path.join(root, 'scripts', 'build-win-cross.sh'), 'utf8');
    assert.match(cross, /native\/build\.json/);
    for (const [name, text] of [
      ['CMakeLists.txt', cmake],
      ['build-win-cross.sh', cross],
    ] as const) {
      const code = text
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n');
      for (const src of build.sources) assert.ok(!code.includes(src), `${name} lists ${src} itself`);
      for (const def of ['NAPI_VERSION', '_WIN32_WINNT', 'NODE_ADDON_API_CPP_EXCEPTIONS_ALL'])
        assert.ok(!code.includes(def), `${name} defines ${def} itself`);
    }
  });
});
