/**
 * Conformance: lifecycles around the decision — timeouts and aborts while
 * deferred (withdrawn, never leaked), server close with queued and deferred
 * requests, message mode, malformed input, and bad arguments.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as net from 'node:net';
import { connect } from '../../lib/connect';
import { createServer } from '../../lib/server';
import type { WinsockError } from '../../lib/errors';
import type { ConnectionRequest, DecisionEvent } from '../../lib/types';
import type { WinsockSocket } from '../../lib/socket';
import {
  deferFirstCaller,
  expectRefused,
  forEachProvider,
  listen,
  own,
  pendingBecause,
  rejectsWith,
  waitFor,
  connectWaitsForDecision,
} from '../helpers/harness';

forEachProvider('lifecycle', (provider) => {
  it('a connect timeout while deferred fails WSAETIMEDOUT and the server reports the withdrawal [12, R3]', async function () {
    if (!connectWaitsForDecision(provider)) {
      pendingBecause(
        this,
        'the kernel completes the handshake before the condition runs (emulated; native under Wine), so there is no deferred connect to time out; test/emulated.test.ts asserts the withdrawal of a caller that leaves',
      );
    }
    const { server, port } = await listen(provider, { condition: () => 'defer' });
    const withdrawn: [ConnectionRequest, WinsockError][] = [];
    server.on('withdrawn', (e, r) => withdrawn.push([r, e]));
    const err = await rejectsWith(connect({ provider, port, timeout: 100 }), 'WSAETIMEDOUT');
    assert.equal(err.syscall, 'WSAConnect');
    await waitFor(() => withdrawn.length === 1);
    assert.equal(withdrawn[0]?.[1].code, 'WSAECONNRESET', 'one withdrawn code on every provider');
    assert.equal(server.pendingDecisions, 0, 'the deferred request was not leaked');
  });

  it('an AbortSignal while deferred rejects with AbortError and withdraws the request [12, R3, R4]', async function () {
    if (!connectWaitsForDecision(provider))
      pendingBecause(this, 'the connect completes before the condition runs (emulated; native under Wine)');
    let offered = false;
    const { server, port } = await listen(provider, {
      condition: () => {
        offered = true;
        return 'defer';
      },
    });
    const withdrawn: WinsockError[] = [];
    server.on('withdrawn', (e) => withdrawn.push(e));
    const controller = new AbortController();
    const attempt = connect({ provider, port, signal: controller.signal });
    await waitFor(() => offered);
    controller.abort();
    await assert.rejects(attempt, (e: Error) => e.name === 'AbortError');
    await waitFor(() => withdrawn.length === 1);
    assert.equal(server.pendingDecisions, 0);
    // The head of the backlog is free again: the next caller is offered.
    const next = connect({ provider, port, timeout: 2000 }).then(own, (e: WinsockError) => e);
    await waitFor(() => server.pendingDecisions === 1);
    await server.close();
    const outcome = await next;
    assert.ok(outcome instanceof Error && outcome.code === 'WSAECONNREFUSED', String(outcome));
  });

  it('a caller that resets while its request is deferred, its connect already complete, is withdrawn (WSAECONNRESET) and frees the head [12, R4]', async function () {
    if (connectWaitsForDecision(provider)) {
      pendingBecause(
        this,
        'the connect waits for the decision (framed; native on Windows): the AbortSignal test withdraws that request',
      );
    }
    const { server, port, requests, withdrawn } = await deferFirstCaller(provider);
    const connections: WinsockSocket[] = [];
    server.on('connection', (c) => connections.push(c));
    const first = await connect({ provider, port });
    await waitFor(() => requests.length === 1);
    first.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 100));
    // WSAAccept finds a withdrawn request when it is called again (native:
    // once the decision comes; under Wine it fails with WSAENOTCONN, probe
    // 9.withdrawn); emulated sees the reset at once.
    if (withdrawn.length === 0) requests[0]?.decide('accept');
    await waitFor(() => withdrawn.length === 1);
    assert.equal(withdrawn[0]?.[1].code, 'WSAECONNRESET', 'one withdrawn code on every provider');
    assert.equal(withdrawn[0]?.[0].id, requests[0]?.id);
    assert.equal(server.pendingDecisions, 0);
    assert.equal(connections.length, 0, 'the withdrawn caller never became a connection');
    // The head of the backlog is free: the next caller is offered and accepted.
    own(await connect({ provider, port }));
    await waitFor(() => connections.length === 1);
    assert.equal(requests.length, 2);
  });

  it('an already aborted signal rejects before connecting', async function () {
    await assert.rejects(
      connect({ provider, port: 9, signal: AbortSignal.abort() }),
      (e: Error) => e.name === 'AbortError',
    );
  });

  it('server.close() refuses the deferred and every queued request, and resolves', async function () {
    const { server, port } = await listen(provider, { condition: () => 'defer' });
    const decisions: DecisionEvent[] = [];
    server.on('decision', (d) => decisions.push(d));
    // Settled into values at once, so no rejection is ever unhandled while we wait.
    // A connected socket listens for 'error' at once: read-ahead notices the reset of a refused caller as net's would.
    const settle = (p: Promise<WinsockSocket>): Promise<WinsockSocket | WinsockError> =>
      p.then(
        (s) => own(s).on('error', () => undefined),
        (e: WinsockError) => e,
      );
    const first = settle(connect({ provider, port }));
    await waitFor(() => server.pendingDecisions === 1);
    const queued = [settle(connect({ provider, port })), settle(connect({ provider, port }))];
    await new Promise((r) => setTimeout(r, 50));
    await server.close();
    assert.ok(decisions.some((d) => d.reason === 'serverClose'));
    for (const attempt of [first, ...queued]) {
      const outcome = await attempt;
      if (!connectWaitsForDecision(provider)) {
        // Wine already completed these connects; closing the listener resets or closes them.
        if (!(outcome instanceof Error)) {
          // Closed by the reset, or by the peer's end (allowHalfOpen false): wait for that, unless it already happened.
          outcome.resume();
          // (Not events.once: it rejects on the reset's 'error', which comes first.)
          if (!outcome.closed) await new Promise((r) => outcome.once('close', r));
        }
      } else {
        assert.ok(outcome instanceof Error && outcome.code === 'WSAECONNREFUSED', String(outcome));
      }
    }
    assert.equal(server.address(), null);
    await rejectsWith(server.accept(), 'WSAENOTSOCK');
  });

  it('server.close() leaves accepted sockets open', async function () {
    const { server, port } = await listen(provider);
    const accepted = once(server, 'connection') as Promise<[WinsockSocket]>;
    const client = own(await connect({ provider, port }));
    const [peer] = await accepted;
    await server.close();
    client.write('after close');
    const [got] = (await once(peer, 'data')) as [Buffer];
    assert.equal(got.toString(), 'after close');
  });

  it('connect to a port nobody listens on fails WSAECONNREFUSED [R17]', async function () {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((r) => probe.close(r));
    await rejectsWith(connect({ provider, port }), 'WSAECONNREFUSED');
  });

  it('bad arguments are WinsockErrors with WSAEINVAL', async function () {
    await rejectsWith(connect({ provider, port: 70000 }), 'WSAEINVAL');
    await rejectsWith(connect({ provider, port: 80, timeout: -1 }), 'WSAEINVAL');
    assert.throws(
      () => createServer({ provider, backlog: 0 }),
      (e: WinsockError) => e.code === 'WSAEINVAL',
    );
    assert.throws(
      () => createServer({ provider, condition: 'yes' as unknown as () => 'accept' }),
      (e: WinsockError) => e.code === 'WSAEINVAL',
    );
    const server = createServer({ provider });
    await rejectsWith(server.listen({ port: -1 }), 'WSAEINVAL');
    assert.throws(
      () => server.capabilities,
      (e: WinsockError) => e.code === 'WSAEINVAL',
    );
  });

  it('message mode keeps boundaries and reports a graceful remote shutdown as WSAEDISCON (TCP/IP: WSAESOCKTNOSUPPORT) [22]', async function () {
    if (provider !== 'framed') {
      // Windows TCP/IP is not message-oriented (no XP1_MESSAGE_ORIENTED): native and emulated refuse the mode.
      await rejectsWith(
        createServer({ provider, mode: 'message' }).listen({ port: 0, host: '127.0.0.1' }),
        'WSAESOCKTNOSUPPORT',
      );
      await rejectsWith(connect({ provider, port: 9, mode: 'message' }), 'WSAESOCKTNOSUPPORT');
      return;
    }
    const { server, port } = await listen(provider, { mode: 'message' });
    const accepted = once(server, 'connection') as Promise<[WinsockSocket]>;
    const client = own(await connect({ provider, port, mode: 'message' }));
    const [peer] = await accepted;
    assert.equal(peer.capabilities.messageOriented, true);
    const messages: string[] = [];
    peer.on('data', (m: Buffer) => messages.push(m.toString()));
    const failed = once(peer, 'error') as Promise<[WinsockError]>;
    client.write('one');
    client.write('two');
    client.write('three');
    await client.sendDisconnect('bye');
    const [err] = await failed;
    assert.deepEqual(messages, ['one', 'two', 'three']);
    assert.equal(err.code, 'WSAEDISCON');
    assert.equal(err.errno, 10101);
    assert.equal((await peer.recvDisconnect())?.toString(), 'bye');
  });

  it('drops garbage instead of a hello with clientError and keeps serving', async function () {
    if (provider !== 'framed') {
      pendingBecause(
        this,
        `the ${provider} provider speaks plain TCP: there is no hello to corrupt (any bytes are the application's)`,
      );
    }
    const { server, port } = await listen(provider);
    const errors: WinsockError[] = [];
    server.on('clientError', (e) => errors.push(e));
    const raw = net.connect(port, '127.0.0.1');
    raw.on('error', () => undefined);
    raw.write('GET / HTTP/1.1\r\n\r\n');
    await new Promise((r) => raw.once('close', r)); // events.once would reject on the reset
    await waitFor(() => errors.length === 1);
    own(await connect({ provider, port }));
  });

  it('a silent socket is dropped after handshakeTimeout', async function () {
    if (provider !== 'framed') pendingBecause(this, 'plain TCP has no hello to wait for');
    const { server, port } = await listen(provider, { handshakeTimeout: 100 });
    const errors: WinsockError[] = [];
    server.on('clientError', (e) => errors.push(e));
    const raw = net.connect(port, '127.0.0.1');
    raw.on('error', () => undefined);
    await new Promise((r) => raw.once('close', r)); // events.once would reject on the reset
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]?.code, 'WSAETIMEDOUT');
  });

  it('refuses callers beyond the backlog with WSAECONNREFUSED', async function () {
    if (provider === 'native') {
      pendingBecause(this, "natively the kernel's listen backlog applies; an overflow is dropped or reset by the OS");
    }
    const { server, port } = await listen(provider, { backlog: 2, condition: () => 'defer' });
    const decisions: DecisionEvent[] = [];
    server.on('decision', (d) => decisions.push(d));
    const waiting = [connect({ provider, port }).then(own), connect({ provider, port }).then(own)];
    for (const w of waiting) w.catch(() => undefined);
    await waitFor(() => server.pendingDecisions === 1);
    await new Promise((r) => setTimeout(r, 50));
    await expectRefused(provider, connect({ provider, port }));
    assert.ok(decisions.some((d) => d.reason === 'backlog'));
    await server.close();
    await Promise.allSettled(waiting);
  });
});
