/**
 * Where the gate's cost per connection goes (docs/performance.md, issue 20):
 * the servers of gate-servers.ts (the same http.Server handler reached six
 * ways, each step adding one piece of what the emulated gate does) under
 * `wrk -t1 -c32 -H 'Connection: close'` (a connection per request),
 * interleaved rounds in one process.
 *
 *   npm run build && npm run build:bench && node out-bench/gate-steps.js [rounds] [seconds]
 *
 * Prints req/s per round and the median's ratio to plain; nothing asserts a
 * time. `npm run bench:gate-instructions` counts the same servers' instructions.
 */
import { runWrk } from './gate';
import { GATE_STEPS } from './gate-servers';
import { HOST } from './loopback';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 4);
  const seconds = Number(process.argv[3] ?? 4);
  const ports = new Map<string, number>();
  for (const [name, start] of Object.entries(GATE_STEPS)) ports.set(name, await start());
  const rates = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, port] of ports) {
      const { requestsPerSec, socketErrors, non2xx } = await runWrk(`http://${HOST}:${port}/`, seconds, false);
      if (non2xx > 0 || socketErrors > 0) throw new Error(`${name}: ${non2xx} non-2xx, ${socketErrors} socket errors`);
      rates.set(name, [...(rates.get(name) ?? []), requestsPerSec]);
    }
  }
  const plain = median(rates.get('plain') ?? []);
  for (const [name, runs] of rates) {
    const m = median(runs);
    console.log(
      `${name.padEnd(10)} ${runs.map((r) => r.toFixed(0).padStart(6)).join(' ')}   median ${m.toFixed(0).padStart(6)}   ratio ${(m / plain).toFixed(3)}`,
    );
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
