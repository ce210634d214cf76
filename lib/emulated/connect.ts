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
import { EmulatedHandle } from './handle';

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
    deps.tracker.socket(socket);
    let timer: NodeJS.Timeout | null = null;
    let settled = false;

    const cleanup = (): void => {
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('connect', onConnect);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      cleanup();
      socket.on('error', () => {});
      socket.destroy();
      debug('emulated: connect to %s:%d failed: %s', options.host, options.port, err.message);
      reject(err);
    };
    const onAbort = (): void => fail(createAbortError(signal ?? undefined));
    const onConnect = (): void => {
      cleanup();
      // Paused until the facade's first read, so nothing arrives before anyone listens.
      socket.pause();
      const handle = new EmulatedHandle({
        socket,
        early: [],
        // Connected to an IPv4 literal: that is the peer, without a getpeername.
        // (Not 0.x.x.x: Linux connects "this host" to a local address.)
        ...(isIPv4(options.host) && !options.host.startsWith('0.') ? { remoteAddress: socketAddress(options.host, options.port) } : {}),
      });
      debug('emulated: connected to %s:%d', options.host, options.port);
      resolve(handle);
    };
    const onError = (err: Error & { code?: string }): void => {
      // The acceptor reset us as the handshake completed, before node:net
      // reported the connect: a refusal after the handshake (the caller was
      // rejected by the condition, the blockList, maxConnections or the backlog).
      if (err.code === 'ECONNRESET') {
        fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { cause: err, detail: 'the acceptor reset the connection as it was established (refused)' }));
      } else {
        fail(WinsockError.fromNodeError(err, 'WSAConnect'));
      }
    };
    const onClose = (): void => fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { detail: 'the connection closed before it was established' }));

    socket.once('connect', onConnect);
    socket.on('error', onError);
    socket.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeout > 0) {
      timer = setTimeout(() => fail(new WinsockError('WSAETIMEDOUT', 'WSAConnect', { detail: `not connected within ${options.timeout} ms` })), options.timeout);
    }
  });
}
