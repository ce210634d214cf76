/**
 * Shared test helpers: which providers to run the conformance suite against,
 * which platform we are on (platform differences are asserted, not skipped),
 * and small waits that never depend on timing.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionRequest, ProviderName, ServerOptions } from '../../lib/types';
import { createServer, WinsockServer } from '../../lib/server';
import type { WinsockSocket } from '../../lib/socket';
import { resolveProvider } from '../../lib/providers';
import { WinsockError } from '../../lib/errors';
import { wineObserved, wineOutcomesAfterReset } from '../probe/expectations';

/** Where the suite runs: Wine's ws2_32 behaves differently from real Windows in documented ways. */
export type TestPlatform = 'posix' | 'windows' | 'wine';

/**
 * Asked of the system, never taken from a setting that could be wrong (the
 * windows-latest job sets nothing): on win32, Wine is recognised by ntdll's
 * wine_get_version (the native addon's wineVersion(), null on real Windows),
 * or, where the addon does not load, by Wine's own winecfg.exe in system32.
 * Only Wine's documented quirks depend on this; whether a caller's connect
 * waits for the decision follows capabilities.conditionalAccept instead.
 */
function detectPlatform(): TestPlatform {
  if (process.platform !== 'win32') return 'posix';
  try {
    const native: unknown = resolveProvider('native');
    if (
      typeof native === 'object' &&
      native !== null &&
      'wineVersion' in native &&
      typeof native.wineVersion === 'function'
    ) {
      return (native.wineVersion as () => string | null)() === null ? 'windows' : 'wine';
    }
  } catch {
    // the addon does not load here: ask the file system
  }
  const systemRoot = process.env['SystemRoot'] ?? process.env['windir'] ?? 'C:\\windows';
  return existsSync(join(systemRoot, 'system32', 'winecfg.exe')) ? 'wine' : 'windows';
}

export const platform: TestPlatform = detectPlatform();

/** WINSOCK2_TEST_PROVIDERS=native,emulated,framed; by default every provider this platform has. */
export function providersUnderTest(): ProviderName[] {
  const env = process.env['WINSOCK2_TEST_PROVIDERS'];
  if (env) {
    return env
      .split(',')
      .map((s) => s.trim())
      .filter((s): s is ProviderName => s === 'native' || s === 'emulated' || s === 'framed');
  }
  return process.platform === 'win32' ? ['native', 'emulated', 'framed'] : ['emulated', 'framed'];
}

/**
 * Runs `body` once per provider under test, inside a describe block named
 * after it, with a leak check after every test: the provider's open-handle
 * count must return to where it was before the test.
 */
export function forEachProvider(title: string, body: (provider: ProviderName) => void): void {
  for (const provider of providersUnderTest()) {
    describe(`${title} [${provider}]`, function () {
      let baseline = 0;
      const servers: WinsockServer[] = [];
      const sockets: WinsockSocket[] = [];
      beforeEach(function () {
        baseline = resolveProvider(provider).handleCount();
        track.servers = servers;
        track.sockets = sockets;
      });
      afterEach(async function () {
        for (const s of sockets.splice(0)) s.destroy();
        await Promise.all(servers.splice(0).map((s) => s.close()));
        await waitFor(() => resolveProvider(provider).handleCount() <= baseline, 5000).catch(() => undefined);
        assert.equal(resolveProvider(provider).handleCount(), baseline, 'leaked handles after the test');
      });
      body(provider);
    });
  }
}

const track: { servers: WinsockServer[]; sockets: WinsockSocket[] } = { servers: [], sockets: [] };

/** A listening server on 127.0.0.1 that the harness closes after the test. */
export async function listen(
  provider: ProviderName,
  options: ServerOptions = {},
): Promise<{ server: WinsockServer; port: number }> {
  const server = createServer({ provider, ...options });
  track.servers.push(server);
  // Accepted sockets belong to the application: the harness destroys them after the test.
  server.on('connection', (socket) => track.sockets.push(socket));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, port };
}

/**
 * A server whose condition defers the first caller and accepts the rest,
 * recording every request offered and every withdrawal ([request, error]):
 * the set-up of the withdrawal tests.
 */
export async function deferFirstCaller(provider: ProviderName): Promise<{
  server: WinsockServer;
  port: number;
  requests: ConnectionRequest[];
  withdrawn: [ConnectionRequest, WinsockError][];
}> {
  const requests: ConnectionRequest[] = [];
  const { server, port } = await listen(provider, {
    condition: (req) => {
      requests.push(req);
      return requests.length === 1 ? 'defer' : 'accept';
    },
  });
  const withdrawn: [ConnectionRequest, WinsockError][] = [];
  server.on('withdrawn', (e, r) => withdrawn.push([r, e]));
  return { server, port, requests, withdrawn };
}

/** Registers sockets for destruction after the test. */
export function own<T extends WinsockSocket>(socket: T): T {
  track.sockets.push(socket);
  return socket;
}

/** Polls `predicate` every 5 ms until true; rejects after `ms` (a hang guard, not a timing assertion). */
export async function waitFor(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Reads a socket to its end; resolves everything it received. */
export async function readAll(socket: WinsockSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  return Buffer.concat(chunks);
}

/** Resolves the next `n` items an async source yields. */
export async function nextEvent<T extends unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return (await once(emitter, event)) as T;
}

/** Asserts a promise rejects with a WinsockError of `code`; returns it. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<WinsockError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WinsockError, `expected a WinsockError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

/** What a caller sees when the acceptor rejects it, per platform and provider. */
export type RefusalSeen = 'refused' | 'connected-then-closed';

/**
 * Awaits a connect the acceptor rejects, and asserts what each platform and
 * provider really does:
 * - framed, and native on real Windows with SO_CONDITIONAL_ACCEPT: connect()
 *   fails with WSAECONNREFUSED;
 * - emulated: the kernel completed the handshake, so connect() resolves; the
 *   server then resets the connection (WSAECONNRESET) with nothing delivered;
 * - native under Wine: Wine completes the TCP handshake before the condition
 *   runs and ignores SO_CONDITIONAL_ACCEPT, so connect() resolves and the
 *   socket then reads its end (a FIN, never a reset), with nothing delivered
 *   (docs/winsock-probe.md, assertions 6 and 8).
 */
export async function expectRefused(provider: ProviderName, attempt: Promise<WinsockSocket>): Promise<RefusalSeen> {
  if (!connectWaitsForDecision(provider)) {
    let socket: WinsockSocket;
    try {
      socket = own(await attempt);
    } catch (err) {
      // Emulated: the reset can reach the caller before its own loop saw the
      // connect complete; node:net then fails the connect with ECONNRESET,
      // which the provider reports as the refusal it is.
      if (provider === 'emulated' && err instanceof WinsockError && err.code === 'WSAECONNREFUSED')
        return 'connected-then-closed';
      throw err;
    }
    let received = 0;
    const outcome = await new Promise<string>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      socket.once('end', () => resolve('end'));
      socket.once('error', (e: WinsockError) => resolve(e.code));
    });
    assert.equal(received, 0, 'a refused caller receives nothing');
    if (provider === 'emulated' && platform !== 'wine') {
      assert.equal(outcome, 'WSAECONNRESET', 'the emulated provider resets a refused caller');
    } else if (provider === 'emulated') {
      // node.exe's net under Wine: the reset reads as either outcome Wine
      // records after an RST (probe 20), depending on whether a receive was
      // pending when it arrived.
      assert.ok(wineOutcomesAfterReset().includes(outcome), `unexpected ${outcome}`);
    } else if (platform === 'wine') {
      // Wine closes a rejected socket gracefully: the caller reads its end,
      // never a reset (probe 6, test/probe/expected-wine.json).
      assert.equal(wineObserved('6', 'idle_recv'), 'eof');
      assert.equal(outcome, 'end');
    } else {
      // Native on Windows where SO_CONDITIONAL_ACCEPT did not take: probe 6
      // is still "record" there (an RST is expected, unconfirmed).
      assert.ok(
        outcome === 'end' || outcome === 'WSAECONNRESET' || outcome === 'WSAECONNABORTED',
        `unexpected ${outcome}`,
      );
    }
    return 'connected-then-closed';
  }
  await rejectsWith(attempt, 'WSAECONNREFUSED');
  return 'refused';
}

/** capabilities.conditionalAccept of a real listening server, per provider, read once before the suite. */
const conditionalReadBack = new Map<ProviderName, boolean>();

if (typeof before === 'function') {
  // A root hook: one conditional server per provider under test, so the
  // expectations follow what the listening socket reports (native: the
  // SO_CONDITIONAL_ACCEPT option read back), not a guess about the platform.
  before(async function () {
    for (const provider of providersUnderTest()) {
      try {
        const server = createServer({ provider, condition: () => 'accept' });
        await server.listen({ port: 0, host: '127.0.0.1' });
        conditionalReadBack.set(provider, server.capabilities.conditionalAccept);
        await server.close();
      } catch {
        // the provider is unavailable here: its tests report why
      }
    }
  });
}

/**
 * True where a caller's connect() completes only after the condition decided:
 * framed, and native where SO_CONDITIONAL_ACCEPT took (real Windows). False
 * on emulated and on native under Wine, where the kernel completes the TCP
 * handshake first. It is what a conditional server's capabilities report.
 */
export function connectWaitsForDecision(provider: ProviderName): boolean {
  return conditionalReadBack.get(provider) ?? resolveProvider(provider).capabilities('stream').conditionalAccept;
}

/** True where caller/callee/disconnect data is carried (framed everywhere; never Windows TCP/IP). */
export function carriesData(provider: ProviderName): boolean {
  return resolveProvider(provider).capabilities('stream').connectData;
}

/**
 * Marks the running test pending and puts the reason into its title, so the
 * report says why it did not run here (never a silent absence).
 */
export function pendingBecause(ctx: Mocha.Context, reason: string): never {
  const runnable = ctx.test;
  if ((runnable as { type?: string } | undefined)?.type === 'hook' && runnable?.parent) {
    // Skipping in a before() hook skips the whole block: give every test the reason.
    for (const test of runnable.parent.tests) test.title += ` — pending: ${reason}`;
  } else if (runnable) {
    runnable.title += ` — pending: ${reason}`;
  }
  ctx.skip();
}
