/**
 * WSAConnect on the emulated provider: a plain TCP connect. As on Windows'
 * TCP/IP provider, it completes with the TCP handshake (the acceptor's
 * condition runs afterwards; a rejected caller is then reset), and QOS is
 * refused with WSAEOPNOTSUPP, as the native provider refuses it.
 */
import type { NetConnectOpts, Socket } from 'node:net';
import { createAbortError, WinsockError } from '../errors';
import type { ProviderConnectOptions, SocketHandle } from '../provider';
import { ConnectAttempt } from '../tcp/connect-attempt';
import type { HandleTracker } from '../tcp/tracker';
import { EmulatedHandle, IGNORE_EVENTS, type SetupPhase } from './handle';

export interface EmulatedConnectDeps {
  readonly connect: (options: NetConnectOpts) => Socket;
  readonly tracker: HandleTracker;
}

export function connectEmulated(options: ProviderConnectOptions, deps: EmulatedConnectDeps): Promise<SocketHandle> {
  return new Promise<SocketHandle>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(createAbortError(options.signal));
      return;
    }
    if (options.sqos !== null || options.gqos !== null) {
      reject(new WinsockError('WSAEOPNOTSUPP', 'WSAConnect', { detail: "TCP/IP has no XP1_QOS_SUPPORTED; use provider 'framed' to carry QOS" }));
      return;
    }
    const socket = deps.connect({ host: options.host, port: options.port, allowHalfOpen: true, noDelay: true });
    new Connecting(socket, options, deps.tracker, resolve, reject);
  });
}

/**
 * One connect in flight: the handle exists from the start, and its own
 * 'error' and 'close' listeners report to this object until the connect
 * completes (no listeners of the connect's own to add and remove).
 */
class Connecting extends ConnectAttempt implements SetupPhase {
  private readonly handle: EmulatedHandle;
  private readonly onConnect = (): void => {
    this.handle.open({ remoteAddress: this.knownPeer() });
    this.succeed(this.handle);
  };

  constructor(
    socket: Socket,
    options: ProviderConnectOptions,
    tracker: HandleTracker,
    resolve: (handle: SocketHandle) => void,
    reject: (err: Error) => void,
  ) {
    super('emulated', socket, options, resolve, reject);
    this.handle = new EmulatedHandle({ socket, early: [], setup: this, tracker });
    socket.once('connect', this.onConnect);
    this.arm('not connected');
  }

  protected discard(): void {
    this.socket.removeListener('connect', this.onConnect);
    this.handle.setup = IGNORE_EVENTS;
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
