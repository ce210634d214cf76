'use strict';
// The peer of bench/wine-idle.js (Linux node, outside Wine): opens N
// connections to the port written to <dir>/port, sends "ping" on each and
// waits for "pong", keeps them open until <dir>/result-<impl>.json exists,
// then closes them.   node bench/idle-peer.js <impl> <N> <dir>
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');

const [impl, countArg, dir] = process.argv.slice(2);
const N = Number(countArg);
const CONCURRENCY = 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFile(file, ms) {
  const end = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`idle-peer: ${file} did not appear within ${ms} ms`);
    await sleep(50);
  }
}

function one(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('error', reject);
    s.once('connect', () => s.write('ping'));
    s.once('data', () => resolve(s));
  });
}

(async () => {
  await waitFile(path.join(dir, 'port'), 120_000);
  const port = Number(fs.readFileSync(path.join(dir, 'port'), 'utf8'));
  const open = [];
  let next = 0;
  async function worker() {
    while (next < N) {
      next++;
      open.push(await one(port));
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await waitFile(path.join(dir, `result-${impl}.json`), 600_000);
  for (const s of open) s.destroy();
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
