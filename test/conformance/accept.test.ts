/**
 * Conformance: conditional accept (WSAAccept + condition function), the same
 * assertions for every provider.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { BlockList } from 'node:net';
import { connect } from '../../lib/connect';
import { createServer } from '../../lib/server';
import type { Capabilities, ConnectionRequest, Decision, DecisionEvent } from '../../lib/types';
import type { WinsockError } from '../../lib/errors';
import type { WinsockSocket } from '../../lib/socket';
import { expectRefused, forEachProvider, listen, own, waitFor, connectWaitsForDecision } from '../helpers/harness';

forEachProvider('conditional accept', (provider) => {
  it('accepts every request without a condition and carries data both ways', async function () {
    const { server, port } = await listen(provider);
    const accepted = once(server, 'connection') as Promise<[WinsockSocket]>;
    const client = own(await connect({ provider, port }));
    const [peer] = await accepted;
    own(peer);
    client.write('ping');
    const [got] = (await once(peer, 'data')) as [Buffer];
    assert.equal(got.toString(), 'ping');
    peer.write('pong');
    const [back] = (await once(client, 'data')) as [Buffer];
    assert.equal(back.toString(), 'pong');
    assert.equal(peer.remotePort, client.localPort);
  });

  it('passes the caller and callee ids to the condition function, and no caller data as null [1, R9]', async function () {
    let seen: ConnectionRequest | undefined;
    const { port } = await listen(provider, {
      condition: (req) => {
        seen = req;
        return 'accept';
      },
    });
    const client = own(await connect({ provider, port }));
    await waitFor(() => seen !== undefined);
    assert.ok(seen);
    assert.equal(seen.callerId.address, '127.0.0.1');
    assert.equal(seen.callerId.family, 'IPv4');
    assert.equal(seen.callerId.port, client.localPort);
    assert.equal(seen.calleeId.port, port);
    assert.equal(seen.callerData, null, 'no caller data was sent');
    assert.equal(seen.sqos, null);
    assert.equal(seen.gqos, null);
  });

  it('rejects with WSAECONNREFUSED at the caller and reports the decision [8, R2]', async function () {
    const { server, port } = await listen(provider, { condition: () => 'reject' });
    const decisions: DecisionEvent[] = [];
    server.on('decision', (d) => decisions.push(d));
    let connections = 0;
    server.on('connection', () => connections++);
    const seen = await expectRefused(provider, connect({ provider, port }));
    assert.equal(seen, !connectWaitsForDecision(provider) ? 'connected-then-closed' : 'refused');
    await waitFor(() => decisions.length === 1);
    assert.equal(decisions[0]?.verdict, 'reject');
    assert.equal(decisions[0]?.reason, 'condition');
    assert.equal(connections, 0);
  });

  it('keeps serving after a rejection [7]', async function () {
    let n = 0;
    const { port } = await listen(provider, { condition: () => (n++ === 0 ? 'reject' : 'accept') });
    await expectRefused(provider, connect({ provider, port }));
    own(await connect({ provider, port }));
  });

  it("defers with 'defer' until server.decide(); the connect waits where capabilities.conditionalAccept says so [9, 15]", async function () {
    let request: ConnectionRequest | undefined;
    const { server, port } = await listen(provider, {
      condition: (req) => {
        request = req;
        return 'defer';
      },
    });
    const decisions: DecisionEvent[] = [];
    server.on('decision', (d) => decisions.push(d));
    let settled = false;
    const attempt = connect({ provider, port }).finally(() => {
      settled = true;
    });
    await waitFor(() => request !== undefined);
    assert.equal(server.pendingDecisions, 1);
    // capabilities.conditionalAccept (SO_CONDITIONAL_ACCEPT read back; framed
    // always) says whether the caller's connect waits for the decision.
    if (server.capabilities.conditionalAccept)
      assert.equal(settled, false, 'connect completes only after the decision');
    else await waitFor(() => settled);
    assert.ok(request);
    server.decide(request, 'accept');
    own(await attempt);
    await waitFor(() => decisions.length === 1);
    assert.equal(decisions[0]?.verdict, 'accept');
    assert.equal(decisions[0]?.deferrals, 1);
    assert.throws(
      () => server.decide(request as ConnectionRequest, 'accept'),
      (e: WinsockError) => e.code === 'WSAEINVAL',
    );
  });

  it('req.decide() settles a deferred request, and a deferred reject refuses', async function () {
    const { port } = await listen(provider, {
      condition: (req) => {
        setImmediate(() => req.decide('reject'));
        return 'defer';
      },
    });
    await expectRefused(provider, connect({ provider, port }));
  });

  it('accepts after an async (Promise) decision', async function () {
    const { server, port } = await listen(provider, {
      condition: async (req) => {
        await new Promise((r) => setTimeout(r, 20));
        return req.callerId.address === '127.0.0.1' ? 'accept' : 'reject';
      },
    });
    const accepted = once(server, 'connection');
    own(await connect({ provider, port }));
    own(((await accepted) as [WinsockSocket])[0]);
  });

  it('holds the head of the backlog: no later request is offered until the deferred one is decided [10, 11]', async function () {
    const offered: number[] = [];
    let release: ((d: Decision) => void) | undefined;
    const { server, port } = await listen(provider, {
      condition: (req) => {
        offered.push(req.callerId.port);
        if (offered.length === 1)
          return new Promise<Decision>((resolve) => {
            release = resolve;
          });
        return 'accept';
      },
    });
    const order: number[] = [];
    server.on('connection', (s) => {
      own(s);
      order.push(s.remotePort ?? 0);
    });
    const first = connect({ provider, port });
    await waitFor(() => release !== undefined);
    const second = connect({ provider, port });
    // Give the second request every chance to be (wrongly) offered.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(offered.length, 1, 'the second request waited behind the deferred head');
    assert.ok(release);
    release('accept');
    const [a, b] = await Promise.all([first, second]);
    own(a);
    own(b);
    await waitFor(() => order.length === 2);
    assert.deepEqual(order, [a.localPort, b.localPort], 'accepted in arrival order');
    assert.deepEqual(offered, [a.localPort, b.localPort]);
  });

  it('a condition that throws refuses only that caller and reports conditionError WSAEINVAL', async function () {
    let n = 0;
    const { server, port } = await listen(provider, {
      condition: () => {
        if (n++ === 0) throw new Error('boom');
        return 'accept';
      },
    });
    const errors: WinsockError[] = [];
    server.on('conditionError', (e) => errors.push(e));
    await expectRefused(provider, connect({ provider, port }));
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, 'WSAEINVAL');
    assert.equal(errors[0]?.errno, 10022);
    assert.equal(errors[0]?.syscall, 'WSAAccept');
    assert.match(errors[0]?.message ?? '', /boom/);
    own(await connect({ provider, port }));
  });

  for (const bad of [7, 'maybe', { action: 'sideways' }, null, { action: 'accept', calleeData: 42 }]) {
    it(`an invalid result (${JSON.stringify(bad)}) rejects with conditionError WSAEINVAL [R5]`, async function () {
      const { server, port } = await listen(provider, { condition: () => bad as unknown as Decision });
      const errors: WinsockError[] = [];
      server.on('conditionError', (e) => errors.push(e));
      await expectRefused(provider, connect({ provider, port }));
      await waitFor(() => errors.length === 1);
      assert.equal(errors[0]?.code, 'WSAEINVAL');
    });
  }

  it('a rejected Promise rejects that caller with conditionError', async function () {
    const { server, port } = await listen(provider, { condition: () => Promise.reject(new Error('lookup failed')) });
    const errors: WinsockError[] = [];
    server.on('conditionError', (e) => errors.push(e));
    await expectRefused(provider, connect({ provider, port }));
    assert.equal(errors[0]?.code, 'WSAEINVAL');
    assert.match(errors[0]?.message ?? '', /lookup failed/);
  });

  it('rejects a decision still pending after decisionTimeout with WSAETIMEDOUT', async function () {
    const { server, port } = await listen(provider, {
      decisionTimeout: 50,
      condition: () => new Promise<Decision>(() => undefined),
    });
    const errors: WinsockError[] = [];
    const decisions: DecisionEvent[] = [];
    server.on('conditionError', (e) => errors.push(e));
    server.on('decision', (d) => decisions.push(d));
    await expectRefused(provider, connect({ provider, port }));
    await waitFor(() => decisions.length === 1);
    assert.equal(errors[0]?.code, 'WSAETIMEDOUT');
    assert.equal(decisions[0]?.reason, 'decisionTimeout');
  });

  it('refuses callers on the blockList before the condition runs', async function () {
    const blockList = new BlockList();
    blockList.addAddress('127.0.0.1');
    let called = 0;
    const { server, port } = await listen(provider, {
      blockList,
      condition: () => {
        called++;
        return 'accept';
      },
    });
    const decisions: DecisionEvent[] = [];
    server.on('decision', (d) => decisions.push(d));
    await expectRefused(provider, connect({ provider, port }));
    await waitFor(() => decisions.length === 1);
    assert.equal(called, 0);
    assert.equal(decisions[0]?.reason, 'blockList');
  });

  it('refuses callers beyond maxConnections, and accepts again once one closes', async function () {
    const { server, port } = await listen(provider, { maxConnections: 1 });
    const decisions: DecisionEvent[] = [];
    server.on('decision', (d) => decisions.push(d));
    const accepted = once(server, 'connection') as Promise<[WinsockSocket]>;
    const first = own(await connect({ provider, port }));
    const [peer] = await accepted;
    await expectRefused(provider, connect({ provider, port }));
    await waitFor(() => decisions.length === 2);
    assert.equal(decisions[1]?.reason, 'maxConnections');
    peer.destroy();
    first.destroy();
    await waitFor(() => server.connections === 0);
    own(await connect({ provider, port }));
  });

  it('supports pull style: server.accept() waits for a request, and for await [14]', async function () {
    const { server, port } = await listen(provider);
    let settled = false;
    const pulled = server.accept().finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(settled, false, 'accept() waits while no caller has arrived');
    const c1 = own(await connect({ provider, port }));
    const s1 = own(await pulled);
    assert.equal(s1.remotePort, c1.localPort);
    // The harness listens for 'connection', so a socket nobody awaits goes there:
    // the iterator must be waiting before the caller arrives (the ownership rule).
    const iterator = server[Symbol.asyncIterator]();
    const step = iterator.next();
    const c2 = own(await connect({ provider, port }));
    const { value: s2 } = await step;
    assert.ok(s2);
    own(s2);
    assert.equal(s2.remotePort, c2.localPort);
    await iterator.return?.();
  });

  it("a backlog beyond the provider's limit is taken silently: the server listens and serves [13]", async function () {
    // 2^32 + 1 is beyond every provider's limit (and beyond a C int: native
    // caps it at SOMAXCONN rather than wrapping it to 1).
    const { server, port } = await listen(provider, { backlog: 2 ** 32 + 1 });
    const accepted: WinsockSocket[] = [];
    server.on('connection', (s) => accepted.push(s));
    const clients = await Promise.all([1, 2, 3].map(() => connect({ provider, port })));
    clients.forEach(own);
    await waitFor(() => accepted.length === 3);
  });

  it("the accepted socket has the listening socket's attributes: provider, protocol, flags, allowHalfOpen, mode [6]", async function () {
    for (const allowHalfOpen of [true, false]) {
      const { server, port } = await listen(provider, { allowHalfOpen });
      const accepted = once(server, 'connection') as Promise<[WinsockSocket]>;
      own(await connect({ provider, port, allowHalfOpen: !allowHalfOpen }));
      const [peer] = await accepted;
      assert.equal(peer.allowHalfOpen, allowHalfOpen, "the listener's, not the caller's");
      assert.equal(peer.mode, 'stream');
      // conditionalAccept is about the listener's handshakes, not the socket's.
      const flags = (c: Capabilities): Partial<Capabilities> => ({ ...c, conditionalAccept: undefined });
      assert.deepEqual(flags(peer.capabilities), flags(server.capabilities));
    }
  });

  it('accept() before listen() rejects WSAEINVAL, as WSAAccept on a socket not listening; after close WSAENOTSOCK [R6, R8]', async function () {
    const server = createServer({ provider });
    const early = await server.accept().then(
      () => null,
      (e: WinsockError) => e,
    );
    assert.equal(early?.code, 'WSAEINVAL');
    assert.equal(early?.syscall, 'WSAAccept');
    // Once listening, accept() works as usual; after close it is WSAENOTSOCK.
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    const pulled = server.accept();
    own(await connect({ provider, port }));
    own(await pulled);
    await server.close();
    await assert.rejects(server.accept(), { code: 'WSAENOTSOCK' });
  });
});
