/** Small helpers over node:net sockets: addresses, connecting, abortive close. */
import type { Socket, TcpNetConnectOpts } from 'node:net';
import type { SocketAddress } from '../types';

/**
 * `address` comes from the OS (getsockname/getpeername through node:net), a
 * bound listener or an IPv4 literal the caller connected to, so it is a
 * well-formed IP: a colon means IPv6. (net.isIPv6's regular expression ran
 * four times per connection and showed in the connection-rate profile.)
 */
export function socketAddress(address: string | undefined, port: number | undefined): SocketAddress {
  const addr = address ?? '';
  return { address: addr, port: port ?? 0, family: addr.includes(':') ? 'IPv6' : 'IPv4' };
}

/**
 * The remote end of a socket, or null once node:net no longer knows it
 * (already closed). Each of net's getters runs its `_getpeername()`, whose
 * `_handle` reads are megamorphic keyed loads: each getter is read once.
 */
export function remoteOf(socket: {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}): SocketAddress | null {
  const address = socket.remoteAddress;
  return address === undefined ? null : socketAddress(address, socket.remotePort);
}

/**
 * net.connect for a socket constructed without options (`new net.Socket()`,
 * or a subclass's): net.Socket's constructor copies an options object
 * (`{ ...options }`) and under Node 20's V8 each copy gets hidden classes of
 * its own, so every load from it in net's and stream's constructors misses
 * the inline caches (docs/performance.md, "A hidden class per copy"). Of
 * the options a provider passes, only `allowHalfOpen` and `noDelay` are read
 * by the constructor; they are set here, and connect() reads the rest.
 */
export function connectSocket<S extends Socket>(socket: S, options: TcpNetConnectOpts): S {
  socket.allowHalfOpen = options.allowHalfOpen === true;
  if (options.noDelay === true) socket.setNoDelay(true);
  return socket.connect(options);
}

/**
 * Closes with a reset (SO_LINGER {1, 0}) so the peer learns at once. libuv
 * refuses a reset once our FIN was sent (uv_tcp_close_reset returns EINVAL
 * while a shutdown is pending or done, and the handle would stay open), so a
 * socket whose sending side already ended is closed plainly instead.
 */
export function abortSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}
