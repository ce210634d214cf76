/**
 * winsock2/net: a drop-in for `node:net` with conditional accept in front.
 * `require('net')` → `require('winsock2/net')` and a program keeps working;
 * `createServer({ condition })` then decides every caller before it is
 * accepted. Servers listen in all of net's forms and bind synchronously
 * where net does; `close([cb])` waits for connections as net's; errors are
 * net's (`ECONNREFUSED`, `EADDRINUSE`, ...) with `winsockCode` beside.
 * Sockets are WinsockSockets: Node's own net.Socket on the TCP providers.
 * Everything else is node:net's own, re-exported.
 */
import * as nodeNet from 'node:net';
import { GateServer, kErrorStyle, type InternalServerOptions } from './server';
import { WinsockSocket, type SocketInfo } from './socket';
import { HandleSocket } from './handle-socket';
import { WinsockError } from './errors';
import { toNetError } from './net-errors';
import { resolveProvider } from './providers';
import { toBufferOrNull } from './buffers';
import {
  DEFAULTS,
  type ConditionFunction,
  type ProviderChoice,
  type Qos,
  type ServerOptions,
  type SocketMode,
} from './types';

export * from 'node:net';

/** `createServer`'s options: net's, plus the gate's. */
export interface NetServerOptions extends nodeNet.ServerOpts, Omit<ServerOptions, 'allowHalfOpen'> {
  condition?: ConditionFunction;
  provider?: ProviderChoice;
}

/** `connect`'s options: net's, plus what a provider that carries it sends with the connect. */
export type NetConnectOptions = nodeNet.NetConnectOpts & {
  provider?: ProviderChoice;
  /** Caller data (`framed` only). */
  callerData?: Buffer | Uint8Array | string | null;
  sqos?: Qos | null;
  gqos?: Qos | null;
  mode?: SocketMode;
};

function netError(code: string, message: string): Error & { code: string } {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  return err;
}

type ListenCallback = () => void;

/**
 * A server as net.Server, with the gate in front: `condition`, `blockList`,
 * `maxConnections` ('drop'), `decisionTimeout` and the gate's events
 * ('decision', 'conditionError', 'withdrawn', 'clientError').
 */
export class Server extends GateServer {
  private readonly pauseOnConnect: boolean;
  private readonly keepAlive: boolean;
  private readonly keepAliveInitialDelay: number;
  private readonly noDelay: boolean;

  constructor(
    options?: NetServerOptions | ((socket: WinsockSocket) => void),
    connectionListener?: (socket: WinsockSocket) => void,
  ) {
    const opts: NetServerOptions =
      typeof options === 'function' || options === undefined || options === null ? {} : options;
    const listener = typeof options === 'function' ? options : connectionListener;
    const gateOptions: InternalServerOptions = {
      [kErrorStyle]: 'net',
      allowHalfOpen: opts.allowHalfOpen === true,
    };
    for (const key of [
      'provider',
      'backlog',
      'condition',
      'blockList',
      'maxConnections',
      'handshakeTimeout',
      'decisionTimeout',
      'mode',
      'maxCallerData',
      'maxCalleeData',
      'maxDisconnectData',
    ] as const) {
      if (opts[key] !== undefined) (gateOptions as Record<string, unknown>)[key] = opts[key];
    }
    super(gateOptions);
    this.pauseOnConnect = opts.pauseOnConnect === true;
    this.noDelay = opts.noDelay === true;
    this.keepAlive = opts.keepAlive === true;
    this.keepAliveInitialDelay = opts.keepAliveInitialDelay ?? 0;
    if (listener) this.on('connection', listener);
    // net's per-connection options, applied before the application sees the socket.
    if (this.pauseOnConnect || this.keepAlive || this.noDelay) {
      this.prependListener('connection', (socket: WinsockSocket) => {
        if (this.pauseOnConnect) socket.pause();
        if (this.noDelay) socket.setNoDelay(true);
        if (this.keepAlive) socket.setKeepAlive(true, this.keepAliveInitialDelay);
      });
    }
  }

  /**
   * As net.Server.listen, in its forms: `(port[, host][, backlog][, cb])`,
   * `(options[, cb])`. The bind is synchronous for an IP host, so
   * `address()` answers right after; failures are emitted as 'error'.
   * `backlog` here is net's (the kernel's); the gate's queue is the
   * `backlog` option of createServer. Paths (pipes) are not TCP: throws.
   */
  listen(port?: number | string | null, host?: string, backlog?: number, callback?: ListenCallback): this;
  listen(port?: number | string | null, host?: string, callback?: ListenCallback): this;
  listen(port?: number | string | null, backlog?: number, callback?: ListenCallback): this;
  listen(port?: number | string | null, callback?: ListenCallback): this;
  listen(options: nodeNet.ListenOptions, callback?: ListenCallback): this;
  listen(...args: unknown[]): this {
    const { port, host, callback, signal } = parseListenArgs(args);
    if (this.running)
      throw netError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    if (callback) this.once('listening', callback);
    if (signal !== undefined) {
      // As net: an aborted signal closes the server (one already aborted: at once).
      if (signal.aborted) {
        process.nextTick(() => this.close());
      } else signal.addEventListener('abort', () => this.close(), { once: true });
    }
    this.listenCore(host === undefined ? { port } : { port, host }).then(undefined, (err: unknown) => {
      if (err instanceof WinsockError && err.code === 'WSAEINTR') return; // closed while binding
      this.emit('error', toNetError(err, 'listen', host ?? '::', port) as WinsockError);
    });
    return this;
  }

  /**
   * As net.Server.close: stops accepting (every queued or deferred caller is
   * refused); 'close' is emitted once every connection has ended. `callback`
   * runs then, with ERR_SERVER_NOT_RUNNING when the server was not listening.
   */
  close(callback?: (err?: Error) => void): this {
    const running = this.running;
    this.closeRequests++;
    if (typeof callback === 'function') {
      if (running) this.once('close', () => callback());
      else this.once('close', () => callback(netError('ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
    }
    if (running) void this.closeCore().then(() => this.emitCloseIfDrained());
    else process.nextTick(() => this.emitCloseIfDrained());
    return this;
  }

  /**
   * close() calls still waiting for their 'close': one each once nothing
   * listens and no connection is left, as net's _emitCloseIfDrained emits.
   */
  private closeRequests = 0;

  private emitCloseIfDrained(): void {
    if (this.closeRequests === 0 || this.running || this.connections > 0) return;
    let n = this.closeRequests;
    this.closeRequests = 0;
    process.nextTick(() => {
      while (n-- > 0) this.emit('close');
    });
  }

  /** As net.Server.listening: true from the bind (synchronous for an IP host), false after close(). */
  override get listening(): boolean {
    return super.listening || (this.running && this.address() !== null);
  }

  protected override socketClosed(): void {
    this.emitCloseIfDrained();
  }

  /** `await using`: closes as net.Server's Symbol.asyncDispose. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.running) return;
    await new Promise<void>((resolve) => this.close(() => resolve()));
  }
}

/** net.Server.listen's arguments. */
function parseListenArgs(args: unknown[]): {
  port: number;
  host: string | undefined;
  callback: ListenCallback | undefined;
  signal: AbortSignal | undefined;
} {
  const last = args[args.length - 1];
  const callback = typeof last === 'function' ? (last as ListenCallback) : undefined;
  const rest = callback ? args.slice(0, -1) : args;
  const first = rest[0];
  let port: unknown = 0;
  let host: unknown;
  let signal: AbortSignal | undefined;
  if (first !== null && typeof first === 'object') {
    const options = first as nodeNet.ListenOptions & { handle?: unknown; fd?: unknown };
    if (options.path !== undefined || options.handle !== undefined || options.fd !== undefined) {
      throw netError('ERR_INVALID_ARG_VALUE', 'winsock2/net listens on TCP ports only (no path, handle or fd)');
    }
    port = options.port ?? 0;
    host = options.host;
    signal = options.signal;
  } else {
    port = first ?? 0;
    if (typeof rest[1] === 'string') host = rest[1];
  }
  if (typeof port === 'string' && /^[0-9]+$/.test(port)) port = Number(port);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    const err = netError('ERR_SOCKET_BAD_PORT', `options.port should be >= 0 and < 65536. Received ${String(port)}.`);
    throw Object.setPrototypeOf(err, RangeError.prototype) as Error;
  }
  if (host !== undefined && host !== null && typeof host !== 'string') {
    throw netError('ERR_INVALID_ARG_TYPE', 'The "host" argument must be of type string');
  }
  return { port, host: host === null || host === '' ? undefined : (host as string | undefined), callback, signal };
}

/** As net.createServer, with the gate's options beside net's. */
export function createServer(
  options?: NetServerOptions | ((socket: WinsockSocket) => void),
  connectionListener?: (socket: WinsockSocket) => void,
): Server {
  return new Server(options, connectionListener);
}

/** A plain TCP socket that connects as net.Socket does, with net's errors (and winsockCode). */
export { WinsockSocket as Socket, WinsockSocket as Stream };

/**
 * As net.connect / net.createConnection: returns the socket at once; it
 * emits 'connect' and 'ready'. On the TCP providers (emulated, native) this
 * is Node's own connect (TCP/IP carries no caller data); on `framed` the
 * socket is connected through the framed handshake, caller data included.
 */
export function connect(options: NetConnectOptions, connectionListener?: () => void): WinsockSocket;
export function connect(port: number, host?: string, connectionListener?: () => void): WinsockSocket;
export function connect(...args: unknown[]): WinsockSocket {
  const last = args[args.length - 1];
  const listener = typeof last === 'function' ? (last as () => void) : undefined;
  const first = args[0];
  const options: NetConnectOptions =
    first !== null && typeof first === 'object'
      ? (first as NetConnectOptions)
      : { port: Number(first), ...(typeof args[1] === 'string' ? { host: args[1] } : {}) };
  const provider = resolveProvider(options.provider);
  if (provider.name !== 'framed') {
    const { provider: _p, callerData, sqos: _s, gqos: _g, mode: _m, ...netOptions } = options;
    if (toBufferOrNull(callerData, 'callerData', 'WSAConnect') !== null) {
      throw toNetError(
        new WinsockError('WSAEPROTONOSUPPORT', 'WSAConnect', {
          detail: `the ${provider.name} provider cannot carry caller data`,
        }),
        'connect',
      );
    }
    const info: SocketInfo = {
      capabilities: provider.capabilities('stream'),
      callerData: null,
      calleeData: null,
      qos: null,
      mode: 'stream',
      maxDisconnectData: DEFAULTS.maxDisconnectData,
      errors: 'net',
    };
    const socket = new WinsockSocket({ ...netOptions, winsock: info });
    if (netOptions.timeout) socket.setTimeout(netOptions.timeout);
    return listener ? socket.connect(netOptions, listener) : socket.connect(netOptions);
  }
  return connectFramed(provider, options, listener);
}

/** The framed provider's connect behind a socket that exists at once ('connect' once the acceptor accepted). */
function connectFramed(
  provider: ReturnType<typeof resolveProvider>,
  options: NetConnectOptions,
  listener?: () => void,
): WinsockSocket {
  const tcp = options as nodeNet.TcpNetConnectOpts;
  const mode = options.mode ?? 'stream';
  const info: SocketInfo = {
    capabilities: provider.capabilities(mode),
    callerData: null,
    calleeData: null,
    qos: null,
    mode,
    maxDisconnectData: DEFAULTS.maxDisconnectData,
    errors: 'net',
  };
  const socket = new HandleSocket(null, { info, allowHalfOpen: options.allowHalfOpen === true });
  if (listener) socket.once('connect', listener);
  if (tcp.timeout) socket.setTimeout(tcp.timeout);
  const host = tcp.host ?? 'localhost';
  const callerData = toBufferOrNull(options.callerData, 'callerData', 'WSAConnect');
  provider
    .connect({
      host: host === 'localhost' ? '127.0.0.1' : host,
      port: tcp.port,
      callerData: callerData !== null && callerData.length > 0 ? callerData : null,
      sqos: options.sqos ?? null,
      gqos: options.gqos ?? null,
      timeout: 0,
      signal: options.signal ?? null,
      maxCalleeData: DEFAULTS.maxCalleeData,
      maxDisconnectData: DEFAULTS.maxDisconnectData,
      mode,
    })
    .then((connection) => {
      if (socket.destroyed) {
        if ('close' in connection && typeof connection.close === 'function') connection.close();
        return;
      }
      if ('kind' in connection) throw new Error('the framed provider hands over SocketHandles');
      socket.adoptInfo(
        HandleSocket.infoOf(connection, { mode, maxDisconnectData: DEFAULTS.maxDisconnectData, errors: 'net' }),
      );
      socket.open(connection);
    })
    .catch((err: unknown) => {
      socket.destroy(toNetError(err, 'connect', host, tcp.port));
    });
  return socket;
}

export { connect as createConnection };
