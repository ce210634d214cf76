/**
 * lib/node-internals.ts, the one module that leans on Node internals: the
 * accept hook makes net.Server's accepted sockets as our class (no
 * prototype change afterwards, which halves http throughput), and where it
 * cannot be used the public fallback hands over net's own sockets. Both
 * paths run here, on this Node (and under Wine on node.exe 20 and 22), and
 * the hook must be the one in use: a silent fallback fails.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as net from 'node:net';
import { acceptAsWinsockSockets } from '../lib/node-internals';
import { createServer, connect, WinsockSocket } from '../lib/index';

class Marked extends net.Socket {}

async function acceptOne(
  env: string | undefined,
): Promise<{ path: string; socket: net.Socket; constructed: boolean; received: string }> {
  const saved = process.env['WINSOCK2_ACCEPT_HOOK'];
  if (env === undefined) delete process.env['WINSOCK2_ACCEPT_HOOK'];
  else process.env['WINSOCK2_ACCEPT_HOOK'] = env;
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true });
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let resolveSocket!: (v: { socket: net.Socket; constructed: boolean }) => void;
    const accepted = new Promise<{ socket: net.Socket; constructed: boolean }>((r) => (resolveSocket = r));
    const path = acceptAsWinsockSockets(server, Marked, (socket, constructed) =>
      resolveSocket({ socket, constructed }),
    );
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.end('hello');
    const { socket, constructed } = await accepted;
    // Paused on creation, as net's pauseOnConnect: nothing read until resumed.
    assert.equal(socket.isPaused(), true);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.resume();
    await once(socket, 'end');
    socket.end();
    await once(socket, 'close');
    return { path, socket, constructed, received };
  } finally {
    server.close();
    if (saved === undefined) delete process.env['WINSOCK2_ACCEPT_HOOK'];
    else process.env['WINSOCK2_ACCEPT_HOOK'] = saved;
  }
}

describe('node internals: accepted sockets made as our class', function () {
  it("takes over the listening handle's onconnection on this Node: the socket is constructed as the class", async function () {
    const r = await acceptOne(undefined);
    assert.equal(r.path, 'hook', `the accept hook fell back on Node ${process.version}`);
    assert.equal(r.constructed, true);
    assert.equal(Object.getPrototypeOf(r.socket), Marked.prototype);
    assert.equal((r.socket as unknown as { _handle: unknown })._handle, null, 'closed after the test');
    assert.equal(r.received, 'hello');
  });

  it("falls back to net's own sockets (WINSOCK2_ACCEPT_HOOK=off): same bytes, the caller adopts them", async function () {
    const r = await acceptOne('off');
    assert.equal(r.path, 'fallback');
    assert.equal(r.constructed, false);
    assert.equal(Object.getPrototypeOf(r.socket), net.Socket.prototype);
    assert.equal(r.received, 'hello');
  });

  for (const hook of [undefined, 'off']) {
    it(`emulated: accepted and connected sockets are WinsockSockets over Node's TCP handle (hook ${hook ?? 'on'})`, async function () {
      const saved = process.env['WINSOCK2_ACCEPT_HOOK'];
      if (hook === undefined) delete process.env['WINSOCK2_ACCEPT_HOOK'];
      else process.env['WINSOCK2_ACCEPT_HOOK'] = hook;
      const server = createServer({ provider: 'emulated' });
      try {
        const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
        const accepted = server.accept();
        const client = await connect({ provider: 'emulated', host: '127.0.0.1', port });
        const peer = await accepted;
        for (const s of [client, peer]) {
          assert.ok(s instanceof WinsockSocket);
          assert.ok(s instanceof net.Socket);
          assert.equal(Object.getPrototypeOf(s), WinsockSocket.prototype);
          assert.equal(
            (s as unknown as { _handle: { constructor: { name: string } } })._handle.constructor.name,
            'TCP',
          );
          assert.equal(s.capabilities.connectData, false);
        }
        client.end('ping');
        peer.setEncoding('utf8');
        let got = '';
        peer.on('data', (d: string) => (got += d));
        await once(peer, 'end');
        assert.equal(got, 'ping');
        peer.end();
        await Promise.all([once(client, 'close'), once(peer, 'close')]);
      } finally {
        await server.close();
        if (saved === undefined) delete process.env['WINSOCK2_ACCEPT_HOOK'];
        else process.env['WINSOCK2_ACCEPT_HOOK'] = saved;
      }
    });
  }
});
