/**
 * `npm run faults`: the faults-net matrix (scenario x provider x level) in
 * network namespaces, a table on stdout, and the JSON in
 * faults-net-results.json (or FAULTS_JSON). Exits non-zero when anything that
 * must hold did not; prints the reason and exits 0 where the harness cannot
 * run here (no root, no netns, no nftables), so a developer machine is not
 * a failure.
 *
 *   npm run faults                        # the whole matrix
 *   FAULTS_SHORT=1 npm run faults         # the CI subset (under 3 minutes)
 *   FAULTS_SHORT=native npm run faults    # the native rows npm run test:wine runs (node.exe under Wine)
 *   FAULTS_ONLY=soak:framed:loss-5% npm run faults   # scenario:provider:level, each part optional ('*')
 *   FAULTS_CONNECTIONS=200 FAULTS_SEED=7 npm run faults
 */
import { writeFileSync } from 'node:fs';
import type { Provider, ScenarioName } from './common';
import { LEVELS } from './levels';
import { matrix, nativeShortMatrix, shortMatrix, type Row } from './matrix';
import { wineUnavailableReason } from './wine';
import { unavailableReason } from './netns';
import { runCase, type CaseResult } from './run';
import { formatTable } from './table';

async function main(): Promise<void> {
  const reason = unavailableReason();
  if (reason) {
    process.stdout.write(`faults-net: not run: ${reason}\n`);
    return;
  }
  const short = process.env['FAULTS_SHORT'] === '1';
  const nativeShort = process.env['FAULTS_SHORT'] === 'native';
  const only = (process.env['FAULTS_ONLY'] ?? '').split(':');
  const match = (r: Row): boolean =>
    [r.scenario, r.provider, r.level].every((v, i) => !only[i] || only[i] === '*' || only[i] === v);
  let rows = (nativeShort ? nativeShortMatrix() : short ? shortMatrix() : matrix()).filter(match);
  const noWine = rows.some((r) => r.provider === 'native') ? wineUnavailableReason() : null;
  if (noWine !== null) {
    process.stdout.write(`faults-net: the native rows are not run: ${noWine}\n`);
    rows = rows.filter((r) => r.provider !== 'native');
  }
  const seed = Number(process.env['FAULTS_SEED'] ?? Date.now() % 0x7fff_ffff) >>> 0 || 1;
  const results: CaseResult[] = [];
  process.stdout.write(`faults-net: ${rows.length} cases, seed ${seed}\n`);
  for (const row of rows) {
    const fixed = row.scenario === 'deferred-drop' || row.scenario === 'decision-timeout';
    const connections = fixed ? row.connections : Number(process.env['FAULTS_CONNECTIONS'] ?? row.connections);
    const r = await runCase({
      scenario: row.scenario as ScenarioName,
      provider: row.provider as Provider,
      level: LEVELS[row.level],
      connections,
      concurrency: row.concurrency,
      maxPayload: row.maxPayload,
      seed,
    });
    results.push(r);
    process.stdout.write(
      `${r.violations.length ? 'FAIL' : 'ok  '} ${r.scenario} ${r.provider} ${r.level}: ${r.completed}/${r.connections} complete, ${r.seconds}s ${JSON.stringify(r.errors)}${r.violations.length ? `\n     ${r.violations.join('\n     ')}` : ''}\n`,
    );
  }
  process.stdout.write(`\n${formatTable(results)}\n`);
  const file = process.env['FAULTS_JSON'] ?? 'faults-net-results.json';
  writeFileSync(file, `${JSON.stringify({ seed, short, node: process.version, results }, null, 2)}\n`);
  const failed = results.filter((r) => r.violations.length > 0);
  process.stdout.write(`faults-net: ${results.length - failed.length}/${results.length} cases held; JSON in ${file}\n`);
  if (failed.length) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`faults-net: ${String((e as Error)?.stack ?? e)}\n`);
  process.exitCode = 1;
});
