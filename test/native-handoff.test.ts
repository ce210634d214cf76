/**
 * The native provider's 'libuv' data path (lib/native/handoff.ts): the
 * SOCKET WSAAccept accepted, or WSAConnect connected, becomes Node's own TCP
 * handle under a real net.Socket. Tested on the provider directly (its
 * NetConnection), on the real ws2_32 (Windows) or Wine's (npm run
 * test:wine); pending elsewhere, where there is no ws2_32.
 *
 * Every test here fails if the hand-off silently fell back to the addon's
 * data path: the self-test must pass where this suite runs, and each
 * connection must be a NetConnection whose socket's handle is Node's TCP.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type {
  ConditionVerdict,
  Connection,
  ListenerCallbacks,
  NetConnection,
  ProviderConnectOptions,
  ProviderListenOptions,
  ProviderListener,
  SocketHandle,
} from '../lib/provider';
import type { WinsockError } from '../lib/errors';
import type { NativeProvider } from '../lib/native/provider';
import { isHandedOver, type HandedOverSocket, type NativeSocket } from '../lib/native/addon';

import { pendingBecause, platform, waitFor } from './helpers/harness';
import { wineOutcomesAfterReset } from './probe/expectations';
import { WinsockSocket } from '../lib/socket';

type NativeModule = typeof import('../lib/native/index');
type HandoffModule = typeof import('../lib/native/handoff');

/** Loaded lazily: off Windows the suite is pending, not failing. */
function nativeModule(): NativeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../lib/native/index') as NativeModule;
}
function handoffModule(): HandoffModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../lib/native/handoff') as HandoffModule;
}

const fixtures = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'tls');

const ACCEPT: ConditionVerdict = { action: 'accept', calleeData: null, qos: null };
const baseListen: ProviderListenOptions = {
  host: '127.0.0.1',
  port: 0,
  backlog: 128,
  conditional: true,
  handshakeTimeout: 10_000,
  maxCallerData: 65536,
  maxCalleeData: 65536,
  maxDisconnectData: 65536,
  mode: 'stream',
};
const baseConnect: Omit<ProviderConnectOptions, 'port'> = {
  host: '127.0.0.1',
  callerData: null,
  sqos: null,
  gqos: null,
  timeout: 0,
  signal: null,
  maxCalleeData: 65536,
  maxDisconnectData: 65536,
  mode: 'stream',
};

interface Events {
  connections: Connection[];
  errors: WinsockError[];
}

function callbacksFor(events: Events): ListenerCallbacks {
  return {
    condition: () => ACCEPT,
    connection(conn: Connection) {
      events.connections.push(conn);
    },
    refused() {},
    withdrawn() {},
    clientError(error) {
      events.errors.push(error);
    },
    error(error) {
      events.errors.push(error);
    },
  };
}

/** Fails (rather than passing on the addon's path) unless `conn` is a hand-off. */
function asNet(conn: SocketHandle | NetConnection | undefined): NetConnection {
  assert.ok(conn !== undefined, 'a connection');
  assert.equal((conn as Partial<NetConnection>).kind, 'net', "a NetConnection, not the addon data path's SocketHandle");
  const c = conn as NetConnection;
  assert.ok(c.socket instanceof net.Socket, 'socket instanceof net.Socket');
  const handle = (c.socket as unknown as { _handle?: { constructor?: { name?: string } } })._handle;
  assert.equal(handle?.constructor?.name, 'TCP', "socket._handle is Node's own TCP handle");
  return c;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Reads `socket` to its end; resolves every byte. */
function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.resume();
  return once(socket, 'end').then(() => Buffer.concat(chunks));
}

describe("native hand-off to Node's TCP handle (win32 only: run under Wine with npm run test:wine)", function () {
  let provider: NativeProvider;
  let baseline = 0;
  const listeners: ProviderListener[] = [];
  const sockets: net.Socket[] = [];

  before(function () {
    if (process.platform !== 'win32') {
      pendingBecause(this, 'there is no ws2_32.dll on this platform (npm run test:wine runs these under Wine)');
    }
    const mod = nativeModule();
    // The provider the facade uses loads first (it decides the data path).
    const loaded = mod.loadNativeProvider() as NativeProvider;
    provider = new mod.NativeProvider(loaded.addon, { path: 'libuv', reason: 'this suite' });
  });

  beforeEach(function () {
    baseline = provider.handleCount();
  });

  afterEach(async function () {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(listeners.splice(0).map((l) => l.close()));
    await waitFor(() => provider.handleCount() <= baseline).catch(() => undefined);
    assert.equal(provider.handleCount(), baseline, 'leaked SOCKETs or handles');
  });

  async function listen(): Promise<{ events: Events; port: number }> {
    const events: Events = { connections: [], errors: [] };
    const listener = await provider.listen(baseListen, callbacksFor(events));
    listeners.push(listener);
    return { events, port: listener.address.port };
  }

  async function pair(): Promise<{ server: NetConnection; client: NetConnection }> {
    const { events, port } = await listen();
    const client = asNet(await provider.connect({ ...baseConnect, port }));
    sockets.push(client.socket);
    await waitFor(() => events.connections.length === 1);
    const server = asNet(events.connections[0]);
    sockets.push(server.socket);
    return { server, client };
  }

  it('the self-test at load passes here, so the default is the libuv path (no silent fallback)', function () {
    const addon = provider.addon;
    const { chooseDataPath, selfTest } = handoffModule();
    assert.equal(selfTest(addon), null);
    const choice = chooseDataPath(addon, undefined);
    assert.equal(choice.path, 'libuv', choice.reason);
    assert.equal(chooseDataPath(addon, 'libuv').path, 'libuv');
    assert.equal(chooseDataPath(addon, 'addon').path, 'addon');
    assert.throws(() => chooseDataPath(addon, 'uv'), /WINSOCK2_NATIVE_DATA must be "libuv" or "addon"/);
    const mod = nativeModule();
    const loaded = mod.loadNativeProvider() as NativeProvider;
    const forced = process.env['WINSOCK2_NATIVE_DATA'];
    if (forced !== 'addon') assert.equal(loaded.dataPath.path, 'libuv', loaded.dataPath.reason);
    if (forced === 'addon') assert.equal(loaded.dataPath.path, 'addon');
  });

  it('availableProviders() reports the native data path and why', function () {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { availableProviders } = require('../lib/providers') as typeof import('../lib/providers');
    const native = availableProviders().find((p) => p.name === 'native');
    assert.ok(native?.available);
    assert.ok(native.dataPath === 'libuv' || native.dataPath === 'addon');
    assert.equal(typeof native.dataPathReason, 'string');
  });

  it("accept and connect yield net.Sockets over Node's TCP handle, with the right peers", async function () {
    const { server, client } = await pair();
    assert.equal(client.socket.remotePort, server.socket.localPort);
    assert.equal(server.socket.remotePort, client.socket.localPort);
    assert.equal(server.socket.remoteAddress, '127.0.0.1');
    assert.equal(server.capabilities.provider, 'native');
    assert.equal(client.capabilities.provider, 'native');
    assert.equal(server.callerData, null);
    assert.equal(client.calleeData, null);
    // Handed over paused: nothing is read before someone asks.
    assert.equal(server.socket.readableFlowing, false);
  });

  it('echoes 1 MiB intact both ways', async function () {
    const { server, client } = await pair();
    server.socket.pipe(server.socket);
    const payload = randomBytes(1 << 20);
    const received = new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      let n = 0;
      client.socket.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
        if (n >= payload.length) resolve(Buffer.concat(chunks));
      });
    });
    client.socket.resume(); // handed over paused, as net.Server's pauseOnConnect
    client.socket.write(payload);
    const echoed = await received;
    assert.equal(echoed.length, payload.length);
    assert.equal(sha256(echoed), sha256(payload));
  });

  it('https runs TLSWrap straight over the TCP handle (no JSStreamSocket)', async function () {
    const { server, client } = await pair();
    const key = fs.readFileSync(path.join(fixtures, 'key.pem'));
    const cert = fs.readFileSync(path.join(fixtures, 'cert.pem'));
    const httpsServer = https.createServer({ key, cert }, (req, res) => res.end(`secure ${req.url ?? ''}`));
    const secured = once(httpsServer, 'secureConnection') as Promise<[tls.TLSSocket]>;
    httpsServer.emit('connection', server.socket);
    const tlsClient = tls.connect({ socket: client.socket, rejectUnauthorized: false, servername: 'localhost' });
    sockets.push(tlsClient);
    await once(tlsClient, 'secureConnect');
    const [tlsServer] = await secured;
    for (const [side, tlsSocket, raw] of [
      ['server', tlsServer, server.socket],
      ['client', tlsClient, client.socket],
    ] as const) {
      const wrap = (
        tlsSocket as unknown as {
          _handle?: {
            constructor: { name: string };
            _parent?: { constructor: { name: string } };
            _parentWrap?: unknown;
          };
        }
      )._handle;
      assert.equal(wrap?.constructor.name, 'TLSWrap', `${side}: TLSWrap`);
      assert.equal(wrap?._parent?.constructor.name, 'TCP', `${side}: TLSWrap's stream is the TCP handle`);
      assert.equal(wrap?._parentWrap, raw, `${side}: over the handed-over net.Socket, not a JSStreamSocket`);
    }
    tlsClient.write('GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const body = await readAll(tlsClient);
    assert.match(body.toString(), /^HTTP\/1\.1 200 OK[\s\S]*secure \/x$/);
    httpsServer.close();
  });

  it("http's parser consumes the TCP handle (no 'data' events in JS)", async function () {
    const { server, client } = await pair();
    const httpServer = http.createServer((req, res) => res.end(`plain ${req.url ?? ''}`));
    httpServer.emit('connection', server.socket);
    server.socket.resume(); // handed over paused, as net.Server's pauseOnConnect
    const handle = (server.socket as unknown as { _handle?: { _consumed?: boolean } })._handle;
    assert.equal(handle?._consumed, true, 'http.Server consumed the handle (parser.consume)');
    client.socket.write('GET /y HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const body = await readAll(client.socket);
    assert.match(body.toString(), /^HTTP\/1\.1 200 OK[\s\S]*plain \/y$/);
    httpServer.close();
  });

  it('sendDisconnect (WSASendDisconnect) after the writes: the peer reads every byte, then the FIN; a later end() does not fail', async function () {
    const { server, client } = await pair();
    assert.equal(typeof server.sendDisconnect, 'function');
    const payload = randomBytes(3 << 20);
    const read = readAll(client.socket);
    await new Promise<void>((resolve, reject) =>
      server.socket.write(payload, (err) => (err ? reject(err) : resolve())),
    );
    (server.sendDisconnect as (socket: net.Socket) => void)(server.socket);
    const got = await read;
    assert.equal(got.length, payload.length);
    assert.equal(sha256(got), sha256(payload));
    // The client still writes: the server's receive side is open.
    const back = new Promise<Buffer>((resolve) => server.socket.once('data', resolve));
    server.socket.resume();
    client.socket.write('after');
    assert.equal((await back).toString(), 'after');
    const errors: Error[] = [];
    server.socket.on('error', (e) => errors.push(e));
    server.socket.end();
    client.socket.end();
    await once(server.socket, 'close');
    assert.deepEqual(errors, []);
  });

  it("net's resetAndDestroy() on a handed-over socket resets the peer (SO_LINGER {1,0}); destroy() ends it gracefully", async function () {
    const first = await pair();
    const outcome = new Promise<string>((resolve) => {
      first.client.socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      first.client.socket.once('end', () => resolve('end'));
    });
    first.client.socket.resume();
    first.server.socket.resetAndDestroy();
    if (platform === 'wine') {
      // Wine: a receive pending when the RST arrives fails, one issued
      // after it reads 0 (probe assertion 20): either is a reset there.
      const expected = wineOutcomesAfterReset().map((o) => (o === 'WSAECONNRESET' ? 'ECONNRESET' : o));
      assert.ok(expected.includes(await outcome), `unexpected ${await outcome}`);
    } else {
      assert.equal(await outcome, 'ECONNRESET');
    }
    const second = await pair();
    const ended = readAll(second.client.socket);
    second.server.socket.write('bye');
    second.server.socket.destroy();
    assert.equal((await ended).toString(), 'bye');
  });

  it('sendDisconnect on a destroyed socket is WSAENOTSOCK, never a call on a stale SOCKET value', async function () {
    const { server } = await pair();
    server.socket.destroy();
    assert.throws(
      () => (server.sendDisconnect as (socket: net.Socket) => void)(server.socket),
      (err: WinsockError) => err.code === 'WSAENOTSOCK',
    );
  });

  it("a hand-off that fails at run time is that connection's error: its SOCKET closed once, the server keeps serving", async function () {
    const { events, port } = await listen();
    // The failure after libuv took the SOCKET: the new socket refuses its
    // first setting (TCP_NODELAY), injected for one socket. The handle
    // closes the SOCKET.
    const proto = WinsockSocket.prototype as unknown as { setNoDelay?: unknown };
    assert.equal(
      Object.hasOwn(proto, 'setNoDelay'),
      false,
      'WinsockSocket has a setNoDelay of its own: inject elsewhere',
    );
    let injected = false;
    // Called with the socket as `this` below, never detached from it.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const netSetNoDelay = net.Socket.prototype.setNoDelay;
    proto.setNoDelay = function (this: net.Socket, enable?: boolean): net.Socket {
      if (!injected) {
        injected = true;
        throw new Error('injected: the handed-over socket refused TCP_NODELAY');
      }
      return netSetNoDelay.call(this, enable);
    };
    let closed: Promise<unknown>;
    try {
      const first = net.connect({ port, host: '127.0.0.1' });
      sockets.push(first);
      first.on('error', () => undefined);
      closed = once(first, 'close');
      await waitFor(() => events.errors.length === 1).catch(() => {
        throw new Error(`no clientError: injected=${injected} connections=${events.connections.length}`);
      });
    } finally {
      delete proto.setNoDelay;
    }
    assert.ok(injected);
    assert.equal(events.errors[0]?.syscall, 'uv_tcp_open');
    assert.equal(events.connections.length, 0);
    // The caller sees its connection end (closed by Node's handle, once).
    await closed;
    await waitFor(() => provider.handleCount() === baseline + 1).catch(() => {
      throw new Error(`handle count ${provider.handleCount()}, baseline ${baseline}`);
    }); // only the listener
    const second = asNet(await provider.connect({ ...baseConnect, port }));
    sockets.push(second.socket);
    await waitFor(() => events.connections.length === 1);
    sockets.push(asNet(events.connections[0]).socket);
  });

  it('a held accept (acceptHeld, the deferred head accepted off the JS thread) is handed over too', async function () {
    // Driven on the raw addon, as in native-addon.test.ts, so it runs under
    // Wine too (where the listener never holds an accept: the option does
    // not take there).
    const addon = provider.addon;
    const raw = addon.listen('127.0.0.1', 0, 16, true);
    const results: (NativeSocket | HandedOverSocket | number)[] = [];
    let acceptable = 0;
    raw.start({
      onAcceptable: () => {
        acceptable++;
      },
      onAcceptHeld: (r) => {
        results.push(r);
      },
    });
    try {
      const client = net.connect(raw.address()?.port ?? 0, '127.0.0.1');
      sockets.push(client);
      await once(client, 'connect');
      await waitFor(() => acceptable > 0);
      let first: number | NativeSocket | HandedOverSocket = 0;
      await waitFor(() => {
        first = raw.accept(() => 2, true); // CF_DEFER
        return first !== 10035;
      });
      assert.equal(first, 11002, 'CF_DEFER: WSATRY_AGAIN');
      raw.acceptHeld({ address: '127.0.0.1', port: client.localPort ?? 0, family: 'IPv4' }, true);
      await waitFor(() => results.length === 1);
      const held = results[0];
      assert.ok(
        held !== undefined && typeof held !== 'number' && isHandedOver(held),
        `the held accept returned ${JSON.stringify(held)}`,
      );
      const adopted = handoffModule().adoptSocket(addon, held.socket);
      sockets.push(adopted);
      assert.equal(adopted.remotePort, client.localPort);
      const got = once(client, 'data') as Promise<[Buffer]>;
      adopted.write('held');
      assert.equal((await got)[0].toString(), 'held');
    } finally {
      raw.close();
    }
  });

  it("connect without connect data or QOS is net's own connect over an addon SOCKET; with caller data, WSAConnect's refusal", async function () {
    const { events, port } = await listen();
    const calls: string[] = [];
    const spy = Object.create(provider.addon) as typeof provider.addon;
    spy.openSocket = (family): number => {
      calls.push(`openSocket(${family})`);
      return provider.addon.openSocket(family);
    };
    spy.connect = (...args): NativeSocket => {
      calls.push('connect');
      return provider.addon.connect(...args);
    };
    const mod = nativeModule();
    const p = new mod.NativeProvider(spy, { path: 'libuv', reason: 'this test' });
    const client = asNet(await p.connect({ ...baseConnect, port }));
    sockets.push(client.socket);
    // libuv's ConnectEx connected the addon's SOCKET: no WSAConnect, no wait thread.
    assert.deepEqual(calls, ['openSocket(4)']);
    const { socketOf } = handoffModule();
    assert.equal(typeof socketOf(client.socket), 'number', 'the SOCKET stays known (WSASendDisconnect)');
    assert.equal(client.socket.connecting, false);
    assert.equal(client.socket.remotePort, port);
    assert.equal(client.capabilities.provider, 'native');
    await waitFor(() => events.connections.length === 1);
    sockets.push(asNet(events.connections[0]).socket);
    client.socket.destroy();
    await waitFor(() => p.handleCount() === provider.addon.handleCount());
    // TCP/IP carries no connect data: that connect goes to WSAConnect, which refuses it before anything is sent.
    calls.length = 0;
    await assert.rejects(p.connect({ ...baseConnect, port, callerData: Buffer.from('hello') }), {
      code: 'WSAEOPNOTSUPP',
    });
    assert.deepEqual(calls, ['connect']);
  });

  it('an IPv6 connect on this path opens an AF_INET6 SOCKET and reaches ::1', async function () {
    const events: Events = { connections: [], errors: [] };
    let listener: ProviderListener;
    try {
      listener = await provider.listen({ ...baseListen, host: '::1' }, callbacksFor(events));
    } catch (err) {
      // No IPv6 loopback on this host: pending with the reason, never a pass.
      pendingBecause(this, `no IPv6 loopback to listen on here: ${(err as Error).message}`);
    }
    listeners.push(listener);
    const calls: number[] = [];
    const spy = Object.create(provider.addon) as typeof provider.addon;
    spy.openSocket = (family): number => {
      calls.push(family);
      return provider.addon.openSocket(family);
    };
    const mod = nativeModule();
    const p = new mod.NativeProvider(spy, { path: 'libuv', reason: 'this test' });
    const client = asNet(await p.connect({ ...baseConnect, host: '::1', port: listener.address.port }));
    sockets.push(client.socket);
    assert.deepEqual(calls, [6]);
    assert.equal(client.socket.remoteAddress, '::1');
    assert.equal(client.socket.remoteFamily, 'IPv6');
    await waitFor(() => events.connections.length === 1);
    sockets.push(asNet(events.connections[0]).socket);
  });

  it('a refused, aborted or timed-out connect on this path is a WinsockError and closes its SOCKET once', async function () {
    // A port nobody listens on: bind one, close it.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(provider.connect({ ...baseConnect, port: closedPort }), (err: WinsockError) => {
      assert.equal(err.code, 'WSAECONNREFUSED');
      assert.equal(err.syscall, 'WSAConnect');
      return true;
    });
    // A port net's connect() refuses synchronously (the facade checks ports first; the provider must not leak on one).
    await assert.rejects(provider.connect({ ...baseConnect, port: 70000 }), (err: WinsockError) => {
      assert.equal(err.code, 'WSAEINVAL');
      return true;
    });
    assert.equal(provider.handleCount(), baseline, 'the SOCKET of a connect that never started is closed');
    const aborted = new AbortController();
    const { port } = await listen();
    const pending = provider.connect({ ...baseConnect, port, signal: aborted.signal });
    aborted.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await waitFor(() => provider.handleCount() === baseline + 1).catch(() => {
      throw new Error(`handle count ${provider.handleCount()}, baseline ${baseline} + the listener`);
    });
  });

  it("a SOCKET the addon cannot create fails the connect with the addon's Winsock error", async function () {
    const failing = Object.create(provider.addon) as typeof provider.addon;
    failing.openSocket = (): number => {
      throw Object.assign(new Error('WSASocketW failed (10024)'), { errno: 10024, syscall: 'WSASocketW' });
    };
    const mod = nativeModule();
    const p = new mod.NativeProvider(failing, { path: 'libuv', reason: 'this test' });
    const { port } = await listen();
    await assert.rejects(p.connect({ ...baseConnect, port }), (err: WinsockError) => {
      assert.equal(err.code, 'WSAEMFILE');
      assert.equal(err.syscall, 'WSASocketW');
      return true;
    });
    assert.equal(
      p.handleCount(),
      provider.addon.handleCount(),
      'nothing counted for the connect that never had a SOCKET',
    );
  });

  it("counts handed-over sockets until their close, and the addon's count stays out of it", async function () {
    const addonBefore = provider.addon.handleCount();
    const { server, client } = await pair();
    assert.equal(provider.addon.handleCount(), addonBefore + 1, 'the addon holds only the listener');
    assert.equal(provider.handleCount(), baseline + 3, 'listener + two handed-over sockets');
    client.socket.destroy();
    server.socket.destroy();
    await waitFor(() => provider.handleCount() === baseline + 1);
  });
});
