/**
 * `npm run bench`: every case as pairs of runs, a subject against a baseline,
 * in this one process.
 *
 * One vocabulary for what runs:
 *   --provider native|emulated|framed   which winsock2 provider the subject
 *        `winsock` runs on (default emulated: what 'auto' picks off Windows;
 *        native is measured under Wine by `npm run bench:wine`);
 *   --subject winsock|floor|passthrough  what is measured: winsock2, or a
 *        stand-in with no winsock2 code (bench/floor-impl.ts): `floor` the
 *        framed design's minimum, `passthrough` a bare Duplex over net.Socket;
 *   --baseline net|floor|passthrough|build  what it is measured against:
 *        node:net, a stand-in, or another build of winsock2 (`build` with
 *        `--baseline-build DIR`, DIR being that build's dist/; an A/B of a
 *        change on the real cases; not for `idle` and the gate cases, whose children load ./dist).
 *
 * Targets are per provider and anchor (bench/cases.ts): emulated against net,
 * framed against the floor, native against net. Other pairings are reported
 * without a target, and `--quick` judges nothing (a cold JIT's ratios mean
 * nothing).
 *
 * For each case: warm-up pairs (not recorded), then pairs in alternating
 * order — subject baseline, baseline subject, … — because whichever runs
 * second in a pair is measurably faster here; the ratio is the subject's
 * median over the baseline's median in the same run. Prints a table and
 * writes JSON (schema v2: each metric's samples under `subject` and
 * `baseline`; bench/results/<timestamp>.json unless --out says otherwise).
 *
 *   node out-bench/run.js [--quick] [--pairs N] [--warmup N] [--cases bulk,pingpong,…]
 *        [--skip idle] [--provider native|emulated|framed] [--subject winsock|floor|passthrough]
 *        [--baseline net|floor|passthrough|build] [--baseline-build DIR]
 *        [--out file.json] [--label text] [--shared-process] [--keep-heap]
 *
 * A benchmark, never a test: nothing here fails on a time. It exits non-zero
 * only when a case could not run (its error is in the JSON).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { forkChild } from './child';
import { CASES, type Case, type Metric, type Pairing, type RunContext, type Target } from './cases';
import { makeImpl, winsockImpl } from './impls';
import { isProvider, PROVIDERS, type ImplName, type ProviderName } from './loopback';

/** What runs against net: winsock2 on a provider, or the design's floor. */
type Subject = 'winsock' | 'floor' | 'passthrough';
const SUBJECTS: readonly Subject[] = ['winsock', 'floor', 'passthrough'];
const isSubject = (v: string): v is Subject => (SUBJECTS as readonly string[]).includes(v);
/** `build`: winsock2 from another build's dist/ (`--baseline-build`). */
type Baseline = 'net' | 'floor' | 'passthrough' | 'build';
const BASELINES: readonly Baseline[] = ['net', 'floor', 'passthrough', 'build'];
const isBaseline = (v: string): v is Baseline => (BASELINES as readonly string[]).includes(v);
/** The two sides of every pair, as the JSON (schema v2) names them. */
type Slot = 'subject' | 'baseline';
/** Off Windows 'auto' is emulated; under Wine `npm run bench:wine` asks for its providers by name. */
const DEFAULT_PROVIDER: ProviderName = 'emulated';

interface Options {
  quick: boolean;
  pairs: number | null;
  warmup: number | null;
  cases: string[] | null;
  skip: string[];
  provider: ProviderName;
  subject: Subject;
  baseline: Baseline;
  /** The other build's dist/ directory, when baseline is 'build'. */
  baselineBuild: string | null;
  out: string | null;
  label: string | null;
  /** Both sides in this process (the harness before each side had its own; for comparing with old reports). */
  sharedProcess: boolean;
  /** The child processes keep their freed heap (glibc's MALLOC_TRIM_THRESHOLD_; see HEAP_KEPT). */
  keepHeap: boolean;
}

/**
 * What `--keep-heap` gives every child process as MALLOC_TRIM_THRESHOLD_
 * (256 MiB): glibc then keeps freed memory instead of returning the top of
 * its heap to the kernel. Bulk reads land in a fresh 64 KiB malloc per
 * read, freed at the next scavenge (~32 MB later); whether glibc hands those
 * pages back (and the next reads fault them in again, 4-5x the minor faults
 * and a third more system time) depends on whether some long-lived
 * allocation happens to sit at the heap's top, which changes with unrelated
 * code (docs/performance.md, "Bulk and glibc's heap trimming"). With the
 * heap kept, bulk compares the code, not that luck.
 */
const HEAP_KEPT = String(256 * 1024 * 1024);

function usage(message: string): never {
  process.stderr.write(
    `bench: ${message}\nusage: run.js [--quick] [--pairs N] [--warmup N] [--cases ${CASES.map((c) => c.id).join(',')}] [--skip ids] [--provider ${PROVIDERS.join('|')}] [--subject ${SUBJECTS.join('|')}] [--baseline ${BASELINES.join('|')}] [--baseline-build DIR] [--out file.json] [--label text] [--shared-process] [--keep-heap]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    pairs: null,
    warmup: null,
    cases: null,
    skip: [],
    provider: DEFAULT_PROVIDER,
    subject: 'winsock',
    baseline: 'net',
    baselineBuild: null,
    out: null,
    label: null,
    sharedProcess: false,
    keepHeap: false,
  };
  let providerGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg} needs a value`);
      return v;
    };
    const ids = (v: string): string[] => {
      const list = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const id of list) if (!CASES.some((c) => c.id === id)) usage(`unknown case ${id}`);
      return list;
    };
    switch (arg) {
      case '--quick':
        o.quick = true;
        break;
      case '--pairs': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) usage('--pairs must be a positive integer');
        o.pairs = n;
        break;
      }
      case '--warmup': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 0) usage('--warmup must be an integer >= 0');
        o.warmup = n;
        break;
      }
      case '--cases':
        o.cases = ids(value());
        break;
      case '--skip':
        o.skip = ids(value());
        break;
      case '--provider': {
        const p = value();
        if (!isProvider(p)) usage(`--provider must be one of ${PROVIDERS.join(', ')}`);
        o.provider = p;
        providerGiven = true;
        break;
      }
      case '--subject': {
        const v = value();
        if (!isSubject(v)) usage(`--subject must be one of ${SUBJECTS.join(', ')}`);
        o.subject = v;
        break;
      }
      case '--baseline': {
        const v = value();
        if (!isBaseline(v)) usage(`--baseline must be one of ${BASELINES.join(', ')}`);
        o.baseline = v;
        break;
      }
      case '--baseline-build': {
        const dir = path.resolve(value());
        if (!fs.existsSync(path.join(dir, 'index.js')))
          usage(`--baseline-build: ${dir} has no index.js (give a build's dist/ directory)`);
        o.baseline = 'build';
        o.baselineBuild = dir;
        break;
      }
      case '--out':
        o.out = value();
        break;
      case '--label':
        o.label = value();
        break;
      case '--shared-process':
        o.sharedProcess = true;
        break;
      case '--keep-heap':
        o.keepHeap = true;
        break;
      case '--help':
      case '-h':
        usage('help');
      // falls through (usage exits)
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  if ((o.subject as string) === o.baseline) usage('--subject and --baseline must differ');
  // glibc reads its tunables as a process starts: the side processes get it, this one cannot.
  if (o.keepHeap && o.sharedProcess)
    usage(
      `--keep-heap sets the side processes' heap: with --shared-process, run the bench under MALLOC_TRIM_THRESHOLD_=${HEAP_KEPT}`,
    );
  if (o.baseline === 'build' && o.baselineBuild === null)
    usage("--baseline build needs --baseline-build DIR (that build's dist/)");
  if (o.baselineBuild !== null && o.baseline !== 'build')
    usage(`--baseline-build DIR is the build baseline: it cannot go with --baseline ${o.baseline}`);
  if (o.baseline === 'build') {
    if (o.subject !== 'winsock')
      usage('--baseline-build compares winsock2 with another build of it: leave out --subject');
    const children = (o.cases ?? []).filter((id) => id === 'idle' || id.startsWith('gate-'));
    if (children.length > 0)
      usage(`--baseline-build cannot run ${children.join(', ')} (their child processes load this checkout's dist/)`);
  }
  const stand =
    o.subject !== 'winsock'
      ? `--subject ${o.subject}`
      : o.baseline === 'floor' || o.baseline === 'passthrough'
        ? `--baseline ${o.baseline}`
        : null;
  if (stand !== null) {
    const unfit = (o.cases ?? []).filter((id) => !CASES.find((c) => c.id === id)?.floor);
    if (unfit.length > 0)
      usage(
        `${stand} cannot run ${unfit.join(',')} (it carries no caller or disconnect data, and runs in this process only)`,
      );
    if (o.subject !== 'winsock' && providerGiven) usage(`${stand} runs no provider: leave out --provider`);
  }
  if (o.subject === 'winsock') {
    const unfit = (o.cases ?? []).filter((id) => !carries(CASES.find((c) => c.id === id) as Case, o.provider));
    if (unfit.length > 0) {
      const why =
        o.provider === 'framed'
          ? 'its wire is its own framed protocol: a plain TCP client such as wrk cannot talk to it'
          : 'it carries no caller or disconnect data: only framed does';
      usage(`--provider ${o.provider} cannot run ${unfit.join(',')} (${why})`);
    }
  }
  return o;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

function summarise(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, samples };
}

export interface MetricResult extends Omit<Metric, 'targets'> {
  /** The target of this run's pairing, if it has one (reported in --quick too, but not judged). */
  target?: Target;
  subject: Summary;
  baseline: Summary;
  /** subject median / baseline median (in the metric's unit: for latency and memory, lower is better). */
  ratio: number;
  /** The same ratio within each pair: its spread says how much of the difference is noise. */
  pairRatio: Summary;
  /** Whether the target holds; null when the pairing has none, and in --quick runs. */
  met: boolean | null;
}

export interface CaseResult {
  id: string;
  title: string;
  params: Record<string, number>;
  warmupPairs: number;
  pairs: number;
  /** Run order of each recorded pair. */
  order: string[];
  metrics: MetricResult[];
  /**
   * Process CPU time (user + system) per run, in-process cases only: both ends
   * run in this one thread, so it is the work each side costs, and it swings
   * less than wall time when other processes compete for the CPUs.
   */
  cpu?: { unit: 'ms/run'; subject: Summary; baseline: Summary; ratio: number; pairRatio: Summary };
  durationSec: number;
  error?: string;
}

function holds(target: Target, ratio: number, value: number): boolean {
  const x = target.on === 'ratio' ? ratio : value;
  return target.op === '>=' ? x >= target.value : x <= target.value;
}

/**
 * Between runs: let closing sockets finish. No forced GC here: a full
 * collection between runs shrinks the young generation and throws away
 * feedback, and the next run (of either side) then measured warm-up, not
 * steady state (conn-seq: 2-4x slower after gc(), on both sides).
 */
async function pause(): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
}

/** One side of the pairs: runs the case once per call; its CPU time over the run. */
interface Side {
  run(params: Record<string, number>, ctx: RunContext): Promise<{ result: Record<string, number>; cpuMs: number }>;
  stop(): void;
}

/** The side in this process (--shared-process, and the cases that start children of their own). */
function sideHere(c: Case, impl: ReturnType<typeof makeImpl>): Side {
  return {
    async run(params, ctx) {
      const before = process.cpuUsage();
      const result = await c.run(impl, params, ctx);
      const used = process.cpuUsage(before);
      return { result, cpuMs: (used.user + used.system) / 1000 };
    },
    stop: () => undefined,
  };
}

/** The side in a process of its own (side.ts), kept for the whole case so its JIT warms with the warm-up pairs. */
function sideApart(c: Case, implArg: string, o: Options, dist: string | null): Side {
  const args = [c.id, implArg, o.provider, ...(dist !== null ? [dist] : [])];
  const env = o.keepHeap ? { ...process.env, MALLOC_TRIM_THRESHOLD_: HEAP_KEPT } : process.env;
  const label = `side ${implArg} of ${c.id}`;
  const child = forkChild(path.join(__dirname, 'side.js'), args, label, env);
  return {
    async run(params, ctx) {
      const done = await child.next('done', { params, ctx });
      const heap = env['MALLOC_TRIM_THRESHOLD_'] ?? null;
      if (done['trimThreshold'] !== heap)
        throw new Error(
          `${label} ran with MALLOC_TRIM_THRESHOLD_=${String(done['trimThreshold'])}, not ${String(heap)}`,
        );
      return { result: done['result'] as Record<string, number>, cpuMs: done['cpuMs'] as number };
    },
    stop: () => void child.stop(),
  };
}

async function runCase(c: Case, o: Options): Promise<CaseResult> {
  const params = c.params(o.quick);
  const pairs = o.pairs ?? c.pairs?.(o.quick) ?? (o.quick ? 1 : 15);
  const warmup = o.warmup ?? c.warmup?.(o.quick) ?? (o.quick ? 1 : 3);
  const ctx = { provider: o.provider, quick: o.quick };
  const subject: ImplName = o.subject;
  const baseline = o.baseline;
  const impls: Record<Slot, ReturnType<typeof makeImpl>> = {
    subject: makeImpl(subject, o.provider),
    baseline:
      baseline === 'build' ? winsockImpl(o.provider, o.baselineBuild ?? undefined) : makeImpl(baseline, o.provider),
  };
  // Each side in a process of its own (side.ts), unless asked otherwise or the case
  // already runs its servers in children (idle, the gate cases).
  const apart = !o.sharedProcess && c.ownProcesses !== true;
  const sides: Record<Slot, Side> = apart
    ? {
        subject: sideApart(c, subject, o, null),
        baseline: baseline === 'build' ? sideApart(c, 'build', o, o.baselineBuild) : sideApart(c, baseline, o, null),
      }
    : { subject: sideHere(c, impls.subject), baseline: sideHere(c, impls.baseline) };
  const samples: Record<Slot, Record<string, number>[]> = { subject: [], baseline: [] };
  const cpu: Record<Slot, number[]> = { subject: [], baseline: [] };
  const order: string[] = [];
  const started = Date.now();
  // A failed run fails the case; the side processes stop either way (else they keep the bench alive).
  try {
    for (let p = 1 - warmup; p <= pairs; p++) {
      // Pairs up to 0 are the warm-up (JIT, pools, caches); then the subject first in odd pairs, the baseline first in even ones.
      const first: Slot = p % 2 === 0 ? 'baseline' : 'subject';
      const sequence: Slot[] = [first, first === 'baseline' ? 'subject' : 'baseline'];
      const got: Partial<Record<Slot, Record<string, number>>> = {};
      const cpuMs: Partial<Record<Slot, number>> = {};
      for (const name of sequence) {
        await pause();
        const { result, cpuMs: used } = await sides[name].run(params, ctx);
        got[name] = result;
        cpuMs[name] = used;
      }
      if (p <= 0) {
        process.stderr.write(
          `  ${c.id} warm-up: ${c.metrics.map((m) => `${m.id} ${fmt(got.subject?.[m.id])} / ${fmt(got.baseline?.[m.id])}`).join(', ')}\n`,
        );
        continue;
      }
      order.push(sequence.map((slot) => (slot === 'subject' ? subject : baseline)).join(' '));
      samples.subject.push(got.subject as Record<string, number>);
      samples.baseline.push(got.baseline as Record<string, number>);
      cpu.subject.push(cpuMs.subject as number);
      cpu.baseline.push(cpuMs.baseline as number);
      process.stderr.write(
        `  ${c.id} pair ${p}/${pairs}: ${c.metrics.map((m) => `${m.id} ${fmt(got.subject?.[m.id])} / ${fmt(got.baseline?.[m.id])}`).join(', ')}\n`,
      );
    }
  } finally {
    sides.subject.stop();
    sides.baseline.stop();
  }
  const metrics = c.metrics.map((metric): MetricResult => {
    const { targets, ...rest } = metric;
    const target = targetOf(targets, o);
    const sub = samples.subject.map((s) => s[rest.id] as number);
    const base = samples.baseline.map((s) => s[rest.id] as number);
    const subjectSummary = summarise(sub);
    const baselineSummary = summarise(base);
    const ratio = subjectSummary.median / baselineSummary.median;
    return {
      ...rest,
      ...(target ? { target } : {}),
      subject: subjectSummary,
      baseline: baselineSummary,
      ratio,
      pairRatio: summarise(sub.map((w, i) => w / (base[i] as number))),
      // Quick runs (a cold JIT, one pair) report ratios that mean nothing: never judged.
      met: target && !o.quick ? holds(target, ratio, subjectSummary.median) : null,
    };
  });
  const result: CaseResult = {
    id: c.id,
    title: c.title,
    params,
    warmupPairs: warmup,
    pairs,
    order,
    metrics,
    durationSec: (Date.now() - started) / 1000,
  };
  if (c.portable) {
    const sub = summarise(cpu.subject);
    const base = summarise(cpu.baseline);
    result.cpu = {
      unit: 'ms/run',
      subject: sub,
      baseline: base,
      ratio: sub.median / base.median,
      pairRatio: summarise(cpu.subject.map((w, i) => w / (cpu.baseline[i] as number))),
    };
  }
  return result;
}

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  const a = Math.abs(x);
  return a >= 1000 ? x.toFixed(0) : a >= 100 ? x.toFixed(1) : a >= 10 ? x.toFixed(2) : x.toFixed(3);
}

function targetText(t: Target | undefined): string {
  if (!t) return '';
  return t.on === 'ratio' ? `ratio ${t.op} ${t.value}` : `median ${t.op} ${t.value}`;
}

/**
 * The target of this run's pairing: winsock2 on a provider against that
 * provider's anchor (emulated and native against net, framed against the
 * floor). Stand-ins and other builds have none.
 */
function targetOf(targets: Metric['targets'], o: Options): Target | undefined {
  if (o.subject !== 'winsock' || o.baseline === 'build') return undefined;
  return targets?.[`${o.provider}/${o.baseline}` as Pairing];
}

/** Whether winsock2 on `provider` can run the case: caller and disconnect data only travel on framed; plain TCP clients only reach the others. */
function carries(c: Case, provider: ProviderName): boolean {
  if (c.plainTcpClient && provider === 'framed') return false;
  return !c.callerData || provider === 'framed';
}

function table(results: CaseResult[], subject: string, baseline: string, quick: boolean): string {
  const rows: string[][] = [
    [
      'metric',
      'unit',
      `${subject} median [min-max]`,
      `${baseline} median [min-max]`,
      'ratio',
      'pair ratios: median [min-max]',
      'CPU ratio',
      'target',
      '',
    ],
  ];
  for (const r of results) {
    if (r.error) {
      rows.push([r.id, '', `ERROR: ${r.error.split('\n')[0] ?? ''}`, '', '', '', '', '', '']);
      continue;
    }
    for (const m of r.metrics) {
      rows.push([
        m.id,
        m.unit,
        `${fmt(m.subject.median)} [${fmt(m.subject.min)}-${fmt(m.subject.max)}]`,
        `${fmt(m.baseline.median)} [${fmt(m.baseline.min)}-${fmt(m.baseline.max)}]`,
        m.ratio.toFixed(3),
        `${m.pairRatio.median.toFixed(3)} [${m.pairRatio.min.toFixed(2)}-${m.pairRatio.max.toFixed(2)}]`,
        r.cpu && m === r.metrics[0] ? r.cpu.ratio.toFixed(3) : '',
        targetText(m.target),
        quick && m.target ? 'not judged' : m.met === null ? '' : m.met ? 'met' : 'MISSED',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string => `| ${row.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

/** Without --cases: every case both sides can run (stand-ins carry four; another build all but idle; caller data only on framed). */
function runsByDefault(c: Case, o: Options): boolean {
  if (o.subject === 'winsock' && !carries(c, o.provider)) return false;
  if (o.baseline === 'build') return c.portable;
  if (o.subject === 'winsock' && o.baseline === 'net') return true;
  return c.floor;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const selected = CASES.filter(
    (c) => (o.cases ? o.cases.includes(c.id) : runsByDefault(c, o)) && !o.skip.includes(c.id),
  );
  const startedAt = new Date();
  const results: CaseResult[] = [];
  for (const c of selected) {
    process.stderr.write(`bench: ${c.id} (${JSON.stringify(c.params(o.quick))})\n`);
    const t0 = Date.now();
    try {
      results.push(await runCase(c, o));
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`bench: ${c.id} failed: ${error}\n`);
      results.push({
        id: c.id,
        title: c.title,
        params: c.params(o.quick),
        warmupPairs: 0,
        pairs: 0,
        order: [],
        metrics: [],
        durationSec: (Date.now() - t0) / 1000,
        error,
      });
    }
  }
  const finishedAt = new Date();
  const report = {
    schema: 'winsock2-bench/2',
    label: o.label,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSec: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    argv: process.argv.slice(2),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    provider: o.subject === 'winsock' ? o.provider : null,
    /** Whose samples each metric's `subject` key holds: winsock2 on `provider`, or a stand-in of bench/floor-impl.ts. */
    subject: o.subject,
    /** Whose samples each metric's `baseline` key holds. */
    baseline: o.baseline,
    baselineBuild: o.baselineBuild,
    /** glibc's trim threshold in the side processes (--keep-heap, or the caller's environment); null: glibc's default. Not in idle's and the gate cases' children unless set by the caller. */
    mallocTrimThreshold: o.keepHeap ? HEAP_KEPT : (process.env['MALLOC_TRIM_THRESHOLD_'] ?? null),
    quick: o.quick,
    cases: results,
  };
  const out =
    o.out ?? path.join(__dirname, '..', 'bench', 'results', `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  const who = `${o.subject === 'winsock' ? `provider ${o.provider}` : `subject ${o.subject} (${o.subject === 'floor' ? 'the framed design' : 'a bare Duplex over net'}, no winsock2 code)`}, baseline ${o.baseline === 'build' ? `the build in ${o.baselineBuild ?? '?'}` : o.baseline}`;
  process.stdout.write(
    `\nwinsock2 bench — ${who}, node ${process.version}, ${report.cpus} CPUs, ${o.quick ? 'quick' : 'full'}, ${report.durationSec.toFixed(0)} s\n`,
  );
  const subjectName = o.subject === 'winsock' ? `winsock2 ${o.provider}` : o.subject;
  const baselineName = o.baseline === 'build' ? 'other build' : o.baseline;
  process.stdout.write(`${table(results, subjectName, baselineName, o.quick)}\n`);
  const judged = o.quick
    ? ' (--quick: a cold JIT and one pair, so no target is judged)'
    : results.some((r) => r.metrics.some((m) => m.target))
      ? ' (targets are judged on it)'
      : ' (this pairing has no targets)';
  process.stdout.write(
    `ratio = ${subjectName} median / ${baselineName} median${judged}; pair ratios = the same within each pair, which\n`,
  );
  process.stdout.write(
    `shared the load of the moment; CPU ratio = ${subjectName} / ${baselineName} median process CPU time per run (steadier under load)\n`,
  );
  process.stdout.write(`JSON: ${out}\n`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
