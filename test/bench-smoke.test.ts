/**
 * The benchmark harness (bench/, `npm run bench`) still runs: its quickest
 * mode produces well-formed JSON for every case. No timing is asserted —
 * benchmarks are never timed tests; only the shape of the report is.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pendingBecause, platform } from './helpers/harness';

const root = path.join(__dirname, '..', '..');
/** The default provider (emulated) runs every case but seed, which needs caller and disconnect data. */
const CASE_IDS = ['bulk', 'pingpong', 'conn-seq', 'conn-conc', 'idle'];
/** The gate cases (also run by default): http(s) behind the gate and alone, loaded by wrk in its own process. */
const GATE_CASE_IDS = ['gate-http', 'gate-https', 'gate-http-close', 'gate-https-close'];
/** Whether Debian's wrk is on PATH (scripts/ci-install-tools.sh installs it for CI). */
const hasWrk = !spawnSync('wrk', ['--version']).error;
const FLOOR_CASE_IDS = ['bulk', 'pingpong', 'conn-seq', 'conn-conc'];

interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

function isSummary(x: unknown): x is Summary {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Record<string, unknown>;
  return (
    ['median', 'min', 'max'].every((k) => typeof s[k] === 'number' && Number.isFinite(s[k])) &&
    Array.isArray(s['samples']) &&
    (s['samples'] as unknown[]).length > 0 &&
    (s['samples'] as unknown[]).every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)
  );
}

/** Runs the harness with `args` (plus --quick and --out) and returns its parsed report. */
function runHarness(dir: string, args: string[]): Record<string, unknown> {
  return runHarnessWithOutput(dir, args).report;
}

function runHarnessWithOutput(dir: string, args: string[]): { report: Record<string, unknown>; stdout: string } {
  const out = path.join(dir, `report-${args.join('_').replace(/[^\w-]/g, '_') || 'default'}.json`);
  const stdout = execFileSync(
    process.execPath,
    [path.join(root, 'out-bench', 'run.js'), '--quick', ...args, '--out', out],
    { cwd: root, stdio: 'pipe' },
  ).toString();
  return { report: JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>, stdout };
}

/** Every case ran and every metric has both sides' summaries and a finite ratio. */
function assertWellFormed(report: Record<string, unknown>, subject: string, caseIds: string[]): void {
  assert.equal(report['schema'], 'winsock2-bench/2');
  assert.equal(report['quick'], true);
  assert.equal(report['subject'], subject);
  assert.ok(['net', 'floor', 'passthrough', 'build'].includes(String(report['baseline'])), 'baseline');
  assert.equal(report['node'], process.version);
  assert.equal(typeof report['cpus'], 'number');
  const cases = report['cases'] as Record<string, unknown>[];
  assert.deepEqual(
    cases.map((c) => c['id']),
    caseIds,
  );
  for (const c of cases) {
    assert.equal(c['error'], undefined, `case ${String(c['id'])} failed: ${String(c['error'])}`);
    const metrics = c['metrics'] as Record<string, unknown>[];
    assert.ok(metrics.length > 0, `case ${String(c['id'])} has no metrics`);
    for (const m of metrics) {
      const where = `${String(c['id'])}/${String(m['id'])}`;
      assert.ok(isSummary(m['subject']), `${where}: ${subject} summary`);
      assert.ok(isSummary(m['baseline']), `${where}: baseline summary`);
      assert.ok(isSummary(m['pairRatio']), `${where}: pair ratios`);
      assert.equal(typeof m['ratio'], 'number', `${where}: ratio`);
      assert.ok(Number.isFinite(m['ratio']), `${where}: ratio is finite`);
      // --quick never judges a target: its ratios come from a cold JIT and one pair.
      assert.equal(m['met'], null, `${where}: met`);
      assert.equal(typeof m['unit'], 'string', `${where}: unit`);
    }
  }
}

describe('benchmark harness (quick mode)', function () {
  this.timeout(180_000);
  let dir = '';

  before(function () {
    // Under Wine node.exe's stdio must be files, not pipes; `npm run bench:wine` covers Wine.
    if (platform === 'wine')
      pendingBecause(this, 'under Wine node.exe needs files for stdio; npm run bench:wine covers Wine');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock2-bench-'));
    execFileSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.bench.json')],
      { cwd: root, stdio: 'pipe' },
    );
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a well-formed JSON report with every case against its net twin (emulated by default), judging nothing', function () {
    // The gate cases need wrk: the next test runs them, or says why it cannot.
    const { report, stdout } = runHarnessWithOutput(dir, ['--skip', GATE_CASE_IDS.join(',')]);
    assertWellFormed(report, 'winsock', CASE_IDS);
    assert.equal(report['provider'], 'emulated');
    assert.equal(report['baseline'], 'net');
    // emulated has targets against net; a quick run shows them but does not judge them.
    const bulk = (report['cases'] as { id: string; metrics: { target?: unknown }[] }[]).find((c) => c.id === 'bulk');
    assert.deepEqual(bulk?.metrics[0]?.target, { on: 'ratio', op: '>=', value: 0.97 });
    assert.doesNotMatch(stdout, /\bmet\b|MISSED/);
    assert.match(stdout, /not judged/);
  });

  it('runs the gate cases: http and https behind the gate against the same server alone, under wrk', function () {
    if (!hasWrk)
      pendingBecause(this, 'wrk is not installed (apt-get install wrk; scripts/ci-install-tools.sh installs it in CI)');
    const report = runHarness(dir, ['--cases', GATE_CASE_IDS.join(',')]);
    assertWellFormed(report, 'winsock', GATE_CASE_IDS);
    // Issue 20's target is on the request rate; the CPU per request is reported beside it.
    for (const c of report['cases'] as { id: string; metrics: { id: string; target?: unknown }[] }[]) {
      assert.deepEqual(
        c.metrics.map((m) => [m.id, m.target]),
        [
          [`${c.id}-rate`, { on: 'ratio', op: '>=', value: 0.97 }],
          [`${c.id}-cpu`, undefined],
        ],
      );
    }
  });

  it('runs the seed scenario on the framed provider (caller and disconnect data)', function () {
    const report = runHarness(dir, ['--provider', 'framed', '--cases', 'seed']);
    assertWellFormed(report, 'winsock', ['seed']);
    assert.equal(report['provider'], 'framed');
  });

  for (const subject of ['floor', 'passthrough']) {
    it(`runs the ${subject} subject (no winsock2 code) on the cases it can carry`, function () {
      const report = runHarness(dir, ['--subject', subject]);
      assertWellFormed(report, subject, FLOOR_CASE_IDS);
      assert.equal(report['provider'], null);
    });
  }

  it('measures framed against the floor as baseline, with the floor targets reported', function () {
    const report = runHarness(dir, ['--provider', 'framed', '--baseline', 'floor']);
    assertWellFormed(report, 'winsock', FLOOR_CASE_IDS);
    assert.equal(report['baseline'], 'floor');
    const targets = Object.fromEntries(
      (report['cases'] as { id: string; metrics: { target?: { value: number } }[] }[]).map((c) => [
        c.id,
        c.metrics[0]?.target?.value,
      ]),
    );
    assert.deepEqual(targets, { bulk: 1.0, pingpong: 1.0, 'conn-seq': 0.95, 'conn-conc': 0.95 });
  });

  it('sets no target where a pairing has none (framed against net)', function () {
    const report = runHarness(dir, ['--provider', 'framed', '--cases', 'pingpong']);
    for (const c of report['cases'] as { metrics: { target?: unknown }[] }[]) {
      for (const m of c.metrics) assert.equal(m.target, undefined);
    }
  });

  it('measures winsock2 against another build of itself (an A/B of a change)', function () {
    // This checkout's own dist/ as the other build: the pairing, not the numbers, is under test.
    const report = runHarness(dir, [
      '--provider',
      'framed',
      '--baseline-build',
      path.join(root, 'dist'),
      '--cases',
      'pingpong,seed',
    ]);
    assertWellFormed(report, 'winsock', ['pingpong', 'seed']);
    assert.equal(report['baseline'], 'build');
    assert.equal(report['baselineBuild'], path.join(root, 'dist'));
  });

  it("keeps glibc's heap in the side processes with --keep-heap, and records it", function () {
    // run.ts fails the case if a side process did not start with the threshold it was given.
    const report = runHarness(dir, ['--provider', 'framed', '--baseline', 'floor', '--cases', 'bulk', '--keep-heap']);
    assertWellFormed(report, 'winsock', ['bulk']);
    assert.equal(report['mallocTrimThreshold'], String(256 * 1024 * 1024));
    const plain = runHarness(dir, ['--provider', 'framed', '--baseline', 'floor', '--cases', 'bulk']);
    assert.equal(plain['mallocTrimThreshold'], process.env['MALLOC_TRIM_THRESHOLD_'] ?? null);
  });

  it('refuses another build as baseline for the idle case, and a directory that is no build', function () {
    const run = (args: string[]): void => {
      execFileSync(process.execPath, [path.join(root, 'out-bench', 'run.js'), '--quick', ...args], {
        cwd: root,
        stdio: 'pipe',
      });
    };
    const usageError =
      (pattern: RegExp) =>
      (err: Error & { status?: number; stderr?: Buffer }): boolean => {
        assert.equal(err.status, 2);
        assert.match(String(err.stderr), pattern);
        return true;
      };
    assert.throws(
      () => run(['--baseline-build', path.join(root, 'dist'), '--cases', 'idle']),
      usageError(/cannot run idle/),
    );
    assert.throws(() => run(['--baseline-build', dir]), usageError(/has no index\.js/));
    assert.throws(() => run(['--baseline', 'build']), usageError(/needs --baseline-build/));
    assert.throws(
      () => run(['--keep-heap', '--shared-process']),
      usageError(/--keep-heap sets the side processes' heap/),
    );
    assert.throws(
      () => run(['--provider', 'emulated', '--cases', 'seed']),
      usageError(/--provider emulated cannot run seed/),
    );
    assert.throws(
      () => run(['--provider', 'framed', '--cases', 'gate-http']),
      usageError(/--provider framed cannot run gate-http \(its wire is its own framed protocol/),
    );
  });

  it('refuses the floor subject for a case it cannot carry, with a usage error', function () {
    assert.throws(
      () =>
        execFileSync(
          process.execPath,
          [path.join(root, 'out-bench', 'run.js'), '--quick', '--subject', 'floor', '--cases', 'seed'],
          { cwd: root, stdio: 'pipe' },
        ),
      (err: Error & { status?: number; stderr?: Buffer }) => {
        assert.equal(err.status, 2);
        assert.match(String(err.stderr), /--subject floor cannot run seed/);
        return true;
      },
    );
  });
});
