/**
 * Runs one case on one side only, for profiling (docs/performance.md):
 *
 *   node --cpu-prof --cpu-prof-dir=prof out-bench/profile.js bulk winsock 5
 *   node out-bench/top.js prof/*.cpuprofile
 *
 * Arguments: <case> <winsock|net|floor|passthrough> [runs=3] [--quick] [--provider native|emulated|framed]
 */
import { CASES } from './cases';
import { makeImpl } from './impls';
import { isProvider, PROVIDERS, type ImplName } from './loopback';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const pi = args.indexOf('--provider');
  const provider = pi >= 0 ? (args[pi + 1] ?? '') : 'emulated';
  if (!isProvider(provider)) throw new Error(`--provider must be one of ${PROVIDERS.join(', ')}`);
  const positional = args.filter((a, i) => !a.startsWith('--') && (pi < 0 || i !== pi + 1));
  const [caseId, implName, runs] = positional;
  const c = CASES.find((x) => x.id === caseId);
  if (!c || !['winsock', 'net', 'floor', 'passthrough'].includes(implName ?? '')) {
    throw new Error(
      `usage: profile.js <${CASES.map((x) => x.id).join('|')}> <winsock|net|floor|passthrough> [runs] [--quick] [--provider native|emulated|framed]`,
    );
  }
  if ((implName === 'floor' || implName === 'passthrough') && !c.floor)
    throw new Error(`the ${implName} subject cannot run ${c.id}`);
  const impl = makeImpl(implName as ImplName, provider);
  const params = c.params(quick);
  for (let i = 0; i < Number(runs ?? 3); i++) {
    const t0 = performance.now();
    const r = await c.run(impl, params, { provider, quick });
    process.stdout.write(
      `${c.id} ${implName} run ${i + 1}: ${JSON.stringify(r)} (${(performance.now() - t0).toFixed(0)} ms)\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
