/**
 * The two sides every benchmark case runs on: `winsock` (this package, on the
 * provider given with --provider) and its `net` twin (plain node:net, the
 * same JavaScript around it). Both hand the case a stream.Duplex, so one
 * case body drives both and the only difference measured is the transport.
 *
 * The package is loaded from dist/ (the build users get), not from lib/.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import type * as Winsock from '../dist/index';
import { floorImpl } from './floor-impl';

/** `floor`, `passthrough`: the design's minimum and a bare second stream layer, no winsock2 code (bench/floor-impl.ts). */
export type ImplName = 'winsock' | 'net' | 'floor' | 'passthrough';
export type ProviderName = 'native' | 'framed';

/** What the server's condition sees; for net the twin builds it from the accepted socket. */
export interface CallerInfo {
  address: string;
  port: number;
}

/**
 * The condition both sides run for every caller: a real JavaScript decision
 * (a lookup), so the accept-rate cases measure the condition path as users
 * would have it, not an empty function.
 */
const DENY = new Set(['192.0.2.1', '198.51.100.7']);
export function benchCondition(caller: CallerInfo): boolean {
  return !DENY.has(caller.address) && caller.port > 0;
}

export interface ServerSpec {
  /** Run benchCondition for every caller (winsock: as the WSAAccept condition). */
  condition: boolean;
  onConnection(socket: Duplex): void;
}

export interface BenchServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface Impl {
  readonly name: ImplName;
  listen(spec: ServerSpec): Promise<BenchServer>;
  connect(port: number, callerData?: string): Promise<Duplex>;
  /** Caller data the accepted socket received (winsock); the net twin carries it in band. */
  callerData(socket: Duplex): string | null;
  calleeData(socket: Duplex): string | null;
  /** WSASendDisconnect / WSARecvDisconnect; the net twin does not use these. */
  sendDisconnect(socket: Duplex, data: string): Promise<void>;
  recvDisconnect(socket: Duplex): Promise<string | null>;
  /** Open sockets the implementation still owns (leak check between runs). */
  handleCount(): number;
}

export const HOST = '127.0.0.1';
/** Large enough that no burst in any case is refused by either side's backlog. */
const BACKLOG = 2048;

/** Counts the sockets an implementation handed out and that have not closed yet (Impl.handleCount). */
export function openSockets(): { track<T extends Duplex>(s: T): T; count(): number } {
  let open = 0;
  return {
    track(s) {
      open++;
      s.once('close', () => { open--; });
      return s;
    },
    count: () => open,
  };
}

/**
 * The condition for a node:net accepted socket (the net twin and the stand-ins
 * of floor-impl.ts): benchCondition on its peer; a refused socket is destroyed.
 */
export function admitted(condition: boolean, s: net.Socket): boolean {
  if (condition && !benchCondition({ address: s.remoteAddress ?? '', port: s.remotePort ?? 0 })) {
    s.destroy();
    return false;
  }
  return true;
}

/** Listens on an ephemeral loopback port, as every node:net-based implementation here does. */
export async function listenLoopback(server: net.Server): Promise<BenchServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: HOST, backlog: BACKLOG }, () => { server.off('error', reject); resolve(); });
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    // Like WinsockServer.close(): stop listening now; accepted sockets belong to the
    // application (node:net's callback would wait for every one of them to close).
    close: async () => { server.close(); },
  };
}

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
        ...(spec.condition
          ? {
            condition: (req: Winsock.ConnectionRequest) => {
              if (!benchCondition(req.callerId)) return 'reject';
              return req.callerData ? { action: 'accept', calleeData: `welcome ${req.callerData.toString()}` } : 'accept';
            },
          }
          : {}),
      });
      server.on('connection', (s) => spec.onConnection(track(s)));
      const { port } = await server.listen({ port: 0, host: HOST });
      return { port, close: () => server.close() };
    },
    async connect(port, callerData) {
      const s = await winsock().connect({ provider, host: HOST, port, ...(callerData !== undefined ? { callerData } : {}) });
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
      return listenLoopback(net.createServer({ allowHalfOpen: true }, (s) => {
        if (admitted(spec.condition, track(s))) spec.onConnection(s);
      }));
    },
    connect(port) {
      return new Promise<Duplex>((resolve, reject) => {
        const s = net.connect({ port, host: HOST, allowHalfOpen: true });
        s.once('error', reject);
        s.once('connect', () => { s.off('error', reject); resolve(track(s)); });
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
    case 'winsock': return winsockImpl(provider);
    case 'floor': case 'passthrough': return floorImpl(name);
    case 'net': return netImpl();
  }
}
