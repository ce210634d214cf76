/**
 * Model-based fuzz of the framed listener's state machine
 * (lib/framed/listener.ts): handshake, queue, the head-of-backlog rule,
 * refusals, withdrawals and close, driven through an injected fake server
 * whose sockets we control byte by byte (no TCP, so every interleaving the
 * generator picks is exactly reproducible from its seed).
 *
 * A scenario is a few connections (valid hellos, mutated hellos, garbage, with
 * or without bytes after the hello), split into chunks, and a random
 * interleaving of: a chunk arrives, the caller ends (FIN), the caller resets,
 * the facade retries a deferred head, the listener closes. The condition
 * answers from a random script of accept / reject / defer.
 *
 * Invariants: no exception; the condition is offered only the head and, after
 * 'defer', nothing until retry() (then the same request again) unless the head
 * withdrew; in-handshake connections never exceed maxHandshakes and the queue
 * never exceeds backlog; each connection gets at most one verdict, an accepted
 * one only for a well-formed hello in the server's mode, with the caller data
 * it sent; every clientError/withdrawn error is a WSAE* code; and when every
 * caller has hung up and the accepted handles are closed, the provider's handle
 * count is back to 0.
 */
import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:net';
import fc from 'fast-check';
import { createFramedProvider } from '../../lib/framed/index';
import { encodeHello, HelloDecoder, VERDICT_START_SIZE, VerdictDecoder, type Hello } from '../../lib/framed/frames';
import {
  isNetConnection,
  type ConditionVerdict,
  type ListenerCallbacks,
  type ProviderListener,
  type RawRequest,
  type SocketHandle,
} from '../../lib/provider';
import type { WinsockError } from '../../lib/errors';
import type { SocketMode } from '../../lib/types';
import { arbHello, FakeSocket, mutate, split, type FuzzStats, type RunParams } from './protocol-properties';

/** Enough of net.Server for FramedListener: 'connection' events are emitted by the test. */
class FakeServer extends EventEmitter {
  listen(): this {
    setImmediate(() => this.emit('listening'));
    return this;
  }
  address(): { address: string; port: number; family: string } {
    return { address: '127.0.0.1', port: 4242, family: 'IPv4' };
  }
  close(): this {
    setImmediate(() => this.emit('close'));
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

interface ConnPlan {
  /** What the caller sends: a hello (maybe mutated), maybe followed by stray bytes. */
  hello: Hello;
  mutations: Parameters<typeof mutate>[1];
  garbage: boolean;
  trailer: Buffer;
  cuts: number[];
}

type Action =
  | { kind: 'chunk'; conn: number }
  | { kind: 'fin'; conn: number }
  | { kind: 'reset'; conn: number }
  | { kind: 'retry' }
  | { kind: 'close' }
  | { kind: 'tick' };

const arbConn: fc.Arbitrary<ConnPlan> = fc.record({
  hello: arbHello.map((h) => ({
    ...h,
    callerData: h.callerData && h.callerData.length > 2000 ? h.callerData.subarray(0, 2000) : h.callerData,
  })),
  mutations: fc.oneof(
    { weight: 3, arbitrary: fc.constant([]) },
    {
      weight: 1,
      arbitrary: fc.array(
        fc.record({ op: fc.constant('xor' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
        { minLength: 1, maxLength: 2 },
      ),
    },
  ),
  garbage: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  trailer: fc.oneof(
    { weight: 3, arbitrary: fc.constant(Buffer.alloc(0)) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((u) => Buffer.from(u)) },
  ),
  cuts: fc.array(
    fc.integer({ min: 0, max: 10_000 }).map((n) => n / 10_000),
    { maxLength: 4 },
  ),
});

const arbAction = (conns: number): fc.Arbitrary<Action> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.nat({ max: conns - 1 }).map((conn) => ({ kind: 'chunk' as const, conn })) },
    { weight: 1, arbitrary: fc.nat({ max: conns - 1 }).map((conn) => ({ kind: 'fin' as const, conn })) },
    { weight: 2, arbitrary: fc.nat({ max: conns - 1 }).map((conn) => ({ kind: 'reset' as const, conn })) },
    { weight: 3, arbitrary: fc.constant({ kind: 'retry' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
  );

const arbScenario = fc
  .record({
    mode: fc.constantFrom<SocketMode>('stream', 'message'),
    backlog: fc.integer({ min: 1, max: 4 }),
    maxHandshakes: fc.integer({ min: 1, max: 6 }),
    // Long enough never to fire: a run must replay exactly from its seed (timeouts are tested in test/hostile.test.ts).
    handshakeTimeout: fc.constant(60_000),
    verdicts: fc.array(fc.constantFrom<ConditionVerdict['action']>('accept', 'reject', 'defer'), {
      minLength: 1,
      maxLength: 6,
    }),
    closeAt: fc.option(
      fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
      { nil: null },
    ),
  })
  .chain((s) =>
    fc
      .record({
        s: fc.constant(s),
        conns: fc.array(arbConn, { minLength: 1, maxLength: 7 }),
        // Mostly the server's own mode (a caller in the other mode is refused WSAEPROTOTYPE).
        sameMode: fc.array(
          fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
          { minLength: 7, maxLength: 7 },
        ),
      })
      .chain(({ s: sc, conns, sameMode }) =>
        fc.record({
          s: fc.constant(sc),
          conns: fc.constant(conns.map((c, i) => (sameMode[i] ? { ...c, hello: { ...c.hello, mode: sc.mode } } : c))),
          actions: fc.array(arbAction(conns.length), { minLength: 1, maxLength: 80 }),
        }),
      ),
  );

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function listenerStateMachine(p: RunParams, stats: FuzzStats): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbScenario, async ({ s, conns, actions }) => {
      stats.runs++;
      stats.frames += conns.length;
      const fake = new FakeServer();
      const provider = createFramedProvider({
        createServer: () => fake as unknown as Server,
        maxHandshakes: s.maxHandshakes,
        lingerMs: 20,
        maxFramePayload: 4096,
      });
      const offers: RawRequest[] = [];
      let deferred: RawRequest | null = null;
      let expectReoffer: RawRequest | null = null;
      let verdictIndex = 0;
      const accepted = new Map<RawRequest, SocketHandle>();
      const errors: WinsockError[] = [];
      let listener: ProviderListener | null = null;
      // The listener guards its callbacks (a throwing condition refuses only its caller), so
      // an assertion thrown inside one would be swallowed: record the breach, assert after.
      const breaches: string[] = [];
      const check = (ok: boolean, what: string): void => {
        if (!ok) breaches.push(what);
      };
      const callbacks: ListenerCallbacks = {
        condition(raw) {
          check(deferred === null, 'a request was offered while the head was deferred');
          const who = sockets[raw.callerId.port - 50_000];
          check(
            who !== null && who !== undefined && !who.destroyed && !who.readableEnded,
            'a request was offered after its caller left',
          );
          if (expectReoffer) check(raw === expectReoffer, 'after retry() the deferred head is offered again');
          expectReoffer = null;
          offers.push(raw);
          const action = s.verdicts[verdictIndex++ % s.verdicts.length] as ConditionVerdict['action'];
          if (action === 'defer') {
            deferred = raw;
            return { action };
          }
          if (action === 'reject') return { action };
          return { action, calleeData: null, qos: null };
        },
        connection(handle, raw) {
          check(!accepted.has(raw), 'accepted twice');
          const i = raw.callerId.port - 50_000;
          check(
            (pushed[i] ?? 0) <= (helloEnd[i] ?? 0),
            'accepted a caller that sent bytes between its hello and the verdict',
          );
          if (isNetConnection(handle)) throw new Error('framed hands over SocketHandles');
          accepted.set(raw, handle);
          handle.attach({ onData: () => true, onEnd: () => undefined, onError: () => undefined });
        },
        refused: () => undefined,
        withdrawn(raw, error) {
          errors.push(error);
          if (raw === deferred) deferred = null;
          if (raw === expectReoffer) expectReoffer = null;
        },
        clientError(error) {
          errors.push(error);
        },
        error(error) {
          breaches.push(`the listener failed: ${error.message}`);
        },
      };
      listener = await provider.listen(
        {
          host: '127.0.0.1',
          port: 0,
          backlog: s.backlog,
          conditional: true,
          handshakeTimeout: s.handshakeTimeout,
          maxCallerData: 1024,
          maxCalleeData: 1024,
          maxDisconnectData: 1024,
          mode: s.mode,
        },
        callbacks,
      );
      const internals = listener as unknown as { handshakes: Set<unknown>; backlog: { size: number } };

      // The connections, each arriving on its first action.
      const sockets: (FakeSocket | null)[] = conns.map(() => null);
      const pushed = conns.map(() => 0);
      const helloEnd = conns.map((c) => {
        if (c.garbage) return -1;
        const step = new HelloDecoder({ maxCallerData: 1024 }).feed(mutate(encodeHello(c.hello), c.mutations));
        return step.state === 'done' ? step.end : -1;
      });
      const chunks = conns.map((c) => {
        // Stray bytes after the hello come as their own chunk: a caller that did not wait for its verdict.
        const wire = c.garbage ? Buffer.from([0x00]) : mutate(encodeHello(c.hello), c.mutations);
        return [...split(wire, c.cuts), c.trailer].filter((b) => b.length > 0);
      });
      const closeStep = s.closeAt === null ? -1 : Math.floor(s.closeAt * actions.length);
      const arrive = (i: number): FakeSocket => {
        let sock = sockets[i];
        if (!sock) {
          sock = new FakeSocket();
          sock.remotePort = 50_000 + i;
          sock.on('error', () => undefined);
          sockets[i] = sock;
          fake.emit('connection', sock);
        }
        return sock;
      };
      for (let step = 0; step < actions.length; step++) {
        if (step === closeStep) void listener.close();
        const a = actions[step] as Action;
        if (a.kind === 'retry') {
          if (deferred) {
            expectReoffer = deferred;
            deferred = null;
            listener.retry();
          }
        } else if (a.kind === 'chunk') {
          const sock = arrive(a.conn);
          const next = chunks[a.conn]?.shift();
          if (next && !sock.destroyed && !sock.readableEnded) {
            sock.push(next);
            pushed[a.conn] = (pushed[a.conn] ?? 0) + next.length;
            stats.bytes += next.length;
          }
        } else if (a.kind === 'fin') {
          const sock = arrive(a.conn);
          if (!sock.destroyed && !sock.readableEnded) sock.push(null);
        } else if (a.kind === 'reset') {
          const sock = arrive(a.conn);
          if (!sock.destroyed)
            sock.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }));
        }
        await tick();
        assert.ok(
          internals.handshakes.size <= s.maxHandshakes,
          'more connections in their handshake than maxHandshakes',
        );
        assert.ok(internals.backlog.size <= s.backlog, 'more queued requests than the backlog');
        assert.deepEqual(breaches, []);
      }

      // The rest of every caller's bytes arrive, and deferred heads are retried until the queue settles.
      for (let i = 0; i < sockets.length; i++) {
        const sock = arrive(i);
        for (let next = chunks[i]?.shift(); next; next = chunks[i]?.shift()) {
          if (sock.destroyed || sock.readableEnded) break;
          sock.push(next);
          pushed[i] = (pushed[i] ?? 0) + next.length;
          stats.bytes += next.length;
          await tick();
        }
      }
      for (let i = 0; i < 50; i++) {
        if (deferred) {
          expectReoffer = deferred;
          deferred = null;
          listener.retry();
        }
        await tick();
        assert.ok(internals.backlog.size <= s.backlog, 'more queued requests than the backlog');
      }
      // Every caller hangs up (as a real one does after a verdict, or gives up), the listener closes, handles close.
      for (const sock of sockets) if (sock && !sock.destroyed && !sock.readableEnded) sock.push(null);
      await listener.close();
      for (const h of accepted.values()) h.close();
      for (let i = 0; i < 400 && provider.handleCount() > 0; i++)
        await new Promise((r) => setTimeout(r, i < 50 ? 0 : 5));
      assert.equal(provider.handleCount(), 0, 'sockets left open after every caller hung up and the listener closed');

      assert.deepEqual(breaches, []);
      for (const e of errors) assert.ok(e.code.startsWith('WSAE') || e.code === 'WSAVERNOTSUPPORTED', e.code);
      // At most one verdict per connection; an accepting one only for a well-formed hello in our mode, with its caller data.
      sockets.forEach((sock, i) => {
        if (!sock) return;
        const out = Buffer.concat(sock.written);
        const raw = [...accepted.keys()].find((r) => r.callerId.port === 50_000 + i);
        if (out.length === 0) {
          assert.equal(raw, undefined, 'accepted without a verdict');
          return;
        }
        const step = new VerdictDecoder({ maxCalleeData: 1024 }).feed(out);
        if (out.length === VERDICT_START_SIZE) {
          // A decision that was not immediate sends the verdict's start at once; the caller left
          // (or was dropped) before the rest.
          assert.equal(step.state, 'more', 'the verdict start is magic and version');
          assert.equal(raw, undefined, 'accepted with only the start of a verdict');
          return;
        }
        assert.equal(step.state, 'done', 'the server wrote something that is not a verdict');
        if (step.state !== 'done') return;
        if (!step.value.accept) {
          assert.equal(step.end, out.length, 'bytes after a rejecting verdict');
          assert.equal(raw, undefined, 'a refused caller was also accepted');
          stats.violations++;
          return;
        }
        assert.ok(raw, 'an accepting verdict without a connection');
        const c = conns[i] as ConnPlan;
        const hello = new HelloDecoder({ maxCallerData: 1024 }).feed(mutate(encodeHello(c.hello), c.mutations));
        assert.ok(
          !c.garbage && hello.state === 'done' && hello.value.mode === s.mode,
          'accepted a malformed hello or the wrong mode',
        );
        if (hello.state === 'done') assert.deepStrictEqual(raw?.callerData, hello.value.callerData);
      });
    }),
    { numRuns: p.numRuns, seed: p.seed },
  );
}
