'use strict';
// Summarises scripts/bench-wine-idle.sh's runs (one folder per run, each
// with result-<impl>.json): medians per implementation, a line for people,
// a JSON line last (the row shape bench/wine-summary.ts reads).
//   node bench/wine-idle-summary.js <results dir>
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
const runs = { native: [], handoff: [], net: [] };
for (const d of fs.readdirSync(dir)) {
  const impl = d.split('-')[0];
  const file = path.join(dir, d, `result-${impl}.json`);
  if (runs[impl] && fs.existsSync(file)) runs[impl].push(JSON.parse(fs.readFileSync(file, 'utf8')));
}
if (runs.native.length === 0 || runs.net.length === 0) throw new Error(`no complete runs in ${dir}`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const per = (impl) => median(runs[impl].map((r) => r.perConnection));
// One row per implementation measured against net: native (the facade's
// data path) and handoff (the hand-off data path) when it ran.
const rows = ['native', 'handoff']
  .filter((impl) => runs[impl].length > 0)
  .map((impl) => ({
    case: `idle ${runs[impl][0].connections} connections, RSS per connection${impl === 'handoff' ? ', hand-off (libuv)' : ''}`,
    unit: 'B/conn',
    native: per(impl),
    net: per('net'),
    ratio: per(impl) / per('net'),
    nativeRuns: runs[impl].map((r) => r.perConnection),
    netRuns: runs.net.map((r) => r.perConnection),
  }));
for (const row of rows) {
  console.log(
    `${row.case}: winsock2 ${(row.native / 1024).toFixed(1)} KiB, net ${(row.net / 1024).toFixed(1)} KiB, ratio ${row.ratio.toFixed(2)}`,
  );
}
console.log(JSON.stringify({ rows, runs }));
