/**
 * The exact shape of what the native addon (native/*.cc) exports. Every
 * function runs on the JavaScript thread; the native side calls back into the
 * "owner" objects below from its thread-safe function, also on the JavaScript
 * thread. Failing calls throw a NativeError: a Winsock error number and the
 * function that failed, mapped by errors.ts with WinsockError.fromErrno.
 */
import type { RawProtocolEntry } from '../service-flags';
import type { Qos, SocketAddress } from '../types';

/** What a native call throws. */
export interface NativeError extends Error {
  errno: number;
  syscall: string;
}

/** CF_ACCEPT, CF_REJECT, CF_DEFER (winsock2.h). */
export const CF_ACCEPT = 0;
export const CF_REJECT = 1;
export const CF_DEFER = 2;
export type NativeVerdictCode = typeof CF_ACCEPT | typeof CF_REJECT | typeof CF_DEFER;

/** The condition function's answer with callee data (written only where XP1_CONNECT_DATA). */
export interface NativeVerdictWithData {
  verdict: NativeVerdictCode;
  calleeData: Buffer | null;
}

/** The arguments of WSAAccept's condition function, decoded. */
export interface NativeRequest {
  /** lpCallerId; null for an address family other than IPv4/IPv6. */
  callerId: SocketAddress | null;
  /** lpCalleeId. */
  calleeId: SocketAddress | null;
  /** lpCallerData; always null unless the provider has XP1_CONNECT_DATA. */
  callerData: Buffer | null;
  sqos: Qos | null;
  /** lpGQOS is reserved: always null. */
  gqos: null;
}

/** Called synchronously from inside WSAAccept. */
export type NativeCondition = (request: NativeRequest) => NativeVerdictCode | NativeVerdictWithData;

/** Receives a socket's events (held weakly unless the socket is busy). */
export interface NativeSocketOwner {
  /** The connect completed (0) or failed (a Winsock error number). */
  onConnect(errno: number): void;
  /** Received bytes (an ordinary Buffer). false: stop reading until readStart(). */
  onData(chunk: Buffer): boolean;
  /** The peer shut down gracefully; disconnect data where the provider carries it. */
  onEnd(disconnectData: Buffer | null): void;
  /** A receive failed (not reported after our own close). */
  onError(errno: number, syscall: string): void;
}

export interface NativeListenerOwner {
  /** A connection request may be pending: call accept() until WSAEWOULDBLOCK. */
  onAcceptable(): void;
  /**
   * acceptHeld() finished: the accepted socket, or a Winsock error number
   * (WSATRY_AGAIN: another caller is at the head, the held one left).
   */
  onAcceptHeld(result: NativeSocket | HandedOverSocket | number): void;
}

/** A connected (or connecting) socket. */
export interface NativeSocket {
  attach(owner: NativeSocketOwner): void;
  readStart(): void;
  readStop(): void;
  /**
   * One overlapped WSASend. true: the bytes were copied, the write is done
   * for JS and `callback` never runs (a later failure comes as onError).
   * false: `callback` runs at completion; `chunks` must not be mutated before.
   */
  write(chunks: Buffer[], callback: (errno: number) => void): boolean;
  /**
   * WSASendDisconnect once the copied sends completed; `callback(errno)` may
   * run before this returns. Throws WSAEOPNOTSUPP for data without
   * XP1_DISCONNECT_DATA, before anything is sent.
   */
  sendDisconnect(data: Buffer | null, callback: (errno: number) => void): void;
  /** WSARecvDisconnect, cached: still answers after close. */
  recvDisconnect(): Buffer | null;
  /** closesocket (graceful). */
  close(): void;
  /** closesocket with SO_LINGER {1,0}. */
  reset(): void;
  ref(): void;
  unref(): void;
  localAddress(): SocketAddress | null;
  remoteAddress(): SocketAddress | null;
  /** SO_PROTOCOL_INFOW of the socket. */
  protocol(): RawProtocolEntry;
  /** Callee data returned by WSAConnect (XP1_CONNECT_DATA providers only). */
  calleeData(): Buffer | null;
  /** setsockopt(TCP_NODELAY); on by default. */
  setNoDelay(enable: boolean): void;
  /** WSAIoctl(SIO_KEEPALIVE_VALS): first probe after initialDelayMs idle (0: the system default), then every second. */
  setKeepAlive(enable: boolean, initialDelayMs: number): void;
  /** TCP_NODELAY and SO_KEEPALIVE read back with getsockopt (tests, diagnostics). */
  options(): { noDelay: boolean; keepAlive: boolean };
  /**
   * Gives the connected SOCKET away (a socket connected with handOff): the
   * caller owns it now and must hand it to Node's TCP handle or closeSocket()
   * it. This object answers WSAENOTSOCK afterwards and never closes it.
   */
  detach(): number;
}

/** What accept(condition, true) returns: a SOCKET the caller owns, never on the addon's completion port. */
export interface HandedOverSocket {
  socket: number;
}

export function isHandedOver(value: NativeSocket | HandedOverSocket | number): value is HandedOverSocket {
  return typeof value === 'object' && typeof (value as Partial<HandedOverSocket>).socket === 'number';
}

/** A listening socket (WSASocketW + bind + listen + WSAEventSelect(FD_ACCEPT)). */
export interface NativeListener {
  start(owner: NativeListenerOwner): void;
  /**
   * WSAAccept once, on this thread: the accepted socket, or a Winsock error
   * number (WSAEWOULDBLOCK, WSATRY_AGAIN, WSAECONNREFUSED, WSAECONNRESET,
   * WSAEACCES, ...). Re-throws what `condition` threw. With `handOff` an
   * accepted socket comes as a SOCKET for Node's TCP handle instead.
   */
  accept(condition: NativeCondition, handOff?: boolean): NativeSocket | HandedOverSocket | number;
  /**
   * WSAAccept answering CF_ACCEPT for `callerId`, the deferred head, on a
   * native thread: under SO_CONDITIONAL_ACCEPT that call can wait for the
   * TCP handshake, which the JS thread must not (docs/windows.md). The
   * result comes to owner.onAcceptHeld. Call only after accept() answered
   * WSATRY_AGAIN for that caller, one at a time. With `handOff` the socket
   * comes as a SOCKET for Node's TCP handle, as from accept().
   */
  acceptHeld(callerId: SocketAddress, handOff?: boolean): void;
  close(): void;
  ref(): void;
  unref(): void;
  address(): SocketAddress | null;
  protocol(): RawProtocolEntry;
  /** SO_CONDITIONAL_ACCEPT was asked for and took. */
  conditionalAccept(): boolean;
}

/** Diagnostic counters of the data path (for benchmarks), since load. */
export interface NativeStats {
  recvCompletions: number;
  drainReads: number;
  recvBytes: number;
  copiedSends: number;
  copiedSendBytes: number;
  /** Thread-safe function calls into JS, and the events they carried. */
  batches: number;
  events: number;
  /** FD_ACCEPT / watchdog wake-ups of listeners, those queued for JS, those delivered. */
  acceptWakes: number;
  acceptPosted: number;
  acceptDelivered: number;
  /** Reads that found the receive budget spent (the socket waited); received bytes not yet taken by JS. */
  poolStarved: number;
  poolLentBytes: number;
}

export interface NativeAddon {
  stats(): NativeStats;
  /** Open SOCKETs (listeners and sockets) of this environment. */
  handleCount(): number;
  enumerateProtocols(): RawProtocolEntry[];
  /** ntdll's wine_get_version(); null on real Windows. */
  wineVersion(): string | null;
  /**
   * Numeric host only. owner.onConnect reports the result. With `handOff`
   * the socket is never put on the addon's completion port: once connected,
   * detach() gives it to the caller (for Node's TCP handle).
   */
  connect(owner: NativeSocketOwner, host: string, port: number, callerData: Buffer | null, sqos: Qos | null, maxCalleeData: number, handOff?: boolean): NativeSocket;
  /** A new TCP SOCKET (overlapped, non-inheritable, on no completion port) the caller owns: for Node's TCP handle to connect. */
  openSocket(family: 4 | 6): number;
  /** closesocket on a SOCKET the caller owns and nobody took (SO_LINGER {1,0} when abortive). */
  closeSocket(socket: number, abortive: boolean): void;
  /** WSASendDisconnect, no data, on a SOCKET Node's TCP handle owns (the caller checks the handle is open). */
  sendDisconnectSocket(socket: number): void;
  /** Two SOCKETs connected over 127.0.0.1, unassociated, and the port `a` is connected to: the self-test at load. */
  socketPair(): [number, number, number];
  /** TCP_NODELAY and SO_KEEPALIVE of a SOCKET Node's TCP handle owns, read back with getsockopt (tests, diagnostics). */
  socketOptions(socket: number): { noDelay: boolean; keepAlive: boolean };
  /** Numeric host only. */
  listen(host: string, port: number, backlog: number, conditional: boolean): NativeListener;
}

const EXPORTS: readonly (keyof NativeAddon)[] = [
  'stats', 'handleCount', 'enumerateProtocols', 'wineVersion', 'connect', 'listen', 'openSocket', 'closeSocket', 'sendDisconnectSocket', 'socketPair', 'socketOptions',
];

/** Checks that a loaded module has the exports this file declares. */
export function isNativeAddon(value: unknown): value is NativeAddon {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return EXPORTS.every((name) => typeof record[name] === 'function');
}
