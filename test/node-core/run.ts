/**
 * Runs Node's own test/parallel/test-net-*.js (a Node source tree, fetched
 * by scripts/node-net-tests.sh) twice each: on node:net, and with only
 * `require('net')` changed to winsock2/net (the --require hook of
 * test/fixtures/net-programs, quiet). A test that passes on
 * node:net must pass on winsock2/net unless differences.ts names it, with
 * its reason; a named test that passes is an error too (the list stays
 * true). Tests that fail on node:net itself here are reported, not judged.
 *
 *   node out/test/node-core/run.js <node source tree> [--only a,b] [--jobs N] [--verbose]
 *
 * A failing test is run once more before it counts: some of Node's tests
 * are timing-sensitive on a loaded two-core machine, on either side.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIFFERENCES } from './differences';

interface Outcome {
  readonly ok: boolean;
  /** The first line of stderr that names an error, when it failed. */
  readonly why: string;
}

const TIMEOUT_MS = 30_000;
/** The --require hook test/net-programs.test.ts uses too: 'net' outside the package -> winsock2/net. */
const hook = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'net-programs', 'use-winsock2-net.js');

function usage(message: string): never {
  process.stderr.write(`node-core: ${message}\nusage: run.js <node source tree> [--only a,b] [--jobs N] [--verbose]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { tree: string; only: string[] | null; jobs: number; verbose: boolean } {
  let tree: string | null = null;
  let only: string[] | null = null;
  let jobs = 2;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--jobs') {
      jobs = Number(argv[++i]);
      if (!Number.isInteger(jobs) || jobs < 1) usage('--jobs must be a positive integer');
    } else if (arg === '--verbose') verbose = true;
    else if (arg.startsWith('--')) usage(`unknown argument ${arg}`);
    else tree = path.resolve(arg);
  }
  if (tree === null || !fs.existsSync(path.join(tree, 'test', 'parallel')))
    usage('give the root of a Node.js source tree (with test/parallel and test/common)');
  return { tree, only, jobs, verbose };
}

/** `// Flags:` at the top of a test, as Node's test runner reads them. */
function flagsOf(file: string): string[] {
  const match = /^\/\/ Flags: (.*)$/m.exec(fs.readFileSync(file, 'utf8'));
  return match ? match[1].trim().split(/\s+/) : [];
}

function runOnce(tree: string, file: string, withWinsock: boolean, slot: number): Promise<Outcome> {
  const args = [...flagsOf(file), ...(withWinsock ? ['-r', hook] : []), file];
  return new Promise((resolve) => {
    // Each job slot its own test/.tmp.<id>: test/common's tmpdir.refresh() empties it.
    // A process group of its own: a test's children are killed with it (a child left
    // holding stderr would otherwise keep the run waiting for ever).
    const child = spawn(process.execPath, args, {
      cwd: tree,
      env: { ...process.env, TEST_THREAD_ID: String(slot), WINSOCK2_NET_QUIET: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // What the test left running goes with it; its stderr has until then to drain.
      setTimeout(() => {
        killGroup();
        child.stderr.destroy();
        if (code === 0 && !timedOut) {
          resolve({ ok: true, why: '' });
          return;
        }
        const lines = stderr.split('\n').map((l) => l.trim());
        const named = lines.find((l) => /Error|assert|ERR_/.test(l) && !l.startsWith('at ')) ?? lines[0] ?? '';
        resolve({ ok: false, why: timedOut ? `timed out after ${TIMEOUT_MS / 1000} s` : named.slice(0, 200) });
      }, 100);
    });
  });
}

async function judge(tree: string, file: string, withWinsock: boolean, slot: number): Promise<Outcome> {
  const first = await runOnce(tree, file, withWinsock, slot);
  return first.ok ? first : runOnce(tree, file, withWinsock, slot);
}

interface Row {
  readonly test: string;
  readonly net: Outcome;
  readonly winsock: Outcome | null;
}

async function main(): Promise<void> {
  const { tree, only, jobs, verbose } = parseArgs(process.argv.slice(2));
  const dir = path.join(tree, 'test', 'parallel');
  const tests = fs
    .readdirSync(dir)
    .filter((f) => /^test-net-.*\.js$/.test(f))
    .map((f) => f.slice(0, -3))
    .filter((t) => only === null || only.includes(t))
    .sort();
  const rows: Row[] = [];
  let next = 0;
  const worker = async (slot: number): Promise<void> => {
    while (next < tests.length) {
      const test = tests[next++];
      const file = path.join(dir, `${test}.js`);
      const net = await judge(tree, file, false, slot);
      const winsock = net.ok ? await judge(tree, file, true, slot) : null;
      rows.push({ test, net, winsock });
      if (verbose)
        process.stderr.write(
          `${test}: net ${net.ok ? 'ok' : 'FAIL'}, winsock2/net ${winsock === null ? '-' : winsock.ok ? 'ok' : 'FAIL'}\n`,
        );
    }
  };
  await Promise.all(Array.from({ length: jobs }, (_, i) => worker(i + 1)));
  rows.sort((a, b) => a.test.localeCompare(b.test));

  const judged = rows.filter((r) => r.winsock !== null);
  const passing = judged.filter((r) => r.winsock?.ok === true);
  const unexpected = judged.filter((r) => r.winsock?.ok === false && DIFFERENCES[r.test] === undefined);
  const stale = judged.filter((r) => r.winsock?.ok === true && DIFFERENCES[r.test] !== undefined);
  const unknown = Object.keys(DIFFERENCES).filter((t) => only === null && !rows.some((r) => r.test === t));

  const out = process.stdout;
  out.write(`Node's test-net-*.js from ${tree}, on ${process.version}\n`);
  out.write(`  ${rows.length} tests, ${judged.length} pass on node:net, ${passing.length} of them on winsock2/net\n`);
  for (const r of rows.filter((x) => !x.net.ok))
    out.write(`  fails on node:net here (not judged): ${r.test}: ${r.net.why}\n`);
  for (const r of judged.filter((x) => x.winsock?.ok === false && DIFFERENCES[x.test] !== undefined)) {
    out.write(`  kept difference: ${r.test}: ${DIFFERENCES[r.test] ?? ''}\n`);
  }
  for (const r of unexpected) out.write(`  FAILS on winsock2/net: ${r.test}: ${r.winsock?.why ?? ''}\n`);
  for (const r of stale) out.write(`  PASSES but is listed in differences.ts: ${r.test}\n`);
  for (const t of unknown) out.write(`  listed in differences.ts but not in this tree: ${t}\n`);
  const results = path.join(tree, '..', 'results.json');
  fs.writeFileSync(results, `${JSON.stringify({ node: process.version, tree, rows }, null, 2)}\n`);
  out.write(`  JSON: ${results}\n`);
  if (unexpected.length > 0 || stale.length > 0 || unknown.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
