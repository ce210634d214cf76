/**
 * What every side of a benchmark pair shares: the Impl interface the cases
 * drive, the condition every server runs, and the loopback helpers of the
 * node:net-based sides (the net twin in impls.ts, the stand-ins in
 * floor-impl.ts). A module of its own so that neither imports the other.
 */
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';

/** `floor`, `passthrough`: the design's minimum and a bare second stream layer, no winsock2 code (bench/floor-impl.ts). */
export type ImplName = 'winsock' | 'net' | 'floor' | 'passthrough';
/** The providers winsock2 runs on (`--provider`). */
export type ProviderName = 'native' | 'emulated' | 'framed';
export const PROVIDERS: readonly ProviderName[] = ['native', 'emulated', 'framed'];
export const isProvider = (v: string): v is ProviderName => (PROVIDERS as readonly string[]).includes(v);

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
  /**
   * Count the server's sockets for handleCount() (default true). The gate
   * cases do not: the server alone they are compared with counts nothing,
   * and a 'close' listener per connection is not the gate's cost.
   */
  count?: boolean;
  /**
   * The winsock server's allowHalfOpen (default true, as the net twin). The
   * gate cases pass their target server's own (http.Server true,
   * https.Server false), as docs/ecosystem.md tells users to.
   */
  allowHalfOpen?: boolean;
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
export const BACKLOG = 2048;

/** Counts the sockets an implementation handed out and that have not closed yet (Impl.handleCount). */
export function openSockets(): { track<T extends Duplex>(s: T): T; count(): number } {
  let open = 0;
  return {
    track(s) {
      open++;
      s.once('close', () => {
        open--;
      });
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
    server.listen({ port: 0, host: HOST, backlog: BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    // Like WinsockServer.close(): stop listening now; accepted sockets belong to the
    // application (node:net's callback would wait for every one of them to close).
    close: async () => {
      server.close();
    },
  };
}
