/** The faults-net table: one line per case. */
import type { CaseResult } from './run';

export function formatTable(results: CaseResult[]): string {
  const head = [
    'scenario',
    'provider',
    'level',
    'conns',
    'complete',
    'MiB',
    'errors by code (c: client, s: server)',
    'p50 ms',
    'p99 ms',
    'handles s/c',
    'RSS MiB warm→end',
    'probe',
    'held',
  ];
  const lines = results.map((r) => [
    r.scenario,
    r.provider,
    r.level,
    String(r.connections),
    String(r.completed),
    (r.bytes / 2 ** 20).toFixed(1),
    Object.entries(r.errors)
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-',
    String(r.p50Ms),
    String(r.p99Ms),
    `${r.serverHandles}/${r.clientHandles}`,
    `${r.rssWarmMiB}→${r.rssEndMiB}`,
    r.probe,
    r.violations.length ? 'NO' : 'yes',
  ]);
  return [head, head.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
}
