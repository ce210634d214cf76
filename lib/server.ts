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
import type {
  ConditionVerdict,
  Connection,
  ListenerCallbacks,
  Provider,
  ProviderListener,
  RawRequest,
} from './provider';
import type {
  Capabilities,
  ConditionFunction,
  ConnectionRequest,
  Decision,
  DecisionEvent,
  DecisionReason,
  ListenOptions,
  ProviderName,
  ServerOptions,
  SocketAddress,
  SocketMode,
} from './types';
import { DEFAULTS } from './types';
import { WinsockError } from './errors';
import { checkKnownKeys, checkLimit, checkMode, checkPort } from './validation';
import { ACCEPT, DEFER, REJECT, isThenable, normaliseDecision, reasonOf } from './decision';
import { PendingRequest } from './request';
import { resolveProvider } from './providers';
import { kOwner, type ErrorStyle, type WinsockSocket } from './socket';
import { SocketFactory } from './make-socket';
import { debug, debugEnabled } from './debug';

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
  /**
   * A caller left before its request was accepted. The error is always
   * WSAECONNRESET, whichever provider ran (native's WSAEACCES for a withdrawn
   * request is its `cause`). Error first, as in `'conditionError'`.
   */
  withdrawn: [error: WinsockError, request: ConnectionRequest];
  /** A malformed or hostile handshake; only that connection was dropped. */
  clientError: [error: WinsockError, remote: SocketAddress | null];
  /** The listening socket itself failed; emitted only when someone listens for it. */
  error: [error: WinsockError];
  /** `close()` finished: not listening any more, every pending request refused. */
  close: [];
  /**
   * A caller was refused because `maxConnections` open sockets were reached
   * (as net.Server's 'drop'; emitted only when someone listens).
   */
  drop: [data: DropArgument];
}

/** What 'drop' reports, as net.Server's. */
export interface DropArgument {
  /** The address the caller reached. */
  localAddress: string;
  /** The port the caller reached. */
  localPort: number;
  /** `'IPv4'` or `'IPv6'`. */
  localFamily: string;
  /** The caller's address. */
  remoteAddress: string;
  /** The caller's port. */
  remotePort: number;
  /** `'IPv4'` or `'IPv6'`. */
  remoteFamily: string;
}

/** @internal How the server's sockets raise errors: winsock2/net makes its servers with 'net'. */
export const kErrorStyle: unique symbol = Symbol('winsock2.errorStyle');

/** @internal net's pauseOnConnect: accepted sockets are handed over not reading (winsock2/net passes it). */
export const kPauseOnConnect: unique symbol = Symbol('winsock2.pauseOnConnect');

/** @internal Options only winsock2/net passes. */
export interface InternalServerOptions extends ServerOptions {
  [kErrorStyle]?: ErrorStyle;
  [kPauseOnConnect]?: boolean;
}

const SERVER_OPTIONS: ReadonlySet<string> = new Set([
  'provider',
  'backlog',
  'condition',
  'blockList',
  'maxConnections',
  'handshakeTimeout',
  'decisionTimeout',
  'mode',
  'allowHalfOpen',
  'maxCallerData',
  'maxCalleeData',
  'maxDisconnectData',
]);
const LISTEN_OPTIONS: ReadonlySet<string> = new Set(['port', 'host']);

/** Where a server is in its life; `listen()` again after `'closed'` is allowed, as net.Server allows it. */
type ServerState = 'idle' | 'binding' | 'listening' | 'closing' | 'closed';

/**
 * The gate both faces share: the promise API's {@link WinsockServer} and
 * winsock2/net's `Server`. Everything but how `listen` and `close` are
 * called and reported lives here.
 */
export abstract class GateServer extends EventEmitter<WinsockServerEvents> implements AsyncIterable<WinsockSocket> {
  private readonly provider: Provider;
  private readonly condition: ConditionFunction | undefined;
  private readonly blockList: BlockList | undefined;
  private maxConnectionsLimit: number | undefined;
  private readonly backlog: number;
  private readonly handshakeTimeout: number;
  private readonly decisionTimeout: number;
  private readonly maxCallerData: number;
  private readonly maxCalleeData: number;
  private readonly maxDisconnectData: number;
  private readonly mode: SocketMode;
  private readonly sockets_: SocketFactory;
  /** The bound address as soon as the provider knows it (before listen() resolves where the bind is synchronous). */
  private boundAddress: SocketAddress | null = null;

  /** The listener of the current (or last) listen(); kept after close so `capabilities` stays readable. */
  private listener: ProviderListener | null = null;
  private state: ServerState = 'idle';
  protected closing: Promise<void> | null = null;
  /** The provider's listen() in flight, so close() during listen() can wait for it and close what it bound. */
  private binding: Promise<ProviderListener> | null = null;
  private refed = true;
  private readonly deferred = new Map<RawRequest, Deferral>();
  /** Accepted sockets still open (each counted until its 'close', by one shared listener). */
  private openSockets = 0;
  /** Sockets for the next accept(): only those no 'connection' listener took (see onConnection). */
  private readonly acceptQueue: WinsockSocket[] = [];
  private readonly acceptWaiters: { resolve(s: WinsockSocket | null): void }[] = [];
  /** The 'error' listener each queued socket carries until accept() takes it. */
  private readonly queuedErrorListeners = new WeakMap<WinsockSocket, () => void>();

  constructor(options: ServerOptions = {}, connectionListener?: (socket: WinsockSocket) => void) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new WinsockError('WSAEINVAL', 'WSASocket', { detail: 'createServer options must be an object' });
    }
    const errorStyle = (options as InternalServerOptions)[kErrorStyle] ?? 'winsock';
    // winsock2/net passes net's options through; the promise API knows its own and refuses the rest.
    if (errorStyle === 'winsock') checkKnownKeys(options, SERVER_OPTIONS, 'createServer', 'WSASocket');
    if (options.condition !== undefined && typeof options.condition !== 'function') {
      throw new WinsockError('WSAEINVAL', 'WSAAccept', { detail: 'condition must be a function' });
    }
    if (options.blockList !== undefined && !(options.blockList instanceof BlockList)) {
      throw new WinsockError('WSAEINVAL', 'WSAAccept', { detail: 'blockList must be a net.BlockList' });
    }
    const mode = checkMode(options.mode, 'WSASocket');
    this.provider = resolveProvider(options.provider);
    this.condition = options.condition;
    this.blockList = options.blockList;
    this.maxConnectionsLimit =
      options.maxConnections === undefined
        ? undefined
        : checkLimit(options.maxConnections, 'maxConnections', 0, 'listen');
    this.backlog = checkLimit(options.backlog, 'backlog', DEFAULTS.backlog, 'listen');
    if (this.backlog < 1) throw new WinsockError('WSAEINVAL', 'listen', { detail: 'backlog must be at least 1' });
    this.handshakeTimeout = checkLimit(
      options.handshakeTimeout,
      'handshakeTimeout',
      DEFAULTS.handshakeTimeout,
      'WSAAccept',
    );
    this.decisionTimeout = checkLimit(
      options.decisionTimeout,
      'decisionTimeout',
      DEFAULTS.decisionTimeout,
      'WSAAccept',
    );
    this.maxCallerData = checkLimit(options.maxCallerData, 'maxCallerData', DEFAULTS.maxCallerData, 'WSAAccept');
    this.maxCalleeData = checkLimit(options.maxCalleeData, 'maxCalleeData', DEFAULTS.maxCalleeData, 'WSAAccept');
    this.maxDisconnectData = checkLimit(
      options.maxDisconnectData,
      'maxDisconnectData',
      DEFAULTS.maxDisconnectData,
      'WSASendDisconnect',
    );
    this.mode = mode;
    this.sockets_ = new SocketFactory({
      mode,
      maxDisconnectData: this.maxDisconnectData,
      allowHalfOpen: options.allowHalfOpen === true,
      errors: errorStyle,
      pauseOnConnect: (options as InternalServerOptions)[kPauseOnConnect] === true,
    });
    if (connectionListener) this.on('connection', connectionListener);
  }

  /** The provider this server runs on. */
  get providerName(): ProviderName {
    return this.provider.name;
  }

  /** What the listening socket's provider can carry; available once `listen()` resolved. */
  get capabilities(): Capabilities {
    if (!this.listener)
      throw new WinsockError('WSAEINVAL', 'getsockopt', { detail: 'the server is not listening yet' });
    return this.listener.capabilities;
  }

  /**
   * The bound address, as `net.Server.address()` gives it (`{ address, family,
   * port }`, an `AddressInfo`), or null before `listen()` resolved and after close.
   */
  address(): SocketAddress | null {
    if (this.listener && this.state === 'listening') return { ...this.listener.address };
    // Bound but listen() not resolved yet (net gives the address right after listen() too).
    return this.state === 'binding' && this.boundAddress !== null ? { ...this.boundAddress } : null;
  }

  /** True between `listen()` resolving and `close()` (as `net.Server.listening`). */
  get listening(): boolean {
    return this.state === 'listening';
  }

  /**
   * Callers beyond this many open accepted sockets are refused before the
   * condition runs; undefined when unlimited. Settable, as on net.Server
   * (a new limit applies to the next request).
   */
  get maxConnections(): number | undefined {
    return this.maxConnectionsLimit;
  }
  /** Sets the limit; it applies from the next request (undefined: no limit). */
  set maxConnections(value: number | undefined) {
    this.maxConnectionsLimit = value === undefined ? undefined : checkLimit(value, 'maxConnections', 0, 'listen');
  }

  /** Accepted sockets that are still open. */
  get connections(): number {
    return this.openSockets;
  }

  /** `net.Server.getConnections()`: the number of open accepted sockets, to a callback (asynchronously, as net does). */
  getConnections(callback: (error: Error | null, count: number) => void): this {
    if (typeof callback !== 'function')
      throw new WinsockError('WSAEINVAL', 'getConnections', { detail: 'callback must be a function' });
    const count = this.openSockets;
    process.nextTick(callback, null, count);
    return this;
  }

  /** Requests waiting for a deferred decision (0 or 1: the head of the backlog). */
  get pendingDecisions(): number {
    return this.deferred.size;
  }

  /**
   * Binds and listens; resolves to the bound address. One listen at a time:
   * while a `listen()` is pending or the server listens, another rejects
   * WSAEINVAL. After `close()` resolved the server may listen again. A
   * `close()` while `listen()` is pending closes what it bound, and that
   * `listen()` rejects WSAEINTR.
   */
  protected async listenCore(options: ListenOptions): Promise<SocketAddress> {
    if (this.state !== 'idle' && this.state !== 'closed') {
      throw new WinsockError('WSAEINVAL', 'listen', {
        detail:
          this.state === 'binding'
            ? 'a listen() is already in progress'
            : this.state === 'listening'
              ? 'the server is already listening'
              : 'the server is closing',
      });
    }
    const port = checkPort(options.port ?? 0, 'bind');
    const host = options.host ?? '';
    if (typeof host !== 'string') throw new WinsockError('WSAEINVAL', 'bind', { detail: 'host must be a string' });
    const callbacks: ListenerCallbacks = {
      condition: (raw) => this.onCondition(raw),
      connection: (handle, raw) => this.onConnection(handle, raw),
      refused: (raw, reason) => this.emitDecision(new PendingRequest(raw, this), 'reject', reason, 0),
      withdrawn: (raw, error) => this.onWithdrawn(raw, error),
      clientError: (error, remote) => this.emit('clientError', error, remote),
      error: (error) => this.onListenerError(error),
    };
    this.state = 'binding';
    this.closing = null;
    this.boundAddress = null;
    const binding = this.provider.listen(
      {
        host,
        port,
        backlog: this.backlog,
        conditional:
          this.condition !== undefined || this.blockList !== undefined || this.maxConnectionsLimit !== undefined,
        handshakeTimeout: this.handshakeTimeout,
        maxCallerData: this.maxCallerData,
        maxCalleeData: this.maxCalleeData,
        maxDisconnectData: this.maxDisconnectData,
        mode: this.mode,
        onBound: (address) => {
          this.boundAddress = address;
        },
      },
      callbacks,
    );
    this.binding = binding;
    let listener: ProviderListener;
    try {
      listener = await binding;
    } catch (err) {
      this.binding = null;
      if (this.state === 'binding') this.state = 'idle';
      throw err;
    }
    this.binding = null;
    if (this.state !== 'binding') {
      // close() was called meanwhile: it closes this listener (it awaited `binding` too).
      throw new WinsockError('WSAEINTR', 'listen', { detail: 'close() was called before listen() completed' });
    }
    this.listener = listener;
    this.state = 'listening';
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

  /**
   * Resolves the next accepted socket (pull style); rejects WSAEINVAL before
   * `listen()` was called (WSAAccept on a socket that is not listening), and
   * WSAENOTSOCK once the server has closed. A socket has one owner: a pending accept() gets it
   * (no `'connection'` event then); with none pending, the `'connection'`
   * listeners get it; only with neither does it wait for the next accept().
   */
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
    if (this.state === 'idle') {
      // WSAAccept's page: WSAEINVAL when listen was not invoked before (probe 11, not_listening).
      return Promise.reject(
        new WinsockError('WSAEINVAL', 'WSAAccept', { detail: 'listen() was not called before accept()' }),
      );
    }
    const queued = this.acceptQueue.shift();
    if (queued) {
      const dropOnError = this.queuedErrorListeners.get(queued);
      this.queuedErrorListeners.delete(queued);
      if (dropOnError) queued.off('error', dropOnError);
      return Promise.resolve(queued);
    }
    if (this.state === 'closing' || this.state === 'closed') return Promise.resolve(null);
    return new Promise((resolve) => this.acceptWaiters.push({ resolve }));
  }

  /**
   * Stops listening and refuses every queued or deferred request (callers see
   * WSAECONNREFUSED; on `emulated`, a reset after their connect resolved).
   * Accepted sockets stay open. Called while `listen()` is pending, it waits
   * for the bind and closes it. Emits nothing: each face says when 'close' is.
   */
  protected closeCore(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.doClose();
    return this.closing;
  }

  /** True while a listen() is binding or the server listens: what close() has to stop. */
  protected get running(): boolean {
    return this.state === 'binding' || this.state === 'listening';
  }

  /** A close() in progress (its promise), or null: winsock2/net's listen() waits for it, as net's can follow close(). */
  protected get closeInProgress(): Promise<void> | null {
    return this.state === 'closing' ? this.closing : null;
  }

  /** Called after an accepted socket closed (winsock2/net's close waits for the last). */
  protected socketClosed(): void {}

  /** @internal An accepted socket closed. */
  forget(): void {
    this.openSockets--;
    this.socketClosed();
  }

  private async doClose(): Promise<void> {
    const binding = this.state === 'binding' ? this.binding : null;
    const wasListening = this.state === 'listening';
    this.state = 'closing';
    for (const deferral of this.deferred.values()) {
      if (deferral.timer) clearTimeout(deferral.timer);
      this.emitDecision(deferral.request, 'reject', 'serverClose', deferral.deferrals);
    }
    this.deferred.clear();
    if (binding) {
      // The bind completes whatever we do: close what it bound (listen() rejects WSAEINTR).
      const bound = await binding.then(
        (l) => l,
        () => null,
      );
      if (bound) await bound.close();
    } else if (wasListening && this.listener) {
      await this.listener.close();
    }
    this.state = 'closed';
    for (const waiter of this.acceptWaiters.splice(0)) waiter.resolve(null);
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
      this.emitDecision(
        deferral.request,
        deferral.verdict.action === 'accept' ? 'accept' : 'reject',
        deferral.reason,
        deferral.deferrals,
      );
      return deferral.verdict;
    }
    const request = new PendingRequest(raw, this);
    if (this.state !== 'listening') return this.final(request, REJECT, 'serverClose');
    const family = raw.callerId.family === 'IPv6' ? 'ipv6' : 'ipv4';
    if (this.blockList?.check(raw.callerId.address, family)) return this.final(request, REJECT, 'blockList');
    if (this.maxConnectionsLimit !== undefined && this.openSockets >= this.maxConnectionsLimit) {
      this.emitDrop(raw);
      return this.final(request, REJECT, 'maxConnections');
    }
    if (!this.condition) return this.final(request, ACCEPT, 'no-condition');

    let result: unknown;
    try {
      result = this.condition(request);
    } catch (err) {
      return this.conditionFailed(
        request,
        new WinsockError('WSAEINVAL', 'WSAAccept', {
          detail: `the condition function threw: ${reasonOf(err)}`,
          cause: err,
        }),
        0,
      );
    }
    if (this.state !== 'listening') {
      // The condition closed the server: the provider refuses this caller, so
      // report that, and start no deferral (nor its timer) on a closed server.
      if (isThenable(result)) adopt(result).then(undefined, () => undefined);
      return this.final(request, REJECT, 'serverClose');
    }
    if (isThenable(result)) {
      const deferralForPromise = this.startDeferral(request);
      adopt(result).then(
        (value) => this.settle(deferralForPromise, value),
        (err: unknown) =>
          this.settleFailed(
            deferralForPromise,
            new WinsockError('WSAEINVAL', 'WSAAccept', {
              detail: `the condition function's promise rejected: ${reasonOf(err)}`,
              cause: err,
            }),
          ),
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

  private final(
    request: PendingRequest,
    verdict: ConditionVerdict,
    reason: DecisionReason,
    deferrals = 0,
  ): ConditionVerdict {
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
        this.settleFailed(
          deferral,
          new WinsockError('WSAETIMEDOUT', 'WSAAccept', {
            detail: `no decision within decisionTimeout (${this.decisionTimeout} ms)`,
          }),
          'decisionTimeout',
        );
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

  private emitDecision(
    request: PendingRequest,
    verdict: 'accept' | 'reject',
    reason: DecisionReason,
    deferrals: number,
  ): void {
    // Once per connection: built only when someone listens or debug output is on.
    if (!debugEnabled && this.listenerCount('decision') === 0) return;
    const event: DecisionEvent = {
      request,
      verdict,
      reason,
      durationMs: performance.now() - request.offeredAt,
      deferrals,
    };
    debug(
      'decision %d %s:%d %s (%s, %d ms)',
      request.id,
      request.callerId.address,
      request.callerId.port,
      verdict,
      reason,
      event.durationMs.toFixed(2),
    );
    this.emit('decision', event);
  }

  // ---- provider reports ----

  /**
   * Who owns an accepted socket, exactly one of:
   * 1. a pending `accept()` (or `for await` step), the oldest first: it gets
   *    the socket, and `'connection'` is not emitted for it;
   * 2. else the `'connection'` listeners, when there are any;
   * 3. else the queue for the next `accept()` (it holds only sockets nobody
   *    took, and drops any that close while they wait).
   */
  private onConnection(connection: Connection, _raw: RawRequest): void {
    const socket = this.sockets_.make(connection);
    this.openSockets++;
    // Counted out by the socket's destroy() (WinsockSocket), which every
    // close goes through: no 'close' listener per connection (an idle
    // connection's listener array costs more than the count).
    (socket as OwnedSocket)[kOwner] = this;
    const waiter = this.acceptWaiters.shift();
    if (waiter) {
      waiter.resolve(socket);
    } else if (this.listenerCount('connection') > 0) {
      this.emit('connection', socket);
    } else {
      // Until accept() takes it, a failure closes it (nobody could listen for its 'error' yet).
      const dropOnError = (): void => {
        socket.destroy();
      };
      socket.on('error', dropOnError);
      socket.once('close', () => {
        const at = this.acceptQueue.indexOf(socket);
        if (at >= 0) this.acceptQueue.splice(at, 1);
      });
      this.acceptQueue.push(socket);
      this.queuedErrorListeners.set(socket, dropOnError);
    }
  }

  private onWithdrawn(raw: RawRequest, reported: WinsockError): void {
    // One code for every provider: native reports a withdrawn request as WSAEACCES, the others as WSAECONNRESET.
    const error =
      reported.code === 'WSAECONNRESET'
        ? reported
        : new WinsockError('WSAECONNRESET', 'WSAAccept', {
            detail: 'the caller left before its request was accepted',
            cause: reported,
          });
    const deferral = this.deferred.get(raw);
    if (deferral) {
      if (deferral.timer) clearTimeout(deferral.timer);
      this.deferred.delete(raw);
    }
    const request = deferral?.request ?? new PendingRequest(raw, this);
    debug('withdrawn %d %s:%d %s', request.id, raw.callerId.address, raw.callerId.port, error.code);
    this.emit('withdrawn', error, request);
  }

  private emitDrop(raw: RawRequest): void {
    if (this.listenerCount('drop') === 0) return;
    const { calleeId: local, callerId: remote } = raw;
    this.emit('drop', {
      localAddress: local.address,
      localPort: local.port,
      localFamily: local.family,
      remoteAddress: remote.address,
      remotePort: remote.port,
      remoteFamily: remote.family,
    });
  }

  private onListenerError(error: WinsockError): void {
    debug('listener error %s', error.message);
    // SPEC: no event is emitted in a way that throws because nobody listens.
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

type OwnedSocket = WinsockSocket & { [kOwner]?: GateServer | undefined };

/**
 * A listening socket whose connection requests pass through WSAAccept's
 * condition function, in JavaScript, before they are accepted. Made by
 * {@link createServer}.
 */
export class WinsockServer extends GateServer {
  /**
   * Binds and listens; resolves to the bound address. One listen at a time:
   * while a `listen()` is pending or the server listens, another rejects
   * WSAEINVAL. After `close()` resolved the server may listen again. A
   * `close()` while `listen()` is pending closes what it bound, and that
   * `listen()` rejects WSAEINTR. Without a host it binds what net binds
   * (`::` dual-stack where the OS has IPv6). Unknown options are WSAEINVAL.
   */
  listen(options?: ListenOptions): Promise<SocketAddress>;
  /** net's positional form: `listen(port, host)` binds `host` (never every interface instead). */
  listen(port: number, host?: string): Promise<SocketAddress>;
  listen(first: ListenOptions | number = {}, second?: string): Promise<SocketAddress> {
    try {
      return this.listenCore(listenOptionsOf(first, second));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Stops listening and refuses every queued or deferred request (callers see
   * WSAECONNREFUSED; on `emulated`, a reset after their connect resolved),
   * then emits 'close'. Accepted sockets stay open: they belong to the
   * application. Called while `listen()` is pending, it waits for the bind
   * and closes it. A second call returns the first one's promise.
   */
  close(): Promise<void> {
    const first = this.closing === null;
    const closed = this.closeCore();
    if (first)
      void closed.then(() => {
        this.emit('close');
      });
    return closed;
  }

  /** `await using server = createServer()`: closes the server (as net.Server's Symbol.asyncDispose). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** listen()'s arguments as options: the object form (unknown keys refused) or net's positional `(port, host)`. */
function listenOptionsOf(first: ListenOptions | number | undefined, second: string | undefined): ListenOptions {
  if (typeof first === 'number') {
    if (second !== undefined && typeof second !== 'string') {
      throw new WinsockError('WSAEINVAL', 'bind', { detail: 'listen(port, host): host must be a string' });
    }
    return second === undefined ? { port: first } : { port: first, host: second };
  }
  if (first === undefined || first === null) return {};
  if (typeof first !== 'object')
    throw new WinsockError('WSAEINVAL', 'bind', { detail: 'listen() takes { port, host } or (port, host)' });
  if (second !== undefined)
    throw new WinsockError('WSAEINVAL', 'bind', { detail: 'listen(options) takes no second argument' });
  checkKnownKeys(first, LISTEN_OPTIONS, 'listen', 'bind');
  return first;
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
export function createServer(
  options?: ServerOptions,
  connectionListener?: (socket: WinsockSocket) => void,
): WinsockServer {
  return new WinsockServer(options, connectionListener);
}

/** The mode a server's sockets use. */
export type { SocketMode };
