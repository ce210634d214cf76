/**
 * The framed listening socket: WSAAccept's queue over node:net.
 *
 * Every TCP connection is first a handshake (waiting for its hello, bounded
 * in number and in time), then a queued request, then either an open handle
 * (accepted) or a refused socket that lingers only until the caller has read
 * its verdict. Only the head of the queue is ever offered to the condition;
 * after 'defer' nothing is offered until retry(), as CF_DEFER works.
 *
 * What a connection costs is kept to what the design needs: one handle from
 * the first byte (its four socket listeners serve the handshake, then the
 * data path), one small record for the handshake, the peer's address read
 * once, a hello that arrives in one chunk decoded by the listener's one
 * decoder, and one timer per listener for every handshake deadline (the
 * deadlines fall in arrival order, since handshakeTimeout is the listener's).
 */
import type { Server, Socket } from 'node:net';
import { debug } from '../debug';
import { WinsockError, WSA_ERRORS } from '../errors';
import type {
  ConditionVerdict,
  ListenerCallbacks,
  ProviderListener,
  ProviderListenOptions,
  RawRequest,
} from '../provider';
import type { Capabilities, SocketAddress } from '../types';
import { abortSocket, remoteOf, socketAddress } from '../tcp/sockets';
import {
  encodeVerdict,
  HelloDecoder,
  VERDICT_START_SIZE,
  violationError,
  type HelloLimits,
  type PreambleStep,
  type Hello,
} from './frames';
import { FramedHandle, IGNORE_EVENTS, type Handshake } from './handle';
import { framedCapabilities } from './protocols';
import { listenServer, type BoundServer } from '../tcp/listen';
import { Backlog } from '../tcp/backlog';
import type { HandleTracker } from '../tcp/tracker';

export interface ListenerDeps {
  readonly createServer: () => Server;
  readonly tracker: HandleTracker;
  /** Connections allowed in the handshake (before their hello is complete) at once. */
  readonly maxHandshakes: number;
  /** How long a refused socket waits for the caller to read its verdict and hang up. */
  readonly lingerMs: number;
  /** The kernel's listen backlog (not the `backlog` option: a small one drops SYNs in bursts). */
  readonly kernelBacklog: number;
  readonly maxFramePayload: number;
}

type Phase = 'hello' | 'queued' | 'done';

/**
 * One TCP connection from its arrival until it is accepted, refused or gone:
 * the handshake its handle's socket events go to meanwhile.
 */
class Pending implements Handshake {
  phase: Phase = 'hello';
  request: RawRequest | null = null;
  /** Bytes of the verdict already sent: its start goes out as soon as a decision is not immediate (VERDICT_START). */
  answered = 0;
  /** Only for a hello split over chunks; one that arrives whole is decoded by the listener's decoder. */
  decoder: HelloDecoder | null = null;
  readonly handle: FramedHandle;

  constructor(
    private readonly listener: FramedListener,
    readonly socket: Socket,
    readonly remote: SocketAddress | null,
    /** performance.now() by which the hello must be complete. */
    readonly deadline: number,
    settings: {
      mode: 'stream' | 'message';
      maxDisconnectData: number;
      maxFramePayload: number;
      tracker: HandleTracker;
    },
  ) {
    this.handle = new FramedHandle({ socket, ...settings }, this);
  }

  /** Bytes of the hello received so far (for diagnostics). */
  get received(): number {
    return this.decoder ? this.decoder.received : 0;
  }

  data(chunk: Buffer): void {
    this.listener.handshakeData(this, chunk);
  }
  end(): void {
    this.listener.handshakeGone(this, null);
  }
  error(err: Error): void {
    this.listener.handshakeGone(this, err);
  }
  close(): void {
    this.listener.handshakeGone(this, null);
  }
}

/** A refused socket waiting for its caller to read the verdict and hang up. */
class Lingering implements Handshake {
  constructor(
    private readonly socket: Socket,
    private readonly timer: NodeJS.Timeout,
    private readonly done: (socket: Socket) => void,
  ) {}
  data(): void {}
  end(): void {
    this.socket.destroy();
  }
  error(): void {}
  close(): void {
    clearTimeout(this.timer);
    this.done(this.socket);
  }
}

const REFUSED = WSA_ERRORS.WSAECONNREFUSED;
/** The verdict of every accept without callee data or QOS: encoded once (node:net never writes into it). */
const PLAIN_ACCEPT = encodeVerdict({ accept: true, errno: 0, calleeData: null, qos: null });
/**
 * The verdict's first bytes (magic and version), sent at once for a request
 * whose decision is not immediate (deferred, or queued behind one): a caller
 * then knows within its answer timeout that it talks to winsock2's framed
 * protocol, however long the decision takes (docs/protocol.md, "Verdict").
 */
const VERDICT_START = PLAIN_ACCEPT.subarray(0, VERDICT_START_SIZE);

/**
 * Drops a connection that broke the protocol (or came in a flood) with a
 * reset: the peer learns at once (a FIN would leave a half-open peer waiting)
 * and the server keeps no TIME_WAIT state for it.
 */
const abort = abortSocket;

export class FramedListener implements ProviderListener {
  readonly address: SocketAddress;
  readonly capabilities: Capabilities;

  /** Connections in their handshake, in arrival order, which is their deadlines' order. */
  private readonly handshakes = new Set<Pending>();
  /** The one timer for every handshake deadline: armed for the oldest. */
  private deadlineTimer: NodeJS.Timeout | null = null;
  /** Decodes every hello that arrives in one chunk (most): no decoder per connection. */
  private readonly helloDecoder: HelloDecoder;
  private readonly helloLimits: HelloLimits;
  private readonly handleSettings: {
    mode: 'stream' | 'message';
    maxDisconnectData: number;
    maxFramePayload: number;
    tracker: HandleTracker;
  };
  private readonly backlog: Backlog<Pending> = new Backlog<Pending>({
    condition: (entry) => this.callbacks.condition(entry.request as RawRequest),
    closed: () => this.closing !== null,
    decided: (entry, verdict) => this.decide(entry, verdict),
  });
  /** Refused sockets still delivering their verdict. */
  private readonly lingering = new Set<Socket>();
  private closing: Promise<void> | null = null;
  private readonly server: Server;
  private releaseServer: (() => void) | null;
  /**
   * The local endpoint of every accepted socket when the listener is bound to
   * one address (not a wildcard): calleeId without a getsockname per connection.
   */
  private readonly boundLocal: SocketAddress | null;

  private constructor(
    bound: BoundServer,
    private readonly options: ProviderListenOptions,
    private readonly callbacks: ListenerCallbacks,
    private readonly deps: ListenerDeps,
    release: () => void,
  ) {
    this.releaseServer = release;
    this.capabilities = framedCapabilities(options.mode);
    this.helloLimits = { maxCallerData: options.maxCallerData };
    this.helloDecoder = new HelloDecoder(this.helloLimits);
    this.handleSettings = {
      mode: options.mode,
      maxDisconnectData: options.maxDisconnectData,
      maxFramePayload: deps.maxFramePayload,
      tracker: deps.tracker,
    };
    const { server } = bound;
    this.server = server;
    this.address = bound.address;
    // Frozen and shared by every request's calleeId: no copy per connection.
    this.boundLocal = bound.boundLocal ? Object.freeze({ ...bound.boundLocal }) : null;
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    server.on('error', (err: Error) => {
      if (this.closing) return;
      callbacks.error(WinsockError.fromNodeError(err, 'WSAAccept'));
    });
  }

  static async listen(
    options: ProviderListenOptions,
    callbacks: ListenerCallbacks,
    deps: ListenerDeps,
  ): Promise<FramedListener> {
    const bound = await listenServer(
      deps.createServer(),
      options.host,
      options.port,
      deps.kernelBacklog,
      options.onBound,
    );
    const listener = new FramedListener(bound, options, callbacks, deps, deps.tracker.server());
    debug(
      'framed: listening on %s:%d (%s mode, backlog %d)',
      listener.address.address,
      listener.address.port,
      options.mode,
      options.backlog,
    );
    return listener;
  }

  // ---- handshake ----

  private onConnection(socket: Socket): void {
    if (this.closing) {
      this.deps.tracker.socket(socket);
      socket.destroy();
      return;
    }
    const remote = remoteOf(socket);
    if (this.handshakes.size >= this.deps.maxHandshakes) {
      // A flood of silent connections must not grow memory: drop at once.
      this.deps.tracker.socket(socket);
      socket.on('error', () => {});
      abort(socket);
      this.callbacks.clientError(
        new WinsockError('WSAECONNREFUSED', 'WSAAccept', {
          detail: `${this.deps.maxHandshakes} connections are already in their handshake`,
        }),
        remote,
      );
      return;
    }
    socket.setNoDelay(true);
    const timeout = this.options.handshakeTimeout;
    const entry = new Pending(this, socket, remote, performance.now() + timeout, this.handleSettings);
    this.handshakes.add(entry);
    // handshakeTimeout 0 means no timeout, as for every timeout in the API.
    if (this.deadlineTimer === null && timeout > 0) this.armDeadlines(timeout);
  }

  private armDeadlines(ms: number): void {
    this.deadlineTimer = setTimeout(this.onDeadline, ms);
    // The timer must not keep a process alive on its own; the sockets do that.
    this.deadlineTimer.unref();
  }

  /** Drops every handshake past its deadline (the oldest first), then waits for the next one's. */
  private readonly onDeadline = (): void => {
    this.deadlineTimer = null;
    const now = performance.now();
    for (const entry of this.handshakes) {
      if (entry.deadline > now) {
        this.armDeadlines(Math.max(1, Math.ceil(entry.deadline - now)));
        return;
      }
      this.dropHandshake(
        entry,
        new WinsockError('WSAETIMEDOUT', 'WSAAccept', {
          detail: `no complete hello within handshakeTimeout (${this.options.handshakeTimeout} ms; ${entry.received} bytes received)`,
        }),
      );
    }
  };

  /** A hello that arrives whole is decoded by the listener's decoder; a split one gets its own. */
  private feedHello(entry: Pending, chunk: Buffer): PreambleStep<Hello> {
    if (entry.decoder) return entry.decoder.feed(chunk);
    const step = this.helloDecoder.restart(this.helloLimits).feed(chunk);
    if (step.state !== 'more') return step;
    entry.decoder = new HelloDecoder(this.helloLimits);
    return entry.decoder.feed(chunk);
  }

  /** @internal The handshake's 'data' (Pending.data). */
  handshakeData(entry: Pending, chunk: Buffer): void {
    if (entry.phase === 'queued') {
      // The caller sends nothing between its hello and the verdict.
      this.dropQueued(
        entry,
        new WinsockError('WSAECONNABORTED', 'WSAAccept', {
          detail: `protocol violation: ${chunk.length} bytes before the verdict`,
        }),
      );
      return;
    }
    if (entry.phase !== 'hello') return;
    const step = this.feedHello(entry, chunk);
    if (step.state === 'more') return;
    if (step.state === 'error') {
      const err = violationError(step.violation, 'WSAAccept');
      if (step.violation.code === 'WSAVERNOTSUPPORTED' || step.violation.code === 'WSAEMSGSIZE') {
        // A real winsock2 peer: tell it why, in a verdict it can read.
        entry.phase = 'done';
        this.leaveHandshake(entry);
        this.detach(entry);
        this.refuse(entry, err.errno);
      } else {
        // Not our protocol at all: drop it at its first wrong byte.
        this.dropHandshake(entry, err);
        return;
      }
      this.callbacks.clientError(err, entry.remote);
      return;
    }
    if (step.end < chunk.length) {
      this.dropHandshake(
        entry,
        new WinsockError('WSAECONNABORTED', 'WSAAccept', {
          detail: `protocol violation: ${chunk.length - step.end} bytes after the hello, before the verdict`,
        }),
      );
      return;
    }
    const hello = step.value;
    this.leaveHandshake(entry);
    if (hello.mode !== this.options.mode) {
      entry.phase = 'done';
      this.detach(entry);
      this.refuse(entry, WSA_ERRORS.WSAEPROTOTYPE);
      this.callbacks.clientError(
        new WinsockError('WSAEPROTOTYPE', 'WSAAccept', {
          detail: `the caller asked for ${hello.mode} mode, this server is in ${this.options.mode} mode`,
        }),
        entry.remote,
      );
      return;
    }
    const socket = entry.socket;
    const request: RawRequest = {
      callerId: entry.remote ?? socketAddress(undefined, undefined),
      calleeId: this.boundLocal ?? socketAddress(socket.localAddress, socket.localPort),
      callerData: hello.callerData,
      sqos: hello.sqos,
      gqos: hello.gqos,
    };
    entry.request = request;
    if (this.backlog.size >= this.options.backlog) {
      entry.phase = 'done';
      this.detach(entry);
      this.refuse(entry, REFUSED);
      debug(
        'framed: backlog of %d full, refusing %s:%d',
        this.options.backlog,
        request.callerId.address,
        request.callerId.port,
      );
      this.callbacks.refused(request, 'backlog');
      return;
    }
    // Still listening ('data', 'end', 'close') so a caller that leaves is noticed while queued.
    entry.phase = 'queued';
    this.backlog.push(entry);
    if (entry.phase === 'queued' && !socket.destroyed) {
      socket.write(VERDICT_START);
      entry.answered = VERDICT_START.length;
    }
  }

  /** The connection left the handshake phase (hello complete or refused): it no longer counts toward maxHandshakes. */
  private leaveHandshake(entry: Pending): void {
    this.handshakes.delete(entry);
  }

  /** The connection's events no longer concern the handshake (refused, dropped or gone): they are dropped. */
  private detach(entry: Pending): void {
    entry.handle.handshake = IGNORE_EVENTS;
  }

  private dropHandshake(entry: Pending, err: WinsockError): void {
    if (entry.phase !== 'hello') return;
    entry.phase = 'done';
    this.leaveHandshake(entry);
    this.detach(entry);
    abort(entry.socket);
    debug('framed: dropped handshake from %s: %s', entry.remote?.address ?? '?', err.message);
    this.callbacks.clientError(err, entry.remote);
  }

  /** A queued caller broke the protocol: drop it and tell the facade the request is gone. */
  private dropQueued(entry: Pending, err: WinsockError): void {
    const request = entry.request as RawRequest;
    this.removeQueued(entry);
    abort(entry.socket);
    this.callbacks.clientError(err, entry.remote);
    this.callbacks.withdrawn(
      request,
      new WinsockError('WSAECONNRESET', 'WSAAccept', { detail: 'the request was dropped for a protocol violation' }),
    );
    this.backlog.pump();
  }

  /** @internal The handshake's 'end', 'error' and 'close': the socket went before it was accepted or refused. */
  handshakeGone(entry: Pending, err: Error | null): void {
    if (entry.phase === 'hello') {
      entry.phase = 'done';
      this.leaveHandshake(entry);
      this.detach(entry);
      entry.socket.destroy();
      // A bare connect-and-close (a port probe, a health check, an aborted connect) is not worth an event.
      if (err || entry.received > 0) {
        this.callbacks.clientError(
          err
            ? WinsockError.fromNodeError(err, 'WSAAccept')
            : new WinsockError('WSAECONNRESET', 'WSAAccept', {
                detail: `the caller left after ${entry.received} bytes of its hello`,
              }),
          entry.remote,
        );
      }
      return;
    }
    if (entry.phase === 'queued') {
      const request = entry.request as RawRequest;
      this.removeQueued(entry);
      entry.socket.destroy();
      debug('framed: %s:%d withdrew its request', request.callerId.address, request.callerId.port);
      this.callbacks.withdrawn(
        request,
        new WinsockError(
          'WSAECONNRESET',
          'WSAAccept',
          err ? { cause: err, detail: err.message } : { detail: 'the caller closed its connection' },
        ),
      );
      this.backlog.pump();
    }
  }

  private removeQueued(entry: Pending): void {
    entry.phase = 'done';
    this.detach(entry);
    this.backlog.remove(entry);
  }

  // ---- the queue ----

  retry(): void {
    this.backlog.retry();
  }

  /** The head got its final verdict and has left the backlog. */
  private decide(head: Pending, verdict: Exclude<ConditionVerdict, { action: 'defer' }>): void {
    head.phase = 'done';
    if (verdict.action === 'reject') {
      this.detach(head);
      this.refuse(head, REFUSED);
      return;
    }
    this.accept(head, verdict);
  }

  private accept(entry: Pending, verdict: Extract<ConditionVerdict, { action: 'accept' }>): void {
    const request = entry.request as RawRequest;
    const socket = entry.socket;
    let bytes: Buffer;
    try {
      bytes =
        verdict.calleeData === null && verdict.qos === null
          ? PLAIN_ACCEPT
          : encodeVerdict({ accept: true, errno: 0, calleeData: verdict.calleeData, qos: verdict.qos });
    } catch (err) {
      // A QOS the facade let through but a FLOWSPEC cannot hold: the caller is refused, the server is told.
      this.detach(entry);
      this.refuse(entry, REFUSED);
      this.callbacks.clientError(WinsockError.fromNodeError(err, 'WSAAccept', 'WSAEINVAL'), entry.remote);
      return;
    }
    socket.write(entry.answered === 0 ? bytes : bytes.subarray(entry.answered));
    const handle = entry.handle;
    handle.open({
      callerData: request.callerData,
      calleeData: null,
      // The QOS granted (what the caller's socket reports too), not the one asked for (that is request.sqos).
      qos: verdict.qos,
      leftover: null,
      // Copies: the request's objects are the application's to keep (and change).
      // socketAddress, not `{ ...a }`: a spread copy gets a hidden class of its own under Node 20.
      localAddress: socketAddress(request.calleeId.address, request.calleeId.port),
      remoteAddress: entry.remote ? socketAddress(entry.remote.address, entry.remote.port) : undefined,
    });
    debug('framed: accepted %s:%d', request.callerId.address, request.callerId.port);
    this.callbacks.connection(handle, request);
  }

  /**
   * Sends a rejecting verdict and waits for the caller to hang up, reading
   * and discarding meanwhile: closing first could turn unread bytes into a
   * RST that destroys the verdict in flight. No FIN of ours: libuv cannot
   * reset a socket after its shutdown, and a caller that never hangs up
   * must be reset after lingerMs (a FIN would leave a half-open peer
   * waiting for good).
   */
  private refuse(entry: Pending, errno: number): void {
    const { socket } = entry;
    if (socket.destroyed) return;
    this.lingering.add(socket);
    const timer = setTimeout(() => abort(socket), this.deps.lingerMs);
    timer.unref();
    // The handle's listeners (reading on, so unread bytes cannot turn our close into a RST) now serve the lingering.
    entry.handle.handshake = new Lingering(socket, timer, this.lingerDone);
    socket.resume();
    socket.write(encodeVerdict({ accept: false, errno, calleeData: null, qos: null }).subarray(entry.answered));
  }

  private readonly lingerDone = (socket: Socket): void => {
    this.lingering.delete(socket);
  };

  // ---- lifetime ----

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
      this.deadlineTimer = null;
      this.server.close();
      this.releaseServer?.();
      this.releaseServer = null;
      for (const entry of [...this.handshakes]) {
        entry.phase = 'done';
        this.leaveHandshake(entry);
        this.detach(entry);
        this.refuse(entry, REFUSED);
      }
      const queued = this.backlog.drain();
      for (const entry of queued) {
        entry.phase = 'done';
        this.detach(entry);
        this.refuse(entry, REFUSED);
      }
      debug(
        'framed: listener %s:%d closed, %d queued requests refused',
        this.address.address,
        this.address.port,
        queued.length,
      );
      // Resolved once every refused caller has its verdict (or lingerMs passed).
      await Promise.all(
        [...this.lingering].map(
          (s) =>
            new Promise<void>((resolve) => (s.destroyed && s.closed ? resolve() : s.once('close', () => resolve()))),
        ),
      );
    })();
    return this.closing;
  }

  ref(): void {
    this.server.ref();
  }

  unref(): void {
    this.server.unref();
  }
}
