/**
 * The native addon and provider on the real ws2_32 (Windows) or Wine's
 * (npm run test:wine). Pending elsewhere: there is no ws2_32 to test.
 * Platform differences are asserted per platform, against what the raw
 * ws2_32 probe records there (docs/winsock-probe.md, test/probe/expected-*.json).
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import {
  isNetConnection,
  type Connection,
  type ConditionVerdict,
  type HandleReceiver,
  type ListenerCallbacks,
  type ProviderConnectOptions,
  type ProviderListenOptions,
  type ProviderListener,
  type RawRequest,
  type SocketHandle,
} from '../lib/provider';
import { WinsockError } from '../lib/errors';
import { XP1 } from '../lib/service-flags';
import type { NativeProvider } from '../lib/native/provider';
import { isHandedOver, type HandedOverSocket, type NativeListener, type NativeSocket } from '../lib/native/addon';
import type { NativeSocketHandle } from '../lib/native/socket';
import { pendingBecause, platform } from './helpers/harness';
import { loadExpectations } from './probe/expectations';

const onWindows = process.platform === 'win32';

/**
 * What the raw ws2_32 probe records for `id.key` on this platform
 * (test/probe/expected-*.json; docs/winsock-probe.md): Wine's exact value, or
 * Windows' documented one.
 */
function probe(id: string, key: string): unknown {
  const file = loadExpectations(platform === 'wine' ? 'wine' : 'windows');
  const value = file[id]?.[key];
  assert.ok(value !== undefined && value !== 'record', `the probe has a settled value for ${id}.${key}`);
  return value;
}

/**
 * Loaded lazily: off Windows the suite is pending, not failing. This suite
 * is about the addon itself and its own data path (SocketHandle); the
 * hand-off to Node's TCP handle has test/native-handoff.test.ts.
 */
function nativeProvider(): NativeProvider {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('../lib/native/index') as typeof import('../lib/native/index');
  const loaded = mod.loadNativeProvider() as NativeProvider;
  return new mod.NativeProvider(loaded.addon, { path: 'addon', reason: 'the addon data path suite' });
}

/** On the addon data path every connection is a SocketHandle. */
function addonHandle(c: Connection): SocketHandle {
  assert.ok(!isNetConnection(c), 'a SocketHandle (the addon data path), not a NetConnection');
  return c;
}

function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - start > ms) reject(new Error('timed out waiting'));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

/** A receiver that collects everything a SocketHandle reports. */
class Collector implements HandleReceiver {
  chunks: Buffer[] = [];
  bytes = 0;
  ended = false;
  disconnectData: Buffer | null = null;
  error: WinsockError | null = null;
  hash = createHash('sha256');
  keep = true;
  onData(chunk: Buffer): boolean {
    if (this.keep) this.chunks.push(chunk);
    this.hash.update(chunk);
    this.bytes += chunk.length;
    return true;
  }
  onEnd(data: Buffer | null): void {
    this.ended = true;
    this.disconnectData = data;
  }
  onError(error: WinsockError): void {
    this.error = error;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

function writeAsync(h: SocketHandle, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => h.write(chunks, (err) => (err ? reject(err) : resolve())));
}

interface Events {
  connections: { handle: SocketHandle; request: RawRequest }[];
  offered: RawRequest[];
  withdrawn: { request: RawRequest; error: WinsockError }[];
  errors: WinsockError[];
}

function callbacksFor(decide: (req: RawRequest) => ConditionVerdict, events: Events): ListenerCallbacks {
  return {
    condition(req) {
      events.offered.push(req);
      return decide(req);
    },
    connection(handle, request) {
      if (isNetConnection(handle)) throw new Error('this test drives the addon data path (SocketHandle)');
      events.connections.push({ handle, request });
    },
    refused() {},
    withdrawn(request, error) {
      events.withdrawn.push({ request, error });
    },
    clientError(error) {
      events.errors.push(error);
    },
    error(error) {
      events.errors.push(error);
    },
  };
}

const ACCEPT: ConditionVerdict = { action: 'accept', calleeData: null, qos: null };
const REJECT: ConditionVerdict = { action: 'reject' };
const DEFER: ConditionVerdict = { action: 'defer' };

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

describe('native addon on ws2_32 (win32 only: run under Wine with npm run test:wine)', function () {
  let provider: NativeProvider;
  let wine: string | null = null;
  let baseline = 0;
  const listeners: ProviderListener[] = [];
  const handles: SocketHandle[] = [];

  before(function () {
    if (!onWindows) {
      pendingBecause(this, 'there is no ws2_32.dll on this platform (npm run test:wine runs these under Wine)');
    }
    provider = nativeProvider();
    wine = provider.wineVersion();
  });

  beforeEach(function () {
    baseline = provider.handleCount();
  });

  afterEach(async function () {
    for (const h of handles.splice(0)) h.close();
    await Promise.all(listeners.splice(0).map((l) => l.close()));
    await waitFor(() => provider.handleCount() <= baseline).catch(() => undefined);
    assert.equal(provider.handleCount(), baseline, 'leaked SOCKETs');
  });

  async function listen(
    decide: (req: RawRequest) => ConditionVerdict = () => ACCEPT,
    options: Partial<ProviderListenOptions> = {},
  ) {
    const events: Events = { connections: [], offered: [], withdrawn: [], errors: [] };
    const listener = await provider.listen({ ...baseListen, ...options }, callbacksFor(decide, events));
    listeners.push(listener);
    return { listener, events, port: listener.address.port };
  }

  async function connect(port: number, extra: Partial<ProviderConnectOptions> = {}): Promise<SocketHandle> {
    const h = addonHandle(await provider.connect({ ...baseConnect, ...extra, port }));
    handles.push(h);
    return h;
  }

  it('knows whether it runs under Wine (wine_get_version)', function () {
    if (platform === 'wine') assert.match(String(wine), /^\d+\.\d+/);
    else assert.equal(wine, null);
  });

  it('enumerates TCP/IP with flags 0x20066 (mask 0x2000) and no connect/disconnect data', function () {
    const protocols = provider.enumerateProtocols();
    const tcp = protocols.filter((p) => p.socketType === 1 && p.protocol === 6);
    assert.ok(tcp.length >= 1, 'a TCP entry');
    for (const p of tcp) {
      // Wine's protocol.c test_service_flags (which passes on Windows).
      assert.equal(p.serviceFlags & ~XP1.QOS_SUPPORTED, 0x20066, `${p.name} flags 0x${p.serviceFlags.toString(16)}`);
      assert.equal(p.connectData, false);
      assert.equal(p.disconnectData, false);
      assert.equal(p.gracefulClose, true);
    }
    const udp = protocols.find((p) => p.socketType === 2 && p.protocol === 17);
    if (udp) assert.equal(udp.serviceFlags & ~XP1.QOS_SUPPORTED, 0x20609);
  });

  it('SO_CONDITIONAL_ACCEPT takes on Windows, not under Wine (WSAENOPROTOOPT); off unless asked for [R12]', async function () {
    const { listener } = await listen(() => ACCEPT, { conditional: true });
    assert.equal(listener.capabilities.conditionalAccept, wine === null);
    // As the raw probe records setting it before listen: ok / error:10042 (probe 7).
    assert.equal(listener.capabilities.conditionalAccept, probe('7', 'set_before_listen') === 'ok');
    assert.equal(listener.capabilities.provider, 'native');
    assert.equal(listener.capabilities.connectData, false);
    const { listener: plain } = await listen(() => ACCEPT, { conditional: false });
    assert.equal(plain.capabilities.conditionalAccept, false);
  });

  it('loads in a renamed host executable (delay-load hook resolves NODE.EXE to the process)', function () {
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws2-renamed-'));
    const exe = path.join(dir, 'electron.exe');
    fs.copyFileSync(process.execPath, exe);
    const script = path.join(dir, 'probe.js');
    const index = require.resolve('../lib/native/index');
    fs.writeFileSync(
      script,
      `const p = require(${JSON.stringify(index)}).loadNativeProvider();\n` +
        'if (p.enumerateProtocols().length < 1) process.exit(3);\nprocess.exit(p.handleCount() === 0 ? 0 : 4);\n',
    );
    // Under Wine node.exe's stdout/stderr must be files, not pipes.
    const out = fs.openSync(path.join(dir, 'out.txt'), 'w');
    const r = spawnSync(exe, [script], { stdio: ['ignore', out, out], env: process.env, timeout: 50_000 });
    fs.closeSync(out);
    const text = fs.readFileSync(path.join(dir, 'out.txt'), 'utf8');
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* Wine may hold the exe a moment */
    }
    assert.equal(r.status, 0, `electron.exe exited ${r.status} ${r.error?.message ?? ''}: ${text}`);
  });

  it('accepts with the condition, carries data both ways, and closes with no leak', async function () {
    const { events, port } = await listen();
    const client = await connect(port);
    await waitFor(() => events.connections.length === 1);
    const [{ handle: server, request }] = events.connections;
    handles.push(server);
    assert.equal(request.callerId.address, '127.0.0.1');
    assert.equal(request.callerId.port, client.localAddress.port, 'lpCallerId is the peer');
    assert.equal(request.calleeId.port, port, 'lpCalleeId is the listener');
    assert.equal(request.callerData, null);
    assert.equal(request.sqos, null);
    assert.equal(server.remoteAddress.port, client.localAddress.port);
    assert.equal(provider.handleCount(), baseline + 3);

    const sr = new Collector();
    const cr = new Collector();
    server.attach(sr);
    client.attach(cr);
    server.readStart();
    client.readStart();
    await writeAsync(client, [Buffer.from('hello '), Buffer.from('server')]);
    await writeAsync(server, [Buffer.from('hello client')]);
    await waitFor(() => sr.bytes === 12 && cr.bytes === 12);
    assert.equal(sr.text(), 'hello server');
    assert.equal(cr.text(), 'hello client');

    // D8 with null disconnect data: both sides end, recvDisconnect yields null.
    await client.sendDisconnect(null);
    await waitFor(() => sr.ended);
    assert.equal(await server.recvDisconnect(), null);
    await server.sendDisconnect(null);
    await waitFor(() => cr.ended);
    assert.equal(await client.recvDisconnect(), null);
    client.close();
    server.close();
    assert.equal(await client.recvDisconnect(), null, 'still answers after close');
  });

  it('moves 32 MiB one way intact (IOCP re-posted receives, batched completions)', async function () {
    this.timeout(120_000);
    const { events, port } = await listen();
    const client = await connect(port);
    await waitFor(() => events.connections.length === 1);
    const server = events.connections[0].handle;
    handles.push(server);
    const sink = new Collector();
    sink.keep = false;
    server.attach(sink);
    server.readStart();
    const total = 32 * 1024 * 1024;
    const block = randomBytes(64 * 1024);
    const sent = createHash('sha256');
    let inFlight = 0;
    for (let off = 0; off < total; off += block.length) {
      sent.update(block);
      inFlight++;
      client.write([block], () => {
        inFlight--;
      });
      if (inFlight >= 16) await waitFor(() => inFlight < 8, 30_000);
    }
    await waitFor(() => inFlight === 0, 60_000);
    await client.sendDisconnect(null);
    await waitFor(() => sink.ended, 60_000);
    assert.equal(sink.bytes, total);
    assert.equal(sink.hash.digest('hex'), sent.digest('hex'));
  });

  it('honours back-pressure: onData false stops reading until readStart', async function () {
    const { events, port } = await listen();
    const client = await connect(port);
    await waitFor(() => events.connections.length === 1);
    const server = events.connections[0].handle;
    handles.push(server);
    let calls = 0;
    let bytes = 0;
    server.attach({
      onData: (c) => {
        calls++;
        bytes += c.length;
        return false;
      },
      onEnd() {},
      onError() {},
    });
    server.readStart();
    const payload = Buffer.alloc(4 * 1024 * 1024, 7);
    client.write([payload], () => {});
    await waitFor(() => calls >= 1);
    await new Promise((r) => setTimeout(r, 200));
    const pausedAt = bytes;
    assert.ok(pausedAt < payload.length, `paused after ${pausedAt} bytes`);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(bytes - pausedAt <= 2 * 256 * 1024, 'at most the receives already posted arrive while paused');
    server.attach({
      onData: (c) => {
        bytes += c.length;
        return true;
      },
      onEnd() {},
      onError() {},
    });
    server.readStart();
    await waitFor(() => bytes === payload.length);
  });

  it('rejects with CF_REJECT (Wine: the caller connected first, then sees its end)', async function () {
    const { events, port } = await listen(() => REJECT);
    let client: SocketHandle | null = null;
    let connectError: unknown = null;
    try {
      client = await connect(port);
    } catch (err) {
      connectError = err;
    }
    await waitFor(() => events.offered.length === 1);
    assert.equal(events.connections.length, 0);
    if (wine !== null) {
      // Wine completes the handshake before the condition function runs and
      // ignores SO_CONDITIONAL_ACCEPT: the connect succeeded, then teardown.
      assert.ok(client, `connect succeeded under Wine (${String(connectError)})`);
      const c = new Collector();
      client.attach(c);
      client.readStart();
      await waitFor(() => c.ended || c.error !== null);
      // Wine closes the rejected socket gracefully: the caller reads its end,
      // not a reset (probe 6: recv returns 0, twice).
      assert.equal(probe('6', 'idle_recv'), 'eof');
      assert.equal(c.error, null, String(c.error));
      assert.equal(c.ended, true);
    } else {
      // Windows with SO_CONDITIONAL_ACCEPT: the SYN is refused (D4).
      assert.ok(connectError instanceof WinsockError && connectError.code === 'WSAECONNREFUSED', String(connectError));
    }
  });

  it('defers with CF_DEFER and offers the same request object again on retry(), calling the condition inside it [R11]', async function () {
    let verdict: ConditionVerdict = DEFER;
    const { listener, events, port } = await listen(() => verdict);
    const pending = connect(port);
    await waitFor(() => events.offered.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(events.offered.length, 1, 'not offered again before retry()');
    listener.retry();
    assert.equal(events.offered.length, 2);
    assert.equal(events.offered[1], events.offered[0], 'the same RawRequest object');
    verdict = ACCEPT;
    listener.retry();
    await waitFor(() => events.connections.length === 1);
    assert.equal(events.connections[0].request, events.offered[0]);
    handles.push(events.connections[0].handle);
    await pending;
  });

  it('keeps the head-of-backlog order across a defer, never awaiting a deferred connect before the decision', async function () {
    let verdict: ConditionVerdict = DEFER;
    const { listener, events, port } = await listen(() => verdict);
    let firstSettled = false;
    const first = connect(port).finally(() => {
      firstSettled = true;
    });
    await waitFor(() => events.offered.length === 1);
    const second = connect(port);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(events.offered.length, 1, 'the second request waits behind the deferred head');
    if (wine === null) {
      // Windows holds the SYN under SO_CONDITIONAL_ACCEPT: the deferred
      // caller's connect completes only after the decision (D4; probe 9.held).
      assert.equal(listener.capabilities.conditionalAccept, true);
      assert.equal(firstSettled, false, 'the deferred connect is still pending');
    } else {
      // Wine completed the handshake before the condition ran (probe 9.held).
      assert.equal(probe('9.held', 'client_while_deferred'), 'connected');
      await first;
    }
    verdict = ACCEPT;
    listener.retry();
    const [a, b] = await Promise.all([first, second]);
    await waitFor(() => events.connections.length === 2);
    for (const c of events.connections) handles.push(c.handle);
    assert.deepEqual(
      events.connections.map((c) => c.handle.remoteAddress.port),
      [a.localAddress.port, b.localAddress.port],
    );
    assert.equal(events.offered[0]?.callerId.port, a.localAddress.port);
    assert.equal(events.offered[events.offered.length - 1]?.callerId.port, b.localAddress.port);
  });

  it('option off (conditional: false): the caller connects before the condition decides, on Windows and Wine (probe 5)', async function () {
    let verdict: ConditionVerdict = DEFER;
    const { listener, events, port } = await listen(() => verdict, { conditional: false });
    assert.equal(listener.capabilities.conditionalAccept, false);
    assert.equal(probe('5', 'blocking_connect'), 'ok');
    // No SO_CONDITIONAL_ACCEPT: the stack completes the handshake at once,
    // so the connect resolves while the request is still deferred.
    const client = await connect(port);
    await waitFor(() => events.offered.length >= 1);
    assert.equal(events.connections.length, 0, 'not accepted yet');
    verdict = ACCEPT;
    listener.retry();
    await waitFor(() => events.connections.length === 1);
    handles.push(events.connections[0].handle);
    assert.equal(events.connections[0].handle.remoteAddress.port, client.localAddress.port);
  });

  it("option on: a deferred caller's connect waits for the decision on Windows; Wine has completed it (probe 9.held)", async function () {
    let verdict: ConditionVerdict = DEFER;
    const { listener, events, port } = await listen(() => verdict, { conditional: true });
    let settled = false;
    const attempt = connect(port).finally(() => {
      settled = true;
    });
    await waitFor(() => events.offered.length === 1);
    if (wine === null) {
      assert.equal(probe('9.held', 'client_while_deferred'), 'pending');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(settled, false, 'the SYN is held until the decision (D4)');
    } else {
      assert.equal(probe('9.held', 'client_while_deferred'), 'connected');
      await attempt;
    }
    verdict = ACCEPT;
    listener.retry();
    const client = await attempt;
    await waitFor(() => events.connections.length === 1);
    handles.push(events.connections[0].handle);
    assert.equal(events.connections[0].handle.remoteAddress.port, client.localAddress.port);
  });

  it('acceptHeld: CF_ACCEPT for the deferred head on a native thread; another caller at the head answers WSATRY_AGAIN', async function () {
    // Driven on the raw addon, so it runs under Wine too (where the listener
    // itself never holds an accept: the option did not take).
    const raw: NativeListener = provider.addon.listen('127.0.0.1', 0, 128, true);
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
      const port = raw.address()?.port ?? 0;
      const client = await connect(port);
      const callers: number[] = [];
      await waitFor(() => acceptable > 0);
      let first: number | NativeSocket | HandedOverSocket = 0;
      await waitFor(() => {
        first = raw.accept((req) => {
          callers.push(req.callerId?.port ?? 0);
          return 2;
        });
        return first !== 10035;
      });
      assert.equal(first, 11002, 'CF_DEFER: WSATRY_AGAIN');
      assert.deepEqual(callers, [client.localAddress.port]);
      raw.acceptHeld({ address: '127.0.0.1', port: client.localAddress.port === 1 ? 2 : 1, family: 'IPv4' });
      await waitFor(() => results.length === 1);
      assert.equal(results[0], 11002, 'a caller that is not the head is not accepted');
      raw.acceptHeld({ address: '127.0.0.1', port: client.localAddress.port, family: 'IPv4' });
      assert.throws(
        () => raw.acceptHeld({ address: '127.0.0.1', port: client.localAddress.port, family: 'IPv4' }),
        (e: { errno?: number }) => e.errno === 10036,
        'one held accept at a time (WSAEINPROGRESS)',
      );
      await waitFor(() => results.length === 2);
      const accepted = results[1];
      assert.ok(
        accepted !== undefined && typeof accepted !== 'number' && !isHandedOver(accepted),
        `the held accept returned ${String(accepted)}`,
      );
      assert.equal(accepted.remoteAddress()?.port, client.localAddress.port);
      accepted.close();
    } finally {
      raw.close();
    }
  });

  it('applies an accept off the JS thread exactly where SO_CONDITIONAL_ACCEPT took (Windows), never under Wine', async function () {
    // WSAAccept returning CF_ACCEPT can wait for the TCP handshake where the
    // option took (docs/windows.md): there the listener must use acceptHeld.
    const { listener, events, port } = await listen(() => ACCEPT, { conditional: true });
    const native = (listener as unknown as { native: NativeListener }).native;
    const original = native.acceptHeld;
    let held = 0;
    // The addon's methods are read-only on its prototype: count on the instance.
    Object.defineProperty(native, 'acceptHeld', {
      configurable: true,
      value: function (this: NativeListener, callerId: Parameters<NativeListener['acceptHeld']>[0]) {
        held++;
        original.call(this, callerId);
      },
    });
    try {
      const client = await connect(port);
      await waitFor(() => events.connections.length === 1);
      handles.push(events.connections[0].handle);
      assert.equal(events.connections[0].handle.remoteAddress.port, client.localAddress.port);
      assert.equal(held, listener.capabilities.conditionalAccept ? 1 : 0);
      assert.equal(
        listener.capabilities.conditionalAccept,
        wine === null,
        'the option takes on Windows, not under Wine',
      );
    } finally {
      delete (native as { acceptHeld?: unknown }).acceptHeld;
    }
  });

  it('refuses caller data and disconnect data on TCP/IP before sending (WSAEOPNOTSUPP)', async function () {
    // Why: the TCP provider has no XP1_CONNECT_DATA / XP1_DISCONNECT_DATA and,
    // given data anyway, delivers none of it (probe 12, 14, 21).
    assert.equal(probe('21', 'tcp_connect_data'), false);
    assert.equal(probe('21', 'tcp_disconnect_data'), false);
    assert.equal(probe('12', 'server_recv'), 'nothing');
    const { events, port } = await listen();
    await assert.rejects(
      connect(port, { callerData: Buffer.from('hi') }),
      (err: unknown) => err instanceof WinsockError && err.code === 'WSAEOPNOTSUPP' && err.syscall === 'WSAConnect',
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(events.offered.length, 0, 'nothing reached the listener');
    const client = await connect(port);
    await waitFor(() => events.connections.length === 1);
    handles.push(events.connections[0].handle);
    await assert.rejects(
      client.sendDisconnect(Buffer.from('total=42')),
      (err: unknown) =>
        err instanceof WinsockError && err.code === 'WSAEOPNOTSUPP' && err.syscall === 'WSASendDisconnect',
    );
    await client.sendDisconnect(null);
  });

  it('fails a connect to a closed port with WSAECONNREFUSED, without blocking JS', async function () {
    this.timeout(30_000);
    const { listener, port } = await listen();
    await listener.close();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await assert.rejects(
      connect(port),
      (err: unknown) => err instanceof WinsockError && err.code === 'WSAECONNREFUSED',
    );
    clearInterval(timer);
    assert.ok(ticks >= 0);
  });

  it('aborts a pending connect with AbortError and times out with WSAETIMEDOUT', async function () {
    // 10.255.255.1 is not routed here: the connect stays pending. Where the
    // network answers every address (a transparent proxy), this cannot run.
    const ac = new AbortController();
    const p = provider.connect({ ...baseConnect, host: '10.255.255.1', port: 9, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const outcome: unknown = await p.then(
      (h) => h,
      (err: unknown) => err,
    );
    if (!(outcome instanceof Error)) {
      (outcome as SocketHandle).close();
      pendingBecause(this, 'the connect completed before the abort (Wine completes the handshake at once)');
    }
    assert.equal(outcome.name, 'AbortError');
    await assert.rejects(
      provider.connect({ ...baseConnect, host: '10.255.255.1', port: 9, timeout: 100 }),
      (err: unknown) =>
        err instanceof WinsockError &&
        (err.code === 'WSAETIMEDOUT' || err.code === 'WSAENETUNREACH' || err.code === 'WSAEHOSTUNREACH'),
    );
  });

  it("resets with linger 0: the peer's posted receive fails with WSAECONNRESET (Windows and Wine, probe 20)", async function () {
    const { events, port } = await listen();
    const client = await connect(port);
    await waitFor(() => events.connections.length === 1);
    const server = events.connections[0].handle;
    handles.push(server);
    const c = new Collector();
    server.attach(c);
    server.readStart();
    client.reset();
    await waitFor(() => c.ended || c.error !== null);
    // The provider keeps a receive posted, and a pending overlapped WSARecv
    // fails when the RST arrives on Windows and under Wine alike (probe 20:
    // 64, ERROR_NETNAME_DELETED, which WSAGetOverlappedResult reports as
    // 10054); only a recv issued after the RST differs (Wine: 0).
    assert.equal(probe('20', 'overlapped_result'), 'error:64');
    assert.equal(c.error?.code, 'WSAECONNRESET');
  });

  it('runs 1,000 pending connects without delaying fs calls (no libuv pool)', async function () {
    this.timeout(60_000);
    let verdict: ConditionVerdict = DEFER;
    const { listener, events, port } = await listen(() => verdict, { backlog: 2000 });
    const conns = Array.from({ length: 1000 }, () =>
      provider.connect({ ...baseConnect, port }).then(
        (h) => {
          handles.push(addonHandle(h));
        },
        () => undefined,
      ),
    );
    const t0 = Date.now();
    await fs.promises.stat(__filename);
    assert.ok(Date.now() - t0 < 2000, 'fs.stat was not delayed');
    // Decide, or on Windows (SYN held while deferred, probe 9.held) the
    // connects would only end by timing out.
    verdict = REJECT;
    listener.retry();
    await Promise.all(conns);
    assert.ok(events.offered.length >= 1);
  });

  it('closes a forgotten (never attached) socket when it is garbage-collected', async function () {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const { events, port } = await listen();
    const client = await connect(port);
    await waitFor(() => events.connections.length === 1);
    const before = provider.handleCount();
    events.connections.length = 0; // forget the accepted socket: nothing holds it now
    for (let i = 0; i < 20 && provider.handleCount() >= before; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(provider.handleCount(), before - 1, 'the collected socket was closed');
    const c = new Collector();
    client.attach(c);
    client.readStart();
    await waitFor(() => c.ended || c.error !== null);
  });

  it('closes every socket and stops its thread when a worker exits, terminates or throws', async function () {
    this.timeout(120_000);
    const index = require.resolve('../lib/native/index');
    const body = `
      const { workerData, parentPort } = require('node:worker_threads');
      // The addon's own data path: its sockets are the addon's to close at teardown.
      const mod = require(${JSON.stringify(index)});
      const p = new mod.NativeProvider(mod.loadNativeProvider().addon, { path: 'addon', reason: 'worker teardown' });
      const cb = { condition: () => ({ action: 'accept', calleeData: null, qos: null }), connection() {}, refused() {}, withdrawn() {}, clientError() {}, error() {} };
      const base = { host: '127.0.0.1', port: 0, backlog: 8, conditional: true, handshakeTimeout: 0, maxCallerData: 0, maxCalleeData: 0, maxDisconnectData: 0, mode: 'stream' };
      p.listen(base, cb).then(async (l) => {
        const h = await p.connect({ host: '127.0.0.1', port: l.address.port, callerData: null, sqos: null, gqos: null, timeout: 0, signal: null, maxCalleeData: 0, maxDisconnectData: 0, mode: 'stream' });
        h.attach({ onData: () => true, onEnd() {}, onError() {} });
        h.readStart();
        h.write([Buffer.alloc(1 << 20)], () => {});
        parentPort.postMessage(p.handleCount());
        if (workerData === 'exit') process.exit(0);
        if (workerData === 'throw') throw new Error('boom');
      });`;
    for (const mode of ['exit', 'terminate', 'throw', 'exit', 'terminate', 'throw']) {
      const w = new Worker(body, { eval: true, workerData: mode });
      w.on('error', () => undefined);
      const exited = new Promise((resolve) => w.once('exit', resolve));
      const count = await new Promise<number>((resolve) => w.once('message', resolve));
      assert.ok(count >= 2, `worker (${mode}) had ${count} sockets open`);
      if (mode === 'terminate') await w.terminate();
      await exited;
    }
    assert.equal(provider.handleCount(), baseline, 'the main thread is unaffected');
  });

  // ---- Windows socket practice (libuv's src/win/tcp.c) ----

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const nativeOf = (h: SocketHandle): NativeSocket => (h as NativeSocketHandle).native;

  /** An accepted pair; the server side is closed by afterEach. */
  async function pair(port: number, events: Events): Promise<{ client: SocketHandle; server: SocketHandle }> {
    const before = events.connections.length;
    const client = await connect(port);
    await waitFor(() => events.connections.length === before + 1);
    const server = events.connections[before].handle;
    handles.push(server);
    return { client, server };
  }

  it('keeps its sockets out of child processes: a closed socket ends and a closed listener frees its port while a child runs', async function () {
    this.timeout(60_000);
    const { listener, events, port } = await listen();
    const { client, server } = await pair(port, events);
    // child_process.spawn inherits every inheritable handle (libuv passes
    // bInheritHandles); without WSA_FLAG_NO_HANDLE_INHERIT the child would
    // hold our sockets open until it exits.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      const c = new Collector();
      client.attach(c);
      client.readStart();
      server.close();
      await waitFor(() => c.ended || c.error !== null, 10_000);
      await listener.close();
      await assert.rejects(
        connect(port),
        (err: unknown) => err instanceof WinsockError && err.code === 'WSAECONNREFUSED',
      );
      const again = await listen(() => ACCEPT, { port });
      assert.equal(again.port, port);
      assert.equal(child.exitCode, null, 'the child still runs');
    } finally {
      child.kill();
    }
  });

  it('listens again on its port right after closing its connections (no SO_EXCLUSIVEADDRUSE)', async function () {
    this.timeout(30_000);
    const first = await listen();
    const port = first.port;
    for (let i = 0; i < 3; i++) {
      const { client, server } = await pair(port, first.events);
      const c = new Collector();
      client.attach(c);
      client.readStart();
      server.close(); // the server side closes first: its end lingers in TIME_WAIT
      await waitFor(() => c.ended || c.error !== null);
      client.close();
    }
    await first.listener.close();
    const again = await listen(() => ACCEPT, { port });
    assert.equal(again.port, port);
    await pair(port, again.events);
  });

  it('reports a failed send on a socket that never reads (the peer reset)', async function () {
    this.timeout(30_000);
    const { listener, events, port } = await listen();
    const { client, server } = await pair(port, events);
    await listener.close(); // no other native activity that could wake JS by chance
    const c = new Collector();
    server.attach(c); // write-only: no read posted
    client.reset();
    for (let i = 0; i < 500 && c.error === null; i++) {
      server.write([Buffer.alloc(1024, 1)], () => undefined);
      await sleep(10);
    }
    await waitFor(() => c.error !== null);
    assert.ok(['WSAECONNRESET', 'WSAECONNABORTED', 'WSAESHUTDOWN'].includes(c.error?.code ?? ''), String(c.error));
  });

  for (const verdict of [ACCEPT, REJECT, DEFER]) {
    it(`closes the listener from inside the condition function (${verdict.action}): after WSAAccept returned`, async function () {
      this.timeout(30_000);
      let listener: ProviderListener | null = null;
      const closed: Promise<void>[] = [];
      const result = await listen(() => {
        if (listener) closed.push(listener.close());
        return verdict;
      });
      listener = result.listener;
      const client = await connect(result.port).catch((err: unknown) => err);
      await waitFor(() => result.events.offered.length === 1);
      await Promise.all(closed);
      assert.equal(closed.length, 1);
      assert.equal(result.events.connections.length, 0, 'nothing is delivered by a closed listener');
      if (!(client instanceof Error)) {
        // Wine completes the handshake first: the caller sees its end or a reset.
        const c = new Collector();
        (client as SocketHandle).attach(c);
        (client as SocketHandle).readStart();
        await waitFor(() => c.ended || c.error !== null);
      }
      await assert.rejects(
        connect(result.port),
        (err: unknown) => err instanceof WinsockError && err.code === 'WSAECONNREFUSED',
      );
    });
  }

  it('sets TCP_NODELAY on accepted and connected sockets; setNoDelay / setKeepAlive read back with getsockopt', async function () {
    const { events, port } = await listen();
    const { client, server } = await pair(port, events);
    for (const h of [client, server]) {
      assert.deepEqual(nativeOf(h).options(), { noDelay: true, keepAlive: false });
      assert.ok(h.setNoDelay && h.setKeepAlive, 'the native handle has setNoDelay / setKeepAlive');
      h.setNoDelay(false);
      h.setKeepAlive(true, 5000);
      assert.deepEqual(nativeOf(h).options(), { noDelay: false, keepAlive: true });
      h.setNoDelay(true);
      h.setKeepAlive(false, 0);
      assert.deepEqual(nativeOf(h).options(), { noDelay: true, keepAlive: false });
    }
    assert.throws(() => nativeOf(client).setKeepAlive(true, -1), RangeError);
  });

  it('cannot construct addon objects from JavaScript (obj.constructor throws instead of crashing)', async function () {
    const { listener, events, port } = await listen();
    const { client } = await pair(port, events);
    const socketCtor = (nativeOf(client) as unknown as { constructor: new () => NativeSocket }).constructor;
    assert.throws(() => new socketCtor().readStart(), TypeError);
    const native = (listener as unknown as { native: NativeListener }).native;
    const listenerCtor = (native as unknown as { constructor: new () => NativeListener }).constructor;
    assert.throws(() => new listenerCtor().accept(() => 0), TypeError);
    // A method on a foreign object throws too.
    assert.throws(() => (socketCtor.prototype as NativeSocket).readStart.call({}));
  });

  it('does not wake JS while a listener is idle (the accept watchdog polls natively)', async function () {
    this.timeout(10_000);
    await listen();
    await listen().then((l) => l.listener.unref());
    await sleep(300);
    const before = provider.addon.stats().acceptPosted;
    await sleep(1200);
    assert.equal(provider.addon.stats().acceptPosted - before, 0, 'wake-ups posted to JS while idle');
  });

  it('reads many fast senders through the bounded receive pool intact while JS is busy', async function () {
    this.timeout(120_000);
    const { events, port } = await listen();
    const senders = 8;
    const perSender = 8 * 1024 * 1024;
    const sinks: Collector[] = [];
    const sent: string[] = [];
    const done: Promise<void>[] = [];
    for (let i = 0; i < senders; i++) {
      const { client, server } = await pair(port, events);
      const sink = new Collector();
      sink.keep = false;
      server.attach(sink);
      server.readStart();
      sinks.push(sink);
      const block = randomBytes(perSender);
      sent.push(createHash('sha256').update(block).digest('hex'));
      done.push(writeAsync(client, [block]).then(() => client.sendDisconnect(null)));
    }
    const starvedBefore = provider.addon.stats().poolStarved;
    // Block JS while the bytes arrive: the IOCP thread fills the pool and
    // sockets wait for buffers, then resume as JS copies them out.
    const until = Date.now() + 500;
    while (Date.now() < until) {
      /* busy */
    }
    await Promise.all(done);
    await waitFor(() => sinks.every((s) => s.ended), 60_000);
    sinks.forEach((s, i) => {
      assert.equal(s.bytes, perSender);
      assert.equal(s.hash.digest('hex'), sent[i]);
    });
    // Diagnostics only (whether the pool ran dry depends on scheduling).
    if (process.env['WINSOCK2_TEST_VERBOSE'])
      console.log('pool starved', provider.addon.stats().poolStarved - starvedBefore);
  });

  it('never truncates a write to a 32-bit WSABUF length: the addon refuses over 1 GiB, the handle splits it', async function () {
    this.timeout(120_000);
    if (process.arch === 'ia32') pendingBecause(this, 'a 1 GiB Buffer does not fit a 32-bit process reliably');
    const { events, port } = await listen();
    const { client, server } = await pair(port, events);
    // Uninitialised and never written: the pages stay virtual until sent.
    const big = Buffer.allocUnsafeSlow(2 ** 30 + 1);
    assert.throws(
      () => nativeOf(client).write([big], () => undefined),
      (err: Error & { errno?: number; syscall?: string }) => err.errno === 10040 && err.syscall === 'WSASend',
    ); // WSAEMSGSIZE
    let received = 0;
    const ended = new Promise<void>((resolve) =>
      server.attach({
        onData: (c) => {
          received += c.length;
          return true;
        },
        onEnd: () => resolve(),
        onError: () => resolve(),
      }),
    );
    server.readStart();
    await writeAsync(client, [big]);
    await client.sendDisconnect(null);
    await ended;
    assert.equal(received, big.length, 'every byte of a write over the native limit arrived');
  });
});
