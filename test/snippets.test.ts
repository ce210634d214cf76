/**
 * Every program shown in README.md and docs/*.md runs as written, so the pages
 * cannot rot: each `ts`/`js` block is type-checked (strict, against the built
 * package's own .d.ts) and run in a child process as an ES module and/or as
 * CommonJS (see test/helpers/markdown-snippets.ts for the markers), and must
 * exit 0 by itself. Blocks that are not programs (shell, output, diagrams)
 * are listed by page as not run. The examples run as ES modules too (the
 * examples test runs them as CommonJS).
 *
 * 'winsock2' resolves as in an application: a scratch directory whose
 * node_modules/winsock2 links to this repository, so the package's own
 * `exports` (dist/index.mjs, dist/index.js, dist/index.d.ts, built by
 * `npm test` first) are what the snippets get.
 */
import { spawn } from 'node:child_process';
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ts from 'typescript';
import { spawnChild } from './helpers/spawn';
import { extractSnippets, type Flavour, type Snippet } from './helpers/markdown-snippets';

const ROOT = join(__dirname, '..', '..');
/** How long one program may run before it counts as "does not exit by itself". */
const EXIT_WITHIN_MS = 20_000;

const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const EXAMPLES = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.ts'))
  .sort();

interface Program {
  /** The file's name in the scratch directory. */
  file: string;
  /** What to call it in a failure. */
  title: string;
  source: string;
  flavour: Flavour;
}

function fileName(s: Snippet, flavour: Flavour): string {
  const typescript = s.language === 'ts' || s.language === 'typescript';
  return `${s.page.replace(/[^\w]+/g, '_')}_${s.line}.${flavour === 'esm' ? 'm' : 'c'}${typescript ? 'ts' : 'js'}`;
}

function programsOf(snippets: Snippet[]): Program[] {
  return snippets.flatMap((s) =>
    s.flavours.map((flavour) => ({
      file: fileName(s, flavour),
      title: `${s.page}:${s.line} (${flavour})`,
      source: s.code,
      flavour,
    })),
  );
}

/** Type-checks the programs as one strict TypeScript project; resolves to one line per diagnostic. */
function typeCheck(dir: string, programs: Program[]): string[] {
  const files = programs.map((p) => join(dir, p.file));
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    skipLibCheck: true,
    // JavaScript blocks are checked too (wrong names, wrong arguments), as an editor checks a // @ts-check file.
    allowJs: true,
    checkJs: true,
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file
      ? `${basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
      : '';
    return `${where} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

/** Transpiles to JavaScript of the flavour and writes it next to the source. */
function emit(dir: string, p: Program): string {
  const js = ts.transpileModule(p.source, {
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: p.flavour === 'esm' ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
      esModuleInterop: true,
    },
    fileName: p.file,
  }).outputText;
  const out = join(dir, p.file.replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs'));
  writeFileSync(out, js);
  return out;
}

/**
 * A scratch application directory where 'winsock2' resolves to this
 * repository's build: node_modules/winsock2 links to the repository (its real
 * package.json and `exports`), or, where the file system cannot link (Wine),
 * is a small package that re-exports dist/ from its absolute path.
 */
function scratchApp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const target = join(dir, 'node_modules', 'winsock2');
  mkdirSync(join(dir, 'node_modules'));
  // The packages examples import besides winsock2 (examples/http-gate.ts: ws),
  // from this repository's devDependencies, as an application would install them.
  for (const dep of ['ws', '@types/ws']) {
    try {
      mkdirSync(join(dir, 'node_modules', dep, '..'), { recursive: true });
      symlinkSync(
        join(ROOT, 'node_modules', dep),
        join(dir, 'node_modules', dep),
        process.platform === 'win32' ? 'junction' : 'dir',
      );
    } catch {
      // No links here (Wine): a package that re-exports the repository's copy (types are not needed to run).
      if (dep.startsWith('@types/')) continue;
      const real = join(ROOT, 'node_modules', dep);
      mkdirSync(join(dir, 'node_modules', dep), { recursive: true });
      writeFileSync(
        join(dir, 'node_modules', dep, 'package.json'),
        JSON.stringify({
          name: dep,
          exports: { '.': { import: './index.mjs', require: './index.js' } },
        }),
      );
      writeFileSync(join(dir, 'node_modules', dep, 'index.js'), `module.exports = require(${JSON.stringify(real)});\n`);
      const esm = pathToFileURL(join(real, 'wrapper.mjs')).href;
      writeFileSync(
        join(dir, 'node_modules', dep, 'index.mjs'),
        `export * from ${JSON.stringify(esm)};\nexport { default } from ${JSON.stringify(esm)};\n`,
      );
    }
  }
  try {
    // A junction on Windows needs no privilege; elsewhere an ordinary symlink.
    symlinkSync(ROOT, target, process.platform === 'win32' ? 'junction' : 'dir');
  } catch {
    const dist = join(ROOT, 'dist').replace(/\\/g, '/');
    mkdirSync(target);
    writeFileSync(
      join(target, 'package.json'),
      JSON.stringify({
        name: 'winsock2',
        exports: {
          '.': { types: './index.d.ts', import: './index.mjs', require: './index.js' },
          './net': { types: './net.d.ts', import: './net.mjs', require: './net.js' },
        },
      }),
    );
    for (const entry of ['index', 'net']) {
      writeFileSync(
        join(target, `${entry}.js`),
        `module.exports = require(${JSON.stringify(`${dist}/${entry}.js`)});\n`,
      );
      writeFileSync(
        join(target, `${entry}.mjs`),
        `export * from ${JSON.stringify(pathToFileURL(`${dist}/${entry}.mjs`).href)};\n`,
      );
      writeFileSync(join(target, `${entry}.d.ts`), `export * from ${JSON.stringify(`${dist}/${entry}.js`)};\n`);
    }
  }
  return dir;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `node file`, killing it when it has not exited within EXIT_WITHIN_MS. */
function runNode(dir: string, file: string): Promise<Run> {
  const env = { ...process.env };
  delete env['NODE_DEBUG'];
  const child = spawnChild(() => spawn(process.execPath, [file], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, EXIT_WITHIN_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function assertExitedCleanly(r: Run, title: string): void {
  assert.ok(
    !r.timedOut,
    `${title} did not exit by itself within ${EXIT_WITHIN_MS} ms (killed); it printed:\n${r.stdout}${r.stderr}`,
  );
  assert.equal(r.code, 0, `${title} exited ${r.code ?? r.signal}:\n${r.stdout}${r.stderr}`);
}

describe('snippets: every program in README.md and docs/*.md runs as written', function () {
  this.timeout(EXIT_WITHIN_MS + 30_000);
  let dir = '';
  const found = new Map<string, Snippet[] | Error>();
  for (const page of PAGES) {
    try {
      found.set(page, extractSnippets(page, readFileSync(join(ROOT, page), 'utf8')));
    } catch (e) {
      found.set(page, e as Error);
    }
  }
  const programs = programsOf([...found.values()].flatMap((v) => (v instanceof Error ? [] : v)));

  before(function () {
    dir = scratchApp('winsock2-snippets-');
    for (const p of programs) writeFileSync(join(dir, p.file), p.source);
  });
  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`the ${programs.length} programs type-check as strict TypeScript against the package's types`, function () {
    const diagnostics = typeCheck(dir, programs);
    assert.deepEqual(diagnostics, [], diagnostics.join('\n'));
  });

  for (const [page, snippets] of found) {
    describe(page, function () {
      if (snippets instanceof Error) {
        it('has only marked code blocks', function () {
          throw snippets;
        });
        return;
      }
      for (const s of snippets) {
        for (const flavour of s.flavours) {
          it(`line ${s.line} (${s.language}, ${flavour === 'esm' ? 'ES module' : 'CommonJS'}) runs and exits 0 by itself`, async function () {
            const p = programsOf([s]).find((x) => x.flavour === flavour) as Program;
            assertExitedCleanly(await runNode(dir, emit(dir, p)), p.title);
          });
        }
      }
      if (snippets.length === 0)
        it('has no code blocks', function () {
          assert.equal(snippets.length, 0);
        });
      const notRun = snippets.filter((s) => s.skipped !== null);
      if (notRun.length > 0) {
        it(`does not run ${notRun.length} block${notRun.length === 1 ? '' : 's'}: ${notRun.map((s) => `line ${s.line} (${s.skipped})`).join(', ')}`, function () {
          for (const s of notRun) assert.equal(s.flavours.length, 0);
        });
      }
    });
  }
});

describe('snippets: the examples run as ES modules too', function () {
  this.timeout(EXIT_WITHIN_MS + 30_000);
  let dir = '';
  before(function () {
    dir = scratchApp('winsock2-examples-esm-');
  });
  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const file of EXAMPLES) {
    it(`${file}: runs as a script, and importing it runs nothing`, async function () {
      const source = readFileSync(join(ROOT, 'examples', file), 'utf8');
      const script = emit(dir, { file: file.replace(/\.ts$/, '.mts'), title: file, source, flavour: 'esm' });
      assertExitedCleanly(await runNode(dir, script), `examples/${file} as an ES module`);
      const importer = join(dir, `import-${basename(script)}`);
      writeFileSync(importer, `import { main } from './${basename(script)}';\nconsole.log(typeof main);\n`);
      const imported = await runNode(dir, importer);
      assertExitedCleanly(imported, `importing examples/${file}`);
      assert.equal(imported.stdout, 'function\n', 'importing an example must not run it');
    });
  }
});
