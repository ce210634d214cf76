/**
 * The NetConnection of the socket contract (issue 20; lib/provider.ts on
 * main), declared here until lib/provider.ts on this branch has it: after
 * the facade lands, this file goes and its users import from '../provider'.
 * The shape is the contract's, field for field.
 */
import type { Socket } from 'node:net';
import type { ListenerCallbacks, RawRequest, SocketHandle } from '../provider';
import type { Capabilities, Qos } from '../types';

export interface NetConnection {
  readonly kind: 'net';
  /** Node's own net.Socket over Node's own TCP handle: connected, paused, not reading yet. */
  readonly socket: Socket;
  readonly capabilities: Capabilities;
  readonly callerData: Buffer | null;
  readonly calleeData: Buffer | null;
  readonly qos: Qos | null;
  readonly early?: readonly Buffer[];
  /** WSASendDisconnect on the SOCKET handed over; throws a WinsockError on failure. */
  readonly sendDisconnect?: () => void;
}

export function isNetConnection(c: SocketHandle | NetConnection): c is NetConnection {
  return (c as Partial<NetConnection>).kind === 'net';
}

/** ListenerCallbacks as the contract widens them: a connection may be a NetConnection. */
export interface NetListenerCallbacks extends Omit<ListenerCallbacks, 'connection'> {
  connection(conn: SocketHandle | NetConnection, request: RawRequest): void;
}
