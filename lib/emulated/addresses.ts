/** SocketAddress values from what node:net reports. */
import { isIPv6 } from 'node:net';
import type { SocketAddress } from '../types';

export function socketAddress(address: string | undefined, port: number | undefined): SocketAddress {
  const addr = address ?? '';
  return { address: addr, port: port ?? 0, family: isIPv6(addr) ? 'IPv6' : 'IPv4' };
}

/** The remote end of a socket, or null once node:net no longer knows it (already closed). */
export function remoteOf(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): SocketAddress | null {
  return socket.remoteAddress === undefined ? null : socketAddress(socket.remoteAddress, socket.remotePort);
}
