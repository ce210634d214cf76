/**
 * The public types of winsock2: what users pass in and get back, whichever
 * provider runs underneath.
 */
import type { BlockList } from 'node:net';

/**
 * Which implementation carries the sockets:
 * - `'native'`: Windows only, the real ws2_32 through the addon; plain TCP.
 * - `'emulated'`: every OS, Windows' TCP/IP provider over node:net; plain TCP,
 *   so it talks to any TCP peer. The condition decides after the kernel's
 *   handshake; no connect, disconnect or QOS data; stream sockets only.
 * - `'framed'`: every OS, winsock2's own framed protocol (both ends must use
 *   it); carries caller/callee data, disconnect data, QOS and message mode,
 *   and a connect completes only after the decision.
 */
export type ProviderName = 'native' | 'emulated' | 'framed';

/** `'auto'` picks `native` on win32 when the addon loads, else `emulated` (plain TCP on every OS). */
export type ProviderChoice = 'auto' | ProviderName;

/** Stream sockets (TCP semantics) or message sockets (boundaries kept). */
export type SocketMode = 'stream' | 'message';

/** An endpoint, as `lpCallerId` / `lpCalleeId` describe it. */
export interface SocketAddress {
  /** The IP address, e.g. `'127.0.0.1'` or `'::1'`. */
  address: string;
  /** The port number. */
  port: number;
  /** The address family. */
  family: 'IPv4' | 'IPv6';
}

/** One direction of a Winsock FLOWSPEC (all values as the structure holds them). */
export interface FlowSpec {
  /** TokenRate: bytes per second. */
  tokenRate: number;
  /** TokenBucketSize: bytes. */
  tokenBucketSize: number;
  /** PeakBandwidth: bytes per second. */
  peakBandwidth: number;
  /** Latency: microseconds. */
  latency: number;
  /** DelayVariation: microseconds. */
  delayVariation: number;
  /** ServiceType: SERVICETYPE_* value. */
  serviceType: number;
  /** MaxSduSize: bytes. */
  maxSduSize: number;
  /** MinimumPolicedSize: bytes. */
  minimumPolicedSize: number;
}

/** A Winsock QOS structure: sending and receiving flow specs and provider-specific bytes. */
export interface Qos {
  /** SendingFlowspec; null when absent. */
  sending: FlowSpec | null;
  /** ReceivingFlowspec; null when absent. */
  receiving: FlowSpec | null;
  /** ProviderSpecific bytes; null when none. */
  providerSpecific: Buffer | null;
}

/** What the condition function can answer (CF_ACCEPT, CF_REJECT, CF_DEFER). */
export type Verdict = 'accept' | 'reject' | 'defer';

/** An accept with data: callee data (and QOS) go back to the caller. */
export interface AcceptDecision {
  /** CF_ACCEPT. */
  action: 'accept';
  /** Callee data (lpCalleeData) sent back on accept; needs a provider with connectData. */
  calleeData?: Buffer | Uint8Array | string | null;
  /** QOS granted on accept (lpSQOS as the condition function fills it); the caller reads it as `socket.qos`. */
  qos?: Qos | null;
}

/** CF_REJECT as an object (nothing goes back to the caller). */
export interface RejectDecision {
  /** CF_REJECT. */
  action: 'reject';
}

/** CF_DEFER as an object: decide later with `request.decide()` / `server.decide()`. */
export interface DeferDecision {
  /** CF_DEFER. */
  action: 'defer';
}

/**
 * A decision as an object, discriminated by `action`: only an accept carries
 * callee data and QOS (`{ action: 'reject', calleeData }` does not compile).
 */
export type DecisionObject = AcceptDecision | RejectDecision | DeferDecision;

/** Anything the condition function may return. */
export type Decision = Verdict | DecisionObject;

/**
 * A connection request as the condition function sees it: the caller before
 * the connection is accepted.
 */
export interface ConnectionRequest {
  /** A number unique within this process, for logs and `server.decide`. */
  readonly id: number;
  /** The caller's address (lpCallerId). */
  readonly callerId: SocketAddress;
  /** The listening address the caller reached (lpCalleeId). */
  readonly calleeId: SocketAddress;
  /** Caller data sent with the connect (lpCallerData); null when none was sent. */
  readonly callerData: Buffer | null;
  /** The caller's socket QOS (lpSQOS); null when none. */
  readonly sqos: Qos | null;
  /** The caller's group QOS (lpGQOS, reserved); null when none. */
  readonly gqos: Qos | null;
  /** `performance.now()` when the request was first offered. */
  readonly offeredAt: number;
  /** Settles a request left pending by `'defer'` (the same as `server.decide(req, d)`). */
  decide(decision: Decision): void;
}

/** The condition function of WSAAccept, in JavaScript. */
export type ConditionFunction = (request: ConnectionRequest) => Decision | PromiseLike<Decision>;

/** Why a request got its verdict. */
export type DecisionReason =
  | 'condition' // the condition function decided
  | 'no-condition' // no condition function: every request is accepted
  | 'blockList' // refused by the server's blockList
  | 'maxConnections' // refused because maxConnections sockets are open
  | 'backlog' // refused because the backlog of queued requests was full
  | 'rejectedRetry' // native under SO_CONDITIONAL_ACCEPT: a rejected caller's SYN retry, refused again without asking
  | 'conditionError' // the condition threw or returned something invalid
  | 'decisionTimeout' // no decision within decisionTimeout
  | 'serverClose'; // the server closed while the request waited

/** The payload of the server's `'decision'` event. */
export interface DecisionEvent {
  /** The request that was decided. */
  request: ConnectionRequest;
  /** The final verdict. */
  verdict: 'accept' | 'reject';
  /** What decided it. */
  reason: DecisionReason;
  /** Milliseconds from the first offer to the verdict. */
  durationMs: number;
  /** How often the request was deferred before its verdict. */
  deferrals: number;
}

/** What a provider can carry, per socket or per server. */
export interface Capabilities {
  /** The provider that carries the socket. */
  provider: ProviderName;
  /** The provider's name, e.g. WSAPROTOCOL_INFO.szProtocol. */
  protocol: string;
  /** XP1_CONNECT_DATA: caller and callee data are carried. */
  connectData: boolean;
  /** XP1_DISCONNECT_DATA: disconnect data is carried. */
  disconnectData: boolean;
  /** XP1_QOS_SUPPORTED. */
  qos: boolean;
  /** XP1_GRACEFUL_CLOSE. */
  gracefulClose: boolean;
  /** XP1_MESSAGE_ORIENTED: message boundaries are kept. */
  messageOriented: boolean;
  /**
   * A caller's connect completes only after the condition decides: `native`
   * on Windows when SO_CONDITIONAL_ACCEPT took, and `framed`. False on
   * `emulated` (and `native` under Wine): the kernel completes the handshake
   * first and a refused caller is reset having received nothing.
   */
  conditionalAccept: boolean;
}

/** One installed protocol, as WSAEnumProtocolsW describes it. */
export interface ProtocolInfo {
  /** szProtocol. */
  name: string;
  /** iAddressFamily: AF_INET (2), AF_INET6 (23), ... */
  addressFamily: number;
  /** iSocketType: SOCK_STREAM (1), SOCK_SEQPACKET (5), ... */
  socketType: number;
  /** iProtocol: IPPROTO_TCP (6), ... */
  protocol: number;
  /** dwServiceFlags1, raw. */
  serviceFlags: number;
  /** XP1_CONNECT_DATA is set. */
  connectData: boolean;
  /** XP1_DISCONNECT_DATA is set. */
  disconnectData: boolean;
  /** XP1_QOS_SUPPORTED is set. */
  qos: boolean;
  /** XP1_GRACEFUL_CLOSE is set. */
  gracefulClose: boolean;
  /** XP1_MESSAGE_ORIENTED is set. */
  messageOriented: boolean;
}

/** The limits a server or socket enforces, in bytes. */
export interface DataLimits {
  /** Largest caller data accepted (default 65536); more is WSAEMSGSIZE. */
  maxCallerData?: number;
  /** Largest callee data accepted (default 65536); more is WSAEMSGSIZE. */
  maxCalleeData?: number;
  /** Largest disconnect data either way (default 65536); more is WSAEMSGSIZE. */
  maxDisconnectData?: number;
}

/** Options of {@link createServer}. */
export interface ServerOptions extends DataLimits {
  /** The provider (default `'auto'`, or WINSOCK2_PROVIDER). */
  provider?: ProviderChoice;
  /** Requests queued before the condition decides; beyond it callers get WSAECONNREFUSED. Default 128. */
  backlog?: number;
  /** WSAAccept's condition function; without it every request is accepted. */
  condition?: ConditionFunction;
  /** Callers whose address this list blocks are refused before the condition runs. */
  blockList?: BlockList;
  /** Callers beyond this many open accepted sockets are refused before the condition runs. */
  maxConnections?: number;
  /**
   * Milliseconds to receive a caller's request (the framed provider's hello)
   * before dropping it (default 10000). 0 means no timeout, as for every
   * timeout in this API. Providers with no handshake of their own (native,
   * emulated: the kernel's TCP handshake) do not use it.
   */
  handshakeTimeout?: number;
  /**
   * Milliseconds a deferred decision may take before it is rejected with
   * WSAETIMEDOUT (default 30000). 0 means no timeout, as for every timeout
   * in this API.
   */
  decisionTimeout?: number;
  /** Stream (default) or message sockets (`framed`; WSAESOCKTNOSUPPORT on the TCP/IP providers). */
  mode?: SocketMode;
  /**
   * As net's: false (the default) ends the local side when the peer ends
   * its (the peer's FIN closes the socket once everything is written).
   * true keeps Winsock's half-open rule: 'end' never closes the local
   * sending side, and the application still writes, `sendDisconnect`s or
   * `destroy`s (the seed scenario answers the peer's hang-up this way).
   */
  allowHalfOpen?: boolean;
}

/** Where {@link WinsockServer.listen} binds. */
export interface ListenOptions {
  /** The port; 0 (the default) picks a free one. */
  port?: number;
  /**
   * The address to bind. Without one, what net binds: `::` dual-stack where
   * the OS has IPv6, else `0.0.0.0` (native: `0.0.0.0`).
   */
  host?: string;
}

/** Options of {@link connect}. */
export interface ConnectOptions extends DataLimits {
  /** The server's address (default `'127.0.0.1'`). */
  host?: string;
  /** The server's port. */
  port: number;
  /**
   * The provider (default `'auto'`, or WINSOCK2_PROVIDER). `native` and
   * `emulated` speak plain TCP (to each other and to any TCP peer); `framed`
   * speaks only to a `framed` server.
   */
  provider?: ProviderChoice;
  /** Caller data (lpCallerData): needs a provider with connectData (`framed`); WSAEOPNOTSUPP elsewhere. */
  callerData?: Buffer | Uint8Array | string | null;
  /** Socket QOS (lpSQOS): `framed` only (WSAEOPNOTSUPP elsewhere). */
  sqos?: Qos | null;
  /** Group QOS (lpGQOS): `framed` only (WSAEOPNOTSUPP elsewhere). */
  gqos?: Qos | null;
  /** Aborting rejects with AbortError and withdraws a pending request. */
  signal?: AbortSignal;
  /**
   * Milliseconds until the connect (including a deferred decision) fails
   * with WSAETIMEDOUT. 0 (the default) means no timeout, as for every timeout
   * in this API.
   */
  timeout?: number;
  /** Stream (default) or message socket (`framed`); must match the server's. */
  mode?: SocketMode;
  /** As net's (default false): see {@link ServerOptions.allowHalfOpen}. */
  allowHalfOpen?: boolean;
}

/** Options of {@link enumerateProtocols}. */
export interface EnumerateProtocolsOptions {
  /** Whose protocols (default `'auto'`). */
  provider?: ProviderChoice;
}

/** The options' default values; exported so users and tests can read them. */
export const DEFAULTS = {
  /** Queued requests before callers are refused. */
  backlog: 128,
  /** Milliseconds to receive a caller's request. */
  handshakeTimeout: 10_000,
  /** Milliseconds a deferred decision may take. */
  decisionTimeout: 30_000,
  /** Bytes of caller data. */
  maxCallerData: 65_536,
  /** Bytes of callee data. */
  maxCalleeData: 65_536,
  /** Bytes of disconnect data, each way. */
  maxDisconnectData: 65_536,
} as const;
