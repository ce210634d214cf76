/**
 * Turns what a provider hands over into the public WinsockSocket, the same
 * way for the server and for connect(): a NetConnection's socket is adopted
 * in place (Node's own socket and handle, nothing layered on top); a
 * SocketHandle gets a HandleSocket around it.
 */
import type { Socket } from 'node:net';
import { isNetConnection, type Connection, type NetConnection } from './provider';
import type { SocketMode } from './types';
import { adoptSocket, type ErrorStyle, type SocketInfo, type WinsockSocket } from './socket';
import { HandleSocket } from './handle-socket';

export interface SocketSettings {
  readonly mode: SocketMode;
  readonly maxDisconnectData: number;
  readonly allowHalfOpen: boolean;
  readonly errors: ErrorStyle;
  /** net's pauseOnConnect: no read-ahead; the socket reads once resumed or read (a server's option). */
  readonly pauseOnConnect?: boolean;
}

/**
 * Builds sockets for one server or one connect. The Winsock state of a plain
 * TCP connection is the same for every socket of a server, so it is made
 * once and shared (an idle socket then costs what net's costs).
 */
export class SocketFactory {
  private shared: SocketInfo | null = null;

  constructor(readonly settings: SocketSettings) {}

  /** The public socket for what a provider handed over (a bound function: connect() passes it to then()). */
  readonly make = (connection: Connection): WinsockSocket => {
    const { settings } = this;
    if (!isNetConnection(connection)) {
      const info = HandleSocket.infoOf(connection, settings);
      return new HandleSocket(connection, {
        info,
        allowHalfOpen: settings.allowHalfOpen,
        pauseOnConnect: settings.pauseOnConnect === true,
      });
    }
    const socket = adoptSocket(connection.socket, this.infoOf(connection));
    socket.allowHalfOpen = settings.allowHalfOpen;
    // pauseOnConnect: left as the provider holds it, paused and not reading (net's pauseOnCreate).
    if (settings.pauseOnConnect !== true) startReadAhead(connection.socket);
    return socket;
  };

  private infoOf(connection: NetConnection): SocketInfo {
    // Nothing per connection: share the state (the provider's sendDisconnect is one function for all its sockets).
    const plain = connection.callerData === null && connection.calleeData === null && connection.qos === null;
    const shared = this.shared;
    if (
      plain &&
      shared !== null &&
      shared.capabilities === connection.capabilities &&
      shared.sendDisconnect === connection.sendDisconnect
    )
      return shared;
    const { mode, maxDisconnectData, errors } = this.settings;
    const info: SocketInfo = {
      capabilities: connection.capabilities,
      callerData: connection.callerData,
      calleeData: connection.calleeData,
      qos: connection.qos,
      mode,
      maxDisconnectData,
      errors,
      sendDisconnect: connection.sendDisconnect,
    };
    if (plain) this.shared = info;
    return info;
  }
}

const factories = new Map<string, SocketFactory>();
/** The factory used last: connects in a row nearly always share their settings (no key string per connect). */
let lastFactory: SocketFactory | null = null;

/**
 * The factory for connect()'s sockets with these settings, shared by every
 * connect that uses them (so is the Winsock state of their plain TCP sockets).
 */
export function sharedFactory(
  mode: SocketMode,
  maxDisconnectData: number,
  allowHalfOpen: boolean,
  errors: ErrorStyle,
): SocketFactory {
  const last = lastFactory?.settings;
  if (
    last !== undefined &&
    last.mode === mode &&
    last.maxDisconnectData === maxDisconnectData &&
    last.allowHalfOpen === allowHalfOpen &&
    last.errors === errors
  ) {
    return lastFactory as SocketFactory;
  }
  const key = `${mode}/${maxDisconnectData}/${allowHalfOpen}/${errors}`;
  let factory = factories.get(key);
  if (factory === undefined) {
    // A handful of keys in practice; bounded all the same (maxDisconnectData is the user's number).
    if (factories.size >= 64) factories.clear();
    factory = new SocketFactory({ mode, maxDisconnectData, allowHalfOpen, errors });
    factories.set(key, factory);
  }
  lastFactory = factory;
  return factory;
}

/**
 * As a socket net.Server accepts on its own: reading into the readable
 * buffer up to its highWaterMark, delivered once someone reads or listens
 * for 'data'. (The provider held it paused, `pauseOnConnect`, while the
 * condition decided; paused that way, a 'data' listener would not start it.)
 */
function startReadAhead(socket: Socket): void {
  if (socket.destroyed) return;
  (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
  socket.read(0);
}
