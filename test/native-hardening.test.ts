/**
 * The addon's own data path where a review found first-run risks (issue 21):
 * a throwing onData must not stop a socket's reads, and a closed socket or
 * listener must not ask Winsock about a SOCKET value that may already name
 * another socket. On the real ws2_32 (Windows) or Wine's; pending elsewhere.
 * (Allocation failures on the native threads and the NT_SUCCESS judgement of
 * completions cannot be provoked from JavaScript: every other native test
 * runs through that code.)
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type {
  ConditionVerdict,
  ListenerCallbacks,
  ProviderConnectOptions,
  ProviderListenOptions,
  SocketHandle,
} from '../lib/provider';
import type { NativeProvider } from '../lib/native/provider';
import type { NativeSocketHandle } from '../lib/native/socket';
import { pendingBecause, waitFor } from './helpers/harness';

const ACCEPT: ConditionVerdict = { action: 'accept', calleeData: null, qos: null };
const baseListen: ProviderListenOptions = {
  host: '127.0.0.1',
  port: 0,
  backlog: 16,
  conditional: true,
  handshakeTimeout: 0,
  maxCallerData: 0,
  maxCalleeData: 0,
  maxDisconnectData: 0,
  mode: 'stream',
};
const baseConnect: Omit<ProviderConnectOptions, 'port'> = {
  host: '127.0.0.1',
  callerData: null,
  sqos: null,
  gqos: null,
  timeout: 0,
  signal: null,
  maxCalleeData: 0,
  maxDisconnectData: 0,
  mode: 'stream',
};

describe('native addon data path: hardening (win32 only: run under Wine with npm run test:wine)', function () {
  let provider: NativeProvider;

  before(function () {
    if (process.platform !== 'win32') {
      pendingBecause(this, 'there is no ws2_32.dll on this platform (npm run test:wine runs these under Wine)');
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('../lib/native/index') as typeof import('../lib/native/index');
    const loaded = mod.loadNativeProvider() as NativeProvider;
    provider = new mod.NativeProvider(loaded.addon, { path: 'addon', reason: 'this suite' });
  });

  it("localAddress/remoteAddress and the listener's address answer WSAENOTSOCK after close", async function () {
    const baseline = provider.handleCount();
    const connections: SocketHandle[] = [];
    const callbacks = {
      condition: () => ACCEPT,
      connection: (h: SocketHandle) => connections.push(h),
      refused() {},
      withdrawn() {},
      clientError() {},
      error() {},
    } as ListenerCallbacks;
    const listener = await provider.listen(baseListen, callbacks);
    const client = (await provider.connect({ ...baseConnect, port: listener.address.port })) as NativeSocketHandle;
    await waitFor(() => connections.length === 1);
    const server = connections[0] as NativeSocketHandle;
    assert.equal(client.native.remoteAddress()?.port, listener.address.port);
    client.close();
    server.close();
    for (const call of [
      () => client.native.localAddress(),
      () => client.native.remoteAddress(),
      () => server.native.localAddress(),
      () => server.native.remoteAddress(),
    ]) {
      assert.throws(call, (err: { errno?: number }) => err.errno === 10038);
    }
    // What the handle captured while open stays readable.
    assert.equal(client.remoteAddress.port, listener.address.port);
    await listener.close();
    const nativeListener = (listener as unknown as { native: { address(): unknown } }).native;
    assert.throws(
      () => nativeListener.address(),
      (err: { errno?: number }) => err.errno === 10038,
    );
    assert.equal(listener.address.port > 0, true, 'the address read while open stays');
    await waitFor(() => provider.handleCount() === baseline);
  });

  it("a throwing onData does not stop the socket's reads (the exception still surfaces)", async function () {
    // In a worker: the exception becomes its uncaught exception, which the
    // worker catches and counts, while the test watches the bytes go on.
    const index = require.resolve('../lib/native/index');
    const body = `
      const { parentPort } = require('node:worker_threads');
      const mod = require(${JSON.stringify(index)});
      const p = new mod.NativeProvider(mod.loadNativeProvider().addon, { path: 'addon', reason: 'test' });
      let thrown = 0;
      process.on('uncaughtException', (err) => { if (/onData threw/.test(err.message)) thrown++; else throw err; });
      const cb = { condition: () => ({ action: 'accept', calleeData: null, qos: null }), connection(h) { server = h; }, refused() {}, withdrawn() {}, clientError() {}, error() {} };
      let server = null;
      const base = ${JSON.stringify(baseListen)};
      p.listen(base, cb).then(async (l) => {
        const c = await p.connect({ ...${JSON.stringify(baseConnect)}, port: l.address.port });
        while (server === null) await new Promise((r) => setTimeout(r, 5));
        let got = '';
        let chunks = 0;
        server.attach({
          onData(chunk) { got += chunk.toString(); chunks++; if (chunks === 1) throw new Error('onData threw'); return true; },
          onEnd() { parentPort.postMessage({ got, thrown }); c.close(); server.close(); l.close(); },
          onError(e) { parentPort.postMessage({ error: e.message }); },
        });
        server.readStart();
        c.write([Buffer.from('first')], () => {});
        while (chunks === 0) await new Promise((r) => setTimeout(r, 5));
        c.write([Buffer.from('-second')], () => {});
        await new Promise((r) => setTimeout(r, 20));
        c.sendDisconnect(null);
      });`;
    const worker = new Worker(body, { eval: true });
    const [result] = (await once(worker, 'message')) as [{ got?: string; thrown?: number; error?: string }];
    await worker.terminate();
    assert.equal(result.error, undefined);
    assert.equal(result.thrown, 1, 'the exception surfaced once');
    assert.equal(result.got, 'first-second', 'reads went on after the throw, up to the end');
  });
});
