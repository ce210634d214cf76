/**
 * One server of the gate's steps (gate-servers.ts) in a process of its own,
 * for gate-instructions.ts to run under callgrind: prints its port, serves
 * until SIGTERM, then exits (so Valgrind writes its count).
 *
 *   node out-bench/gate-serve.js <step>
 */
import { GATE_STEPS } from './gate-servers';

const step = process.argv[2] ?? '';
const start = GATE_STEPS[step];
if (start === undefined) {
  process.stderr.write(`gate-serve: unknown step ${step} (${Object.keys(GATE_STEPS).join(', ')})\n`);
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));
start().then(
  (port) => process.stdout.write(`${port}\n`),
  (err: unknown) => {
    process.stderr.write(`gate-serve: ${String(err)}\n`);
    process.exit(1);
  },
);
