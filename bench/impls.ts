/**
 * The sides a benchmark case runs on: `winsock` (this package, on the
 * provider given with --provider), its `net` twin (plain node:net, the
 * same JavaScript around it) and the stand-ins of floor-impl.ts. Both hand the case a stream.Duplex, so one
 * case body drives both and the only difference measured is the transport.
 *
 * The package is loaded from dist/ (the build users get), not from lib/.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import type * as Winsock from '../dist/index';
import { floorImpl } from './floor-impl';
import {
  admitted,
  BACKLOG,
  benchCondition,
  HOST,
  listenLoopback,
  openSockets,
  type Impl,
  type ImplName,
  type ProviderName,
} from './loopback';

export type { Impl, ImplName, ProviderName } from './loopback';

const winsockModules = new Map<string, typeof Winsock>();
/** This checkout's build (../dist), or another build's dist/ directory (`--baseline-build`). */
function loadWinsock(dist: string | undefined): typeof Winsock {
  const key = dist ?? '';
  let mod = winsockModules.get(key);
  if (!mod) {
    // Loaded on first use, so runs without winsock2 (and their failures) never depend on the build.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(dist === undefined ? '../dist/index' : path.resolve(dist, 'index.js')) as typeof Winsock;
    winsockModules.set(key, mod);
  }
  return mod;
}

/** winsock2 on `provider`, from this checkout's dist/ or from the build in `dist`. */
export function winsockImpl(provider: ProviderName, dist?: string): Impl {
  const winsock = (): typeof Winsock => loadWinsock(dist);
  const asWinsock = (s: Duplex): Winsock.WinsockSocket => s as Winsock.WinsockSocket;
  const { track, count } = openSockets();
  return {
    name: 'winsock',
    async listen(spec) {
      const { createServer } = winsock();
      const server = createServer({
        provider,
        backlog: BACKLOG,
        allowHalfOpen: spec.allowHalfOpen ?? true, // as the net twin: the seed case answers a hang-up
        ...(spec.condition
          ? {
              condition: (req: Winsock.ConnectionRequest) => {
                if (!benchCondition(req.callerId)) return 'reject';
                return req.callerData
                  ? { action: 'accept', calleeData: `welcome ${req.callerData.toString()}` }
                  : 'accept';
              },
            }
          : {}),
      });
      server.on('connection', (s) => spec.onConnection(spec.count === false ? s : track(s)));
      const { port } = await server.listen({ port: 0, host: HOST });
      return { port, close: () => server.close() };
    },
    async connect(port, callerData) {
      const s = await winsock().connect({
        provider,
        host: HOST,
        port,
        allowHalfOpen: true,
        ...(callerData !== undefined ? { callerData } : {}),
      });
      return track(s);
    },
    callerData: (s) => asWinsock(s).callerData?.toString() ?? null,
    calleeData: (s) => asWinsock(s).calleeData?.toString() ?? null,
    sendDisconnect: (s, data) => asWinsock(s).sendDisconnect(data),
    recvDisconnect: async (s) => (await asWinsock(s).recvDisconnect())?.toString() ?? null,
    handleCount: count,
  };
}

export function netImpl(): Impl {
  const { track, count } = openSockets();
  return {
    name: 'net',
    listen(spec) {
      // noDelay as both providers set it: the twin differs from them in the transport only.
      return listenLoopback(
        net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
          if (admitted(spec.condition, track(s))) spec.onConnection(s);
        }),
      );
    },
    connect(port) {
      return new Promise<Duplex>((resolve, reject) => {
        const s = net.connect({ port, host: HOST, allowHalfOpen: true, noDelay: true });
        s.once('error', reject);
        s.once('connect', () => {
          s.off('error', reject);
          resolve(track(s));
        });
      });
    },
    callerData: () => null,
    calleeData: () => null,
    sendDisconnect: () => Promise.reject(new Error('the net twin carries its totals in band')),
    recvDisconnect: () => Promise.reject(new Error('the net twin carries its totals in band')),
    handleCount: count,
  };
}

export function makeImpl(name: ImplName, provider: ProviderName): Impl {
  switch (name) {
    case 'winsock':
      return winsockImpl(provider);
    case 'floor':
    case 'passthrough':
      return floorImpl(name);
    case 'net':
      return netImpl();
  }
}
