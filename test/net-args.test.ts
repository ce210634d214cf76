/**
 * winsock2/net against node:net on what Node's own net tests found
 * (docs/net.md, "Node's own net tests"): every argument form of listen(),
 * connect() and createServer() throws the same error (code, class, message)
 * or none; Server and Socket are callable without `new`; listen() right
 * after close(); captureRejections; and, on each provider, pauseOnConnect
 * reading nothing until resume().
 */
import { strict as assert } from 'node:assert';
import { EventEmitter, once } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';
import { providersUnderTest } from './helpers/harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const winsockNet = require(path.resolve(__dirname, '..', 'lib', 'net.js')) as typeof net;

interface Thrown {
  readonly code: unknown;
  readonly name: string;
  readonly message: string;
}

function thrown(fn: () => unknown): Thrown | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return { code: e.code, name: e.name, message: e.message };
  }
}

/** Closes whatever listen() started (ok cases), so nothing stays open. */
async function settle(server: net.Server): Promise<void> {
  if (!server.listening) await Promise.race([once(server, 'listening'), once(server, 'error')]).catch(() => undefined);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** listen() argument lists that fail, or bind an ephemeral port, the same way on both. */
const LISTEN_FORMS: readonly (readonly unknown[])[] = [
  [],
  [0],
  ['0'],
  [null],
  [undefined],
  [{ port: 0 }],
  [{ port: '0' }],
  [{ port: undefined }],
  [{ port: null }],
  [-1],
  [NaN],
  [123.456],
  [65536],
  [1 / 0],
  [{ port: -1 >>> 0 }],
  [{ port: -1, path: '/tmp/nope.sock' }],
  [{ port: false }],
  [{ port: true }],
  [true],
  [false],
  [{}],
  [{ host: 'localhost' }],
  [{ host: { port: 3000 } }],
  [{ exclusive: true }],
  [{ fd: -1 }],
  [{ path: -1 }],
  [{ port: 0, signal: 'INVALID_SIGNAL' }],
  [{ port: 0, host: 5 }],
];

describe('winsock2/net: argument forms as node:net', function () {
  for (const args of LISTEN_FORMS) {
    it(`listen(${args.map((a) => (typeof a === 'object' && a !== null ? JSON.stringify(a) : String(a))).join(', ')})`, async function () {
      const ours = winsockNet.createServer();
      const theirs = net.createServer();
      const got = thrown(() => (ours.listen as (...a: unknown[]) => unknown)(...args));
      const want = thrown(() => (theirs.listen as (...a: unknown[]) => unknown)(...args));
      if (got === 'ok') await settle(ours);
      if (want === 'ok') await settle(theirs);
      assert.deepEqual(got, want);
    });
  }

  it('listen() on a path, a handle or an fd: refused with ERR_INVALID_ARG_VALUE (a TypeError), as net refuses a bad argument', function () {
    for (const args of [
      ['/tmp/winsock2-nope.sock'],
      [{ path: '/tmp/winsock2-nope.sock' }],
      [{ fd: 0 }],
      [{ handle: {} }],
    ]) {
      const got = thrown(() => (winsockNet.createServer().listen as (...a: unknown[]) => unknown)(...args));
      assert.notEqual(got, 'ok');
      assert.equal((got as Thrown).code, 'ERR_INVALID_ARG_VALUE');
      assert.equal((got as Thrown).name, 'TypeError');
    }
  });

  it('listen({ ipv6Only: true }) is refused, never bound dual-stack', function () {
    const got = thrown(() => winsockNet.createServer().listen({ port: 0, host: '::', ipv6Only: true }));
    assert.equal((got as Thrown).code, 'ERR_INVALID_ARG_VALUE');
  });

  it('createServer() with options that are not an object', function () {
    for (const options of ['path', 0, true]) {
      const create = (m: typeof net) => thrown(() => (m.createServer as (o: unknown) => unknown)(options));
      assert.deepEqual(create(winsockNet), create(net));
    }
  });

  for (const provider of providersUnderTest()) {
    it(`connect() with no port or path [${provider}]`, function () {
      for (const args of [[], [{}], [{ host: '127.0.0.1' }]] as unknown[][]) {
        const withProvider = args.length === 0 ? [{ provider }] : [{ ...(args[0] as object), provider }];
        const got = thrown(() => (winsockNet.connect as (...a: unknown[]) => unknown)(...withProvider));
        const want = thrown(() => (net.connect as (...a: unknown[]) => unknown)(...args));
        assert.deepEqual(got, want);
      }
    });

    it(`connect() with a bad port [${provider}]`, function () {
      for (const port of [-1, 65536, NaN, 1.5]) {
        const got = thrown(() => winsockNet.connect({ port, provider } as net.NetConnectOpts));
        const want = thrown(() => net.connect({ port }));
        assert.deepEqual(
          got === 'ok' ? got : { code: got.code, name: got.name },
          want === 'ok' ? want : { code: want.code, name: want.name },
        );
      }
    });
  }

  it('Server() and Socket() without new, as net lets them be called', async function () {
    const Server = winsockNet.Server as unknown as (options?: object) => net.Server;
    const Socket = winsockNet.Socket as unknown as () => net.Socket;
    const server = Server();
    assert.ok(server instanceof winsockNet.Server);
    assert.ok(server instanceof EventEmitter);
    const socket = Socket();
    assert.ok(socket instanceof winsockNet.Socket);
    assert.ok(socket instanceof net.Socket);
    socket.destroy();
    // And still constructible and extendable as classes.
    class Mine extends winsockNet.Server {}
    const mine = new Mine();
    assert.ok(mine instanceof winsockNet.Server);
    assert.equal((winsockNet as unknown as { Stream: unknown }).Stream, winsockNet.Socket);
    await settle(server.listen(0));
  });

  it('listen() right after close() binds again, as net (whose close is synchronous)', async function () {
    const server = winsockNet.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.close();
    const listening = once(server, 'listening');
    server.listen(0, '127.0.0.1');
    await listening;
    assert.equal(server.listening, true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('close(); listen(); listen() throws ERR_SERVER_ALREADY_LISTEN, and close() cancels a listen() still waiting, as net', async function () {
    const outcome = async (m: typeof net): Promise<unknown[]> => {
      const seen: unknown[] = [];
      const server = m.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      server.close();
      // No host: net binds inside listen() (with one it looks the host up first, and a second listen() passes).
      server.listen(0);
      seen.push(thrown(() => server.listen(0)));
      const closed = new Promise<void>((resolve) =>
        server.close((err) => {
          seen.push(err === undefined ? 'closed' : (err as Error & { code?: string }).code);
          resolve();
        }),
      );
      server.on('listening', () => seen.push('listening'));
      await closed;
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen.push(server.listening);
      return seen;
    };
    const got = await outcome(winsockNet);
    const want = await outcome(net);
    assert.deepEqual(
      got.map((x) => (typeof x === 'object' && x !== null ? (x as Thrown).code : x)),
      want.map((x) => (typeof x === 'object' && x !== null ? (x as Thrown).code : x)),
    );
  });
});

describe('winsock2/net: captureRejections and pauseOnConnect as node:net', function () {
  it("captureRejections: a rejected async 'connection' listener destroys that socket with its error", async function () {
    const failure = new Error('kaboom');
    // net.Server takes it from the process-wide default only (EventEmitter.call(this) with no options).
    const before = EventEmitter.captureRejections;
    EventEmitter.captureRejections = true;
    let server: net.Server;
    try {
      server = winsockNet.createServer();
    } finally {
      EventEmitter.captureRejections = before;
    }
    const destroyedWith = new Promise<unknown>((resolve) => {
      server.on('connection', (socket: net.Socket) => {
        socket.on('error', resolve);
      });
    });
    // The listener's rejected promise is the point: captureRejections routes it.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    server.on('connection', async () => {
      await Promise.resolve();
      throw failure;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.on('error', () => undefined);
    assert.equal(await destroyedWith, failure);
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  for (const provider of providersUnderTest()) {
    it(`pauseOnConnect: nothing is read until resume() [${provider}]`, async function () {
      const server = winsockNet.createServer({ pauseOnConnect: true, provider } as net.ServerOpts);
      const accepted = once(server, 'connection') as Promise<[net.Socket]>;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const client = winsockNet.connect({
        port: (server.address() as net.AddressInfo).port,
        host: '127.0.0.1',
        provider,
      } as net.NetConnectOpts);
      client.write('test');
      const [socket] = await accepted;
      let early = false;
      socket.on('data', () => {
        early = true;
      });
      // Long enough for the bytes to arrive and, without pauseOnConnect, be read.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(early, false, "'data' before resume()");
      assert.equal(socket.bytesRead, 0);
      assert.equal(socket.isPaused(), true);
      const data = once(socket, 'data') as Promise<[Buffer]>;
      socket.resume();
      assert.equal(String((await data)[0]), 'test');
      client.destroy();
      socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
  }
});
