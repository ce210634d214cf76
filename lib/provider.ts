/**
 * The provider interface: the seam between the public API (lib/server.ts,
 * lib/socket.ts) and an implementation (lib/native/, lib/emulated/, lib/framed/).
 *
 * It is shaped after WSAAccept itself, so every provider can be faithful:
 * the provider owns the queue of pending requests and offers only its head to
 * `ListenerCallbacks.condition`, synchronously, on the JavaScript thread. The
 * answer is a verdict; `'defer'` (CF_DEFER) leaves the request at the head and
 * offers nothing else until the facade calls `ProviderListener.retry()`, when
 * the provider offers the same request again (the same `RawRequest` object).
 * All policy (blockList, maxConnections, the user's condition, Promises,
 * decision timeouts, events) lives in the facade, once, for every provider.
 */
import type { Socket } from 'node:net';
import type { Capabilities, ProtocolInfo, ProviderName, Qos, SocketAddress, SocketMode } from './types';
import type { WinsockError } from './errors';

/** A pending connection request as a provider reports it. */
export interface RawRequest {
  readonly callerId: SocketAddress;
  readonly calleeId: SocketAddress;
  /** null when the caller sent none (and always null where connectData is false). */
  readonly callerData: Buffer | null;
  readonly sqos: Qos | null;
  readonly gqos: Qos | null;
}

/** The condition's answer, validated and normalised by the facade. */
export type ConditionVerdict =
  | { readonly action: 'accept'; readonly calleeData: Buffer | null; readonly qos: Qos | null }
  | { readonly action: 'reject' }
  | { readonly action: 'defer' };

/** Called by a provider's listener; every call happens on the JavaScript thread. */
export interface ListenerCallbacks {
  /**
   * The condition function of WSAAccept for the request at the head of the
   * backlog. Never throws. After `'defer'` the provider offers no other
   * request until `retry()`, then offers this same object again.
   */
  condition(request: RawRequest): ConditionVerdict;
  /** A request was accepted: the socket is connected and belongs to the facade now. */
  connection(connection: Connection, request: RawRequest): void;
  /**
   * The provider refused a request without offering it (backlog full; or
   * native's SYN retry of a caller rejected a moment ago); the caller has
   * been told WSAECONNREFUSED.
   */
  refused(request: RawRequest, reason: 'backlog' | 'rejectedRetry'): void;
  /**
   * A queued or deferred caller left before it was accepted. `error` is
   * WSAECONNRESET (the peer ended the request) or WSAEACCES (it was withdrawn),
   * as WSAAccept documents; the facade reports both as WSAECONNRESET (the
   * provider's error becomes its `cause`), one code for every provider.
   */
  withdrawn(request: RawRequest, error: WinsockError): void;
  /** A malformed or hostile handshake; only that connection was dropped. */
  clientError(error: WinsockError, remote: SocketAddress | null): void;
  /** The listener itself failed (the server is no longer accepting). */
  error(error: WinsockError): void;
}

export interface ProviderListenOptions {
  /** The address to bind; '' when the user gave none: bind what net binds (`::` dual-stack, else 0.0.0.0). */
  host: string;
  port: number;
  /** Queued requests beyond this are refused with WSAECONNREFUSED. */
  backlog: number;
  /** True when the user gave a condition, blockList or maxConnections: ask for SO_CONDITIONAL_ACCEPT. */
  conditional: boolean;
  handshakeTimeout: number;
  maxCallerData: number;
  maxCalleeData: number;
  maxDisconnectData: number;
  mode: SocketMode;
  /**
   * Called once, as soon as the address is bound (synchronously inside
   * listen() where the bind is synchronous, as node:net's is for an IP
   * literal), so `winsock2/net`'s `address()` works right after `listen()`.
   */
  onBound?: (address: SocketAddress) => void;
}

/** A listening socket of a provider. */
export interface ProviderListener {
  readonly address: SocketAddress;
  readonly capabilities: Capabilities;
  /** A deferred decision has settled: offer the head request again (WSAAccept again). */
  retry(): void;
  /**
   * Stop listening; refuse every queued or deferred request (the callers see
   * WSAECONNREFUSED). Resolves when that is done. Accepted sockets stay open.
   */
  close(): Promise<void>;
  ref(): void;
  unref(): void;
}

export interface ProviderConnectOptions {
  host: string;
  port: number;
  callerData: Buffer | null;
  sqos: Qos | null;
  gqos: Qos | null;
  /** The connect fails with WSAETIMEDOUT after this many ms (0 = none). */
  timeout: number;
  /** Aborting rejects with AbortError and withdraws the request. */
  signal: AbortSignal | null;
  maxCalleeData: number;
  maxDisconnectData: number;
  mode: SocketMode;
}

/** How a connected socket reports to the facade's Duplex. All calls on the JavaScript thread. */
export interface HandleReceiver {
  /**
   * Received bytes (one whole message in message mode). Returns false when the
   * readable side is full: the provider stops reading until `readStart()`.
   */
  onData(chunk: Buffer): boolean;
  /**
   * The peer shut down its sending side gracefully, after every byte it sent
   * was delivered. `disconnectData` is what it sent with the shutdown (null if none).
   */
  onEnd(disconnectData: Buffer | null): void;
  /** The connection failed (reset, abort). No onEnd follows. */
  onError(error: WinsockError): void;
}

/** A connected socket of a provider. */
export interface SocketHandle {
  readonly capabilities: Capabilities;
  readonly localAddress: SocketAddress;
  readonly remoteAddress: SocketAddress;
  /** Callee data the acceptor sent (client side); null when none. */
  readonly calleeData: Buffer | null;
  /** Caller data the client sent (server side); null when none. */
  readonly callerData: Buffer | null;
  /** The QOS the acceptor granted (both sides); absent or null when none. */
  readonly qos?: Qos | null;
  /**
   * TCP_NODELAY. Every handle starts with it ON (the one default the facade
   * assumes for every provider); the facade calls this only on a change.
   * Optional: without it the facade keeps the value and does nothing.
   */
  setNoDelay?(enable: boolean): void;
  /**
   * SO_KEEPALIVE, the first probe after `delayMs` (whole seconds, as net
   * rounds; 0 = the system's delay): SIO_KEEPALIVE_VALS on Windows. Handles
   * start with it off. Optional, as setNoDelay.
   */
  setKeepAlive?(enable: boolean, delayMs: number): void;
  /** Starts delivery; called once, before readStart(). */
  attach(receiver: HandleReceiver): void;
  /**
   * True when a readStart() now would deliver nothing before the loop's
   * next turn: no bytes, end or failure already held. The facade then
   * starts reading at once, as net.Socket does for a connected handle;
   * otherwise (or without this method) it starts on the next turn, so
   * whoever gets the socket from a promise can listen for 'end' and
   * 'error' first.
   */
  quiet?(): boolean;
  readStart(): void;
  readStop(): void;
  /**
   * Queues bytes for sending (in message mode each chunk is one message).
   * `callback` runs when the provider no longer needs the buffers.
   */
  write(chunks: readonly Buffer[], callback: (error: WinsockError | null) => void): void;
  /**
   * WSASendDisconnect: called by the facade only after every write callback
   * ran. Sends the disconnect data (already checked against the limit) and
   * shuts down the sending side.
   */
  sendDisconnect(data: Buffer | null): Promise<void>;
  /**
   * WSARecvDisconnect: called by the facade only after onEnd (or after the
   * socket closed); resolves the peer's disconnect data, null when none.
   */
  recvDisconnect(): Promise<Buffer | null>;
  /** closesocket, graceful: unsent data is dropped, the peer sees its end. */
  close(): void;
  /** closesocket with SO_LINGER {1,0}: the peer sees WSAECONNRESET. */
  reset(): void;
  /**
   * Calls `done` once the OS socket under the handle has closed, after
   * every write callback the close cut short (net emits 'close' then, from
   * libuv's close callback). Absent: the facade emits 'close' on the next
   * turn of the loop.
   */
  onClosed?(done: () => void): void;
  ref(): void;
  unref(): void;
  /** TCP_NODELAY, where the provider has a TCP socket of its own. Throws a WinsockError. */
  setNoDelay?(enable: boolean): void;
  /** TCP keep-alive after `initialDelayMs` idle (0: the system default). Throws a WinsockError. */
  setKeepAlive?(enable: boolean, initialDelayMs: number): void;
}

/**
 * A connection whose bytes ride Node's own `net.Socket` over Node's own TCP
 * handle: the emulated provider's, and native's once it handed its SOCKET to
 * libuv. The facade turns the socket itself into the public WinsockSocket
 * (no second stream layer).
 */
export interface NetConnection {
  /** The discriminant (a SocketHandle has none). */
  readonly kind: 'net';
  /** Node's own socket: connected, paused (not reading yet). */
  readonly socket: Socket;
  readonly capabilities: Capabilities;
  /** null on TCP/IP (it carries no connect data). */
  readonly callerData: Buffer | null;
  readonly calleeData: Buffer | null;
  readonly qos: Qos | null;
  /** Bytes read while the request waited in the queue (emulated): delivered first. */
  readonly early?: readonly Buffer[];
  /**
   * Winsock's graceful send shutdown where the provider has a call of its own
   * (native: WSASendDisconnect on the SOCKET it handed over). Called from the
   * socket's _final, after every write callback ran (every byte handed to the
   * kernel). Without it, net's own shutdown (uv_shutdown) runs. Throws a
   * WinsockError on failure. It is given the socket, so one function serves
   * every connection of a provider (and their Winsock state can be shared).
   */
  readonly sendDisconnect?: (socket: Socket) => void;
}

/** What a provider hands the facade for a connected socket. */
export type Connection = SocketHandle | NetConnection;

/** True for a connection that is Node's own net.Socket. */
export function isNetConnection(connection: Connection): connection is NetConnection {
  return (connection as Partial<NetConnection>).kind === 'net';
}

/** One implementation of the Winsock semantics. */
export interface Provider {
  readonly name: ProviderName;
  listen(options: ProviderListenOptions, callbacks: ListenerCallbacks): Promise<ProviderListener>;
  connect(options: ProviderConnectOptions): Promise<Connection>;
  enumerateProtocols(): ProtocolInfo[];
  /** Capabilities a socket of this provider will have (before any socket exists). */
  capabilities(mode: SocketMode): Capabilities;
  /** Open sockets owned by this provider (for leak checks in tests). */
  handleCount(): number;
}
