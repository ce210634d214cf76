/**
 * One connect in flight over node:net, as the emulated and the framed
 * provider (and the native one on its 'libuv' data path) run it: bounded by `timeout` and `signal`, settled exactly
 * once, and on failure the socket is destroyed (which is how an acceptor
 * learns a waiting request was withdrawn). Each provider says when the
 * connection is established and what to do with its handle's setup events.
 */
import { isIPv4, type Socket } from 'node:net';
import { debug } from '../debug';
import { createAbortError, WinsockError } from '../errors';
import type { Connection, ProviderConnectOptions } from '../provider';
import type { SocketAddress } from '../types';
import { socketAddress } from './sockets';

export abstract class ConnectAttempt {
  private timer: NodeJS.Timeout | null = null;
  private abortListener: (() => void) | null = null;
  private settled = false;

  constructor(
    /** The provider's name, for debug output. */
    private readonly provider: string,
    protected readonly socket: Socket,
    protected readonly options: ProviderConnectOptions,
    private readonly resolve: (connection: Connection) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  /** Arms the abort signal and the timeout (`waitingFor` says what did not come in time). */
  protected arm(waitingFor: string): void {
    const { signal, timeout } = this.options;
    if (signal) {
      this.abortListener = (): void => this.fail(createAbortError(signal));
      signal.addEventListener('abort', this.abortListener, { once: true });
    }
    if (timeout > 0) {
      this.timer = setTimeout(
        () =>
          this.fail(new WinsockError('WSAETIMEDOUT', 'WSAConnect', { detail: `${waitingFor} within ${timeout} ms` })),
        timeout,
      );
    }
  }

  /** Stops the timer and the abort listener; false when already settled. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.abortListener) this.options.signal?.removeEventListener('abort', this.abortListener);
    return true;
  }

  /** The connection is established: resolve with it. */
  protected succeed(connection: Connection): void {
    if (!this.settle()) return;
    debug('%s: connected to %s:%d', this.provider, this.options.host, this.options.port);
    this.resolve(connection);
  }

  /** Fails the connect and destroys the socket. */
  fail(err: Error): void {
    if (!this.settle()) return;
    this.discard();
    this.socket.destroy();
    debug('%s: connect to %s:%d failed: %s', this.provider, this.options.host, this.options.port, err.message);
    this.reject(err);
  }

  /** Whatever the socket still reports after a failure is nobody's business: drop it (errors too). */
  protected abstract discard(): void;

  /**
   * The peer, when the connect named an IPv4 literal: what getpeername would
   * give, without the syscall. (Not 0.x.x.x: Linux connects "this host" to a
   * local address and getpeername says which.)
   */
  protected knownPeer(): SocketAddress | undefined {
    const { host, port } = this.options;
    return isIPv4(host) && !host.startsWith('0.') ? socketAddress(host, port) : undefined;
  }
}
