/**
 * WSAConnect on the emulated provider: a plain TCP connect. As on Windows'
 * TCP/IP provider, it completes with the TCP handshake (the acceptor's
 * condition runs afterwards; a rejected caller is then reset), and QOS is
 * refused with WSAEOPNOTSUPP, as the native provider refuses it. The
 * connection is node:net's socket itself.
 */
import type { Socket, TcpNetConnectOpts } from 'node:net';
import { createAbortError, WinsockError } from '../errors';
import type { Connection, NetConnection, ProviderConnectOptions } from '../provider';
import { ConnectAttempt } from '../tcp/connect-attempt';
import type { HandleTracker } from '../tcp/tracker';
import { endSetup, ignoreSocket, netConnection, watchConnect, type SetupPhase } from './setup';

export interface EmulatedConnectDeps {
  readonly connect: (options: TcpNetConnectOpts) => Socket;
  readonly tracker: HandleTracker;
  /**
   * What the facade gets once connected (default: emulated's TCP/IP). The
   * native provider's 'libuv' data path connects the same way, over a
   * SOCKET of its own (lib/native/handoff.ts connectOver), with its own
   * capabilities and WSASendDisconnect.
   */
  readonly connection?: (socket: Socket) => NetConnection;
  /** For debug output. */
  readonly name?: string;
}

export function connectEmulated(options: ProviderConnectOptions, deps: EmulatedConnectDeps): Promise<Connection> {
  return new Promise<Connection>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(createAbortError(options.signal));
      return;
    }
    if (options.sqos !== null || options.gqos !== null) {
      reject(
        new WinsockError('WSAEOPNOTSUPP', 'WSAConnect', {
          detail: "TCP/IP has no XP1_QOS_SUPPORTED; use provider 'framed' to carry QOS",
        }),
      );
      return;
    }
    const socket = deps.connect({ host: options.host, port: options.port, allowHalfOpen: true, noDelay: true });
    deps.tracker.socket(socket);
    new Connecting(socket, options, deps, resolve, reject);
  });
}

/** One connect in flight: the socket's setup listeners report here until it completes. */
class Connecting extends ConnectAttempt implements SetupPhase {
  constructor(
    socket: Socket,
    options: ProviderConnectOptions,
    private readonly deps: EmulatedConnectDeps,
    resolve: (connection: Connection) => void,
    reject: (err: Error) => void,
  ) {
    super(deps.name ?? 'emulated', socket, options, resolve, reject);
    watchConnect(socket, this);
    this.arm('not connected');
  }

  connect(): void {
    endSetup(this.socket);
    this.succeed((this.deps.connection ?? netConnection)(this.socket));
  }

  protected discard(): void {
    ignoreSocket(this.socket);
  }

  // Nothing is read before the connect completes.
  end(): void {}

  error(err: Error & { code?: string }): void {
    // The acceptor reset us as the handshake completed, before node:net
    // reported the connect: a refusal after the handshake (the caller was
    // rejected by the condition, the blockList, maxConnections or the backlog).
    if (err.code === 'ECONNRESET') {
      this.fail(
        new WinsockError('WSAECONNREFUSED', 'WSAConnect', {
          cause: err,
          detail: 'the acceptor reset the connection as it was established (refused)',
        }),
      );
    } else {
      this.fail(WinsockError.fromNodeError(err, 'WSAConnect'));
    }
  }

  close(): void {
    this.fail(
      new WinsockError('WSAECONNREFUSED', 'WSAConnect', { detail: 'the connection closed before it was established' }),
    );
  }
}
