/**
 * docs/install.md's commands, run as a reader would paste them: in an empty
 * project that installs the tarball packed from this repository. Each shell
 * block carries a marker saying how it runs:
 *
 *     <!-- install-test: run -->           every line runs in the project, exit 0
 *     <!-- install-test: run-tarball -->   the same, with the packed tarball for `winsock2` in `npm install`
 *     <!-- install-test: npm-approve -->   runs where npm has allowScripts (npm >= 11.16), else pending
 *     <!-- install-test: skip <why> -->    shown, not run here (listed as pending with the reason)
 *
 * A shell block without a marker fails the test: nothing on the page is left
 * unrun by accident.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extractSnippets } from './helpers/markdown-snippets';
import { pendingBecause, platform } from './helpers/harness';
import { npm, ok, run } from './helpers/npm';

const root = path.resolve(__dirname, '..', '..');
const PAGE = 'docs/install.md';
const MARKER = /^<!--\s*install-test:\s*(run-tarball|run|npm-approve|skip)\b\s*(.*?)\s*-->$/;

interface Block {
  line: number;
  language: string;
  code: string;
  how: string;
  why: string;
}

/** The page's command blocks with their markers (the line above each fence). */
function blocks(): Block[] {
  const text = fs.readFileSync(path.join(root, PAGE), 'utf8');
  const lines = text.split('\n');
  return extractSnippets(PAGE, text).map((s) => {
    const above = (lines[s.line - 2] ?? '').trim();
    const marker = MARKER.exec(above);
    if (!marker)
      throw new Error(
        `${PAGE}:${s.line}: a ${s.language || 'untagged'} block without an <!-- install-test: ... --> marker`,
      );
    if (marker[1] === 'skip' && (marker[2] ?? '') === '')
      throw new Error(`${PAGE}:${s.line}: "install-test: skip" needs a reason`);
    return { line: s.line, language: s.language, code: s.code, how: marker[1], why: marker[2] ?? '' };
  });
}

function commands(code: string): string[] {
  return code
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** npm's version as [major, minor]. */
function npmVersion(cwd: string): [number, number] {
  const [major, minor] = ok(npm(['--version'], cwd), 'npm --version')
    .trim()
    .split('.')
    .map(Number);
  return [major ?? 0, minor ?? 0];
}

describe(`${PAGE}: every command runs where it can`, function () {
  this.timeout(180_000);
  const all = blocks();
  let tmp = '';
  let app = '';
  let tarball = '';

  before(function () {
    if (platform === 'wine') pendingBecause(this, 'no npm or bash under Wine');
    if (process.platform === 'win32')
      pendingBecause(
        this,
        "the page's commands are run by bash here; on Windows CI installs the tarball in prebuild.yml",
      );
    assert.ok(
      fs.existsSync(path.join(root, 'dist', 'index.js')),
      'dist/ is missing: run `npm run build` first (npm test does)',
    );
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock2-install-doc-'));
    const packed = JSON.parse(
      ok(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], root), 'npm pack'),
    ) as { filename: string }[];
    tarball = path.join(tmp, packed[0]?.filename ?? '');
    app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2),
    );
  });

  after(function () {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs one line of the page in the project, as bash would, with the project's bin on PATH. */
  function sh(line: string): string {
    return ok(
      run('bash', ['-c', `PATH="${path.join(app, 'node_modules', '.bin')}:$PATH"; ${line}`], app, 120_000),
      `${PAGE}: ${line}`,
    );
  }

  for (const block of all) {
    const title = `${PAGE}:${block.line} (${block.how}${block.why ? `: ${block.why}` : ''}): ${commands(block.code)[0] ?? block.language}`;
    it(title, function () {
      if (block.how === 'skip') pendingBecause(this, block.why);
      assert.equal(block.language, 'sh', 'commands are sh blocks');
      if (block.how === 'npm-approve') {
        const [major, minor] = npmVersion(app);
        if (major < 11 || (major === 11 && minor < 16))
          pendingBecause(this, `npm ${major}.${minor} has no allowScripts (npm >= 11.16)`);
      }
      for (const line of commands(block.code)) {
        const command =
          block.how === 'run-tarball'
            ? line.replace(
                /^npm install winsock2$/,
                `npm install ${JSON.stringify(tarball)} --prefer-offline --no-audit --no-fund`,
              )
            : line;
        const out = sh(command);
        // What each command is on the page for.
        if (/^npx winsock2 protocols$/.test(line))
          assert.match(out, /^provider: emulated \(picked by auto: emulated off Windows\)$/m);
        if (line.startsWith('node -e'))
          assert.match(out, /^native unavailable: .+\n^emulated available \(auto picks it\)\n^framed available $/m);
        if (line === 'npm install-scripts ls') assert.match(out, /No packages with unreviewed install scripts/);
      }
      if (block.how === 'run-tarball') {
        assert.ok(fs.existsSync(path.join(app, 'node_modules', 'winsock2', 'dist', 'index.js')), 'installed');
      }
      if (block.how === 'npm-approve') {
        const manifest = JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')) as {
          allowScripts?: Record<string, boolean>;
        };
        assert.deepEqual(Object.values(manifest.allowScripts ?? {}), [true], 'winsock2 is approved in allowScripts');
      }
    });
  }
});
