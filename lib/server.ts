/**
 * WinsockServer: a listening socket whose connection requests pass through
 * WSAAccept's condition function — in JavaScript — before they are accepted.
 *
 * All accept policy lives here, once for every provider: blockList and
 * maxConnections first, then the user's condition; string, object and
 * Promise decisions; the head-of-backlog rule for deferred requests (the
 * provider offers nothing else until `retry()`); decision timeouts; and the
 * events that make every verdict observable.
 */
import { EventEmitter } from 'node:events';
import { BlockList } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ConditionVerdict, ListenerCallbacks, Provider, ProviderListener, RawRequest, SocketHandle } from './provider';
import type {
  Capabilities, ConditionFunction, ConnectionRequest, Decision, DecisionEvent, DecisionReason, ListenOptions, ProviderName, ServerOptions, SocketAddress, SocketMode,
} from './types';
import { DEFAULTS } from './types';
import { WinsockError } from './errors';
import { checkLimit } from './buffers';
import { describe, isThenable, normaliseDecision, reasonOf } from './decision';
import { PendingRequest } from './request';
import { resolveProvider } from './providers';
import { WinsockSocket } from './socket';
import { debug } from './debug';

const DEFER: ConditionVerdict = { action: 'defer' };
const REJECT: ConditionVerdict = { action: 'reject' };

/** A request that answered 'defer' (or a Promise) and waits at the head of the backlog. */
interface Deferral {
  readonly request: PendingRequest;
  deferrals: number;
  verdict: ConditionVerdict | null;
  reason: DecisionReason;
  timer: NodeJS.Timeout | null;
}

/** The events a {@link WinsockServer} emits, with their arguments. */
export interface WinsockServerEvents {
  /** `listen()` bound the socket and the server is accepting requests. */
  listening: [];
  /** A request was accepted: the connected socket now belongs to the application. */
  connection: [socket: WinsockSocket];
  /** A request got its verdict (every verdict, whatever decided it). */
  decision: [event: DecisionEvent];
  /** The condition function threw, returned something invalid, or its Promise rejected: that caller was refused. */
  conditionError: [error: WinsockError, request: ConnectionRequest];
  /** A caller left before its request was accepted (WSAECONNRESET or WSAEACCES, as WSAAccept reports it). */
  withdrawn: [request: ConnectionRequest, error: WinsockError];
  /** A malformed or hostile handshake; only that connection was dropped. */
  clientError: [error: WinsockError, remote: SocketAddress | null];
  /** The listening socket itself failed; emitted only when someone listens for it. */
  error: [error: WinsockError];
  /** `close()` finished: not listening any more, every pending request refused. */
  close: [];
}

/**
 * A listening socket whose connection requests pass through WSAAccept's
 * condition function, in JavaScript, before they are accepted. Made by
 * {@link createServer}.
 */
export class WinsockServer extends EventEmitter<WinsockServerEvents> implements AsyncIterable<WinsockSocket> {
  private readonly provider: Provider;
  private readonly condition: ConditionFunction | undefined;
  private readonly blockList: BlockList | undefined;
  private readonly maxConnections: number | undefined;
  private readonly backlog: number;
  private readonly handshakeTimeout: number;
  private readonly decisionTimeout: number;
  private readonly maxCallerData: number;
  private readonly maxCalleeData: number;
  private readonly maxDisconnectData: number;
  private readonly mode: SocketMode;

  private listener: ProviderListener | null = null;
  private listening = false;
  private closing: Promise<void> | null = null;
  private refed = true;
  private readonly deferred = new Map<RawRequest, Deferral>();
  private readonly sockets = new Set<WinsockSocket>();
  private readonly acceptQueue: WinsockSocket[] = [];
  private readonly acceptWaiters: { resolve(s: WinsockSocket | null): void }[] = [];
  /** Set by the first accept() / for await: from then on, sockets nobody awaits yet are queued for them. */
  private pulling = false;

  constructor(options: ServerOptions = {}, connectionListener?: (socket: WinsockSocket) => void) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new WinsockError('WSAEINVAL', 'WSASocket', { detail: 'createServer options must be an object' });
    }
    if (options.condition !== undefined && typeof options.condition !== 'function') {
      throw new WinsockError('WSAEINVAL', 'WSAAccept', { detail: 'condition must be a function' });
    }
    if (options.blockList !== undefined && !(options.blockList instanceof BlockList)) {
      throw new WinsockError('WSAEINVAL', 'WSAAccept', { detail: 'blockList must be a net.BlockList' });
    }
    if (options.mode !== undefined && options.mode !== 'stream' && options.mode !== 'message') {
      throw new WinsockError('WSAEINVAL', 'WSASocket', { detail: `mode must be 'stream' or 'message', not ${describe(options.mode)}` });
    }
    this.provider = resolveProvider(options.provider);
    this.condition = options.condition;
    this.blockList = options.blockList;
    this.maxConnections = options.maxConnections === undefined ? undefined
      : checkLimit(options.maxConnections, 'maxConnections', 0, 'listen');
    this.backlog = checkLimit(options.backlog, 'backlog', DEFAULTS.backlog, 'listen');
    if (this.backlog < 1) throw new WinsockError('WSAEINVAL', 'listen', { detail: 'backlog must be at least 1' });
    this.handshakeTimeout = checkLimit(options.handshakeTimeout, 'handshakeTimeout', DEFAULTS.handshakeTimeout, 'WSAAccept');
    this.decisionTimeout = checkLimit(options.decisionTimeout, 'decisionTimeout', DEFAULTS.decisionTimeout, 'WSAAccept');
    this.maxCallerData = checkLimit(options.maxCallerData, 'maxCallerData', DEFAULTS.maxCallerData, 'WSAAccept');
    this.maxCalleeData = checkLimit(options.maxCalleeData, 'maxCalleeData', DEFAULTS.maxCalleeData, 'WSAAccept');
    this.maxDisconnectData = checkLimit(options.maxDisconnectData, 'maxDisconnectData', DEFAULTS.maxDisconnectData, 'WSASendDisconnect');
    this.mode = options.mode ?? 'stream';
    if (connectionListener) this.on('connection', connectionListener);
  }

  /** The provider this server runs on. */
  get providerName(): ProviderName { return this.provider.name; }

  /** What the listening socket's provider can carry; available once `listen()` resolved. */
  get capabilities(): Capabilities {
    if (!this.listener) throw new WinsockError('WSAEINVAL', 'getsockopt', { detail: 'the server is not listening yet' });
    return this.listener.capabilities;
  }

  /** The bound address, or null before `listen()` resolved and after close. */
  address(): SocketAddress | null {
    return this.listener && this.listening ? { ...this.listener.address } : null;
  }

  /** Accepted sockets that are still open. */
  get connections(): number { return this.sockets.size; }

  /** Requests waiting for a deferred decision (0 or 1: the head of the backlog). */
  get pendingDecisions(): number { return this.deferred.size; }

  /** Binds and listens; resolves to the bound address. */
  async listen(options: ListenOptions = {}): Promise<SocketAddress> {
    if (this.listener || this.closing) throw new WinsockError('WSAEINVAL', 'listen', { detail: 'the server is already listening or closed' });
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new WinsockError('WSAEINVAL', 'bind', { detail: `port must be an integer 0-65535, not ${describe(port)}` });
    }
    const host = options.host ?? '0.0.0.0';
    if (typeof host !== 'string') throw new WinsockError('WSAEINVAL', 'bind', { detail: 'host must be a string' });
    const callbacks: ListenerCallbacks = {
      condition: (raw) => this.onCondition(raw),
      connection: (handle, raw) => this.onConnection(handle, raw),
      refused: (raw, reason) => this.emitDecision(new PendingRequest(raw, (r, d) => this.decideRequest(r, d)), 'reject', reason, 0),
      withdrawn: (raw, error) => this.onWithdrawn(raw, error),
      clientError: (error, remote) => this.emit('clientError', error, remote),
      error: (error) => this.onListenerError(error),
    };
    const listener = await this.provider.listen({
      host,
      port,
      backlog: this.backlog,
      conditional: this.condition !== undefined || this.blockList !== undefined || this.maxConnections !== undefined,
      handshakeTimeout: this.handshakeTimeout,
      maxCallerData: this.maxCallerData,
      maxCalleeData: this.maxCalleeData,
      maxDisconnectData: this.maxDisconnectData,
      mode: this.mode,
    }, callbacks);
    this.listener = listener;
    this.listening = true;
    if (!this.refed) listener.unref();
    debug('listening on %s:%d (%s)', listener.address.address, listener.address.port, this.provider.name);
    this.emit('listening');
    return { ...listener.address };
  }

  /**
   * Settles a request that was deferred with `'defer'`. Throws WSAEINVAL when
   * the request is not waiting for a decision (already decided, withdrawn, or
   * refused because the server closed).
   */
  decide(request: ConnectionRequest | { id: number }, decision: Decision): void {
    for (const deferral of this.deferred.values()) {
      if (deferral.request.id === request.id) {
        this.settle(deferral, decision);
        return;
      }
    }
    throw new WinsockError('WSAEINVAL', 'WSAAccept', { detail: `request ${request.id} is not waiting for a decision` });
  }

  private decideRequest(request: PendingRequest, decision: Decision): void {
    this.decide(request, decision);
  }

  /** Resolves the next accepted socket (pull style); rejects WSAENOTSOCK once the server has closed. */
  async accept(): Promise<WinsockSocket> {
    const socket = await this.nextSocket();
    if (!socket) throw new WinsockError('WSAENOTSOCK', 'WSAAccept', { detail: 'the server is closed' });
    return socket;
  }

  /** `for await (const socket of server)`: every accepted socket until the server closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<WinsockSocket> {
    for (;;) {
      const socket = await this.nextSocket();
      if (!socket) return;
      yield socket;
    }
  }

  private nextSocket(): Promise<WinsockSocket | null> {
    this.pulling = true;
    const queued = this.acceptQueue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closing || !this.listening && this.listener) return Promise.resolve(null);
    return new Promise((resolve) => this.acceptWaiters.push({ resolve }));
  }

  /**
   * Stops listening and refuses every queued or deferred request (callers see
   * WSAECONNREFUSED; on `emulated`, a reset after their connect resolved).
   * Accepted sockets stay open: they belong to the application.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const deferral of this.deferred.values()) {
      if (deferral.timer) clearTimeout(deferral.timer);
      this.emitDecision(deferral.request, 'reject', 'serverClose', deferral.deferrals);
    }
    this.deferred.clear();
    const listener = this.listener;
    this.listening = false;
    if (listener) await listener.close();
    for (const waiter of this.acceptWaiters.splice(0)) waiter.resolve(null);
    this.emit('close');
  }

  /** Keeps the process alive while the server listens (the default). */
  ref(): this {
    this.refed = true;
    this.listener?.ref();
    return this;
  }

  /** Lets the process exit while the server listens. */
  unref(): this {
    this.refed = false;
    this.listener?.unref();
    return this;
  }

  // ---- the condition function, as WSAAccept calls it ----

  private onCondition(raw: RawRequest): ConditionVerdict {
    const deferral = this.deferred.get(raw);
    if (deferral) {
      if (!deferral.verdict) {
        // Offered again before the decision: keep it at the head (CF_DEFER again).
        deferral.deferrals++;
        return DEFER;
      }
      this.deferred.delete(raw);
      if (deferral.timer) clearTimeout(deferral.timer);
      this.emitDecision(deferral.request, deferral.verdict.action === 'accept' ? 'accept' : 'reject', deferral.reason, deferral.deferrals);
      return deferral.verdict;
    }
    const request = new PendingRequest(raw, (r, d) => this.decideRequest(r, d));
    if (this.closing) return this.final(request, REJECT, 'serverClose');
    const family = raw.callerId.family === 'IPv6' ? 'ipv6' : 'ipv4';
    if (this.blockList?.check(raw.callerId.address, family)) return this.final(request, REJECT, 'blockList');
    if (this.maxConnections !== undefined && this.sockets.size >= this.maxConnections) {
      return this.final(request, REJECT, 'maxConnections');
    }
    if (!this.condition) return this.final(request, { action: 'accept', calleeData: null, qos: null }, 'no-condition');

    let result: unknown;
    try {
      result = this.condition(request);
    } catch (err) {
      return this.conditionFailed(request, new WinsockError('WSAEINVAL', 'WSAAccept', {
        detail: `the condition function threw: ${reasonOf(err)}`, cause: err,
      }), 0);
    }
    if (this.closing) {
      // The condition closed the server: the provider refuses this caller, so
      // report that, and start no deferral (nor its timer) on a closed server.
      if (isThenable(result)) adopt(result).then(undefined, () => undefined);
      return this.final(request, REJECT, 'serverClose');
    }
    if (isThenable(result)) {
      const deferralForPromise = this.startDeferral(request);
      adopt(result).then(
        (value) => this.settle(deferralForPromise, value),
        (err: unknown) => this.settleFailed(deferralForPromise, new WinsockError('WSAEINVAL', 'WSAAccept', {
          detail: `the condition function's promise rejected: ${reasonOf(err)}`, cause: err,
        })),
      );
      return DEFER;
    }
    const decision = normaliseDecision(result, this.listenerCapabilities(), this.maxCalleeData);
    if (decision.action === 'invalid') return this.conditionFailed(request, decision.error, 0);
    if (decision.action === 'defer') {
      this.startDeferral(request);
      return DEFER;
    }
    return this.final(request, decision, 'condition');
  }

  private listenerCapabilities(): Capabilities {
    return this.listener ? this.listener.capabilities : this.provider.capabilities(this.mode);
  }

  private final(request: PendingRequest, verdict: ConditionVerdict, reason: DecisionReason, deferrals = 0): ConditionVerdict {
    this.emitDecision(request, verdict.action === 'accept' ? 'accept' : 'reject', reason, deferrals);
    return verdict;
  }

  private conditionFailed(request: PendingRequest, error: WinsockError, deferrals: number): ConditionVerdict {
    this.emit('conditionError', error, request);
    return this.final(request, REJECT, 'conditionError', deferrals);
  }

  private startDeferral(request: PendingRequest): Deferral {
    const deferral: Deferral = { request, deferrals: 1, verdict: null, reason: 'condition', timer: null };
    this.deferred.set(request.raw, deferral);
    if (this.decisionTimeout > 0) {
      deferral.timer = setTimeout(() => {
        deferral.timer = null;
        this.settleFailed(deferral, new WinsockError('WSAETIMEDOUT', 'WSAAccept', {
          detail: `no decision within decisionTimeout (${this.decisionTimeout} ms)`,
        }), 'decisionTimeout');
      }, this.decisionTimeout);
    }
    return deferral;
  }

  /** A deferred decision arrived: store it and have the provider offer the request again. */
  private settle(deferral: Deferral, value: unknown): void {
    if (deferral.verdict || this.deferred.get(deferral.request.raw) !== deferral) return; // decided, withdrawn or closed
    const decision = normaliseDecision(value, this.listenerCapabilities(), this.maxCalleeData);
    if (decision.action === 'defer') return; // still undecided: wait for decide() or the timeout
    if (decision.action === 'invalid') {
      this.settleFailed(deferral, decision.error);
      return;
    }
    if (deferral.timer) clearTimeout(deferral.timer);
    deferral.timer = null;
    deferral.verdict = decision;
    deferral.reason = 'condition';
    this.listener?.retry();
  }

  private settleFailed(deferral: Deferral, error: WinsockError, reason: DecisionReason = 'conditionError'): void {
    if (deferral.verdict || this.deferred.get(deferral.request.raw) !== deferral) return;
    if (deferral.timer) clearTimeout(deferral.timer);
    deferral.timer = null;
    deferral.verdict = REJECT;
    deferral.reason = reason;
    this.emit('conditionError', error, deferral.request);
    this.listener?.retry();
  }

  private emitDecision(request: PendingRequest, verdict: 'accept' | 'reject', reason: DecisionReason, deferrals: number): void {
    const event: DecisionEvent = { request, verdict, reason, durationMs: performance.now() - request.offeredAt, deferrals };
    debug('decision %d %s:%d %s (%s, %d ms)', request.id, request.callerId.address, request.callerId.port, verdict, reason, event.durationMs.toFixed(2));
    this.emit('decision', event);
  }

  // ---- provider reports ----

  private onConnection(handle: SocketHandle, _raw: RawRequest): void {
    const socket = new WinsockSocket(handle, { mode: this.mode, maxDisconnectData: this.maxDisconnectData });
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.emit('connection', socket);
    const waiter = this.acceptWaiters.shift();
    if (waiter) waiter.resolve(socket);
    else if (this.pulling) this.acceptQueue.push(socket);
  }

  private onWithdrawn(raw: RawRequest, error: WinsockError): void {
    const deferral = this.deferred.get(raw);
    if (deferral) {
      if (deferral.timer) clearTimeout(deferral.timer);
      this.deferred.delete(raw);
    }
    const request = deferral?.request ?? new PendingRequest(raw, (r, d) => this.decideRequest(r, d));
    debug('withdrawn %d %s:%d %s', request.id, raw.callerId.address, raw.callerId.port, error.code);
    this.emit('withdrawn', request, error);
  }

  private onListenerError(error: WinsockError): void {
    debug('listener error %s', error.message);
    // SPEC: no event is emitted in a way that throws because nobody listens.
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/**
 * A Promise of a user's thenable. Unlike Promise.resolve, which reads
 * `constructor` synchronously and may throw, a resolve function turns every
 * failure to read the thenable into a rejection.
 */
function adopt(thenable: PromiseLike<Decision>): Promise<Decision> {
  return new Promise<Decision>((resolve) => resolve(thenable));
}

/** Creates a server; `connectionListener` is added as a `'connection'` listener. */
export function createServer(options?: ServerOptions, connectionListener?: (socket: WinsockSocket) => void): WinsockServer {
  return new WinsockServer(options, connectionListener);
}

/** The mode a server's sockets use. */
export type { SocketMode };
