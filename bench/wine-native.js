'use strict';
// Native provider vs node's own net, in one process (meant for Windows
// node.exe under Wine: scripts/bench-wine-native.sh pins it with taskset).
// Self-contained: needs only the compiled library (out/lib or dist).
//   bulk:   256 MiB one way in 64 KiB writes (MiB/s)
//   accept: sequential connect -> condition -> accept -> close (conn/s)
//   bulk-libuv, accept-libuv: the same on the hand-off data path (Node's
//           own TCP handle), on the provider directly
//   accept-server, accept-client: the accept case with winsock2 at one end
//           only (node's net at the other), to tell the two ends' shares apart
// A warm-up pair, then pairs in alternating order; medians are reported.
const net = require('node:net');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const libDir = ['out/lib', 'dist'].map((d) => path.join(root, d)).find((d) => fs.existsSync(path.join(d, 'index.js')));
if (!libDir) throw new Error('build first: npm run build:test (out/lib) or npm run build (dist)');
const ws = require(path.join(libDir, 'index.js'));

const BULK = Number(process.env.BENCH_BULK_MIB || 256) * 1024 * 1024;
const CHUNK = 64 * 1024;
const ACCEPTS = Number(process.env.BENCH_ACCEPTS || 500); // × 2 sides × runs stays inside the ephemeral port range with TIME_WAIT
const PAIRS = Number(process.env.BENCH_PAIRS || 5);
const chunk = Buffer.alloc(CHUNK, 0x61);

function once(emitter, event) {
  return new Promise((resolve, reject) => {
    const onErr = (e) => {
      emitter.off(event, onOk);
      reject(e);
    };
    const onOk = (...args) => {
      emitter.off('error', onErr);
      resolve(args);
    };
    emitter.once(event, onOk);
    emitter.once('error', onErr);
  });
}

async function pump(sock) {
  for (let sent = 0; sent < BULK; sent += CHUNK) {
    if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  }
}

// ---- data-path counters of the addon (BENCH_STATS=1) ----

function statsNow() {
  if (!process.env.BENCH_STATS) return null;
  return require(path.join(libDir, 'native', 'index.js'))
    .loadNativeProvider()
    .addon.stats();
}
function printStats(name, before) {
  if (!before) return;
  const after = statsNow();
  const d = {};
  for (const k of Object.keys(after)) d[k] = after[k] - before[k];
  console.log(name, JSON.stringify(d));
}

// ---- bulk ----

async function bulkNet() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise((resolve) =>
    server.once('connection', (s) => {
      let n = 0;
      s.on('data', (d) => {
        n += d.length;
      });
      s.on('end', () => {
        resolve(n);
        s.destroy();
      });
    }),
  );
  const client = net.connect(server.address().port, '127.0.0.1');
  await once(client, 'connect');
  const t0 = process.hrtime.bigint();
  await pump(client);
  client.end();
  const n = await got;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  client.destroy();
  await new Promise((r) => server.close(r));
  if (n !== BULK) throw new Error(`net bulk got ${n}`);
  return BULK / 1048576 / s;
}

async function bulkWinsock(provider) {
  const server = ws.createServer({ provider });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const got = new Promise((resolve) =>
    server.once('connection', (s) => {
      let n = 0;
      s.on('data', (d) => {
        n += d.length;
      });
      s.on('end', () => {
        resolve(n);
        s.destroy();
      });
    }),
  );
  const client = await ws.connect({ provider, port, host: '127.0.0.1' });
  const s0 = statsNow();
  const t0 = process.hrtime.bigint();
  await pump(client);
  await new Promise((r) => client.end(r));
  const n = await got;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  client.destroy();
  await server.close();
  if (n !== BULK) throw new Error(`${provider} bulk got ${n}`);
  printStats('bulk', s0);
  return BULK / 1048576 / s;
}

// The provider's SocketHandle directly (no stream.Duplex): what the native
// layer itself costs, to tell it from the facade's share.
async function bulkHandle() {
  const provider = require(path.join(libDir, 'native', 'index.js')).loadNativeProvider();
  let resolveConn;
  const conn = new Promise((r) => {
    resolveConn = r;
  });
  const listener = await provider.listen(
    {
      host: '127.0.0.1',
      port: 0,
      backlog: 16,
      conditional: false,
      handshakeTimeout: 0,
      maxCallerData: 0,
      maxCalleeData: 0,
      maxDisconnectData: 0,
      mode: 'stream',
    },
    {
      condition: () => ({ action: 'accept', calleeData: null, qos: null }),
      connection: (h) => resolveConn(h),
      refused() {},
      withdrawn() {},
      clientError() {},
      error() {},
    },
  );
  const client = await provider.connect({
    host: '127.0.0.1',
    port: listener.address.port,
    callerData: null,
    sqos: null,
    gqos: null,
    timeout: 0,
    signal: null,
    maxCalleeData: 0,
    maxDisconnectData: 0,
    mode: 'stream',
  });
  const server = await conn;
  let n = 0;
  const done = new Promise((resolve) =>
    server.attach({
      onData: (c) => {
        n += c.length;
        return true;
      },
      onEnd: resolve,
      onError: resolve,
    }),
  );
  server.readStart();
  const t0 = process.hrtime.bigint();
  let inFlight = 0;
  let wake = null;
  for (let sent = 0; sent < BULK; sent += CHUNK) {
    inFlight++;
    client.write([chunk], () => {
      inFlight--;
      if (wake && inFlight < 16) {
        const w = wake;
        wake = null;
        w();
      }
    });
    if (inFlight >= 32)
      await new Promise((r) => {
        wake = r;
      });
  }
  while (inFlight > 0)
    await new Promise((r) => {
      wake = r;
    });
  await client.sendDisconnect(null);
  await done;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  client.close();
  server.close();
  await listener.close();
  if (process.env.BENCH_STATS) console.log(JSON.stringify(provider.addon.stats()));
  if (n !== BULK) throw new Error(`handle bulk got ${n}`);
  return BULK / 1048576 / s;
}

// ---- the hand-off data path (libuv), on the provider directly ----
// Each accepted or connected SOCKET is Node's own TCP handle under a
// net.Socket (lib/native/handoff.ts). Until the facade takes a
// NetConnection, the provider is driven directly (no facade: its share is
// nil on this path anyway, the socket is net's own).

const LISTEN = {
  host: '127.0.0.1',
  port: 0,
  backlog: 511,
  conditional: true,
  handshakeTimeout: 0,
  maxCallerData: 0,
  maxCalleeData: 0,
  maxDisconnectData: 0,
  mode: 'stream',
};
const connectTo = (port) => ({
  host: '127.0.0.1',
  port,
  callerData: null,
  sqos: null,
  gqos: null,
  timeout: 0,
  signal: null,
  maxCalleeData: 0,
  maxDisconnectData: 0,
  mode: 'stream',
});
const ACCEPT = { action: 'accept', calleeData: null, qos: null };
const REJECT = { action: 'reject' };

let handoffProvider = null;
function libuvProvider() {
  if (handoffProvider === null) {
    const native = require(path.join(libDir, 'native', 'index.js'));
    handoffProvider = new native.NativeProvider(native.loadNativeProvider().addon, { path: 'libuv', reason: 'bench' });
  }
  return handoffProvider;
}
function netOf(conn) {
  if (conn.kind !== 'net') throw new Error('the hand-off fell back to the addon data path');
  return conn.socket;
}

async function bulkLibuv() {
  const provider = libuvProvider();
  let resolveConn;
  const conn = new Promise((r) => {
    resolveConn = r;
  });
  const listener = await provider.listen(LISTEN, {
    condition: () => ACCEPT,
    connection: (c) => resolveConn(c),
    refused() {},
    withdrawn() {},
    clientError() {},
    error() {},
  });
  const client = netOf(await provider.connect(connectTo(listener.address.port)));
  const server = netOf(await conn);
  let n = 0;
  const done = new Promise((resolve) => {
    server.on('data', (d) => {
      n += d.length;
    });
    server.on('end', resolve);
  });
  server.resume();
  const t0 = process.hrtime.bigint();
  await pump(client);
  client.end();
  await done;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  client.destroy();
  server.destroy();
  await listener.close();
  if (n !== BULK) throw new Error(`libuv bulk got ${n}`);
  return BULK / 1048576 / s;
}

async function acceptLibuv() {
  const provider = libuvProvider();
  let decided = 0;
  const listener = await provider.listen(LISTEN, {
    condition: (req) => {
      decided++;
      return req.callerId.address ? ACCEPT : REJECT;
    },
    connection: (c) => netOf(c).destroy(),
    refused() {},
    withdrawn() {},
    clientError() {},
    error() {},
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ACCEPTS; i++) {
    const c = netOf(await provider.connect(connectTo(listener.address.port)));
    c.destroy();
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await listener.close();
  if (decided < ACCEPTS * 0.9) throw new Error(`condition ran ${decided} times`);
  return ACCEPTS / s;
}

// ---- accept rate (a JS decision per connection) ----

// Servers resolve { port, close(), decided() }; clients connect once and close.
async function netServer() {
  let decided = 0;
  const server = net.createServer((s) => {
    decided += s.remoteAddress ? 1 : 0;
    s.destroy();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)), decided: () => decided };
}

async function winsockServer(provider) {
  let decided = 0;
  const server = ws.createServer({
    provider,
    condition: (req) => {
      decided++;
      return req.callerId.address ? 'accept' : 'reject';
    },
  });
  server.on('connection', (s) => s.destroy());
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { port, close: () => server.close(), decided: () => decided };
}

async function netClient(port) {
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  c.destroy();
}

async function winsockClient(provider, port) {
  const c = await ws.connect({ provider, port, host: '127.0.0.1' });
  c.destroy();
}

async function acceptRate(startServer, connectOnce) {
  const server = await startServer();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ACCEPTS; i++) await connectOnce(server.port);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await server.close();
  if (server.decided() < ACCEPTS * 0.9) throw new Error(`condition ran ${server.decided()} times`);
  return ACCEPTS / s;
}

const acceptNet = () => acceptRate(netServer, netClient);
const acceptWinsock = (provider) =>
  acceptRate(
    () => winsockServer(provider),
    (port) => winsockClient(provider, port),
  );
// Each end alone (the accept gap split by side): winsock2 at one end, node's net at the other.
const acceptServerOnly = () => acceptRate(() => winsockServer('native'), netClient);
const acceptClientOnly = () => acceptRate(netServer, (port) => winsockClient('native', port));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function compare(name, a, b, unit) {
  await a();
  await b(); // warm-up pair
  const ra = [];
  const rb = [];
  for (let i = 0; i < PAIRS; i++) {
    if (i % 2 === 0) {
      ra.push(await a());
      rb.push(await b());
    } else {
      rb.push(await b());
      ra.push(await a());
    }
  }
  const row = {
    case: name,
    unit,
    native: median(ra),
    net: median(rb),
    ratio: median(ra) / median(rb),
    nativeRuns: ra,
    netRuns: rb,
  };
  console.log(
    `${name.padEnd(28)} native ${row.native.toFixed(1).padStart(8)} ${unit}   net ${row.net.toFixed(1).padStart(8)} ${unit}   ratio ${row.ratio.toFixed(2)}`,
  );
  return row;
}

(async () => {
  const cases = (process.env.BENCH_CASES || 'bulk,bulk-libuv,accept,accept-libuv').split(',');
  const rows = [];
  console.log(
    `node ${process.version} ${process.platform}-${process.arch}; pairs ${PAIRS}; bulk ${BULK / 1048576} MiB; accepts ${ACCEPTS}`,
  );
  if (cases.includes('bulk'))
    rows.push(await compare('bulk 256 MiB one way', () => bulkWinsock('native'), bulkNet, 'MiB/s'));
  if (cases.includes('bulk-handle'))
    rows.push(await compare('bulk, SocketHandle (no Duplex)', bulkHandle, bulkNet, 'MiB/s'));
  if (cases.includes('bulk-libuv'))
    rows.push(await compare('bulk 256 MiB, hand-off (libuv)', bulkLibuv, bulkNet, 'MiB/s'));
  if (cases.includes('accept'))
    rows.push(await compare('accept with JS condition', () => acceptWinsock('native'), acceptNet, 'conn/s'));
  if (cases.includes('accept-libuv'))
    rows.push(await compare('accept, JS condition, hand-off', acceptLibuv, acceptNet, 'conn/s'));
  if (cases.includes('accept-server'))
    rows.push(await compare('accept: winsock2 server only', acceptServerOnly, acceptNet, 'conn/s'));
  if (cases.includes('accept-client'))
    rows.push(await compare('accept: winsock2 client only', acceptClientOnly, acceptNet, 'conn/s'));
  console.log(JSON.stringify({ node: process.version, pairs: PAIRS, rows }));
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
