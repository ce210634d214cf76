/**
 * WSAConnect on the emulated provider: a plain TCP connect. As on Windows'
 * TCP/IP provider, it completes with the TCP handshake (the acceptor's
 * condition runs afterwards; a rejected caller is then reset), and QOS is
 * refused with WSAEOPNOTSUPP, as the native provider refuses it.
 */
import { isIPv4, type NetConnectOpts, type Socket } from 'node:net';
import { debug } from '../debug';
import { createAbortError, WinsockError } from '../errors';
import type { ProviderConnectOptions, SocketHandle } from '../provider';
import { socketAddress } from '../tcp/sockets';
import type { HandleTracker } from '../tcp/tracker';
import { EmulatedHandle, IGNORE_EVENTS, type SetupPhase } from './handle';

export interface EmulatedConnectDeps {
  readonly connect: (options: NetConnectOpts) => Socket;
  readonly tracker: HandleTracker;
}

export function connectEmulated(options: ProviderConnectOptions, deps: EmulatedConnectDeps): Promise<SocketHandle> {
  return new Promise<SocketHandle>((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(createAbortError(signal));
      return;
    }
    if (options.sqos !== null || options.gqos !== null) {
      reject(new WinsockError('WSAEOPNOTSUPP', 'WSAConnect', { detail: "TCP/IP has no XP1_QOS_SUPPORTED; use provider 'framed' to carry QOS" }));
      return;
    }
    const socket = deps.connect({ host: options.host, port: options.port, allowHalfOpen: true, noDelay: true });
    const connecting = new Connecting(socket, options, deps.tracker, resolve, reject);
    socket.once('connect', connecting.onConnect);
    if (signal) signal.addEventListener('abort', connecting.onAbort, { once: true });
    if (options.timeout > 0) {
      connecting.timer = setTimeout(
        () => connecting.fail(new WinsockError('WSAETIMEDOUT', 'WSAConnect', { detail: `not connected within ${options.timeout} ms` })),
        options.timeout,
      );
    }
  });
}

/**
 * One connect in flight: the handle exists from the start, and its own
 * 'error' and 'close' listeners report to this object until the connect
 * completes (no listeners of the connect's own to add and remove).
 */
class Connecting implements SetupPhase {
  readonly handle: EmulatedHandle;
  timer: NodeJS.Timeout | null = null;
  private settled = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: ProviderConnectOptions,
    tracker: HandleTracker,
    private readonly resolve: (handle: SocketHandle) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.handle = new EmulatedHandle({ socket, early: [], setup: this, tracker });
  }

  /** Made only for a connect with a signal. */
  private abortListener: (() => void) | null = null;

  get onAbort(): () => void {
    return (this.abortListener ??= (): void => this.fail(createAbortError(this.options.signal ?? undefined)));
  }

  readonly onConnect = (): void => {
    if (this.settled) return;
    this.settle();
    const { options } = this;
    // Connected to an IPv4 literal: that is the peer, without a getpeername.
    // (Not 0.x.x.x: Linux connects "this host" to a local address.)
    this.handle.open({ remoteAddress: isIPv4(options.host) && !options.host.startsWith('0.') ? socketAddress(options.host, options.port) : undefined });
    debug('emulated: connected to %s:%d', options.host, options.port);
    this.resolve(this.handle);
  };

  private settle(): void {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.abortListener) this.options.signal?.removeEventListener('abort', this.abortListener);
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settle();
    this.socket.removeListener('connect', this.onConnect);
    this.handle.setup = IGNORE_EVENTS;
    this.socket.destroy();
    debug('emulated: connect to %s:%d failed: %s', this.options.host, this.options.port, err.message);
    this.reject(err);
  }

  // Nothing is read before the connect completes (the socket is paused).
  data(): void {}
  end(): void {}

  error(err: Error & { code?: string }): void {
    // The acceptor reset us as the handshake completed, before node:net
    // reported the connect: a refusal after the handshake (the caller was
    // rejected by the condition, the blockList, maxConnections or the backlog).
    if (err.code === 'ECONNRESET') {
      this.fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { cause: err, detail: 'the acceptor reset the connection as it was established (refused)' }));
    } else {
      this.fail(WinsockError.fromNodeError(err, 'WSAConnect'));
    }
  }

  close(): void {
    this.fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { detail: 'the connection closed before it was established' }));
  }
}
