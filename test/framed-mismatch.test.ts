/**
 * Mismatched providers fail fast, both ways. A framed caller talking to a
 * plain TCP server (the default providers) gets a WinsockError saying the
 * peer does not speak winsock2's framed protocol, within the handshake
 * timeout at most, never a hang; a plain caller talking to a framed server is
 * dropped at its first byte and told by a reset. A framed acceptor sends the
 * start of its verdict at once when its decision is not immediate, which is
 * how a framed caller tells a slow decision from a peer that will never
 * answer (docs/protocol.md, "Verdict").
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { connect, createServer, DEFAULTS, WinsockError, type WinsockServer } from '../lib/index';
import { encodeHello, PREAMBLE_SIZE } from '../lib/framed/frames';

async function listening(server: WinsockServer): Promise<number> {
  server.on('error', () => undefined);
  return (await server.listen({ port: 0, host: '127.0.0.1' })).port;
}

describe('mismatched providers fail fast', function () {
  // A hang guard: the framed caller gives up after the handshake timeout (10 s by default), not later.
  this.timeout(DEFAULTS.handshakeTimeout + 20_000);

  it('a framed caller to a plain (emulated) server: WSAECONNABORTED "does not speak winsock2\'s framed protocol", no hang', async function () {
    const server = createServer({ provider: 'emulated' });
    const accepted: { destroy(): void }[] = [];
    server.on('connection', (socket) => {
      // A plain server that reads and waits for more, as most do: it never answers the hello.
      accepted.push(socket);
      socket.on('error', () => undefined);
      socket.resume();
    });
    const port = await listening(server);
    try {
      await assert.rejects(connect({ host: '127.0.0.1', port, provider: 'framed', timeout: 0 }), (e: unknown) => {
        assert.ok(e instanceof WinsockError, String(e));
        assert.equal(e.code, 'WSAECONNABORTED');
        assert.equal(e.syscall, 'WSAConnect');
        assert.match(e.message, /does not speak winsock2's framed protocol/);
        return true;
      });
    } finally {
      for (const s of accepted) s.destroy();
      await server.close();
    }
  });

  it('a plain (emulated) caller to a framed server: dropped at its first byte with a reset, reported as clientError', async function () {
    const server = createServer({ provider: 'framed' });
    const clientError = once(server, 'clientError') as Promise<[WinsockError]>;
    const port = await listening(server);
    try {
      // Plain TCP: the connect completes with the handshake, as on Windows' TCP/IP.
      const socket = await connect({ host: '127.0.0.1', port, provider: 'emulated' });
      const failed = once(socket, 'error') as Promise<[WinsockError]>;
      socket.resume();
      socket.write('GET / HTTP/1.0\r\n\r\n');
      const [error] = await failed;
      assert.equal(error.code, 'WSAECONNRESET');
      socket.destroy();
      const [dropped] = await clientError;
      assert.equal(dropped.code, 'WSAECONNABORTED');
      assert.match(dropped.message, /protocol violation: byte 0 of the hello/);
    } finally {
      await server.close();
    }
  });

  it("a framed acceptor whose decision is not immediate sends the verdict's start at once, the rest when it decides", async function () {
    const decisions: ((accept: boolean) => void)[] = [];
    const server = createServer({
      provider: 'framed',
      condition: () =>
        new Promise<'accept' | 'reject'>((resolve) => decisions.push((ok) => resolve(ok ? 'accept' : 'reject'))),
    });
    const port = await listening(server);
    const raw = netConnect({ host: '127.0.0.1', port });
    try {
      await once(raw, 'connect');
      let received = Buffer.alloc(0);
      raw.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
      });
      raw.write(encodeHello({ mode: 'stream', callerData: null, sqos: null, gqos: null }));
      while (received.length < 5) await once(raw, 'data');
      assert.equal(decisions.length, 1, 'the condition is deciding');
      assert.deepEqual([...received], [0x57, 0x53, 0x32, 0x45, 0x01], 'magic and version only, before the decision');
      decisions[0]?.(true);
      while (received.length < PREAMBLE_SIZE) await once(raw, 'data');
      assert.equal(received.length, PREAMBLE_SIZE);
      assert.equal(received[5], 0x56, "kind 'V'");
      assert.equal(received[6], 0x00, 'accept');
    } finally {
      raw.destroy();
      await server.close();
    }
  });
});
