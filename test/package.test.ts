/**
 * Packaging: what `npm pack` puts in the tarball, and what a user gets when
 * they install that tarball into an empty project (issue 6).
 *
 * Runs with `npm test` after `npm run build` (dist/ must exist). Packing uses
 * `--ignore-scripts` so `prepare` does not rebuild dist/ a second time.
 * Under Wine there is no npm: the packed tarball
 * is checked there by `npm run test:pack-wine` instead.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pendingBecause, platform } from './helpers/harness';
import { npm, ok, run } from './helpers/npm';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const underWine = platform === 'wine';

interface PackEntry {
  filename: string;
  files: { path: string }[];
}

function parsePack(stdout: string): PackEntry {
  // npm prints notices on stderr; stdout is the JSON array (possibly after lifecycle noise).
  const start = stdout.indexOf('[');
  const entries = JSON.parse(stdout.slice(start)) as PackEntry[];
  assert.equal(entries.length, 1);
  return entries[0];
}

/** scripts/prebuild-name.cjs: the one place the prebuild file names are decided. */
const prebuildNames = require('../../scripts/prebuild-name.cjs') as { prebuildPath(arch: string): string };

function prebuildFiles(): string[] {
  const dir = path.join(root, 'prebuilds');
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const sub of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!sub.isDirectory()) continue;
    for (const f of fs.readdirSync(path.join(dir, sub.name))) {
      if (f.endsWith('.node')) out.push(`prebuilds/${sub.name}/${f}`);
    }
  }
  return out;
}

describe('package: npm pack contents', function () {
  this.timeout(120_000);
  let files: string[] = [];

  before(function () {
    if (underWine) pendingBecause(this, 'no npm under Wine; npm run test:pack-wine checks the packed tarball there');
    assert.ok(
      fs.existsSync(path.join(root, 'dist', 'index.js')),
      'dist/ is missing: run `npm run build` first (npm test does)',
    );
    const out = ok(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], root), 'npm pack --dry-run');
    files = parsePack(out)
      .files.map((f) => f.path.replace(/\\/g, '/'))
      .sort();
  });

  it('ships the built JavaScript and its type declarations', function () {
    for (const f of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'package.json']) {
      assert.ok(files.includes(f), `${f} is not in the tarball`);
    }
    // Every .js under dist/ that index.js can reach comes with its .d.ts.
    for (const js of files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) {
      assert.ok(files.includes(js.replace(/\.js$/, '.d.ts')), `${js} has no .d.ts beside it`);
    }
  });

  it('ships the CLI, the install script, README and LICENSE', function () {
    for (const f of ['bin/winsock2.js', 'scripts/install.js', 'README.md', 'LICENSE']) {
      assert.ok(files.includes(f), `${f} is not in the tarball`);
    }
    // bin/winsock2.js loads dist/cli/main.js.
    assert.ok(files.includes('dist/cli/main.js'), 'dist/cli/main.js (the CLI) is not in the tarball');
  });

  it('ships what building from source on Windows needs: binding.gyp, CMakeLists.txt and native/', function () {
    for (const f of ['binding.gyp', 'CMakeLists.txt']) {
      if (fs.existsSync(path.join(root, f))) assert.ok(files.includes(f), `${f} is not in the tarball`);
      else assert.fail(`${f} does not exist in the repository`);
    }
    const sources = fs.readdirSync(path.join(root, 'native')).filter((f) => /\.(cc|cpp|h|hpp|def|json)$/.test(f));
    assert.ok(sources.length > 0, 'native/ has no sources');
    for (const f of sources) assert.ok(files.includes(`native/${f}`), `native/${f} is not in the tarball`);
  });

  it('ships every prebuild that exists, named as scripts/prebuild-name.cjs says (node-gyp-build and @electron/rebuild find it)', function () {
    const expected = prebuildFiles();
    for (const f of expected) assert.ok(files.includes(f), `${f} is not in the tarball`);
    for (const f of files.filter((p) => p.startsWith('prebuilds/'))) {
      assert.match(
        f,
        /^prebuilds\/(README\.md|win32-(x64|ia32|arm64)\/[^/]+\.node)$/,
        `unexpected file in prebuilds/: ${f}`,
      );
      const arch = /^prebuilds\/win32-(x64|ia32|arm64)\//.exec(f)?.[1];
      if (f.endsWith('.node') && arch !== undefined) assert.equal(f, prebuildNames.prebuildPath(arch));
    }
  });

  it('ships no tests, TypeScript sources, CI files, benchmarks, caches, build output or generated docs', function () {
    const forbidden: [RegExp, string][] = [
      [/^test\//, 'tests'],
      [/^out\//, 'compiled tests'],
      [/^lib\//, 'TypeScript sources'],
      [/^\.github\//, 'workflows'],
      [/^\.ci\//, 'CI script'],
      [/^bench\//, 'benchmarks'],
      [/^\.cache\//, 'caches'],
      [/^build\//, 'local build output'],
      [/^docs\/api\//, 'generated API docs'],
      [/^node_modules\//, 'node_modules'],
      [/^cmake\//, 'cross-build toolchains'],
      [/\.tgz$/, 'tarballs'],
      [/^tsconfig/, 'tsconfig'],
      [/^\.mocharc/, 'mocha config'],
    ];
    for (const f of files) {
      for (const [re, what] of forbidden) assert.ok(!re.test(f), `${f} (${what}) must not be in the tarball`);
      assert.ok(!f.endsWith('.ts') || f.endsWith('.d.ts'), `${f} (a TypeScript source) must not be in the tarball`);
    }
    const scripts = files.filter((f) => f.startsWith('scripts/'));
    assert.deepEqual(scripts, ['scripts/install.js'], 'only scripts/install.js is needed by users');
  });
});

describe('package: installing the tarball into an empty project', function () {
  this.timeout(180_000);
  let tmp = '';
  let app = '';
  let installed = '';

  before(function () {
    if (underWine) pendingBecause(this, 'no npm under Wine; npm run test:pack-wine checks the packed tarball there');
    assert.ok(
      fs.existsSync(path.join(root, 'dist', 'index.js')),
      'dist/ is missing: run `npm run build` first (npm test does)',
    );
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock2-pack-'));
    const packed = parsePack(
      ok(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], root), 'npm pack'),
    );
    const tarball = path.join(tmp, packed.filename);
    assert.ok(fs.existsSync(tarball), `npm pack wrote no ${tarball}`);
    app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2),
    );
    // Its only dependencies (node-addon-api, node-gyp-build) are in the npm cache after `npm ci`.
    // On Windows the install script would compile from source when no prebuild fits; that is
    // covered by the prebuild workflow's install job, so here it is skipped to stay fast.
    const args = ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
    if (process.platform === 'win32') args.push('--ignore-scripts');
    ok(npm(args, app), 'npm install <tarball>');
    installed = path.join(app, 'node_modules', pkg.name);
  });

  after(function () {
    // Best effort: on Windows a just-exited process can hold a file for a moment.
    try {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch {
      /* left in the temp dir */
    }
  });

  it('installs without invoking a compiler off Windows', function () {
    if (process.platform === 'win32')
      pendingBecause(this, 'on Windows installing may build the addon from source by design');
    assert.ok(fs.existsSync(path.join(installed, 'dist', 'index.js')), 'the installed package has no dist/index.js');
    assert.ok(
      !fs.existsSync(path.join(installed, 'build')),
      'a build/ directory appeared: something compiled the addon',
    );
    assert.ok(
      !fs.existsSync(path.join(installed, 'node_modules', '.bin', 'node-gyp')),
      'node-gyp was installed as a dependency',
    );
    for (const dep of ['node-addon-api', 'node-gyp-build']) {
      assert.ok(fs.existsSync(path.join(app, 'node_modules', dep)), `dependency ${dep} is missing`);
    }
  });

  it('require() and import() give the same API, and the framed provider works from the installed copy', function () {
    const script = [
      "import { createRequire } from 'node:module';",
      "const esm = await import('winsock2');",
      "const cjs = createRequire(import.meta.url)('winsock2');",
      "const names = ['createServer', 'connect', 'WinsockError', 'enumerateProtocols'];",
      'const out = { cjs: {}, esm: {}, same: {} };',
      'for (const n of names) { out.cjs[n] = typeof cjs[n]; out.esm[n] = typeof esm[n]; out.same[n] = cjs[n] === esm[n]; }',
      "const server = esm.createServer({ provider: 'framed' });",
      "const { port } = await server.listen({ port: 0, host: '127.0.0.1' });",
      "const socket = await cjs.connect({ host: '127.0.0.1', port, provider: 'framed' });",
      'out.provider = socket.capabilities.provider;',
      'socket.destroy();',
      'await server.close();',
      "out.error = new cjs.WinsockError('WSAECONNREFUSED', 'connect') instanceof esm.WinsockError;",
      'console.log(JSON.stringify(out));',
    ].join('\n');
    const r = run(process.execPath, ['--input-type=module', '-e', script], app, 30_000);
    const out = JSON.parse(ok(r, 'node -e (installed package)').trim().split('\n').pop()!) as {
      cjs: Record<string, string>;
      esm: Record<string, string>;
      same: Record<string, boolean>;
      provider: string;
      error: boolean;
    };
    for (const n of ['createServer', 'connect', 'WinsockError', 'enumerateProtocols']) {
      assert.equal(out.cjs[n], 'function', `require('winsock2').${n}`);
      assert.equal(out.esm[n], 'function', `import('winsock2').${n}`);
      assert.equal(out.same[n], true, `require and import give different ${n}`);
    }
    assert.equal(out.provider, 'framed');
    assert.equal(out.error, true, 'WinsockError from require is not instanceof the one from import');
  });

  it('type-checks a strict TypeScript user against the installed declarations (CommonJS and NodeNext resolution)', function () {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const source = [
      "import { createServer, connect, enumerateProtocols, WinsockError } from 'winsock2';",
      "import type { Capabilities, ProtocolInfo, ConnectionRequest, Decision } from 'winsock2';",
      '',
      'export async function main(): Promise<number> {',
      '  const server = createServer({',
      "    provider: 'framed',",
      '    backlog: 16,',
      '    condition(req: ConnectionRequest): Decision {',
      "      return req.callerData === null ? 'reject' : { action: 'accept', calleeData: Buffer.from('welcome') };",
      '    },',
      '  });',
      '  const { port } = await server.listen({ port: 0, host: "127.0.0.1" });',
      "  const socket = await connect({ host: '127.0.0.1', port, callerData: Buffer.from('hi'), timeout: 1000 });",
      '  const callee: Buffer | null = socket.calleeData;',
      '  const caps: Capabilities = socket.capabilities;',
      '  const protocols: ProtocolInfo[] = enumerateProtocols({ provider: "framed" });',
      '  await socket.sendDisconnect(Buffer.from("total=42"));',
      '  const last: Buffer | null = await socket.recvDisconnect();',
      '  socket.destroy();',
      '  await server.close();',
      '  try { throw new WinsockError("WSAECONNREFUSED", "WSAConnect"); } catch (e) {',
      '    if (e instanceof WinsockError) { const n: number = e.errno; const c: string = e.code; void c; return n; }',
      '  }',
      '  return (callee?.length ?? 0) + protocols.length + (caps.connectData ? 1 : 0) + (last?.length ?? 0);',
      '}',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(app, 'check.ts'), source);
    fs.writeFileSync(path.join(app, 'check.mts'), source);
    const typeRoots = [path.join(root, 'node_modules', '@types')];
    const configs: Record<string, object> = {
      // Fast: the classic `types` field and CommonJS resolution.
      'tsconfig.cjs.json': { module: 'commonjs', moduleResolution: 'node10', skipLibCheck: true, files: ['check.ts'] },
      // Thorough (skipLibCheck off, ~15 s): the exports map's "types" condition, and the shipped
      // .d.ts files themselves must compile (e.g. no import of a declaration file not in dist/).
      'tsconfig.nodenext.json': {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        skipLibCheck: false,
        files: ['check.mts'],
      },
    };
    for (const [name, { files, ...opts }] of Object.entries(configs) as [string, { files: string[] }][]) {
      fs.writeFileSync(
        path.join(app, name),
        JSON.stringify(
          {
            compilerOptions: {
              target: 'ES2022',
              strict: true,
              noEmit: true,
              types: ['node'],
              typeRoots,
              ...opts,
            },
            files,
          },
          null,
          2,
        ),
      );
      ok(run(process.execPath, [tsc, '-p', name], app, 90_000), `tsc -p ${name}`);
    }
  });
});

describe('package: the release sets repository, homepage and bugs (scripts/stamp-repository.sh, as release.yml runs it)', function () {
  this.timeout(120_000);
  let tmp = '';

  before(function () {
    if (underWine) pendingBecause(this, 'no npm or bash under Wine; the release runs on ubuntu-latest');
    if (process.platform === 'win32') pendingBecause(this, 'the release step is a bash script run on ubuntu-latest');
    assert.ok(
      fs.existsSync(path.join(root, 'dist', 'index.js')),
      'dist/ is missing: run `npm run build` first (npm test does)',
    );
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock2-stamp-'));
  });

  after(function () {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  function listTarball(tarball: string): string[] {
    return ok(run('tar', ['tzf', tarball], tmp, 30_000), `tar tzf ${tarball}`)
      .split('\n')
      .filter((l) => l !== '')
      .sort();
  }

  it('stamps the fields npm provenance needs from the repository given, and changes no other file', function () {
    const packed = parsePack(
      ok(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], root), 'npm pack'),
    );
    const tarball = path.join(tmp, packed.filename);
    const inGit = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(inGit['repository'], undefined, 'package.json in git names no repository: the release sets it');

    const stamped = ok(
      run(
        'bash',
        [
          path.join(root, 'scripts', 'stamp-repository.sh'),
          tarball,
          'example-org/winsock2',
          'https://github.com',
          path.join(tmp, 'stamped'),
        ],
        tmp,
        90_000,
      ),
      'stamp-repository.sh',
    ).trim();
    assert.equal(stamped, path.join(tmp, 'stamped', packed.filename));
    const manifest = JSON.parse(
      ok(run('tar', ['xzf', stamped, '-O', 'package/package.json'], tmp, 30_000), 'tar xzf'),
    ) as Record<string, unknown>;
    assert.deepEqual(manifest['repository'], { type: 'git', url: 'git+https://github.com/example-org/winsock2.git' });
    assert.equal(manifest['homepage'], 'https://github.com/example-org/winsock2#readme');
    assert.deepEqual(manifest['bugs'], { url: 'https://github.com/example-org/winsock2/issues' });
    // Everything else is the package.json that was packed.
    const rest = { ...manifest };
    for (const k of ['repository', 'homepage', 'bugs']) delete rest[k];
    const original = JSON.parse(
      ok(run('tar', ['xzf', tarball, '-O', 'package/package.json'], tmp, 30_000), 'tar xzf'),
    ) as Record<string, unknown>;
    assert.deepEqual(rest, original);
    assert.deepEqual(listTarball(stamped), listTarball(tarball), 'the same files as the tested tarball');
  });

  it('refuses a repository or server that is not one', function () {
    const script = path.join(root, 'scripts', 'stamp-repository.sh');
    for (const [repo, server] of [
      ['not a repo', 'https://github.com'],
      ['example-org/winsock2', 'github.com'],
    ] as const) {
      const r = run('bash', [script, 'x.tgz', repo, server, tmp], tmp, 30_000);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /must look like/);
    }
  });

  it('release.yml runs that script with the repository it runs in, then publishes the stamped tarball with provenance', function () {
    const workflow = fs.readFileSync(path.join(root, '.github', 'workflows', 'release.yml'), 'utf8');
    assert.match(
      workflow,
      /bash scripts\/stamp-repository\.sh "\$tarball" "\$GITHUB_REPOSITORY" "\$GITHUB_SERVER_URL" stamped/,
    );
    assert.match(workflow, /npm publish "stamped\/winsock2-\$\{GITHUB_REF_NAME#v\}\.tgz" --provenance --access public/);
  });
});
