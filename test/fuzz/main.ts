/**
 * `npm run fuzz`: the wire protocol's properties (./protocol-properties.ts)
 * for a long run: at least FUZZ_FRAMES generated frames (default 1,000,000),
 * fresh seeds each round (FUZZ_SEED fixes the first one for a replay).
 * Prints frames/s per property and the totals; exits 1 with fast-check's
 * counterexample (seed and path to replay it) on the first failure.
 *
 *   npm run fuzz
 *   FUZZ_FRAMES=5000000 npm run fuzz
 *   FUZZ_SEED=12345 npm run fuzz
 */
import { performance } from 'node:perf_hooks';
import {
  everyBoundary,
  frameMaxLengths,
  framesGarbage,
  framesRoundTrip,
  handleGarbage,
  handleRoundTrip,
  handleWrites,
  helloRoundTrip,
  newStats,
  preambleGarbage,
  preambleMaxLengths,
  verdictRoundTrip,
  type FuzzStats,
  type RunParams,
} from './protocol-properties';
import { listenerStateMachine } from './listener-properties';

interface Entry {
  name: string;
  /** Runs per round. */
  runs: number;
  run(p: RunParams, s: FuzzStats): void | Promise<void>;
  stats: FuzzStats;
  ms: number;
}

const target = Number(process.env['FUZZ_FRAMES'] ?? 1_000_000);
let seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 0x7fff_ffff);

const entries: Entry[] = [
  { name: 'hello round trip', runs: 2000, run: helloRoundTrip },
  { name: 'verdict round trip', runs: 2000, run: verdictRoundTrip },
  { name: 'hello garbage/mutations', runs: 2000, run: preambleGarbage },
  { name: 'frames round trip', runs: 2000, run: framesRoundTrip },
  { name: 'frames garbage/mutations', runs: 2000, run: framesGarbage },
  { name: 'handle round trip', runs: 200, run: handleRoundTrip },
  { name: 'handle garbage', runs: 200, run: handleGarbage },
  { name: 'handle writes', runs: 100, run: handleWrites },
  { name: 'listener state machine', runs: 100, run: listenerStateMachine },
].map((e) => ({ ...e, stats: newStats(), ms: 0 }));

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

async function main(): Promise<void> {
  const firstSeed = seed;
  const fixed = newStats();
  preambleMaxLengths();
  frameMaxLengths();
  everyBoundary(fixed);
  const t0 = performance.now();
  const rss0 = process.memoryUsage().rss;
  let rssMax = rss0;
  let total = fixed.frames;
  let round = 0;
  console.log(`fuzz: target ${fmt(target)} frames, first seed ${firstSeed}`);
  while (total < target) {
    round++;
    for (const e of entries) {
      const p = { numRuns: e.runs, seed: seed++ };
      const before = e.stats.frames;
      const t = performance.now();
      try {
        await e.run(p, e.stats);
      } catch (err) {
        console.error(`\nfuzz: FAILED in "${e.name}" (round ${round}, seed ${p.seed})`);
        console.error(err instanceof Error ? err.message : err);
        process.exitCode = 1;
        return;
      }
      e.ms += performance.now() - t;
      total += e.stats.frames - before;
    }
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(
      `\rround ${round}: ${fmt(total)} frames, ${fmt(Math.round(total / s))} frames/s, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB   `,
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log('\n');
  console.log('property                      runs        frames        bytes   violations   frames/s');
  let runs = fixed.runs;
  let bytes = fixed.bytes;
  let violations = 0;
  for (const e of entries) {
    runs += e.stats.runs;
    bytes += e.stats.bytes;
    violations += e.stats.violations;
    console.log(
      `${e.name.padEnd(26)} ${fmt(e.stats.runs).padStart(8)} ${fmt(e.stats.frames).padStart(13)} ${fmt(e.stats.bytes).padStart(12)} ${fmt(e.stats.violations).padStart(12)} ${fmt(Math.round(e.stats.frames / (e.ms / 1000))).padStart(10)}`,
    );
  }
  console.log(
    `${'every split point (fixed)'.padEnd(26)} ${fmt(fixed.runs).padStart(8)} ${fmt(fixed.frames).padStart(13)}`,
  );
  console.log('');
  console.log(
    `fuzz: OK — ${fmt(total)} frames in ${fmt(runs)} generated cases, ${fmt(bytes)} bytes decoded, ${fmt(violations)} streams rejected with a WSAE* violation`,
  );
  console.log(
    `      ${seconds.toFixed(1)} s, ${fmt(Math.round(total / seconds))} frames/s, seeds ${firstSeed}..${seed - 1}, rss ${Math.round(rss0 / 2 ** 20)} MiB start, ${Math.round(rssMax / 2 ** 20)} MiB max`,
  );
}

void main();
