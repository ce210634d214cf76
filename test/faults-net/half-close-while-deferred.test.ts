/**
 * Found by the faults-net soak (clean link, emulated): a caller that sends
 * its whole request and half-closes (shutdown(SD_SEND), `end()`) while its
 * request waits for a decision lost the request. The emulated listener took
 * the FIN for "the caller left" and withdrew it: the server reported
 * 'withdrawn', the caller saw a graceful end with no reply and no error.
 *
 * A FIN is a half-close, not a departure: on Windows (and under Wine, and in
 * any kernel's accept queue) the connection is accepted with the bytes and
 * the FIN readable after them, and the caller gets its answer. A caller that
 * really left shows when the server writes (a reset), as in TCP.
 *
 * On loopback, no namespaces needed: this runs everywhere.
 *
 * The fix belongs in lib/emulated/listener.ts (Queued.end must not withdraw:
 * keep the request, remember the FIN, and deliver it after the early bytes
 * once accepted), which the socket-contract rewrite owns: until it lands
 * this test is pending with that reason. Set FAULTS_HALF_CLOSE_FIXED=1 (or
 * flip HALF_CLOSE_FIXED with the fix) to run it; it fails on adec659.
 */
import { strict as assert } from 'node:assert';
import { connect, createServer, type WinsockSocket } from '../../lib/index';

// Fixed: the emulated listener watches a waiting request with 'readable' and withdraws on a FIN only when no bytes came before it.
const HALF_CLOSE_FIXED = true;

describe('faults-net finding: a caller that half-closes while its request waits', function () {
  for (const provider of ['emulated'] as const) {
    it(`[${provider}] is accepted with its bytes and its FIN, and gets the reply (not withdrawn)`, async function () {
      if (!HALF_CLOSE_FIXED) {
        this.skip(); // pending: the fix is in lib/emulated/listener.ts (the lead's rewrite); FAULTS_HALF_CLOSE_FIXED=1 runs it
      }
      const withdrawn: string[] = [];
      const server = createServer({
        provider,
        allowHalfOpen: true,
        // A decision that takes a while: the caller's bytes and FIN arrive while it waits.
        condition: () => new Promise((resolve) => setTimeout(() => resolve('accept'), 150)),
      });
      server.on('withdrawn', (e) => withdrawn.push(e.code ?? 'unknown'));
      server.on('connection', (socket: WinsockSocket) => {
        const got: Buffer[] = [];
        socket.on('data', (c: Buffer) => got.push(c));
        socket.on('end', () => {
          socket.end(`reply to ${Buffer.concat(got).toString()}`);
        });
      });
      const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
      try {
        const socket = await connect({ provider, port, allowHalfOpen: true });
        const reply = await new Promise<string>((resolve, reject) => {
          const got: Buffer[] = [];
          socket.on('data', (c: Buffer) => got.push(c));
          socket.on('error', reject);
          socket.on('end', () => resolve(Buffer.concat(got).toString()));
          socket.end('request');
        });
        socket.destroy();
        assert.deepEqual(withdrawn, [], 'the half-closed caller was withdrawn');
        assert.equal(reply, 'reply to request');
      } finally {
        await server.close();
      }
    });
  }
});
