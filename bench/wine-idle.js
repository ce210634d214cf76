'use strict';
// The measured side of the idle-connections benchmark (npm run bench:wine,
// scripts/bench-wine-idle.sh): node.exe under Wine accepts N connections
// from a peer process (bench/idle-peer.js, Linux node: the fd limit of one
// process does not hold both ends of 10,000 connections), each reads
// "ping" and answers "pong" once, then stays open and idle. The resident
// memory this process gained per connection is the figure, for the native
// provider or node.exe's own net (the same JS around both).
//   node.exe --expose-gc bench/wine-idle.js native|net <N> <dir>
// Writes <dir>/port when listening and <dir>/result-<impl>.json when done.
const net = require('node:net');
const path = require('node:path');
const fs = require('node:fs');

const [impl, countArg, dir] = process.argv.slice(2);
const N = Number(countArg);
if (!['native', 'net', 'handoff'].includes(impl) || !(N > 0) || !dir) {
  console.error('usage: node.exe --expose-gc bench/wine-idle.js native|handoff|net <connections> <dir>');
  process.exit(2);
}
const root = path.resolve(__dirname, '..');
const libDir = ['out/lib', 'dist'].map((d) => path.join(root, d)).find((d) => fs.existsSync(path.join(d, 'index.js')));
if (!libDir) throw new Error('build first: npm run build:test (out/lib) or npm run build (dist)');
const ws = require(path.join(libDir, 'index.js'));

function settled() {
  for (let i = 0; i < 3; i++) global.gc?.();
  return process.memoryUsage();
}

const sockets = [];
let handoffProvider = null;
let exchanged = 0;
let onAll = null;
function serve(s) {
  sockets.push(s);
  s.once('data', () => {
    s.write('pong');
    exchanged++;
    if (exchanged === N && onAll) onAll();
  });
  s.on('error', () => undefined);
}

async function listen() {
  if (impl === 'net') {
    const server = net.createServer(serve);
    await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 511 }, r));
    return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
  }
  if (impl === 'handoff') {
    // The native provider's hand-off data path, on the provider directly
    // (until the facade takes a NetConnection): each accepted SOCKET is a
    // net.Socket over Node's own TCP handle.
    const native = require(path.join(libDir, 'native', 'index.js'));
    handoffProvider = new native.NativeProvider(native.loadNativeProvider().addon, { path: 'libuv', reason: 'bench' });
    const listener = await handoffProvider.listen(
      {
        host: '127.0.0.1',
        port: 0,
        backlog: 511,
        conditional: true,
        handshakeTimeout: 0,
        maxCallerData: 0,
        maxCalleeData: 0,
        maxDisconnectData: 0,
        mode: 'stream',
      },
      {
        condition: () => ({ action: 'accept', calleeData: null, qos: null }),
        connection: (c) => {
          if (c.kind !== 'net') throw new Error('the hand-off fell back to the addon data path');
          serve(c.socket);
          c.socket.resume(); // handed over paused
        },
        refused() {},
        withdrawn() {},
        clientError() {},
        error() {},
      },
    );
    return { port: listener.address.port, close: () => listener.close() };
  }
  const server = ws.createServer({ provider: 'native', backlog: 511 });
  server.on('connection', serve);
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { port, close: () => server.close() };
}

(async () => {
  // Warm up the code paths (one connection to ourselves) before the baseline.
  const server = await listen();
  const warm = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => warm.once('connect', r));
  warm.write('ping');
  await new Promise((r) => warm.once('data', r));
  warm.destroy();
  await new Promise((r) => setTimeout(r, 200));
  sockets.length = 0;
  exchanged = 0;
  const before = settled();
  const all = new Promise((r) => {
    onAll = r;
  });
  fs.writeFileSync(path.join(dir, 'port'), String(server.port));
  const t0 = Date.now();
  await all;
  const openMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 1000)); // idle: whatever was posted settles
  const after = settled();
  const result = {
    impl,
    connections: N,
    rssBefore: before.rss,
    rssAfter: after.rss,
    perConnection: (after.rss - before.rss) / N,
    // The JS heap's share of it (objects around the socket, the same JS for both).
    heapPerConnection: (after.heapUsed - before.heapUsed) / N,
    heapTotalPerConnection: (after.heapTotal - before.heapTotal) / N,
    externalPerConnection: (after.external - before.external) / N,
    openMs,
    handles:
      impl === 'native'
        ? require(path.join(libDir, 'native', 'index.js'))
            .loadNativeProvider()
            .handleCount()
        : impl === 'handoff'
          ? handoffProvider.handleCount()
          : null,
  };
  fs.writeFileSync(path.join(dir, `result-${impl}.json`), JSON.stringify(result));
  console.log(JSON.stringify(result));
  for (const s of sockets) s.destroy();
  await server.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
