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
//        own TCP handle under the facade's net.Socket, emitted as the
//        server's 'connection' (the pattern docs/ecosystem.md shows).
// addon: the native provider's own overlapped data path (the fallback),
//        the facade's socket over it, emitted the same way.
// (WINSOCK2_NATIVE_DATA=<mode> picks the data path; checked at start.)
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
const server =
  proto === 'https'
    ? https.createServer(
        { key: fs.readFileSync(path.join(tlsDir, 'key.pem')), cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')) },
        handler,
      )
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
  if (loaded.dataPath.path !== mode) {
    throw new Error(
      `the native data path is ${loaded.dataPath.path} (${loaded.dataPath.reason}); run with WINSOCK2_NATIVE_DATA=${mode}`,
    );
  }
  // Through the facade (its data path is the provider's: WINSOCK2_NATIVE_DATA).
  const ws = require(path.join(libDir, 'index.js'));
  const gate = ws.createServer({
    provider: 'native',
    backlog: 511,
    // The target's own (http.Server: true, https.Server: false), as docs/ecosystem.md says.
    allowHalfOpen: proto === 'http',
    condition: (req) => (admit(req.callerId.address) ? 'accept' : 'reject'),
  });
  gate.on('connection', (socket) => server.emit('connection', socket));
  const { port } = await gate.listen({ port: 0, host: '127.0.0.1' });
  ready(port);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
