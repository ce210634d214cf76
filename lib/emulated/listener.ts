/**
 * The emulated listening socket: WSAAccept's queue over node:net, plain TCP
 * on the wire.
 *
 * The kernel completes the handshake (as Wine's ws2_32 does; there is no
 * SO_CONDITIONAL_ACCEPT off Windows). The accepted socket stays paused
 * (`pauseOnConnect`), joins the queue, and only the head is offered to the
 * condition; after 'defer' nothing is offered until retry(), as CF_DEFER
 * works. Nothing is read before the verdict on the fast path. A request that
 * has to wait (behind a deferred head, or deferred itself) is watched with a
 * 'readable' listener: the socket reads into its own buffer (up to its
 * highWaterMark; TCP flow control holds the rest) and nobody consumes it,
 * so a caller that resets, or ends before sending anything, is noticed
 * ('withdrawn'), while a caller that sent its bytes and half-closed keeps
 * its request: bytes and FIN reach the application after the accept. A
 * rejected caller is reset having received nothing.
 */
import type { Server, Socket } from 'node:net';
import { debug } from '../debug';
import { WinsockError } from '../errors';
import type {
  ConditionVerdict,
  ListenerCallbacks,
  ProviderListener,
  ProviderListenOptions,
  RawRequest,
} from '../provider';
import type { Capabilities, SocketAddress } from '../types';
import { abortSocket, remoteOf, socketAddress } from '../tcp/sockets';
import { listenServer, type BoundServer } from '../tcp/listen';
import { Backlog } from '../tcp/backlog';
import type { HandleTracker } from '../tcp/tracker';
import { ignoreSocket, netConnection, watchSetup, type SetupPhase } from './setup';
import { emulatedCapabilities } from './protocols';
import { acceptAsWinsockSockets } from '../node-internals';
import { WinsockSocket } from '../socket';

export interface EmulatedListenerDeps {
  /** Must create the server with `pauseOnConnect: true` and `allowHalfOpen: true`. */
  readonly createServer: () => Server;
  readonly tracker: HandleTracker;
  /** The kernel's listen backlog (not the `backlog` option, which bounds our queue). */
  readonly kernelBacklog: number;
}

/**
 * A connection in the queue. A request decided as it arrives (the common
 * case) is never watched; one that has to wait gets the four setup
 * listeners, which report to this object, until it is accepted or refused.
 */
class Queued implements SetupPhase {
  /** True while the request waits and its socket is watched. */
  watched = false;

  constructor(
    private readonly listener: EmulatedListener,
    readonly socket: Socket,
    readonly request: RawRequest,
  ) {}

  // A FIN with nothing before it: the caller left. A FIN after bytes is a
  // half-close (the caller sent its request and shut down its side): the
  // request stays, and the bytes and the end wait in the socket's buffer.
  end(): void {
    this.listener.onGone(this, null);
  }
  error(err: Error): void {
    this.listener.onGone(this, err);
  }
  close(): void {
    this.listener.onGone(this, null);
  }
}

export class EmulatedListener implements ProviderListener {
  readonly address: SocketAddress;
  readonly capabilities: Capabilities = emulatedCapabilities();

  private readonly backlog: Backlog<Queued> = new Backlog<Queued>({
    condition: (entry) => this.callbacks.condition(entry.request),
    closed: () => this.closing !== null,
    decided: (entry, verdict) => this.decided(entry, verdict),
  });
  private closing: Promise<void> | null = null;
  private readonly server: Server;
  private releaseServer: (() => void) | null;
  /** The local endpoint of every accepted socket when bound to one address (no getsockname per connection). */
  private readonly boundLocal: SocketAddress | null;

  private constructor(
    bound: BoundServer,
    private readonly options: ProviderListenOptions,
    private readonly callbacks: ListenerCallbacks,
    private readonly deps: EmulatedListenerDeps,
    release: () => void,
  ) {
    this.releaseServer = release;
    const { server } = bound;
    this.server = server;
    this.address = bound.address;
    // Frozen and shared by every request's calleeId: no copy per connection.
    this.boundLocal = bound.boundLocal ? Object.freeze({ ...bound.boundLocal }) : null;
    // Accepted sockets are made as WinsockSockets (the class users get), not net's changed afterwards.
    acceptAsWinsockSockets(server, WinsockSocket, (socket) => this.onConnection(socket));
    server.on('error', (err: Error) => {
      if (this.closing) return;
      callbacks.error(WinsockError.fromNodeError(err, 'WSAAccept'));
    });
  }

  static async listen(
    options: ProviderListenOptions,
    callbacks: ListenerCallbacks,
    deps: EmulatedListenerDeps,
  ): Promise<EmulatedListener> {
    const bound = await listenServer(
      deps.createServer(),
      options.host,
      options.port,
      deps.kernelBacklog,
      options.onBound,
    );
    const listener = new EmulatedListener(bound, options, callbacks, deps, deps.tracker.server());
    debug(
      'emulated: listening on %s:%d (backlog %d)',
      listener.address.address,
      listener.address.port,
      options.backlog,
    );
    return listener;
  }

  private onConnection(socket: Socket): void {
    if (this.closing) {
      this.deps.tracker.socket(socket);
      refuse(socket);
      return;
    }
    const remote = remoteOf(socket);
    if (remote === null) {
      // Gone before we saw it (reset in the accept queue): nothing to offer.
      this.deps.tracker.socket(socket);
      socket.destroy();
      return;
    }
    const request: RawRequest = {
      callerId: remote,
      calleeId: this.boundLocal ?? socketAddress(socket.localAddress, socket.localPort),
      callerData: null,
      sqos: null,
      gqos: null,
    };
    if (this.backlog.size >= this.options.backlog) {
      this.deps.tracker.socket(socket);
      refuse(socket);
      debug('emulated: backlog of %d full, refusing %s:%d', this.options.backlog, remote.address, remote.port);
      this.callbacks.refused(request, 'backlog');
      return;
    }
    this.deps.tracker.socket(socket);
    this.backlog.push(new Queued(this, socket, request));
    this.watchWaiting();
  }

  /** Starts reading a waiting request's socket so a caller that leaves is noticed; Queued.data keeps what it sends. */
  private watch(entry: Queued): void {
    if (entry.watched) return;
    entry.watched = true;
    watchSetup(entry.socket, entry);
  }

  /** @internal Queued's 'end', 'error' and 'close': a waiting caller left before it was accepted or refused. */
  onGone(entry: Queued, err: Error | null): void {
    if (!this.backlog.remove(entry)) return;
    ignoreSocket(entry.socket);
    entry.socket.destroy();
    debug('emulated: %s:%d withdrew its request', entry.request.callerId.address, entry.request.callerId.port);
    this.callbacks.withdrawn(
      entry.request,
      new WinsockError(
        'WSAECONNRESET',
        'WSAAccept',
        err ? { cause: err, detail: err.message } : { detail: 'the caller closed its connection' },
      ),
    );
    this.pump();
  }

  retry(): void {
    this.backlog.retry();
    this.watchWaiting();
  }

  /** Offers what can be offered, then watches whatever still waits, so a caller that leaves is reported. */
  private pump(): void {
    this.backlog.pump();
    this.watchWaiting();
  }

  private watchWaiting(): void {
    for (const entry of this.backlog.waiting()) this.watch(entry);
  }

  /** The head got its final verdict and has left the backlog. */
  private decided(head: Queued, verdict: Exclude<ConditionVerdict, { action: 'defer' }>): void {
    if (verdict.action === 'reject') {
      refuse(head.socket);
      return;
    }
    const connection = netConnection(head.socket);
    debug('emulated: accepted %s:%d', head.request.callerId.address, head.request.callerId.port);
    this.callbacks.connection(connection, head.request);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      // node:net's close callback waits for accepted sockets too (they are the
      // application's): the listening handle itself is closed at once.
      this.server.close();
      this.releaseServer?.();
      this.releaseServer = null;
      const queued = this.backlog.drain();
      for (const entry of queued) {
        refuse(entry.socket);
      }
      debug(
        'emulated: listener %s:%d closed, %d queued requests refused',
        this.address.address,
        this.address.port,
        queued.length,
      );
      resolve();
    });
    return this.closing;
  }

  ref(): void {
    this.server.ref();
  }

  unref(): void {
    this.server.unref();
  }
}

/**
 * Refuses a connection the kernel already accepted: an abortive close (RST),
 * so the caller learns at once and has received nothing; the nearest plain
 * TCP comes to WSAECONNREFUSED after the handshake.
 */
function refuse(socket: Socket): void {
  ignoreSocket(socket);
  abortSocket(socket);
}
