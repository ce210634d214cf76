/**
 * Instructions per run, counted rather than timed (docs/performance.md,
 * "Counting instructions"): each side of a case runs alone in its own
 * process under Valgrind's callgrind, with V8 on one thread
 * (`--single-threaded`: no concurrent compiler or GC threads, so the count
 * does not depend on scheduling). A run's cost is the difference between a
 * process that runs the case `--to` times and one that runs it `--from`
 * times, divided by the runs between: start-up, loading and the first
 * runs' JIT warm-up cancel out, what is left is the steady state.
 *
 * The count repeats to within about 0.2 % where CPU time on this machine
 * moves by 5-10 % between runs, so it can judge a change of a few percent.
 * It counts user-space instructions only (system calls, cache misses and
 * helper threads are not in it): it complements `npm run bench`, whose CPU
 * ratio stays the measure the targets are judged on.
 *
 *   npm run bench:instructions -- [--cases conn-seq,conn-conc] [--provider emulated]
 *                                 [--baseline net|floor] [--from 4] [--to 10] [--out file.json]
 *
 * Needs valgrind (apt-get install valgrind). Nothing asserts a number.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { callgrindArgs, collectedInstructions } from './callgrind';
import { CASES } from './cases';
import { isProvider, PROVIDERS, type ProviderName } from './loopback';

interface Options {
  cases: string[];
  provider: ProviderName;
  baseline: 'net' | 'floor';
  from: number;
  to: number;
  out: string | null;
}

function usage(message: string): never {
  process.stderr.write(
    `instructions: ${message}\nusage: instructions.js [--cases ${CASES.map((c) => c.id).join(',')}] [--provider ${PROVIDERS.join('|')}] [--baseline net|floor] [--from N] [--to M] [--out file.json]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    cases: ['conn-seq', 'conn-conc', 'pingpong'],
    provider: 'emulated',
    baseline: 'net',
    from: 4,
    to: 10,
    out: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg ?? ''} needs a value`);
      return v;
    };
    switch (arg) {
      case '--cases':
        o.cases = value().split(',');
        break;
      case '--provider': {
        const p = value();
        if (!isProvider(p)) usage(`--provider must be one of ${PROVIDERS.join(', ')}`);
        o.provider = p;
        break;
      }
      case '--baseline': {
        const b = value();
        if (b !== 'net' && b !== 'floor') usage('--baseline must be net or floor');
        o.baseline = b;
        break;
      }
      case '--from':
        o.from = Number(value());
        break;
      case '--to':
        o.to = Number(value());
        break;
      case '--out':
        o.out = value();
        break;
      default:
        usage(`unknown argument ${arg ?? ''}`);
    }
  }
  if (!Number.isInteger(o.from) || !Number.isInteger(o.to) || o.from < 1 || o.to <= o.from) {
    usage('--from and --to must be integers with 1 <= from < to');
  }
  for (const id of o.cases) {
    const c = CASES.find((x) => x.id === id);
    if (!c) usage(`unknown case ${id}`);
    if (c.id === 'idle' || c.id === 'gate') usage(`${id} runs in child processes or wrk: it cannot be counted here`);
    if (o.baseline === 'floor' && !c.floor) usage(`the floor cannot run ${id}`);
  }
  return o;
}

/** User-space instructions of one process running `caseId` `runs` times on `side` (callgrind's "Collected"). */
function count(caseId: string, side: string, runs: number, provider: ProviderName): Promise<number> {
  const args = callgrindArgs(path.join(__dirname, 'profile.js'), caseId, side, String(runs), '--provider', provider);
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new Error('valgrind not found (apt-get install valgrind)') : e);
    });
    child.once('close', (code) => {
      const collected = collectedInstructions(err);
      if (code !== 0 || collected === null) {
        reject(new Error(`${caseId} ${side} x${runs}: valgrind exited ${String(code)}\n${err.slice(-2000)}`));
        return;
      }
      resolve(collected);
    });
  });
}

/** Runs `jobs` at most `width` at a time, in order. */
async function pool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return results;
}

interface Row {
  case: string;
  subject: number;
  baseline: number;
  ratio: number;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const sides = ['winsock', o.baseline];
  const jobs: (() => Promise<number>)[] = [];
  for (const id of o.cases)
    for (const side of sides) for (const runs of [o.from, o.to]) jobs.push(() => count(id, side, runs, o.provider));
  const counts = await pool(jobs, Math.max(1, Math.min(2, os.cpus().length)));
  const perRun = (i: number): number => (counts[i + 1] - counts[i]) / (o.to - o.from);
  const rows: Row[] = o.cases.map((id, k) => {
    const subject = perRun(k * 4);
    const baseline = perRun(k * 4 + 2);
    return { case: id, subject, baseline, ratio: subject / baseline };
  });
  const subjectName = `winsock2 ${o.provider}`;
  process.stdout.write(
    `instructions per run, runs ${o.from + 1}-${o.to} (node ${process.version}, V8 --single-threaded, callgrind)\n` +
      `| case | ${subjectName} | ${o.baseline} | ratio |\n|---|---|---|---|\n` +
      rows
        .map(
          (r) =>
            `| ${r.case} | ${(r.subject / 1e6).toFixed(1)} M | ${(r.baseline / 1e6).toFixed(1)} M | ${r.ratio.toFixed(3)} |`,
        )
        .join('\n') +
      '\n',
  );
  if (o.out) {
    const result = {
      kind: 'instructions',
      node: process.version,
      provider: o.provider,
      baseline: o.baseline,
      runs: { from: o.from, to: o.to },
      at: new Date().toISOString(),
      rows,
    };
    fs.writeFileSync(o.out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`JSON: ${o.out}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
