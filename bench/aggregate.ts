/**
 * Several `npm run bench` reports into one table (docs/performance.md's):
 * for each metric, the median over the runs of each run's median, and the
 * range of the per-run ratios.
 *
 *   node out-bench/aggregate.js bench/results/a.json bench/results/b.json ... [--markdown]
 */
import * as fs from 'node:fs';

interface Summary {
  median: number;
  min: number;
  max: number;
}
interface MetricResult {
  id: string;
  title: string;
  unit: string;
  better: 'higher' | 'lower';
  target?: { on: 'ratio' | 'value'; op: '>=' | '<='; value: number };
  /** Schema 2 (`winsock2-bench/2`). */
  subject?: Summary;
  baseline?: Summary;
  /** Schema 1: the same two sides under their old names. */
  winsock?: Summary;
  net?: Summary;
  ratio: number;
}
interface CaseResult {
  id: string;
  error?: string;
  metrics: MetricResult[];
  cpu?: { ratio: number };
  pairs: number;
}
interface Report {
  schema?: string;
  node: string;
  cpus: number;
  cpuModel: string | null;
  provider: string | null;
  subject?: 'winsock' | 'floor' | 'passthrough';
  baseline?: 'net' | 'floor' | 'passthrough' | 'build';
  baselineBuild?: string | null;
  quick: boolean;
  startedAt: string;
  cases: CaseResult[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(x: number): string {
  const a = Math.abs(x);
  return a >= 1000 ? x.toFixed(0) : a >= 100 ? x.toFixed(1) : a >= 10 ? x.toFixed(2) : x.toFixed(3);
}

function main(): void {
  const args = process.argv.slice(2);
  const files = args.filter((a) => a.endsWith('.json'));
  if (files.length === 0) throw new Error('usage: aggregate.js report.json... [--markdown]');
  const reports = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as Report).filter((r) => !r.quick);
  const providers = new Set(reports.map((r) => r.provider));
  if (providers.size > 1)
    throw new Error(
      `aggregate.js: these reports measure different providers (${[...providers].join(', ')}); aggregate each on its own`,
    );
  // Reports from before --subject existed are winsock2 runs.
  const pairings = new Set(reports.map((r) => `${r.subject ?? 'winsock'} vs ${r.baseline ?? 'net'}`));
  if (pairings.size > 1)
    throw new Error(
      `aggregate.js: these reports measure different pairings (${[...pairings].join(', ')}); aggregate each on its own`,
    );
  const subject = reports[0]?.subject ?? 'winsock';
  const baseline = reports[0]?.baseline ?? 'net';
  const order: string[] = [];
  const byMetric = new Map<string, { m: MetricResult; ws: number[]; net: number[]; ratios: number[]; cpu: number[] }>();
  for (const r of reports) {
    for (const c of r.cases) {
      if (c.error) continue;
      c.metrics.forEach((m, i) => {
        let e = byMetric.get(m.id);
        if (!e) {
          e = { m, ws: [], net: [], ratios: [], cpu: [] };
          byMetric.set(m.id, e);
          order.push(m.id);
        }
        const sub = m.subject ?? m.winsock;
        const base = m.baseline ?? m.net;
        if (!sub || !base)
          throw new Error(
            `aggregate.js: metric ${m.id} has neither subject/baseline (schema 2) nor winsock/net (schema 1)`,
          );
        e.ws.push(sub.median);
        e.net.push(base.median);
        e.ratios.push(m.ratio);
        if (i === 0 && c.cpu) e.cpu.push(c.cpu.ratio);
      });
    }
  }
  const rows: string[][] = [
    [
      'metric',
      'unit',
      subject === 'winsock' ? `winsock2 (${reports[0]?.provider ?? '?'})` : `${subject} (no winsock2 code)`,
      baseline === 'net'
        ? 'node:net'
        : baseline === 'build'
          ? `winsock2 (${reports[0]?.baselineBuild ?? 'other build'})`
          : `${baseline} (no winsock2 code)`,
      'ratio (runs)',
      'CPU ratio',
      'target',
      '',
    ],
  ];
  for (const id of order) {
    const e = byMetric.get(id);
    if (!e) continue;
    const ratio = median(e.ratios);
    const ws = median(e.ws);
    const t = e.m.target;
    const met = t
      ? t.on === 'ratio'
        ? t.op === '>='
          ? ratio >= t.value
          : ratio <= t.value
        : t.op === '>='
          ? ws >= t.value
          : ws <= t.value
      : null;
    rows.push([
      id,
      e.m.unit,
      fmt(ws),
      fmt(median(e.net)),
      `${ratio.toFixed(2)} (${Math.min(...e.ratios).toFixed(2)}-${Math.max(...e.ratios).toFixed(2)})`,
      e.cpu.length ? median(e.cpu).toFixed(2) : '',
      t ? (t.on === 'ratio' ? `ratio ${t.op} ${t.value}` : `${t.op} ${t.value} ${e.m.unit}`) : '',
      met === null ? '' : met ? 'met' : 'missed',
    ]);
  }
  const first = reports[0];
  const header = `${reports.length} runs of npm run bench; node ${first?.node ?? '?'}, ${first?.cpus ?? '?'} CPUs (${first?.cpuModel ?? '?'}), ${subject === 'winsock' ? `provider ${first?.provider ?? '?'}` : `subject ${subject}`}, baseline ${baseline}`;
  if (args.includes('--markdown')) {
    process.stdout.write(`${header}\n\n`);
    process.stdout.write(
      `| ${(rows[0] as string[]).join(' | ')} |\n|${(rows[0] as string[]).map(() => '---').join('|')}|\n`,
    );
    for (const row of rows.slice(1)) process.stdout.write(`| ${row.join(' | ')} |\n`);
    return;
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  process.stdout.write(`${header}\n`);
  for (const row of rows)
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ')}\n`);
}

main();
