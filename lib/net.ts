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
import { EventEmitter } from 'node:events';
import * as nodeNet from 'node:net';
import { GateServer, kErrorStyle, kPauseOnConnect, type InternalServerOptions } from './server';
import { WinsockSocket, type SocketInfo } from './socket';
import { HandleSocket } from './handle-socket';
import { WinsockError } from './errors';
import { toNetError } from './net-errors';
import { resolveProvider } from './providers';
import { toBufferOrNull } from './buffers';
import { checkConnectTarget, checkServerOptions, netError, parseConnectArgs, parseListenArgs } from './net-args';
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

type ListenCallback = () => void;

/**
 * A server as net.Server, with the gate in front: `condition`, `blockList`,
 * `maxConnections` ('drop'), `decisionTimeout` and the gate's events
 * ('decision', 'conditionError', 'withdrawn', 'clientError').
 */
class NetServer extends GateServer {
  private readonly keepAlive: boolean;
  private readonly keepAliveInitialDelay: number;
  private readonly noDelay: boolean;

  constructor(
    options?: NetServerOptions | ((socket: WinsockSocket) => void),
    connectionListener?: (socket: WinsockSocket) => void,
  ) {
    checkServerOptions(options);
    const opts: NetServerOptions =
      typeof options === 'function' || options === undefined || options === null ? {} : options;
    const listener = typeof options === 'function' ? options : connectionListener;
    const gateOptions: InternalServerOptions = {
      [kErrorStyle]: 'net',
      [kPauseOnConnect]: opts.pauseOnConnect === true,
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
    this.noDelay = opts.noDelay === true;
    this.keepAlive = opts.keepAlive === true;
    this.keepAliveInitialDelay = opts.keepAliveInitialDelay ?? 0;
    if (listener) this.on('connection', listener);
    // net's per-connection options, applied before the application sees the socket.
    if (this.keepAlive || this.noDelay) {
      this.prependListener('connection', (socket: WinsockSocket) => {
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
    if (this.running || this.queuedBind !== null)
      throw netError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    if (callback) this.once('listening', callback);
    if (signal !== undefined) {
      // As net: an aborted signal closes the server (one already aborted: at once).
      if (signal.aborted) {
        process.nextTick(() => this.close());
      } else signal.addEventListener('abort', () => this.close(), { once: true });
    }
    const bind = (): void => {
      this.listenCore(host === undefined ? { port } : { port, host }).then(undefined, (err: unknown) => {
        if (err instanceof WinsockError && err.code === 'WSAEINTR') return; // closed while binding
        this.emit('error', toNetError(err, 'listen', host ?? '::', port) as WinsockError);
      });
    };
    // net closes its handle synchronously, so `close(); listen()` works; ours closes the provider's
    // listener asynchronously: the new bind follows it.
    const closing = this.closeInProgress;
    if (closing === null) {
      bind();
      return this;
    }
    // Listening, as far as listen() and close() are concerned, until it binds or a close() cancels it.
    const queued = (): void => {
      if (this.queuedBind !== queued) return;
      this.queuedBind = null;
      bind();
    };
    this.queuedBind = queued;
    void closing.then(queued);
    return this;
  }

  /** A listen() made while the provider's listener was still closing, waiting to bind. */
  private queuedBind: (() => void) | null = null;

  /**
   * As net.Server.close: stops accepting (every queued or deferred caller is
   * refused); 'close' is emitted once every connection has ended. `callback`
   * runs then, with ERR_SERVER_NOT_RUNNING when the server was not listening.
   */
  close(callback?: (err?: Error) => void): this {
    // A listen() still waiting for an earlier close is cancelled: to net that server was listening.
    const running = this.running || this.queuedBind !== null;
    this.queuedBind = null;
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

/**
 * With `captureRejections`, a rejected async 'connection' listener destroys
 * that socket with the error, and any other event's goes to 'error':
 * net.Server's handler. (On the prototype: the typed events of the base
 * class do not let a class member take every event.)
 */
Object.defineProperty(NetServer.prototype, EventEmitter.captureRejectionSymbol, {
  configurable: true,
  writable: true,
  value(this: NetServer, err: Error, event: string | symbol, socket?: WinsockSocket): void {
    if (event === 'connection' && socket !== undefined) socket.destroy(err);
    else (this as unknown as EventEmitter).emit('error', err);
  },
});

/**
 * A class that can also be called without `new`, as net's constructors can
 * (`net.Server()`, `net.Socket()`: they are functions in node:net). A Proxy,
 * so that `instanceof`, `extends` and the prototype stay the class's own.
 */
function callableClass<C extends abstract new (...args: never[]) => object>(
  Class: C,
): C & ((...args: ConstructorParameters<C>) => InstanceType<C>) {
  return new Proxy(Class, {
    apply: (target, _this, args: unknown[]) => Reflect.construct(target, args) as unknown,
  }) as C & ((...args: ConstructorParameters<C>) => InstanceType<C>);
}

/** As net.Server (with or without `new`), the gate in front. */
export const Server = callableClass(NetServer);
export type Server = NetServer;

/** As net.createServer, with the gate's options beside net's. */
export function createServer(
  options?: NetServerOptions | ((socket: WinsockSocket) => void),
  connectionListener?: (socket: WinsockSocket) => void,
): Server {
  return new NetServer(options, connectionListener);
}

/** A plain TCP socket that connects as net.Socket does, with net's errors (and winsockCode); callable without `new`, as net's. */
export const Socket = callableClass(WinsockSocket);
export type Socket = WinsockSocket;
/** net's old name for Socket. */
export const Stream = Socket;
export type Stream = WinsockSocket;

/**
 * As net.connect / net.createConnection: returns the socket at once; it
 * emits 'connect' and 'ready'. On the TCP providers (emulated, native) this
 * is Node's own connect (TCP/IP carries no caller data); on `framed` the
 * socket is connected through the framed handshake, caller data included.
 */
export function connect(options: NetConnectOptions, connectionListener?: () => void): WinsockSocket;
export function connect(port: number, host?: string, connectionListener?: () => void): WinsockSocket;
export function connect(...args: unknown[]): WinsockSocket {
  const parsed = parseConnectArgs(args);
  const listener = parsed.listener;
  const options = parsed.options as unknown as NetConnectOptions;
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
  // net.Socket#connect's checks, made before a connect net does not make.
  const port = checkConnectTarget(parsed.options);
  return connectFramed(provider, options, port, listener);
}

/** The framed provider's connect behind a socket that exists at once ('connect' once the acceptor accepted). */
function connectFramed(
  provider: ReturnType<typeof resolveProvider>,
  options: NetConnectOptions,
  /** The port, checked (options.port may be a numeric string). */
  port: number,
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
      port,
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
      socket.destroy(toNetError(err, 'connect', host, port));
    });
  return socket;
}

export { connect as createConnection };
