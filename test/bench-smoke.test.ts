/**
 * The benchmark harness (bench/, `npm run bench`) still runs: its quickest
 * mode produces well-formed JSON for every case. No timing is asserted —
 * benchmarks are never timed tests; only the shape of the report is.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pendingBecause } from './helpers/harness';

const root = path.join(__dirname, '..', '..');
const CASE_IDS = ['bulk', 'pingpong', 'conn-seq', 'conn-conc', 'idle', 'seed'];
const FLOOR_CASE_IDS = ['bulk', 'pingpong', 'conn-seq', 'conn-conc'];

interface Summary { median: number; min: number; max: number; samples: number[] }

function isSummary(x: unknown): x is Summary {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Record<string, unknown>;
  return ['median', 'min', 'max'].every((k) => typeof s[k] === 'number' && Number.isFinite(s[k]))
    && Array.isArray(s['samples']) && (s['samples'] as unknown[]).length > 0
    && (s['samples'] as unknown[]).every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0);
}

/** Runs the harness with `args` (plus --quick and --out) and returns its parsed report. */
function runHarness(dir: string, args: string[]): Record<string, unknown> {
  const out = path.join(dir, `report-${args.join('_') || 'default'}.json`);
  execFileSync(process.execPath, [path.join(root, 'out-bench', 'run.js'), '--quick', ...args, '--out', out], { cwd: root, stdio: 'pipe' });
  return JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>;
}

/** Every case ran and every metric has both sides' summaries and a finite ratio. */
function assertWellFormed(report: Record<string, unknown>, subject: string, caseIds: string[]): void {
  assert.equal(report['schema'], 'winsock2-bench/1');
  assert.equal(report['quick'], true);
  assert.equal(report['subject'], subject);
  assert.ok(['net', 'floor', 'passthrough', 'build'].includes(String(report['baseline'])), 'baseline');
  assert.equal(report['node'], process.version);
  assert.equal(typeof report['cpus'], 'number');
  const cases = report['cases'] as Record<string, unknown>[];
  assert.deepEqual(cases.map((c) => c['id']), caseIds);
  for (const c of cases) {
    assert.equal(c['error'], undefined, `case ${String(c['id'])} failed: ${String(c['error'])}`);
    const metrics = c['metrics'] as Record<string, unknown>[];
    assert.ok(metrics.length > 0, `case ${String(c['id'])} has no metrics`);
    for (const m of metrics) {
      const where = `${String(c['id'])}/${String(m['id'])}`;
      assert.ok(isSummary(m['winsock']), `${where}: ${subject} summary`);
      assert.ok(isSummary(m['net']), `${where}: net summary`);
      assert.ok(isSummary(m['pairRatio']), `${where}: pair ratios`);
      assert.equal(typeof m['ratio'], 'number', `${where}: ratio`);
      assert.ok(Number.isFinite(m['ratio']), `${where}: ratio is finite`);
      assert.ok(m['met'] === null || typeof m['met'] === 'boolean', `${where}: met`);
      assert.equal(typeof m['unit'], 'string', `${where}: unit`);
    }
  }
}

describe('benchmark harness (quick mode)', function () {
  this.timeout(180_000);
  let dir = '';

  before(function () {
    // Under Wine node.exe's stdio must be files, not pipes; `npm run bench:wine` covers Wine.
    if (process.env['WINSOCK2_TEST_PLATFORM'] === 'wine') pendingBecause(this, 'under Wine node.exe needs files for stdio; npm run bench:wine covers Wine');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock2-bench-'));
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.bench.json')], { cwd: root, stdio: 'pipe' });
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a well-formed JSON report with every case against its net twin', function () {
    assertWellFormed(runHarness(dir, []), 'winsock', CASE_IDS);
  });

  for (const subject of ['floor', 'passthrough']) {
    it(`runs the ${subject} subject (no winsock2 code) on the cases it can carry`, function () {
      const report = runHarness(dir, ['--subject', subject]);
      assertWellFormed(report, subject, FLOOR_CASE_IDS);
      assert.equal(report['provider'], null);
    });
  }

  it('measures winsock2 against the floor as baseline, with no targets judged', function () {
    const report = runHarness(dir, ['--baseline', 'floor']);
    assertWellFormed(report, 'winsock', FLOOR_CASE_IDS);
    assert.equal(report['baseline'], 'floor');
    for (const c of report['cases'] as { metrics: { met: unknown; target?: unknown }[] }[]) {
      for (const m of c.metrics) {
        assert.equal(m.met, null);
        assert.equal(m.target, undefined);
      }
    }
  });

  it('measures winsock2 against another build of itself (an A/B of a change)', function () {
    // This checkout's own dist/ as the other build: the pairing, not the numbers, is under test.
    const report = runHarness(dir, ['--baseline-build', path.join(root, 'dist'), '--cases', 'pingpong,seed']);
    assertWellFormed(report, 'winsock', ['pingpong', 'seed']);
    assert.equal(report['baseline'], 'build');
    assert.equal(report['baselineBuild'], path.join(root, 'dist'));
  });

  it('refuses another build as baseline for the idle case, and a directory that is no build', function () {
    const run = (args: string[]): void => {
      execFileSync(process.execPath, [path.join(root, 'out-bench', 'run.js'), '--quick', ...args], { cwd: root, stdio: 'pipe' });
    };
    const usageError = (pattern: RegExp) => (err: Error & { status?: number; stderr?: Buffer }): boolean => {
      assert.equal(err.status, 2);
      assert.match(String(err.stderr), pattern);
      return true;
    };
    assert.throws(() => run(['--baseline-build', path.join(root, 'dist'), '--cases', 'idle']), usageError(/cannot run idle/));
    assert.throws(() => run(['--baseline-build', dir]), usageError(/has no index\.js/));
  });

  it('refuses the floor subject for a case it cannot carry, with a usage error', function () {
    assert.throws(
      () => execFileSync(process.execPath, [path.join(root, 'out-bench', 'run.js'), '--quick', '--subject', 'floor', '--cases', 'seed'], { cwd: root, stdio: 'pipe' }),
      (err: Error & { status?: number; stderr?: Buffer }) => {
        assert.equal(err.status, 2);
        assert.match(String(err.stderr), /--subject floor cannot run seed/);
        return true;
      },
    );
  });
});
