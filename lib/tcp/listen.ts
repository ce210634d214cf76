/**
 * Binding a node:net server for a provider's listener, the same way for the
 * emulated and the framed provider: Winsock's error names for a failed bind,
 * and the bound endpoint read once.
 */
import type { Server } from 'node:net';
import { WinsockError } from '../errors';
import type { SocketAddress } from '../types';
import { socketAddress } from './sockets';

export interface BoundServer {
  readonly server: Server;
  /** The bound endpoint (getsockname of the listening socket). */
  readonly address: SocketAddress;
  /**
   * The local endpoint of every accepted socket when bound to one address
   * (not a wildcard): calleeId without a getsockname per connection.
   */
  readonly boundLocal: SocketAddress | null;
}

/**
 * Listens on host:port; rejects with a WinsockError named after bind() or
 * listen(). An empty host binds what node:net binds without one (`::`
 * dual-stack, or 0.0.0.0 where IPv6 is unavailable). `onBound` hears the
 * address as soon as it is bound: synchronously for an IP literal, as
 * node:net binds it.
 */
export function listenServer(
  server: Server,
  host: string,
  port: number,
  kernelBacklog: number,
  onBound?: (address: SocketAddress) => void,
): Promise<BoundServer> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error & { code?: string }): void => {
      server.removeListener('listening', onListening);
      // Binding errors are bind()'s in Winsock even though libuv reports them from listen().
      const bindErr = err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES';
      reject(WinsockError.fromNodeError(err, bindErr ? 'bind' : 'listen'));
    };
    const onListening = (): void => {
      server.removeListener('error', onError);
      const addr = server.address();
      const known = addr !== null && typeof addr === 'object';
      const address = known ? socketAddress(addr.address, addr.port) : socketAddress(host === '' ? '::' : host, port);
      const bound = address.address;
      const boundLocal = known && bound !== '' && bound !== '0.0.0.0' && bound !== '::' ? address : null;
      resolve({ server, address, boundLocal });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(host === '' ? { port, backlog: kernelBacklog } : { host, port, backlog: kernelBacklog });
    if (onBound) {
      const addr = server.address();
      if (addr !== null && typeof addr === 'object') onBound(socketAddress(addr.address, addr.port));
      else
        server.once('listening', () => {
          const late = server.address();
          if (late !== null && typeof late === 'object') onBound(socketAddress(late.address, late.port));
        });
    }
  });
}
