/**
 * Joins the two halves of `npm run bench:wine` into one table and one JSON:
 * the native provider's figures (bench/wine-native.js prints a JSON line
 * last) and the framed provider's (the harness's JSON report), each
 * against node.exe's own net in the same process.
 *
 *   node out-bench/wine-summary.js --out file.json [--native stdout.txt] [--idle stdout.txt] [--framed report.json] [--cpus 0]
 *
 * --idle: scripts/bench-wine-idle.sh's output (a JSON line last, the same
 * row shape as the native one): resident memory per idle connection.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Row {
  provider: 'native' | 'framed';
  case: string;
  unit: string;
  winsock: number;
  net: number;
  ratio: number;
  target: string;
  met: boolean | null;
  runs: { winsock: number[]; net: number[] };
}

interface NativeReport {
  node: string;
  pairs: number;
  rows: {
    case: string;
    unit: string;
    native: number;
    net: number;
    ratio: number;
    nativeRuns: number[];
    netRuns: number[];
  }[];
}

/** The harness's JSON, schema 2 (`winsock2-bench/2`): each metric's two sides under `subject` and `baseline`. */
interface HarnessReport {
  schema: string;
  node: string;
  subject: string;
  baseline: string;
  cases: {
    id: string;
    error?: string;
    pairs: number;
    metrics: {
      id: string;
      unit: string;
      ratio: number;
      met: boolean | null;
      target?: { on: string; op: string; value: number };
      subject: { median: number; samples: number[] };
      baseline: { median: number; samples: number[] };
    }[];
  }[];
}

/**
 * The native provider's targets under Wine, by the case names
 * bench/wine-native.js and scripts/bench-wine-idle.sh print: throughput at
 * least `min` times node.exe's net, idle memory per connection at most `max`
 * times net's.
 */
const NATIVE_TARGETS: { match: RegExp; min?: number; max?: number }[] = [
  { match: /^bulk/, min: 1.0 },
  { match: /^accept/, min: 0.9 },
  { match: /^idle/, max: 2.0 },
];

function args(): Map<string, string> {
  const m = new Map<string, string>();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) m.set((argv[i] as string).replace(/^--/, ''), argv[i + 1] ?? '');
  return m;
}

function nativeRows(file: string): { rows: Row[]; node: string | null; pairs: number | null } {
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'));
  const last = lines[lines.length - 1];
  if (!last) return { rows: [], node: null, pairs: null };
  const report = JSON.parse(last) as NativeReport;
  const rows = report.rows.map((r): Row => {
    const t = NATIVE_TARGETS.find((x) => x.match.test(r.case));
    const target = t?.min !== undefined ? `ratio >= ${t.min}` : t?.max !== undefined ? `ratio <= ${t.max}` : '';
    const met = t?.min !== undefined ? r.ratio >= t.min : t?.max !== undefined ? r.ratio <= t.max : null;
    return {
      provider: 'native',
      case: r.case,
      unit: r.unit,
      winsock: r.native,
      net: r.net,
      ratio: r.ratio,
      target,
      met,
      runs: { winsock: r.nativeRuns, net: r.netRuns },
    };
  });
  return { rows, node: report.node, pairs: report.pairs };
}

function framedRows(file: string): { rows: Row[]; node: string | null } {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as HarnessReport;
  if (report.schema !== 'winsock2-bench/2')
    throw new Error(`${file}: schema ${String(report.schema)}, expected winsock2-bench/2`);
  if (report.subject !== 'winsock' || report.baseline !== 'net')
    throw new Error(`${file}: measures ${report.subject} against ${report.baseline}, not winsock2 against net`);
  const rows: Row[] = [];
  for (const c of report.cases) {
    for (const m of c.metrics) {
      // Under Wine only the native provider has targets (against node.exe's net);
      // framed's anchor is the floor (npm run bench on Linux), so none is judged here.
      rows.push({
        provider: 'framed',
        case: m.id,
        unit: m.unit,
        winsock: m.subject.median,
        net: m.baseline.median,
        ratio: m.ratio,
        target: '',
        met: null,
        runs: { winsock: m.subject.samples, net: m.baseline.samples },
      });
    }
  }
  return { rows, node: report.node };
}

function main(): void {
  const a = args();
  const out = a.get('out');
  if (!out) throw new Error('--out is required');
  const native = a.get('native') ? nativeRows(a.get('native') as string) : null;
  const idle = a.get('idle') ? nativeRows(a.get('idle') as string) : null;
  const framed = a.get('framed') ? framedRows(a.get('framed') as string) : null;
  const rows = [...(native?.rows ?? []), ...(idle?.rows ?? []), ...(framed?.rows ?? [])];
  const report = {
    schema: 'winsock2-bench-wine/1',
    createdAt: new Date().toISOString(),
    pinnedCpus: a.get('cpus') ?? null,
    nodeExe: native?.node ?? framed?.node ?? null,
    providers: { native: native !== null && native.rows.length > 0, framed: framed !== null && framed.rows.length > 0 },
    rows,
    sources: { native: a.get('native') ?? null, idle: a.get('idle') ?? null, framed: a.get('framed') ?? null },
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const table = [['provider', 'case', 'unit', 'winsock2', "node.exe's net", 'ratio', 'target', '']];
  for (const r of rows) {
    table.push([
      r.provider,
      r.case,
      r.unit,
      fmt(r.winsock),
      fmt(r.net),
      r.ratio.toFixed(2),
      r.target,
      r.met === null ? '' : r.met ? 'met' : 'MISSED',
    ]);
  }
  const widths = (table[0] as string[]).map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string => `| ${row.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ')} |`;
  process.stdout.write(
    `\nwinsock2 bench:wine — node.exe ${report.nodeExe ?? '?'} under Wine, pinned to CPU ${report.pinnedCpus ?? 'none'} (medians; ratio = winsock2 / node.exe net)\n`,
  );
  process.stdout.write(
    `${[line(table[0] as string[]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.slice(1).map(line)].join('\n')}\n`,
  );
  if (!report.providers.native)
    process.stdout.write('native provider: not measured in this run (see the messages above)\n');
  process.stdout.write(`JSON: ${out}\n`);
}

main();
