/**
 * Conformance: connect data (caller data, callee data, QOS) and the honest
 * refusal where the provider cannot carry it.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { connect } from '../../lib/connect';
import { createServer } from '../../lib/server';
import { resolveProvider } from '../../lib/providers';
import type { ConnectionRequest, Qos } from '../../lib/types';
import type { WinsockError } from '../../lib/errors';
import type { WinsockSocket } from '../../lib/socket';
import { carriesData, expectRefused, forEachProvider, listen, own, rejectsWith, waitFor } from '../helpers/harness';

const QOS: Qos = {
  sending: {
    tokenRate: 1000,
    tokenBucketSize: 2000,
    peakBandwidth: 3000,
    latency: 4,
    delayVariation: 5,
    serviceType: 1,
    maxSduSize: 1500,
    minimumPolicedSize: 64,
  },
  receiving: null,
  providerSpecific: Buffer.from([1, 2, 3]),
};

forEachProvider('connect data', (provider) => {
  const carries = carriesData(provider);

  it('reports capabilities with exactly the SPEC fields', async function () {
    const { server, port } = await listen(provider, { condition: () => 'accept' });
    const client = own(await connect({ provider, port }));
    const fields = [
      'provider',
      'protocol',
      'connectData',
      'disconnectData',
      'qos',
      'gracefulClose',
      'messageOriented',
      'conditionalAccept',
    ];
    assert.deepEqual(Object.keys(server.capabilities).sort(), [...fields].sort());
    assert.deepEqual(Object.keys(client.capabilities).sort(), [...fields].sort());
    assert.equal(client.capabilities.provider, provider);
    assert.equal(typeof client.capabilities.protocol, 'string');
    if (provider === 'framed') {
      assert.equal(client.capabilities.connectData, true);
      assert.equal(client.capabilities.disconnectData, true);
      assert.equal(server.capabilities.conditionalAccept, true);
    } else {
      // Windows' TCP/IP provider never sets XP1_CONNECT_DATA / XP1_DISCONNECT_DATA
      // (WINSOCK-BEHAVIOUR.md §1, WSAEnumProtocols row; Wine's protocol.c tests).
      assert.equal(client.capabilities.connectData, false);
      assert.equal(client.capabilities.disconnectData, false);
      // emulated: the kernel completes every handshake first, on every OS.
      // native: SO_CONDITIONAL_ACCEPT as read back from the listening socket
      // (it takes on Windows; Wine answers WSAENOPROTOOPT: D4, probe 7); the
      // accept tests check that the caller's connect really waits exactly
      // where this says so.
      if (provider === 'emulated') assert.equal(server.capabilities.conditionalAccept, false);
      else assert.equal(typeof server.capabilities.conditionalAccept, 'boolean');
      assert.equal(client.capabilities.conditionalAccept, false, "a caller's socket never holds a handshake");
    }
  });

  if (carries) {
    it('carries caller data to the condition and callee data back to the caller [2, 3, 4]', async function () {
      let seen: ConnectionRequest | undefined;
      const { server, port } = await listen(provider, {
        condition: (req) => {
          seen = req;
          return { action: 'accept', calleeData: Buffer.from(`welcome ${req.callerData?.toString()}`) };
        },
      });
      const accepted = once(server, 'connection') as Promise<[WinsockSocket]>;
      const client = own(await connect({ provider, port, callerData: Buffer.from('alice') }));
      assert.equal(seen?.callerData?.toString(), 'alice');
      assert.equal(client.calleeData?.toString(), 'welcome alice');
      const [peer] = await accepted;
      assert.equal(peer.callerData?.toString(), 'alice');
    });

    it('passes SQOS and GQOS through to the condition function [1, R14]', async function () {
      let seen: ConnectionRequest | undefined;
      const { port } = await listen(provider, {
        condition: (req) => {
          seen = req;
          return 'accept';
        },
      });
      own(
        await connect({
          provider,
          port,
          sqos: QOS,
          gqos: { sending: null, receiving: QOS.sending, providerSpecific: null },
        }),
      );
      assert.deepEqual(seen?.sqos, QOS);
      assert.deepEqual(seen?.gqos?.receiving, QOS.sending);
    });

    it("refuses caller data over the client's maxCallerData before sending (WSAEMSGSIZE)", async function () {
      let offered = 0;
      const { port } = await listen(provider, {
        condition: () => {
          offered++;
          return 'accept';
        },
      });
      await rejectsWith(connect({ provider, port, callerData: Buffer.alloc(101), maxCallerData: 100 }), 'WSAEMSGSIZE');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(offered, 0, 'nothing reached the server');
    });

    it("drops a caller whose data exceeds the server's maxCallerData (clientError WSAEMSGSIZE)", async function () {
      const { server, port } = await listen(provider, { maxCallerData: 10, condition: () => 'accept' });
      const errors: WinsockError[] = [];
      server.on('clientError', (e) => errors.push(e));
      const failure = await connect({ provider, port, callerData: Buffer.alloc(11) }).then(
        () => null,
        (e: WinsockError) => e,
      );
      assert.ok(failure, 'the connect failed');
      await waitFor(() => errors.length === 1);
      assert.equal(errors[0]?.code, 'WSAEMSGSIZE');
      own(await connect({ provider, port, callerData: Buffer.alloc(10) }));
    });

    it('refuses callee data over maxCalleeData with conditionError WSAEMSGSIZE', async function () {
      const { server, port } = await listen(provider, {
        maxCalleeData: 4,
        condition: () => ({ action: 'accept', calleeData: 'too long' }),
      });
      const errors: WinsockError[] = [];
      server.on('conditionError', (e) => errors.push(e));
      await expectRefused(provider, connect({ provider, port }));
      assert.equal(errors[0]?.code, 'WSAEMSGSIZE');
    });

    it("fails a connect whose callee data exceeds the client's maxCalleeData", async function () {
      const { port } = await listen(provider, {
        condition: () => ({ action: 'accept', calleeData: Buffer.alloc(64) }),
      });
      await rejectsWith(connect({ provider, port, maxCalleeData: 16 }), 'WSAEMSGSIZE');
    });
  } else {
    it("refuses caller data with WSAEPROTONOSUPPORT (WSAConnect's documented code) before anything is sent [2, R13]", async function () {
      let offered = 0;
      const { port } = await listen(provider, {
        condition: () => {
          offered++;
          return 'accept';
        },
      });
      const before = resolveProvider(provider).handleCount();
      const err = await rejectsWith(connect({ provider, port, callerData: Buffer.from('x') }), 'WSAEPROTONOSUPPORT');
      assert.equal(err.syscall, 'WSAConnect');
      assert.equal(resolveProvider(provider).handleCount(), before, 'no socket was even created');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(offered, 0);
    });

    it('refuses callee data with conditionError WSAEOPNOTSUPP instead of dropping it [4]', async function () {
      const { server, port } = await listen(provider, {
        condition: () => ({ action: 'accept', calleeData: 'welcome' }),
      });
      const errors: WinsockError[] = [];
      server.on('conditionError', (e) => errors.push(e));
      await expectRefused(provider, connect({ provider, port }));
      assert.equal(errors[0]?.code, 'WSAEOPNOTSUPP');
    });

    it('refuses a granted QOS with conditionError WSAEOPNOTSUPP instead of dropping it [5]', async function () {
      const { server, port } = await listen(provider, { condition: () => ({ action: 'accept', qos: QOS }) });
      const errors: WinsockError[] = [];
      server.on('conditionError', (e) => errors.push(e));
      await expectRefused(provider, connect({ provider, port }));
      assert.equal(errors[0]?.code, 'WSAEOPNOTSUPP');
      assert.equal(errors[0]?.syscall, 'WSAAccept');
    });

    it('refuses socket QOS and group QOS with WSAEOPNOTSUPP before anything is sent (no XP1_QOS_SUPPORTED) [R14, R15]', async function () {
      let offered = 0;
      const { port } = await listen(provider, {
        condition: () => {
          offered++;
          return 'accept';
        },
      });
      const before = resolveProvider(provider).handleCount();
      await rejectsWith(connect({ provider, port, sqos: QOS }), 'WSAEOPNOTSUPP');
      await rejectsWith(
        connect({ provider, port, gqos: { sending: null, receiving: QOS.sending, providerSpecific: null } }),
        'WSAEOPNOTSUPP',
      );
      assert.equal(resolveProvider(provider).handleCount(), before, 'no socket was even created');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(offered, 0);
    });

    it('gives the condition no caller data and no QOS on TCP/IP [1, R9]', async function () {
      let seen: ConnectionRequest | undefined;
      const { port } = await listen(provider, {
        condition: (req) => {
          seen = req;
          return 'accept';
        },
      });
      const client = own(await connect({ provider, port }));
      assert.equal(seen?.callerData, null);
      assert.equal(seen?.sqos, null);
      assert.equal(client.calleeData, null);
    });
  }

  it('rejects bad caller data types with WSAEFAULT', async function () {
    await rejectsWith(connect({ provider, port: 1, callerData: 42 as unknown as Buffer }), 'WSAEFAULT');
  });

  it('lists its protocols with decoded XP1 flags', function () {
    const protocols = resolveProvider(provider).enumerateProtocols();
    assert.ok(protocols.length > 0);
    for (const p of protocols) {
      assert.equal(p.connectData, (p.serviceFlags & 0x80) !== 0);
      assert.equal(p.disconnectData, (p.serviceFlags & 0x100) !== 0);
      assert.equal(p.gracefulClose, (p.serviceFlags & 0x20) !== 0);
    }
    if (provider === 'native') {
      const tcp = protocols.find((p) => p.socketType === 1 && p.protocol === 6 && p.addressFamily === 2);
      assert.ok(tcp, 'an IPv4 TCP entry');
      // 0x20066 with XP1_QOS_SUPPORTED masked out (Wine protocol.c test_service_flags).
      assert.equal(tcp.serviceFlags & ~0x2000, 0x20066);
    }
  });

  it('createServer with an unknown provider fails with WSAEINVAL', function () {
    assert.throws(
      () => createServer({ provider: 'bogus' as 'native' }),
      (e: WinsockError) => e.code === 'WSAEINVAL',
    );
  });
});
