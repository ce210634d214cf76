'use strict';
// The gate case: an http(s).Server behind the native provider's conditional
// accept, against node.exe's plain http(s).Server with the same handler.
// Run by scripts/bench-wine-gate.sh under Wine (node.exe); the load comes
// from Linux (wrk). Self-contained: needs only the compiled library.
//
//   node.exe bench/wine-gate.js <plain|libuv|addon> <http|https> <port-file>
//
// plain: http(s).createServer().listen() — node.exe's own server, the anchor.
// libuv: the native provider's hand-off path: every accepted SOCKET is Node's
//        own TCP handle under a net.Socket, emitted as the server's
//        'connection' (the pattern docs/ecosystem.md shows).
// addon: the native provider's own overlapped data path (the fallback),
//        through the facade's socket, emitted the same way.
// Both gates run a JS condition per connection (accept 127.0.0.1).
// Writes the port to <port-file> once listening; runs until killed.
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const libDir = ['out/lib', 'dist'].map((d) => path.join(root, d)).find((d) => fs.existsSync(path.join(d, 'index.js')));
if (!libDir) throw new Error('build first: npm run build:test (out/lib) or npm run build (dist)');

const [mode, proto, portFile] = process.argv.slice(2);
if (!['plain', 'libuv', 'addon'].includes(mode) || !['http', 'https'].includes(proto) || !portFile) {
  throw new Error('usage: wine-gate.js <plain|libuv|addon> <http|https> <port-file>');
}

const body = Buffer.from('hello world\n');
const handler = (req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', body.length);
  res.end(body);
};
const tlsDir = path.join(root, 'test', 'fixtures', 'tls');
const server = proto === 'https'
  ? https.createServer({ key: fs.readFileSync(path.join(tlsDir, 'key.pem')), cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')) }, handler)
  : http.createServer(handler);
server.keepAliveTimeout = 60_000;
server.on('clientError', (err, socket) => socket.destroy());

const ready = (port) => fs.writeFileSync(portFile, String(port));
const admit = (address) => address.startsWith('127.');

async function main() {
  if (mode === 'plain') {
    server.listen(0, '127.0.0.1', () => ready(server.address().port));
    return;
  }
  const native = require(path.join(libDir, 'native', 'index.js'));
  const loaded = native.loadNativeProvider();
  if (mode === 'libuv' && !(native.FACADE_TAKES_NET && loaded.dataPath.path === 'libuv')) {
    // Before the facade takes a NetConnection: the provider directly, on the
    // hand-off path, with the facade's condition work reduced to one call.
    const provider = new native.NativeProvider(loaded.addon, { path: 'libuv', reason: 'bench' });
    const listener = await provider.listen({
      host: '127.0.0.1', port: 0, backlog: 511, conditional: true, handshakeTimeout: 10_000,
      maxCallerData: 0, maxCalleeData: 0, maxDisconnectData: 0, mode: 'stream',
    }, {
      condition: (request) => (admit(request.callerId.address) ? { action: 'accept', calleeData: null, qos: null } : { action: 'reject' }),
      connection: (conn) => {
        if (conn.kind !== 'net') throw new Error('the hand-off fell back to the addon data path');
        server.emit('connection', conn.socket);
        conn.socket.resume();
      },
      refused() {},
      withdrawn() {},
      clientError() {},
      error(err) { throw err; },
    });
    ready(listener.address.port);
    return;
  }
  if (mode === 'addon' && loaded.dataPath.path !== 'addon') {
    throw new Error('run the addon gate with WINSOCK2_NATIVE_DATA=addon');
  }
  // Through the facade (its data path is the provider's: WINSOCK2_NATIVE_DATA).
  const ws = require(path.join(libDir, 'index.js'));
  const gate = ws.createServer({ provider: 'native', condition: (req) => (admit(req.callerId.address) ? 'accept' : 'reject') });
  gate.on('connection', (socket) => server.emit('connection', socket));
  const { port } = await gate.listen({ port: 0, host: '127.0.0.1', backlog: 511 });
  ready(port);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
