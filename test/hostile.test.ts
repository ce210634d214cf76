/**
 * Hostile peers against a listening server. The peer is a raw node:net socket
 * that speaks (or abuses) the framed wire protocol byte by byte; cases that
 * mean something for the native provider too run there with a plain TCP peer.
 *
 * After every case: the server still serves a good client (assertServes), RSS
 * and Buffer memory stayed bounded (memoryProbe), and the provider's handle
 * count returned to where it started (forEachProvider's afterEach).
 *
 * Each case names the protection it exercises; removing that protection makes
 * the case fail (docs/security.md lists them).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from '../lib/connect';
import type { WinsockError } from '../lib/errors';
import { createFramedProvider } from '../lib/framed/index';
import {
  encodeFrameHeader,
  encodeHello,
  FRAME_DATA,
  FRAME_DISCONNECT,
  MAGIC,
  PROTOCOL_VERSION,
} from '../lib/framed/frames';
import { MAX_QOS_BYTES } from '../lib/framed/qos';
import { isNetConnection, type ListenerCallbacks } from '../lib/provider';
import type { WinsockServer } from '../lib/server';
import type { WinsockSocket } from '../lib/socket';
import type { ConditionFunction, ConnectionRequest, DecisionEvent, ProviderName, ServerOptions } from '../lib/types';
import {
  connectWaitsForDecision,
  forEachProvider,
  listen,
  own,
  pendingBecause,
  rejectsWith,
  waitFor,
} from './helpers/harness';
import {
  assertServes,
  buffersHeld,
  collectGarbage,
  destroyPeers,
  memoryProbe,
  probe,
  RawPeer,
  writeUntilStalled,
} from './helpers/hostile';

interface Observed {
  server: WinsockServer;
  port: number;
  clientErrors: WinsockError[];
  socketErrors: WinsockError[];
  /** Accepted sockets (not the probe's). */
  sockets: WinsockSocket[];
  decisions: DecisionEvent[];
  /** Requests offered to the test's condition (not the probe's). */
  readonly offered: number;
}

/** A server whose events are recorded; accepted sockets get an 'error' listener (an app must have one). */
async function observed(provider: ProviderName, options: ServerOptions = {}): Promise<Observed> {
  const user = options.condition;
  let offered = 0;
  const condition: ConditionFunction | undefined =
    user &&
    ((req) => {
      if (probe.active) return 'accept';
      offered++;
      return user(req);
    });
  const { server, port } = await listen(provider, { ...options, ...(condition ? { condition } : {}) });
  const o: Observed = {
    server,
    port,
    clientErrors: [],
    socketErrors: [],
    sockets: [],
    decisions: [],
    get offered() {
      return offered;
    },
  };
  server.on('clientError', (e) => o.clientErrors.push(e));
  server.on('decision', (d) => o.decisions.push(d));
  server.on('connection', (s) => {
    if (probe.active) return;
    own(s);
    o.sockets.push(s);
    s.on('error', (e: WinsockError) => o.socketErrors.push(e));
  });
  return o;
}

const taken = new WeakMap<Observed, number>();

/** The next accepted (non-probe) socket not yet handed out. */
async function nextSocket(o: Observed): Promise<WinsockSocket> {
  const n = taken.get(o) ?? 0;
  taken.set(o, n + 1);
  await waitFor(() => o.sockets.length > n);
  return o.sockets[n] as WinsockSocket;
}

/** Resolves how a server-side socket ended: 'end' or the error code. */
function outcome(socket: WinsockSocket): Promise<string> {
  return new Promise((resolve) => {
    if (socket.destroyed && socket.errored) {
      resolve((socket.errored as WinsockError).code);
      return;
    }
    socket.once('end', () => resolve('end'));
    socket.once('error', (e: WinsockError) => resolve(e.code));
  });
}

function framedOnly(ctx: Mocha.Context, provider: ProviderName): void {
  if (provider !== 'framed')
    pendingBecause(
      ctx,
      `a hostile peer of the framed wire protocol; the ${provider} provider speaks plain TCP, with no framing to abuse`,
    );
}

const HELLO_HEADER = [...MAGIC, PROTOCOL_VERSION, 0x48];

forEachProvider('hostile peers', (provider) =>
  describe('', function () {
    // Inner suite: its afterEach (the peers go) runs before the harness's leak check.
    afterEach(function () {
      destroyPeers();
    });

    // ---- the handshake ----

    it('random bytes: each connection is dropped at its first wrong byte with clientError; nothing reaches the condition', async function () {
      framedOnly(this, provider);
      const mem = memoryProbe();
      const o = await observed(provider, { condition: () => 'accept' });
      const peers = await Promise.all(Array.from({ length: 16 }, () => RawPeer.connect(o.port)));
      for (const p of peers) {
        const junk = randomBytes(4096);
        junk[0] = (junk[0] as number) === 0x57 ? 0x58 : (junk[0] as number); // never the magic's first byte
        await p.send(junk);
      }
      await Promise.all(peers.map((p) => p.closed));
      await waitFor(() => o.clientErrors.length === 16);
      assert.ok(
        o.clientErrors.every((e) => e.code === 'WSAECONNABORTED'),
        o.clientErrors.map((e) => e.code).join(),
      );
      assert.ok(
        peers.every((p) => p.received.length === 0),
        'garbage gets no verdict: it is not our protocol',
      );
      assert.equal(o.offered, 0);
      await assertServes(provider, o.server, o.port);
      mem.check();
    });

    it('bytes after the hello, before the verdict, are a protocol violation that withdraws only that request', async function () {
      framedOnly(this, provider);
      const o = await observed(provider, { condition: () => 'defer' });
      const withdrawn: WinsockError[] = [];
      o.server.on('withdrawn', (e) => withdrawn.push(e));
      const p = await RawPeer.connect(o.port);
      await p.hello();
      await waitFor(() => o.server.pendingDecisions === 1);
      await p.send('early');
      await p.closed;
      await waitFor(() => withdrawn.length === 1);
      assert.equal(o.server.pendingDecisions, 0);
      assert.ok(o.clientErrors.some((e) => e.code === 'WSAECONNABORTED'));
      await assertServes(provider, o.server, o.port);
    });

    it('a truncated hello then FIN is dropped with clientError WSAECONNRESET', async function () {
      framedOnly(this, provider);
      const o = await observed(provider, { condition: () => 'accept' });
      const p = await RawPeer.connect(o.port);
      await p.send(
        encodeHello({ mode: 'stream', callerData: Buffer.from('abcdef'), sqos: null, gqos: null }).subarray(0, 23),
      );
      p.socket.end();
      await p.closed;
      await waitFor(() => o.clientErrors.length === 1);
      assert.equal(o.clientErrors[0]?.code, 'WSAECONNRESET');
      assert.equal(o.offered, 0);
      await assertServes(provider, o.server, o.port);
    });

    it('length fields at their maximum in the hello: refused with a WSAEMSGSIZE verdict, nothing buffered', async function () {
      framedOnly(this, provider);
      const mem = memoryProbe();
      const o = await observed(provider, { condition: () => 'accept' });
      for (const [offset, flag] of [
        [8, 0x01],
        [12, 0x02],
        [16, 0x04],
      ] as const) {
        const header = Buffer.alloc(20);
        Buffer.from([...HELLO_HEADER, 0, flag]).copy(header);
        header.writeUInt32BE(0xffff_ffff, offset);
        const p = await RawPeer.connect(o.port);
        await p.send(header);
        const verdict = await p.verdict();
        assert.equal(verdict?.accept, false);
        assert.equal(verdict?.errno, 10040, 'WSAEMSGSIZE');
        p.socket.end(); // a refused caller hangs up; the server's side then closes
        await p.closed;
      }
      await waitFor(() => o.clientErrors.length === 3);
      assert.ok(o.clientErrors.every((e) => e.code === 'WSAEMSGSIZE'));
      assert.equal(o.offered, 0);
      await assertServes(provider, o.server, o.port);
      mem.check();
    });

    it('hellos that announce their largest bodies and send nothing commit no memory for them', async function () {
      framedOnly(this, provider);
      // 20 bytes each announcing maxCallerData + two maximal QOS bodies: ~192 KiB a connection if committed up front.
      const o = await observed(provider, { condition: () => 'accept', handshakeTimeout: 60_000 });
      collectGarbage();
      const before = buffersHeld();
      const peers = await Promise.all(Array.from({ length: 200 }, () => RawPeer.connect(o.port)));
      for (const p of peers) {
        const header = Buffer.alloc(20);
        Buffer.from([...HELLO_HEADER, 0, 0x07]).copy(header);
        header.writeUInt32BE(65_536, 8);
        header.writeUInt32BE(MAX_QOS_BYTES, 12);
        header.writeUInt32BE(MAX_QOS_BYTES, 16);
        await p.send(header);
      }
      // Give every header the time to reach the server's decoder, then measure what is still referenced.
      await new Promise((r) => setTimeout(r, 200));
      collectGarbage();
      const held = (buffersHeld() - before) / 2 ** 20;
      assert.ok(held < 16, `200 announced-but-unsent hellos hold ${held.toFixed(1)} MiB of Buffers`);
      destroyPeers();
      await waitFor(() => o.clientErrors.length === 200);
      await assertServes(provider, o.server, o.port);
    });

    it('silent sockets are dropped by handshakeTimeout with WSAETIMEDOUT', async function () {
      framedOnly(this, provider);
      const o = await observed(provider, { condition: () => 'accept', handshakeTimeout: 250 });
      const peers = await Promise.all(Array.from({ length: 30 }, () => RawPeer.connect(o.port)));
      await Promise.all(peers.map((p) => p.closed));
      await waitFor(() => o.clientErrors.length === 30);
      assert.ok(o.clientErrors.every((e) => e.code === 'WSAETIMEDOUT'));
      assert.equal(o.offered, 0);
      await assertServes(provider, o.server, o.port);
    });

    it('silent sockets arriving at different times each get their whole handshakeTimeout (one deadline timer serves them all)', async function () {
      framedOnly(this, provider);
      const timeout = 300;
      const o = await observed(provider, { condition: () => 'accept', handshakeTimeout: timeout });
      // Three waves 150 ms apart: the later ones must outlive the first wave's deadline.
      const lifetimes: Promise<number>[] = [];
      for (let wave = 0; wave < 3; wave++) {
        if (wave > 0) await new Promise((r) => setTimeout(r, 150));
        for (let i = 0; i < 4; i++) {
          const p = await RawPeer.connect(o.port);
          const t0 = performance.now();
          lifetimes.push(p.closed.then(() => performance.now() - t0));
        }
      }
      const lived = await Promise.all(lifetimes);
      // A lower bound only (a loaded machine can only make them live longer); some slack for timer rounding and for the client seeing its connect after the server did.
      for (const ms of lived)
        assert.ok(
          ms >= timeout - 25,
          `a silent socket was dropped after ${ms.toFixed(0)} ms, before its handshakeTimeout of ${timeout} ms`,
        );
      await waitFor(() => o.clientErrors.length === 12);
      assert.ok(o.clientErrors.every((e) => e.code === 'WSAETIMEDOUT'));
      assert.equal(o.offered, 0);
      await assertServes(provider, o.server, o.port);
    });

    it('a slow writer (a hello one byte at a time) is dropped by handshakeTimeout even though it keeps sending', async function () {
      framedOnly(this, provider);
      const o = await observed(provider, { condition: () => 'accept', handshakeTimeout: 300 });
      const p = await RawPeer.connect(o.port);
      const hello = encodeHello({ mode: 'stream', callerData: Buffer.from('slow'), sqos: null, gqos: null });
      // 24 bytes, one every 75 ms: 1.8 s, six times the timeout; the timer is not restarted by activity.
      for (let i = 0; i < hello.length && !p.isClosed; i++) {
        await p.send(hello.subarray(i, i + 1));
        await new Promise((r) => setTimeout(r, 75));
      }
      await p.closed;
      assert.equal(await p.verdict(), null, 'the slow hello never got a verdict');
      await waitFor(() => o.clientErrors.length === 1);
      assert.equal(o.clientErrors[0]?.code, 'WSAETIMEDOUT');
      assert.equal(o.offered, 0);
      await assertServes(provider, o.server, o.port);
    });

    it('a flood of silent connections beyond maxHandshakes is dropped at once (provider level)', async function () {
      framedOnly(this, provider);
      const framed = createFramedProvider({ maxHandshakes: 4 });
      const errors: WinsockError[] = [];
      const callbacks: ListenerCallbacks = {
        condition: () => ({ action: 'accept', calleeData: null, qos: null }),
        connection: (h) => {
          if (isNetConnection(h)) h.socket.destroy();
          else h.close();
        },
        refused: () => undefined,
        withdrawn: () => undefined,
        clientError: (e) => errors.push(e),
        error: () => undefined,
      };
      const listener = await framed.listen(
        {
          host: '127.0.0.1',
          port: 0,
          backlog: 8,
          conditional: true,
          handshakeTimeout: 60_000,
          maxCallerData: 65536,
          maxCalleeData: 65536,
          maxDisconnectData: 65536,
          mode: 'stream',
        },
        callbacks,
      );
      const peers = await Promise.all(Array.from({ length: 12 }, () => RawPeer.connect(listener.address.port)));
      // Not the 60 s timeout: the 8 beyond the bound are dropped as they arrive.
      await waitFor(() => errors.length === 8);
      assert.ok(errors.every((e) => e.code === 'WSAECONNREFUSED'));
      await waitFor(() => peers.filter((p) => p.isClosed).length === 8);
      // Closing refuses the 4 in their handshake; as real callers they hang up on reading the verdict.
      const closing = listener.close();
      await Promise.all(
        peers
          .filter((p) => !p.isClosed)
          .map(async (p) => {
            assert.equal((await p.verdict())?.errno, 10061);
            p.socket.end();
          }),
      );
      await closing;
      await Promise.all(peers.map((p) => p.closed));
      await waitFor(() => framed.handleCount() === 0);
    });

    it('caller data over maxCallerData is refused with WSAEMSGSIZE before the condition sees it', async function () {
      framedOnly(this, provider);
      const o = await observed(provider, { condition: () => 'accept', maxCallerData: 64 });
      const p = await RawPeer.connect(o.port);
      await p.hello({ callerData: Buffer.alloc(65, 1) });
      const verdict = await p.verdict();
      assert.deepEqual([verdict?.accept, verdict?.errno], [false, 10040]);
      await rejectsWith(connect({ provider, port: o.port, callerData: Buffer.alloc(65) }), 'WSAEMSGSIZE');
      assert.equal(o.offered, 0);
      // Exactly at the limit is fine.
      own(await connect({ provider, port: o.port, callerData: Buffer.alloc(64) }));
      await assertServes(provider, o.server, o.port);
    });

    it('a flood of callers while a request is deferred: the backlog bound holds, later callers get WSAECONNREFUSED', async function () {
      if (provider === 'native') {
        pendingBecause(
          this,
          "native: the backlog is the kernel's listen queue; SYNs beyond it are dropped or (Wine) completed, not refused with a verdict",
        );
      }
      const mem = memoryProbe();
      const requests: ConnectionRequest[] = [];
      const o = await observed(provider, {
        backlog: 4,
        condition: (req) => {
          requests.push(req);
          return 'defer';
        },
      });
      const head = connect({ provider, port: o.port }).then(own);
      await waitFor(() => requests.length === 1);
      const results: (WinsockSocket | WinsockError)[] = [];
      // A refused plain caller (emulated) is connected, then reset: its socket reports the reset as net's would.
      const flood = Array.from({ length: 40 }, () =>
        connect({ provider, port: o.port }).then(
          (s) => own(s).on('error', () => undefined),
          (e: WinsockError) => e,
        ),
      );
      flood.forEach((f) => void f.then((r) => results.push(r)));
      // The backlog holds 4 (the deferred head and 3 queued): the other 37 are refused while the head waits.
      await waitFor(() => o.decisions.filter((d) => d.reason === 'backlog').length === 37);
      if (connectWaitsForDecision(provider)) {
        await waitFor(() => results.length === 37);
        assert.ok(
          results.every((r) => (!(r instanceof Error) ? false : r.code === 'WSAECONNREFUSED')),
          results.map((r) => (r as WinsockError).code).join(),
        );
      }
      assert.equal(o.offered, 1, 'only the head was offered');
      assert.equal(o.server.pendingDecisions, 1);
      // Deciding the head lets the queued three through, one at a time, in order.
      for (let k = 0; k < 4; k++) {
        await waitFor(() => requests.length === k + 1);
        (requests[k] as ConnectionRequest).decide('accept');
      }
      await head;
      await waitFor(() => results.length === 40);
      await waitFor(() => o.server.connections === 4);
      if (connectWaitsForDecision(provider)) assert.equal(results.filter((r) => !(r instanceof Error)).length, 3);
      await assertServes(provider, o.server, o.port);
      mem.check();
    });

    // ---- resets ----

    it('a peer that resets during its hello is dropped; no request, no withdrawal', async function () {
      framedOnly(this, provider);
      const o = await observed(provider, { condition: () => 'accept' });
      const withdrawn: unknown[] = [];
      o.server.on('withdrawn', (_e, r) => withdrawn.push(r));
      const p = await RawPeer.connect(o.port);
      await p.send(
        encodeHello({ mode: 'stream', callerData: Buffer.from('x'.repeat(50)), sqos: null, gqos: null }).subarray(
          0,
          30,
        ),
      );
      p.reset();
      await waitFor(() => o.clientErrors.length === 1);
      assert.ok(['WSAECONNRESET', 'WSAECONNABORTED'].includes(o.clientErrors[0]?.code ?? ''), o.clientErrors[0]?.code);
      assert.equal(o.offered, 0);
      assert.equal(withdrawn.length, 0);
      await assertServes(provider, o.server, o.port);
    });

    it('a peer that resets during a deferred decision is withdrawn and frees the head of the backlog', async function () {
      framedOnly(this, provider);
      let n = 0;
      const o = await observed(provider, { condition: () => (n++ === 0 ? 'defer' : 'accept') });
      const withdrawn: WinsockError[] = [];
      o.server.on('withdrawn', (e) => withdrawn.push(e));
      const p = await RawPeer.connect(o.port);
      await p.hello({ callerData: Buffer.from('deferred') });
      await waitFor(() => o.server.pendingDecisions === 1);
      // A second caller queues behind the deferred head.
      const second = connect({ provider, port: o.port, callerData: 'second' });
      p.reset();
      await waitFor(() => withdrawn.length === 1);
      assert.equal(withdrawn[0]?.code, 'WSAECONNRESET');
      const s = own(await second);
      assert.equal(s.destroyed, false);
      assert.equal(o.server.pendingDecisions, 0);
      await assertServes(provider, o.server, o.port);
    });

    it('a peer that resets mid-data: the server socket fails with WSAECONNRESET after a prefix of the data', async function () {
      framedOnly(this, provider);
      const o = await observed(provider);
      const p = await RawPeer.connect(o.port);
      await p.handshake();
      const s = await nextSocket(o);
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      const how = outcome(s);
      await p.sendData('complete frame;');
      // Half of the next frame, then RST.
      await p.send(Buffer.concat([encodeFrameHeader(FRAME_DATA, 100), Buffer.from('half')]));
      await waitFor(() => Buffer.concat(chunks).length >= 15);
      p.reset();
      assert.equal(await how, 'WSAECONNRESET');
      assert.ok('complete frame;half'.startsWith(Buffer.concat(chunks).toString()));
      assert.equal(await s.recvDisconnect(), null);
      await assertServes(provider, o.server, o.port);
    });

    it('a peer that resets with a megabyte in flight (any provider): that socket fails or ends, the server serves on', async function () {
      const o = await observed(provider);
      for (let i = 0; i < 4; i++) {
        const p = await RawPeer.connect(o.port);
        if (provider === 'framed') await p.handshake();
        const s = await nextSocket(o);
        s.resume();
        const how = outcome(s);
        const payload = Buffer.alloc(1 << 20, 5);
        p.socket.write(
          provider === 'framed' ? Buffer.concat([encodeFrameHeader(FRAME_DATA, payload.length), payload]) : payload,
        );
        p.reset();
        const seen = await how;
        // Linux and Wine may report an RST behind unread data as EOF: then a truncated frame (framed) or a plain end (native).
        assert.ok(['WSAECONNRESET', 'WSAECONNABORTED', 'end'].includes(seen), seen);
        s.destroy();
      }
      await assertServes(provider, o.server, o.port);
    });

    it('a peer that resets during disconnect: never a clean end with partial disconnect data', async function () {
      framedOnly(this, provider);
      const o = await observed(provider);
      // Half a disconnect frame, then RST: always a failure.
      {
        const p = await RawPeer.connect(o.port);
        await p.handshake();
        const s = await nextSocket(o);
        s.resume();
        const how = outcome(s);
        await p.sendData('data');
        await p.send(Buffer.concat([encodeFrameHeader(FRAME_DISCONNECT, 7), Buffer.from('cou')]));
        p.reset();
        const seen = await how;
        // ECONNRESET when the RST is read as such; an EOF inside the frame when the kernel reports the RST as EOF behind unread data (Linux).
        assert.ok(seen === 'WSAECONNRESET' || seen === 'WSAECONNABORTED', seen);
        assert.equal(await s.recvDisconnect(), null);
      }
      // The whole disconnect frame, then RST instead of FIN: a reset, or (when the kernel reports the RST as EOF) the end with exactly the data sent.
      {
        const p = await RawPeer.connect(o.port);
        await p.handshake();
        const s = await nextSocket(o);
        s.resume();
        const how = outcome(s);
        await p.sendData('data');
        await p.sendDisconnect(Buffer.from('count=1'));
        p.reset();
        const seen = await how;
        assert.ok(seen === 'WSAECONNRESET' || seen === 'end', seen);
        const data = await s.recvDisconnect();
        if (seen === 'end') assert.equal(data?.toString(), 'count=1');
      }
      await assertServes(provider, o.server, o.port);
    });

    it('a peer that resets while the server sends its disconnect: sendDisconnect settles, nothing leaks', async function () {
      const o = await observed(provider);
      const carries = o.server.capabilities.disconnectData;
      const p = await RawPeer.connect(o.port);
      if (provider === 'framed') await p.handshake();
      const s = await nextSocket(o);
      s.resume();
      // Far more than the socket buffers hold, so the disconnect frame is still queued when the RST comes.
      const big = Buffer.alloc(1 << 20, 7);
      for (let i = 0; i < 16; i++) s.write(big);
      const teardown = s.sendDisconnect(carries ? 'grand=42' : null).then(
        () => 'resolved',
        (e: WinsockError) => e.code,
      );
      p.reset();
      const result = await teardown;
      assert.ok(
        ['resolved', 'WSAECONNRESET', 'WSAECONNABORTED', 'WSAENOTSOCK', 'WSAENOTCONN'].includes(result),
        result,
      );
      await waitFor(() => s.destroyed);
      await assertServes(provider, o.server, o.port);
    });

    // ---- after the handshake ----

    it('random bytes after the handshake end only that connection with a WSAE* error', async function () {
      framedOnly(this, provider);
      const o = await observed(provider);
      const codes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const p = await RawPeer.connect(o.port);
        await p.handshake();
        const s = await nextSocket(o);
        s.resume();
        const how = outcome(s);
        const junk = randomBytes(1024);
        junk[0] = 0x00; // not a frame type
        await p.send(junk);
        codes.push(await how);
        await p.closed;
      }
      assert.ok(
        codes.every((c) => c === 'WSAECONNABORTED'),
        codes.join(),
      );
      await assertServes(provider, o.server, o.port);
    });

    it('a truncated frame then FIN is WSAECONNABORTED, never a clean end', async function () {
      framedOnly(this, provider);
      const o = await observed(provider);
      for (const partial of [
        encodeFrameHeader(FRAME_DATA, 10).subarray(0, 3), // inside a header
        Buffer.concat([encodeFrameHeader(FRAME_DATA, 10), Buffer.from('12345')]), // inside a payload
        Buffer.concat([encodeFrameHeader(FRAME_DISCONNECT, 10), Buffer.from('123')]), // inside the disconnect data
      ]) {
        const p = await RawPeer.connect(o.port);
        await p.handshake();
        const s = await nextSocket(o);
        s.resume();
        const how = outcome(s);
        await p.send(partial);
        p.socket.end();
        assert.equal(await how, 'WSAECONNABORTED');
        p.socket.destroy();
      }
      await assertServes(provider, o.server, o.port);
    });

    it('length fields at their maximum after the handshake: WSAEMSGSIZE, nothing buffered', async function () {
      framedOnly(this, provider);
      const mem = memoryProbe();
      const o = await observed(provider, { maxDisconnectData: 16 });
      for (const [type, length] of [
        [FRAME_DATA, 0xffff_ffff],
        [FRAME_DATA, 16 * 1024 * 1024 + 1],
        [FRAME_DISCONNECT, 0xffff_ffff],
        [FRAME_DISCONNECT, 17],
      ] as const) {
        const p = await RawPeer.connect(o.port);
        await p.handshake();
        const s = await nextSocket(o);
        s.resume();
        const how = outcome(s);
        await p.send(Buffer.concat([encodeFrameHeader(type, length), Buffer.alloc(64)]));
        assert.equal(await how, 'WSAEMSGSIZE', `type 0x${type.toString(16)} length ${length}`);
        assert.equal(await s.recvDisconnect(), null, 'oversized disconnect data is never delivered');
        p.socket.destroy();
      }
      await assertServes(provider, o.server, o.port);
      mem.check();
    });

    it('message mode: peers announcing maximal messages commit memory only for the bytes they send', async function () {
      framedOnly(this, provider);
      const o = await observed(provider, { mode: 'message' });
      collectGarbage();
      const before = buffersHeld();
      const peers: RawPeer[] = [];
      for (let i = 0; i < 8; i++) {
        const p = await RawPeer.connect(o.port);
        await p.handshake({ mode: 'message' });
        const s = await nextSocket(o);
        s.resume();
        // 6 bytes announcing a 16 MiB message (the protocol's maximum), then silence.
        await p.send(Buffer.concat([encodeFrameHeader(FRAME_DATA, 16 * 1024 * 1024), Buffer.from('x')]));
        peers.push(p);
      }
      await new Promise((r) => setTimeout(r, 100));
      collectGarbage();
      const held = (buffersHeld() - before) / 2 ** 20;
      assert.ok(held < 16, `8 peers that sent 6 bytes each made the server hold ${held.toFixed(1)} MiB of Buffers`);
      for (const p of peers) p.reset();
      await waitFor(() => o.socketErrors.length === 8);
      await assertServes(provider, o.server, o.port, 'message');
    });

    // ---- a hostile server, against the client ----

    it('a hostile server: garbage, oversized lengths, resets and bad frames fail only that connect or socket', async function () {
      framedOnly(this, provider);
      const mem = memoryProbe();
      const { createServer: netServer } = await import('node:net');
      let behaviour: (s: import('node:net').Socket) => void = () => undefined;
      const rawSockets = new Set<import('node:net').Socket>();
      const raw = netServer({ allowHalfOpen: true }, (s) => {
        rawSockets.add(s);
        s.on('error', () => undefined);
        s.once('data', () => behaviour(s));
      });
      await new Promise<void>((res) => raw.listen(0, '127.0.0.1', res));
      const port = (raw.address() as { port: number }).port;
      const verdictHeader = (flags: number, calleeLen: number, qosLen: number): Buffer => {
        const h = Buffer.alloc(20);
        Buffer.from([...MAGIC, PROTOCOL_VERSION, 0x56, 0, flags]).copy(h);
        h.writeUInt32BE(calleeLen, 12);
        h.writeUInt32BE(qosLen, 16);
        return h;
      };
      const accept = verdictHeader(0, 0, 0);
      try {
        // Garbage instead of a verdict: dropped at its first wrong byte.
        behaviour = (s) => s.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
        await rejectsWith(connect({ provider, port, timeout: 5000 }), 'WSAECONNABORTED');
        // A verdict announcing 4 GiB of callee data (or QOS): refused on the header, nothing buffered.
        behaviour = (s) => s.write(verdictHeader(0x01, 0xffff_ffff, 0));
        await rejectsWith(connect({ provider, port, timeout: 5000 }), 'WSAEMSGSIZE');
        behaviour = (s) => s.write(verdictHeader(0x02, 0, 0xffff_ffff));
        await rejectsWith(connect({ provider, port, timeout: 5000 }), 'WSAEMSGSIZE');
        // Callee data over the client's own maxCalleeData.
        behaviour = (s) => s.write(Buffer.concat([verdictHeader(0x01, 17, 0), Buffer.alloc(17)]));
        await rejectsWith(connect({ provider, port, timeout: 5000, maxCalleeData: 16 }), 'WSAEMSGSIZE');
        // A reset or a close before the verdict is a refusal.
        behaviour = (s) => s.resetAndDestroy();
        await rejectsWith(connect({ provider, port, timeout: 5000 }), 'WSAECONNREFUSED');
        behaviour = (s) => s.end();
        await rejectsWith(connect({ provider, port, timeout: 5000 }), 'WSAECONNREFUSED');
        // Accepted, then frames the client must refuse: a 4 GiB data frame, oversized disconnect data, garbage.
        for (const [after, code] of [
          [encodeFrameHeader(FRAME_DATA, 0xffff_ffff), 'WSAEMSGSIZE'],
          [encodeFrameHeader(FRAME_DISCONNECT, 65_537), 'WSAEMSGSIZE'],
          [Buffer.from('garbage!'), 'WSAECONNABORTED'],
        ] as const) {
          behaviour = (s) => s.write(Buffer.concat([accept, after]));
          const client = own(await connect({ provider, port, timeout: 5000 }));
          client.resume();
          assert.equal(await outcome(client), code);
          assert.equal(await client.recvDisconnect(), null);
        }
      } finally {
        for (const s of rawSockets) s.destroy();
        raw.close();
      }
      mem.check('hostile server');
    });

    it('a slow reader: the server socket applies back-pressure instead of buffering (write() returns false, no drain)', async function () {
      const mem = memoryProbe();
      const o = await observed(provider);
      const p = await RawPeer.connect(o.port);
      if (provider === 'framed') await p.handshake();
      p.socket.pause(); // never reads again
      const s = await nextSocket(o);
      const total = 256 * 1024 * 1024;
      const chunk = Buffer.alloc(1 << 20, 3);
      const sent = await writeUntilStalled(
        (c) => s.write(c),
        () => once(s, 'drain'),
        total,
        chunk,
      );
      assert.ok(sent < total / 2, `the server pushed ${sent} bytes to a peer that reads nothing`);
      assert.ok(s.writableLength <= s.writableHighWaterMark + chunk.length * 2, `writableLength ${s.writableLength}`);
      mem.check('slow reader');
      const how = outcome(s);
      p.reset();
      const seen = await how;
      assert.ok(['WSAECONNRESET', 'WSAECONNABORTED', 'end'].includes(seen), seen);
      await assertServes(provider, o.server, o.port);
    });

    it('a flooding writer to a server that does not read: TCP flow control holds it, the server buffers little', async function () {
      const mem = memoryProbe();
      const o = await observed(provider);
      const p = await RawPeer.connect(o.port);
      if (provider === 'framed') await p.handshake();
      const s = await nextSocket(o);
      // The application reads one chunk, then stops reading (pause()): the provider must stop too.
      let got = 0;
      let ok = true;
      s.on('data', (c: Buffer) => {
        if (c.some((b) => b !== 9)) ok = false;
        got += c.length;
      });
      s.once('data', () => s.pause());
      const payload = Buffer.alloc(1 << 20, 9);
      const framed =
        provider === 'framed' ? Buffer.concat([encodeFrameHeader(FRAME_DATA, payload.length), payload]) : payload;
      const total = 256 * framed.length;
      const sent = await writeUntilStalled(
        (c) => p.socket.write(c),
        () => once(p.socket, 'drain'),
        total,
        framed,
      );
      assert.ok(sent < total / 2, `a peer pushed ${sent} bytes into a server that reads nothing`);
      assert.ok(s.readableLength <= 4 * (1 << 20), `the server socket buffered ${s.readableLength} bytes`);
      mem.check('flooding writer');
      assert.ok(got > 0, 'the application read before it paused');
      // Reading again gets every byte the peer wrote (nothing was dropped to make room).
      s.resume();
      const expected = (sent / framed.length) * payload.length;
      await waitFor(() => got >= expected, 20_000);
      assert.equal(got, expected);
      assert.ok(ok);
      const how = outcome(s);
      p.reset();
      const seen = await how;
      assert.ok(['WSAECONNRESET', 'WSAECONNABORTED', 'end'].includes(seen), seen);
      await assertServes(provider, o.server, o.port);
    });
  }),
);
