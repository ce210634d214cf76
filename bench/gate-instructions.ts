/**
 * The gate's cost per request, counted (docs/performance.md, issue 20): each
 * server of gate-servers.ts runs alone under Valgrind's callgrind (V8
 * `--single-threaded`), this process is its client (not counted), making
 * http requests with `Connection: close`, four at a time, each on a
 * connection of its own. A request's cost is the difference between a
 * server that served `warm + to` requests and one that served
 * `warm + from`, over `to - from`: start-up, the first requests' JIT
 * compiles (a large warm-up: with 2,000 the count still moved by tens of
 * thousands of instructions per request as big functions compiled) and
 * exit cancel out. User-space instructions only, as bench:instructions.
 *
 *   npm run bench:gate-instructions -- [--steps plain,gate+cond] [--warm 8000]
 *                                      [--from 500] [--to 2500] [--out file.json]
 *
 * Needs valgrind. Nothing asserts a number.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { parseArgs as parseCommandLine } from 'node:util';
import { callgrindArgs, collectedInstructions } from './callgrind';
import { GATE_STEPS } from './gate-servers';
import { HOST } from './loopback';

interface Options {
  steps: string[];
  warm: number;
  from: number;
  to: number;
  out: string | null;
}

const CONCURRENCY = 4;

function usage(message: string): never {
  process.stderr.write(
    `gate-instructions: ${message}\nusage: gate-instructions.js [--steps ${Object.keys(GATE_STEPS).join(',')}] [--warm N] [--from N] [--to M] [--out file.json]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  // Node's own parser (util.parseArgs): unknown options and missing values are its errors.
  let values: { steps?: string; warm?: string; from?: string; to?: string; out?: string };
  try {
    ({ values } = parseCommandLine({
      args: argv,
      options: {
        steps: { type: 'string' },
        warm: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  const o: Options = {
    steps: values.steps?.split(',') ?? ['plain', 'gate+cond'],
    warm: Number(values.warm ?? 8000),
    from: Number(values.from ?? 500),
    to: Number(values.to ?? 2500),
    out: values.out ?? null,
  };
  for (const s of o.steps) if (!(s in GATE_STEPS)) usage(`unknown step ${s}`);
  if (![o.warm, o.from, o.to].every(Number.isInteger) || o.warm < 0 || o.from < 0 || o.to <= o.from) {
    usage('--warm, --from and --to must be integers with 0 <= from < to');
  }
  if (!o.steps.includes('plain')) o.steps.unshift('plain'); // the anchor of every ratio
  return o;
}

/** `n` requests, CONCURRENCY at a time, each on a new connection. */
function requests(port: number, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let started = 0;
    let done = 0;
    const next = (): void => {
      if (started >= n) return;
      started++;
      const req = http.get({ host: HOST, port, path: '/', agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.once('end', () => {
          if (++done === n) resolve();
          else next();
        });
      });
      req.once('error', reject);
    };
    if (n === 0) resolve();
    for (let i = 0; i < CONCURRENCY; i++) next();
  });
}

/** User-space instructions of a server process of `step` that served `n` requests (callgrind's "Collected"). */
function count(step: string, n: number): Promise<number> {
  const args = callgrindArgs(path.join(__dirname, 'gate-serve.js'), step);
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let started = false;
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^(\d+)\n/.exec(out);
      if (started || !m?.[1]) return;
      started = true;
      requests(Number(m[1]), n).then(
        () => child.kill('SIGTERM'),
        (e: unknown) => {
          child.kill('SIGKILL');
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new Error('valgrind not found (apt-get install valgrind)') : e);
    });
    child.once('close', (code) => {
      const collected = collectedInstructions(err);
      if (code !== 0 || collected === null) {
        reject(new Error(`${step} x${n}: valgrind exited ${String(code)}\n${err.slice(-2000)}`));
        return;
      }
      resolve(collected);
    });
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const perRequest = new Map<string, number>();
  // One server at a time: the client's pace decides how many connections a
  // server turn accepts, and with it the count.
  for (const step of o.steps) {
    const low = await count(step, o.warm + o.from);
    const high = await count(step, o.warm + o.to);
    perRequest.set(step, (high - low) / (o.to - o.from));
  }
  const plain = perRequest.get('plain') ?? NaN;
  const rows = o.steps.map((step) => {
    const instructions = perRequest.get(step) ?? NaN;
    return { step, instructions, ratio: instructions / plain };
  });
  process.stdout.write(
    `instructions per request, requests ${o.warm + o.from + 1}-${o.warm + o.to} (node ${process.version}, V8 --single-threaded, callgrind, server process only)\n` +
      `| server | instructions | ÷ plain |\n|---|---|---|\n` +
      rows.map((r) => `| ${r.step} | ${(r.instructions / 1e3).toFixed(1)} k | ${r.ratio.toFixed(3)} |`).join('\n') +
      '\n',
  );
  if (o.out) {
    const result = { kind: 'gate-instructions', node: process.version, ...o, at: new Date().toISOString(), rows };
    fs.writeFileSync(o.out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`JSON: ${o.out}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
