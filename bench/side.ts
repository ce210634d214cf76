/**
 * One side of a pair (run.ts) in a process of its own, forked with an IPC
 * channel, so that the two sides never share V8's inline and stub caches or
 * its heap. Under Node 20 they interfere strongly: every net.Socket made
 * from an object literal gets hidden classes of its own (docs/performance.md,
 * "A hidden class per copy"), which fill the process-wide stub cache, and
 * the side that makes fewer of them then ran slower or faster depending on
 * the other (conn-seq: winsock2 ~61 ms per run and net ~80 ms each alone, but
 * 0.89 of net's rate when they shared the bench process).
 *
 *   side.js <case> <implName|build> <provider> [dist]
 *
 * Receives { params, ctx } per run and answers { type: 'done', result, cpuMs,
 * trimThreshold } (its own CPU time over the run, and glibc's
 * MALLOC_TRIM_THRESHOLD_ it started with) or { type: 'error', message }.
 */
import { CASES, type RunContext } from './cases';
import { makeImpl, winsockImpl } from './impls';
import { isProvider, type ImplName } from './loopback';

const [caseId, implName, provider, dist] = process.argv.slice(2);

function send(message: object): void {
  process.send?.(message);
}

const c = CASES.find((x) => x.id === caseId);
if (!c || !isProvider(provider ?? '')) {
  send({ type: 'error', message: `side.js: unknown case ${String(caseId)} or provider ${String(provider)}` });
  process.exit(2);
}
const prov = provider as RunContext['provider'];
const impl = implName === 'build' ? winsockImpl(prov, dist) : makeImpl(implName as ImplName, prov);

// One run at a time: the parent waits for each answer before it asks again.
process.on('message', (m: { params: Record<string, number>; ctx: RunContext }) => {
  const before = process.cpuUsage();
  c.run(impl, m.params, m.ctx).then(
    (result) => {
      const used = process.cpuUsage(before);
      // The heap setting it really ran with (run.ts checks it against --keep-heap's).
      const trimThreshold = process.env['MALLOC_TRIM_THRESHOLD_'] ?? null;
      send({ type: 'done', result, cpuMs: (used.user + used.system) / 1000, trimThreshold });
    },
    (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
