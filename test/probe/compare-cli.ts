/**
 * Compares the probe's output with an expectation file, or turns an output
 * into one (to check in a platform's first recorded run):
 *   node out/test/probe/compare-cli.js OUTPUT.jsonl test/probe/expected-wine.json
 *   node out/test/probe/compare-cli.js --emit OUTPUT.jsonl > test/probe/expected-windows.json
 */
import * as fs from 'node:fs';
import { compare, type Expectations, parseProbeOutput } from './expectations';

function main(args: string[]): number {
  if (args[0] === '--emit' && args.length === 2) {
    process.stdout.write(`${JSON.stringify(parseProbeOutput(fs.readFileSync(args[1] ?? '', 'utf8')), null, 2)}\n`);
    return 0;
  }
  if (args.length !== 2) {
    process.stderr.write('usage: compare-cli.js OUTPUT.jsonl EXPECTED.json | --emit OUTPUT.jsonl\n');
    return 2;
  }
  const [output = '', expectedFile = ''] = args;
  const observed = parseProbeOutput(fs.readFileSync(output, 'utf8'));
  const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8')) as Expectations;
  const diffs = compare(observed, expected);
  for (const d of diffs) process.stderr.write(`probe: ${d}\n`);
  process.stderr.write(
    `probe: ${Object.keys(observed).length} records, ${diffs.length} differences from ${expectedFile}\n`,
  );
  return diffs.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
