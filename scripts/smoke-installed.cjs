#!/usr/bin/env node
'use strict';
// Smoke test of an installed (or built) winsock2 on the NATIVE provider:
// it loads, enumerateProtocols({ provider: 'native' }) lists TCP, and a
// server/connect round-trip through a JavaScript condition function works.
//
//   node scripts/smoke-installed.cjs [module]   # module: 'winsock2' (default) or a path
//
// Used by the Windows CI jobs (built from source and installed from the packed
// tarball) and, under Wine, by scripts/pack-check-wine.sh. Exits 0 on success.
const path = require('node:path');
const { createRequire } = require('node:module');

const spec = process.argv[2] || 'winsock2';
const target = spec.startsWith('.') || path.isAbsolute(spec) ? path.resolve(spec) : spec;
// Resolve from the current directory (the project that installed winsock2), not from this file.
const requireHere = createRequire(path.join(process.cwd(), 'smoke.cjs'));
const fail = (msg) => {
  console.error(`smoke: FAIL: ${msg}`);
  process.exit(1);
};
const timer = setTimeout(() => fail('timed out after 30 s'), 30_000);

async function main() {
  const w = requireHere(target);
  for (const name of ['createServer', 'connect', 'enumerateProtocols', 'WinsockError']) {
    if (typeof w[name] !== 'function') fail(`${name} is ${typeof w[name]}`);
  }
  const why = typeof w.nativeUnavailableReason === 'function' ? w.nativeUnavailableReason() : null;
  if (why) fail(`the native provider does not load: ${why}`);
  console.log(
    `smoke: loaded ${requireHere.resolve(target)} on ${process.platform}-${process.arch} node ${process.version}`,
  );

  const protocols = w.enumerateProtocols({ provider: 'native' });
  if (!Array.isArray(protocols) || protocols.length === 0) fail('enumerateProtocols returned no protocols');
  const tcp = protocols.find((p) => p.addressFamily === 2 && p.socketType === 1 && p.protocol === 6);
  if (!tcp) fail(`no IPv4 TCP protocol among ${protocols.map((p) => p.name).join(', ')}`);
  console.log(
    `smoke: ${protocols.length} protocols; TCP is "${tcp.name}" (connectData=${tcp.connectData}, ` +
      `disconnectData=${tcp.disconnectData}, gracefulClose=${tcp.gracefulClose})`,
  );

  const decisions = [];
  const server = w.createServer({
    provider: 'native',
    condition(req) {
      decisions.push(req.callerId.address);
      return 'accept';
    },
  });
  server.on('connection', (socket) => {
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => {
      socket.end(`echo:${Buffer.concat(chunks).toString()}`);
    });
    socket.on('error', (e) => fail(`server socket: ${e.stack || e}`));
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const caps = server.capabilities;
  if (!caps || caps.provider !== 'native') fail(`server.capabilities.provider is ${caps && caps.provider}`);

  const socket = await w.connect({ host: '127.0.0.1', port, provider: 'native', timeout: 10_000 });
  if (socket.capabilities.provider !== 'native') fail(`socket provider is ${socket.capabilities.provider}`);
  const reply = await new Promise((resolve, reject) => {
    const got = [];
    socket.on('data', (c) => got.push(c));
    socket.on('end', () => resolve(Buffer.concat(got).toString()));
    socket.on('error', reject);
    socket.write('ping');
    socket.end();
  });
  socket.destroy();
  await server.close();
  if (reply !== 'echo:ping') fail(`round-trip answered ${JSON.stringify(reply)}`);
  if (decisions.length !== 1 || decisions[0] !== '127.0.0.1') fail(`condition saw ${JSON.stringify(decisions)}`);
  console.log(
    `smoke: round-trip on provider native via port ${port}: ${reply} (conditionalAccept=${caps.conditionalAccept})`,
  );
  console.log('smoke: OK');
}

main().then(
  () => clearTimeout(timer),
  (err) => fail(err && err.stack ? err.stack : String(err)),
);
