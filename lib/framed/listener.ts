/**
 * The framed listening socket: WSAAccept's queue over node:net.
 *
 * Every TCP connection is first a handshake (waiting for its hello, bounded
 * in number and in time), then a queued request, then either a handle
 * (accepted) or a refused socket that lingers only until the caller has read
 * its verdict. Only the head of the queue is ever offered to the condition;
 * after 'defer' nothing is offered until retry(), as CF_DEFER works.
 */
import type { Server, Socket } from 'node:net';
import { debug } from '../debug';
import { WinsockError, WSA_ERRORS } from '../errors';
import type { ConditionVerdict, ListenerCallbacks, ProviderListener, ProviderListenOptions, RawRequest } from '../provider';
import type { Capabilities, SocketAddress } from '../types';
import { abortSocket, remoteOf, socketAddress } from '../tcp/sockets';
import { encodeVerdict, HelloDecoder, violationError } from './frames';
import { FramedHandle } from './handle';
import { framedCapabilities } from './protocols';
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

/** One TCP connection from its arrival until it is accepted, refused or gone. */
interface Pending {
  readonly socket: Socket;
  readonly remote: SocketAddress | null;
  readonly decoder: HelloDecoder;
  phase: Phase;
  request: RawRequest | null;
  timer: NodeJS.Timeout | null;
  /** The handshake listeners, removed when the connection leaves the handshake. */
  readonly listeners: {
    readonly data: (chunk: Buffer) => void;
    readonly end: () => void;
    readonly error: (err: Error) => void;
    readonly close: () => void;
  };
}

const REFUSED = WSA_ERRORS.WSAECONNREFUSED;

/**
 * Drops a connection that broke the protocol (or came in a flood) with a
 * reset: the peer learns at once (a FIN would leave a half-open peer waiting)
 * and the server keeps no TIME_WAIT state for it.
 */
const abort = abortSocket;

export class FramedListener implements ProviderListener {
  readonly address: SocketAddress;
  readonly capabilities: Capabilities;

  private readonly handshakes = new Set<Pending>();
  private readonly queue: Pending[] = [];
  /** Refused sockets still delivering their verdict. */
  private readonly lingering = new Set<Socket>();
  private headDeferred = false;
  private pumping = false;
  private closing: Promise<void> | null = null;
  private releaseServer: (() => void) | null;
  /**
   * The local endpoint of every accepted socket when the listener is bound to
   * one address (not a wildcard): calleeId without a getsockname per connection.
   */
  private readonly boundLocal: SocketAddress | null;

  private constructor(
    private readonly server: Server,
    private readonly options: ProviderListenOptions,
    private readonly callbacks: ListenerCallbacks,
    private readonly deps: ListenerDeps,
    release: () => void,
  ) {
    this.releaseServer = release;
    this.capabilities = framedCapabilities(options.mode);
    const addr = server.address();
    this.address =
      addr !== null && typeof addr === 'object' ? socketAddress(addr.address, addr.port) : socketAddress(options.host, options.port);
    const bound = this.address.address;
    this.boundLocal = addr !== null && typeof addr === 'object' && bound !== '' && bound !== '0.0.0.0' && bound !== '::' ? this.address : null;
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    server.on('error', (err: Error) => {
      if (this.closing) return;
      callbacks.error(WinsockError.fromNodeError(err, 'WSAAccept'));
    });
  }

  static listen(options: ProviderListenOptions, callbacks: ListenerCallbacks, deps: ListenerDeps): Promise<FramedListener> {
    return new Promise((resolve, reject) => {
      const server = deps.createServer();
      const onError = (err: Error & { code?: string }): void => {
        server.removeListener('listening', onListening);
        // Binding errors are bind()'s in Winsock even though libuv reports them from listen().
        const bindErr = err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES';
        reject(WinsockError.fromNodeError(err, bindErr ? 'bind' : 'listen'));
      };
      const onListening = (): void => {
        server.removeListener('error', onError);
        const release = deps.tracker.server();
        const listener = new FramedListener(server, options, callbacks, deps, release);
        debug('framed: listening on %s:%d (%s mode, backlog %d)', listener.address.address, listener.address.port, options.mode, options.backlog);
        resolve(listener);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host: options.host, port: options.port, backlog: deps.kernelBacklog });
    });
  }

  // ---- handshake ----

  private onConnection(socket: Socket): void {
    this.deps.tracker.socket(socket);
    if (this.closing) {
      socket.destroy();
      return;
    }
    const remote = remoteOf(socket);
    if (this.handshakes.size >= this.deps.maxHandshakes) {
      // A flood of silent connections must not grow memory: drop at once.
      socket.on('error', () => {});
      abort(socket);
      this.callbacks.clientError(
        new WinsockError('WSAECONNREFUSED', 'WSAAccept', { detail: `${this.deps.maxHandshakes} connections are already in their handshake` }),
        remote,
      );
      return;
    }
    socket.setNoDelay(true);
    const entry: Pending = {
      socket,
      remote,
      decoder: new HelloDecoder({ maxCallerData: this.options.maxCallerData }),
      phase: 'hello',
      request: null,
      timer: null,
      listeners: {
        data: (chunk) => this.onHandshakeData(entry, chunk),
        end: () => this.onGone(entry, null),
        error: (err) => this.onGone(entry, err),
        close: () => this.onGone(entry, null),
      },
    };
    socket.on('data', entry.listeners.data);
    socket.on('end', entry.listeners.end);
    socket.on('error', entry.listeners.error);
    socket.on('close', entry.listeners.close);
    // handshakeTimeout 0 means no timeout, as for every timeout in the API.
    if (this.options.handshakeTimeout > 0) {
      entry.timer = setTimeout(() => {
        entry.timer = null;
        if (entry.phase !== 'hello') return;
        this.dropHandshake(
          entry,
          new WinsockError('WSAETIMEDOUT', 'WSAAccept', {
            detail: `no complete hello within handshakeTimeout (${this.options.handshakeTimeout} ms; ${entry.decoder.received} bytes received)`,
          }),
        );
      }, this.options.handshakeTimeout);
      // The timer must not keep a process alive on its own; the socket does that.
      entry.timer.unref();
    }
    this.handshakes.add(entry);
  }

  private onHandshakeData(entry: Pending, chunk: Buffer): void {
    if (entry.phase === 'queued') {
      // The caller sends nothing between its hello and the verdict.
      this.dropQueued(entry, new WinsockError('WSAECONNABORTED', 'WSAAccept', { detail: `protocol violation: ${chunk.length} bytes before the verdict` }));
      return;
    }
    if (entry.phase !== 'hello') return;
    const step = entry.decoder.feed(chunk);
    if (step.state === 'more') return;
    if (step.state === 'error') {
      const err = violationError(step.violation, 'WSAAccept');
      if (step.violation.code === 'WSAVERNOTSUPPORTED' || step.violation.code === 'WSAEMSGSIZE') {
        // A real winsock2 peer: tell it why, in a verdict it can read.
        entry.phase = 'done';
        this.leaveHandshake(entry);
        this.detach(entry);
        this.refuse(entry.socket, err.errno);
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
        new WinsockError('WSAECONNABORTED', 'WSAAccept', { detail: `protocol violation: ${chunk.length - step.end} bytes after the hello, before the verdict` }),
      );
      return;
    }
    const hello = step.value;
    this.leaveHandshake(entry);
    if (hello.mode !== this.options.mode) {
      entry.phase = 'done';
      this.detach(entry);
      this.refuse(entry.socket, WSA_ERRORS.WSAEPROTOTYPE);
      this.callbacks.clientError(
        new WinsockError('WSAEPROTOTYPE', 'WSAAccept', { detail: `the caller asked for ${hello.mode} mode, this server is in ${this.options.mode} mode` }),
        entry.remote,
      );
      return;
    }
    const socket = entry.socket;
    const request: RawRequest = {
      callerId: entry.remote ?? socketAddress(undefined, undefined),
      calleeId: this.boundLocal ? { ...this.boundLocal } : socketAddress(socket.localAddress, socket.localPort),
      callerData: hello.callerData,
      sqos: hello.sqos,
      gqos: hello.gqos,
    };
    entry.request = request;
    if (this.queue.length >= this.options.backlog) {
      entry.phase = 'done';
      this.detach(entry);
      this.refuse(socket, REFUSED);
      debug('framed: backlog of %d full, refusing %s:%d', this.options.backlog, request.callerId.address, request.callerId.port);
      this.callbacks.refused(request, 'backlog');
      return;
    }
    // Still listening ('data', 'end', 'close') so a caller that leaves is noticed while queued.
    entry.phase = 'queued';
    this.queue.push(entry);
    this.pump();
  }

  /** The connection left the handshake phase (hello complete or refused): it no longer counts toward maxHandshakes. */
  private leaveHandshake(entry: Pending): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    this.handshakes.delete(entry);
  }

  private detach(entry: Pending): void {
    const { socket, listeners } = entry;
    socket.removeListener('data', listeners.data);
    socket.removeListener('end', listeners.end);
    socket.removeListener('error', listeners.error);
    socket.removeListener('close', listeners.close);
  }

  private dropHandshake(entry: Pending, err: WinsockError): void {
    if (entry.phase !== 'hello') return;
    entry.phase = 'done';
    this.leaveHandshake(entry);
    this.detach(entry);
    entry.socket.on('error', () => {});
    abort(entry.socket);
    debug('framed: dropped handshake from %s: %s', entry.remote?.address ?? '?', err.message);
    this.callbacks.clientError(err, entry.remote);
  }

  /** A queued caller broke the protocol: drop it and tell the facade the request is gone. */
  private dropQueued(entry: Pending, err: WinsockError): void {
    const request = entry.request as RawRequest;
    this.removeQueued(entry);
    entry.socket.on('error', () => {});
    abort(entry.socket);
    this.callbacks.clientError(err, entry.remote);
    this.callbacks.withdrawn(request, new WinsockError('WSAECONNRESET', 'WSAAccept', { detail: 'the request was dropped for a protocol violation' }));
    this.pump();
  }

  /** The socket ended, failed or closed before it was accepted or refused. */
  private onGone(entry: Pending, err: Error | null): void {
    if (entry.phase === 'hello') {
      entry.phase = 'done';
      this.leaveHandshake(entry);
      this.detach(entry);
      entry.socket.on('error', () => {});
      entry.socket.destroy();
      // A bare connect-and-close (a port probe, a health check, an aborted connect) is not worth an event.
      if (err || entry.decoder.received > 0) {
        this.callbacks.clientError(
          err
            ? WinsockError.fromNodeError(err, 'WSAAccept')
            : new WinsockError('WSAECONNRESET', 'WSAAccept', { detail: `the caller left after ${entry.decoder.received} bytes of its hello` }),
          entry.remote,
        );
      }
      return;
    }
    if (entry.phase === 'queued') {
      const request = entry.request as RawRequest;
      this.removeQueued(entry);
      entry.socket.on('error', () => {});
      entry.socket.destroy();
      debug('framed: %s:%d withdrew its request', request.callerId.address, request.callerId.port);
      this.callbacks.withdrawn(
        request,
        new WinsockError('WSAECONNRESET', 'WSAAccept', err ? { cause: err, detail: err.message } : { detail: 'the caller closed its connection' }),
      );
      this.pump();
    }
  }

  private removeQueued(entry: Pending): void {
    entry.phase = 'done';
    this.detach(entry);
    const i = this.queue.indexOf(entry);
    if (i < 0) return;
    this.queue.splice(i, 1);
    // The deferred request was the head; whoever is head now has not been offered.
    if (i === 0) this.headDeferred = false;
  }

  // ---- the queue ----

  retry(): void {
    this.headDeferred = false;
    this.pump();
  }

  /** Offers the head to the condition until one defers or the queue is empty. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closing && !this.headDeferred && this.queue.length > 0) {
        const head = this.queue[0] as Pending;
        let verdict: ConditionVerdict;
        try {
          verdict = this.callbacks.condition(head.request as RawRequest);
        } catch (err) {
          // The contract says condition() never throws. If it does, throwing on
          // inside a socket event would take the process down: refuse only
          // this caller and make the bug visible as a warning instead.
          process.emitWarning(`winsock2: the listener's condition callback threw; the caller was refused: ${String(err)}`, 'WinsockWarning');
          verdict = { action: 'reject' };
        }
        // The callbacks may have closed the listener or dropped the head meanwhile.
        if (this.closing || this.queue[0] !== head) continue;
        this.decide(head, verdict);
      }
    } finally {
      this.pumping = false;
    }
  }

  private decide(head: Pending, verdict: ConditionVerdict): void {
    if (verdict.action === 'defer') {
      this.headDeferred = true;
      return;
    }
    this.queue.shift();
    head.phase = 'done';
    this.detach(head);
    if (verdict.action === 'reject') {
      this.refuse(head.socket, REFUSED);
      return;
    }
    this.accept(head, verdict);
  }

  private accept(entry: Pending, verdict: Extract<ConditionVerdict, { action: 'accept' }>): void {
    const request = entry.request as RawRequest;
    const socket = entry.socket;
    let bytes: Buffer;
    try {
      bytes = encodeVerdict({ accept: true, errno: 0, calleeData: verdict.calleeData, qos: verdict.qos });
    } catch (err) {
      // A QOS the facade let through but a FLOWSPEC cannot hold: the caller is refused, the server is told.
      this.refuse(socket, REFUSED);
      this.callbacks.clientError(WinsockError.fromNodeError(err, 'WSAAccept', 'WSAEINVAL'), entry.remote);
      return;
    }
    // Paused before the handshake 'data' listener goes: data arriving now waits for the handle's readStart().
    socket.pause();
    socket.write(bytes);
    const handle = new FramedHandle({
      socket,
      mode: this.options.mode,
      callerData: request.callerData,
      calleeData: null,
      // The QOS granted (what the caller's socket reports too), not the one asked for (that is request.sqos).
      qos: verdict.qos,
      maxDisconnectData: this.options.maxDisconnectData,
      maxFramePayload: this.deps.maxFramePayload,
      leftover: null,
      // Copies: the request's objects are the application's to keep (and change).
      localAddress: { ...request.calleeId },
      ...(entry.remote ? { remoteAddress: { ...entry.remote } } : {}),
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
  private refuse(socket: Socket, errno: number): void {
    if (socket.destroyed) return;
    this.lingering.add(socket);
    const timer = setTimeout(() => abort(socket), this.deps.lingerMs);
    timer.unref();
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('end', () => socket.destroy());
    socket.once('close', () => {
      clearTimeout(timer);
      this.lingering.delete(socket);
    });
    socket.resume();
    socket.write(encodeVerdict({ accept: false, errno, calleeData: null, qos: null }));
  }

  // ---- lifetime ----

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      this.server.close();
      this.releaseServer?.();
      this.releaseServer = null;
      for (const entry of [...this.handshakes]) {
        entry.phase = 'done';
        this.leaveHandshake(entry);
        this.detach(entry);
        this.refuse(entry.socket, REFUSED);
      }
      const queued = this.queue.splice(0);
      this.headDeferred = false;
      for (const entry of queued) {
        entry.phase = 'done';
        this.detach(entry);
        this.refuse(entry.socket, REFUSED);
      }
      debug('framed: listener %s:%d closed, %d queued requests refused', this.address.address, this.address.port, queued.length);
      // Resolved once every refused caller has its verdict (or lingerMs passed).
      await Promise.all([...this.lingering].map((s) => new Promise<void>((resolve) => (s.destroyed && s.closed ? resolve() : s.once('close', () => resolve())))));
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
