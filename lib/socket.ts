/**
 * WinsockSocket: the connected socket a user gets, on every provider. It is a
 * `net.Socket` (`instanceof net.Socket`). On `emulated`, and on `native` once
 * the SOCKET went to libuv, it is Node's own socket over Node's own TCP
 * handle: TLS runs TLSWrap over the handle, http's parser consumes it, and no
 * second stream layer sits between the user and the kernel. `framed` (and
 * native's own data path) subclass it (lib/handle-socket.ts) with the bytes
 * going through a provider handle instead.
 *
 * Winsock's members ride on top: `capabilities`, `callerData`/`calleeData`,
 * `qos`, `sendDisconnect` (WSASendDisconnect), `recvDisconnect`
 * (WSARecvDisconnect) and net's own `resetAndDestroy` (the abortive close).
 *
 * Sockets Node made (net.Server's accepted ones, `new net.Socket({ handle })`)
 * are adopted in place by {@link adoptSocket}: their prototype becomes
 * WinsockSocket's, and one slot holds the Winsock state. That state is shared
 * by every socket of a server when nothing in it differs per connection, so
 * an idle socket costs what net's costs.
 */
import * as net from 'node:net';
import { DEFAULTS, type Capabilities, type Qos, type SocketAddress, type SocketMode } from './types';
import { WSA_ERRORS, WinsockError, isAbortError, winsockCodeOfNodeError } from './errors';
import { toBufferOrNull } from './buffers';
import type { WinsockSocketEvents } from './socket-events';
import { checkDataCarried } from './validation';
import { toNetSocketError } from './net-errors';
import { kUntracksOnDestroy, untrackSocket } from './tcp/tracker';
import { declareSlots, kOwner, makeSlots } from './tcp/slots';
import { checkTimeout } from './socket-options';
import { emulatedCapabilities } from './emulated/protocols';
import { socketAddress } from './tcp/sockets';

/** How errors are raised: the promise API's WinsockErrors, or net's errors (winsock2/net) with their Winsock code beside. */
export type ErrorStyle = 'winsock' | 'net';

/** @internal The Winsock state of one socket (often shared by every socket of a server). */
export interface SocketInfo {
  readonly capabilities: Capabilities;
  readonly callerData: Buffer | null;
  readonly calleeData: Buffer | null;
  readonly qos: Qos | null;
  readonly mode: SocketMode;
  readonly maxDisconnectData: number;
  readonly errors: ErrorStyle;
  /** The provider's own WSASendDisconnect (native after the hand-off); without it net's shutdown runs. */
  readonly sendDisconnect?: ((socket: net.Socket) => void) | undefined;
}

/** net's errors with the Winsock code that means the same (winsock2/net). */
export interface NetErrorWithWinsockCode extends Error {
  /** The Winsock name of the same failure, e.g. `'WSAECONNREFUSED'`. */
  winsockCode?: string;
  /** The Winsock number of the same failure, e.g. 10061. */
  winsockErrno?: number;
}

const kInfo: unique symbol = Symbol('winsock2.socketInfo');

/** The state of a `new WinsockSocket()`: a plain TCP socket, as emulated's. */
const PLAIN_TCP: SocketInfo = Object.freeze({
  capabilities: emulatedCapabilities(),
  callerData: null,
  calleeData: null,
  qos: null,
  mode: 'stream',
  maxDisconnectData: DEFAULTS.maxDisconnectData,
  errors: 'net',
});

/** Options of `new WinsockSocket()`: net.Socket's (winsock2/net's `new Socket()`). */
export interface WinsockSocketOptions extends net.SocketConstructorOpts {
  /** @internal */
  winsock?: SocketInfo;
}

/** A listener of one of the typed events of a {@link WinsockSocket}. */
export type WinsockSocketListener<K extends keyof WinsockSocketEvents> = (...args: WinsockSocketEvents[K]) => void;
/** A listener of any other event (the fallback overload, as Node's own typings have it). */
export type AnyWinsockSocketListener = (...args: never[]) => void;

/**
 * The typed events of a {@link WinsockSocket} (see {@link WinsockSocketEvents}),
 * beside net.Socket's own: `sock.on('error', (e) => e.code)` type-checks.
 */
export interface WinsockSocket {
  /** Adds a listener of a typed event. */
  on<K extends keyof WinsockSocketEvents>(event: K, listener: WinsockSocketListener<K>): this;
  /** Adds a listener of any other event. */
  on(event: string | symbol, listener: AnyWinsockSocketListener): this;
  /** Adds a one-time listener of a typed event. */
  once<K extends keyof WinsockSocketEvents>(event: K, listener: WinsockSocketListener<K>): this;
  /** Adds a one-time listener of any other event. */
  once(event: string | symbol, listener: AnyWinsockSocketListener): this;
  /** Adds a listener of a typed event. */
  addListener<K extends keyof WinsockSocketEvents>(event: K, listener: WinsockSocketListener<K>): this;
  /** Adds a listener of any other event. */
  addListener(event: string | symbol, listener: AnyWinsockSocketListener): this;
  /** Adds a listener first in line of a typed event. */
  prependListener<K extends keyof WinsockSocketEvents>(event: K, listener: WinsockSocketListener<K>): this;
  /** Adds a listener first in line of any other event. */
  prependListener(event: string | symbol, listener: AnyWinsockSocketListener): this;
  /** Adds a one-time listener first in line of a typed event. */
  prependOnceListener<K extends keyof WinsockSocketEvents>(event: K, listener: WinsockSocketListener<K>): this;
  /** Adds a one-time listener first in line of any other event. */
  prependOnceListener(event: string | symbol, listener: AnyWinsockSocketListener): this;
  /** Removes a listener of a typed event. */
  off<K extends keyof WinsockSocketEvents>(event: K, listener: WinsockSocketListener<K>): this;
  /** Removes a listener of any other event. */
  off(event: string | symbol, listener: AnyWinsockSocketListener): this;
  /** Removes a listener of a typed event. */
  removeListener<K extends keyof WinsockSocketEvents>(event: K, listener: WinsockSocketListener<K>): this;
  /** Removes a listener of any other event. */
  removeListener(event: string | symbol, listener: AnyWinsockSocketListener): this;
  /** Emits a typed event with its arguments. */
  emit<K extends keyof WinsockSocketEvents>(event: K, ...args: WinsockSocketEvents[K]): boolean;
  /** Emits any other event. */
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

// net.Socket's own methods, read once. `net` is an esModuleInterop namespace:
// each member is a getter doing a keyed load shared by every such namespace
// (megamorphic), which read on every write cost ~1,900 instructions per
// ping-pong round trip (npm run bench:instructions, docs/performance.md).
const netSocketConnect = Reflect.get(net.Socket.prototype, 'connect') as (
  this: net.Socket,
  ...args: unknown[]
) => net.Socket;
const netSocketWrite = Reflect.get(net.Socket.prototype, 'write') as (this: net.Socket, ...args: unknown[]) => boolean;
const netSocketFinal = (
  net.Socket.prototype as unknown as { _final: (this: net.Socket, callback: (error?: Error | null) => void) => void }
)._final;

/**
 * A connected socket of any provider: a `net.Socket` with Winsock's teardown
 * on top. `new WinsockSocket()` is a plain TCP socket that connects as
 * net.Socket does (winsock2/net's `Socket`).
 */
export class WinsockSocket extends net.Socket {
  /** @internal `declare`: no field is emitted, so adopted sockets (which never ran this constructor) have the same shape. */
  declare [kInfo]: SocketInfo;
  /** @internal recvDisconnect()'s result once asked for. */
  declare private recvDisconnectResult: Promise<Buffer | null> | undefined;

  constructor(options?: WinsockSocketOptions) {
    // net.Socket reads only the options it knows: `winsock` rides along
    // (no copy of the options per socket).
    super(options);
    this[kInfo] = options?.winsock ?? PLAIN_TCP;
    // Every slot filled later is made here, so the socket keeps its shape (lib/tcp/slots.ts).
    makeSlots(this);
    // net's connect() puts a write of its own on the socket (connectKeepingWrite
    // below): its slot too, holding the class's own write (a subclass's
    // included). new.target, not Object.getPrototypeOf (a runtime call).
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a method slot, called as this socket's write
    this.write = new.target.prototype.write;
  }

  /** What this socket's provider can carry. */
  get capabilities(): Capabilities {
    return this[kInfo].capabilities;
  }
  /** Caller data the client sent with its connect (server side); null when none. */
  get callerData(): Buffer | null {
    return this[kInfo].callerData;
  }
  /** Callee data the acceptor sent with its accept (client side); null when none. */
  get calleeData(): Buffer | null {
    return this[kInfo].calleeData;
  }
  /**
   * The QOS the acceptor granted with its accept (`{ action: 'accept', qos }`),
   * on both ends; null when none was granted or the provider carries no QOS.
   */
  get qos(): Qos | null {
    return this[kInfo].qos;
  }
  /** `'stream'` or `'message'` (message boundaries kept; framed only). */
  get mode(): SocketMode {
    return this[kInfo].mode;
  }

  /** The peer's endpoint as one object (net.Socket gives it as three properties). */
  remoteEndpoint(): SocketAddress {
    return socketAddress(this.remoteAddress, this.remotePort);
  }

  /**
   * WSASendDisconnect: flushes every byte already written, then shuts down the
   * sending side, carrying `data` to the peer's recvDisconnect(). Rejects with
   * WSAEMSGSIZE (over maxDisconnectData) or WSAENOPROTOOPT (the provider
   * cannot carry disconnect data) before anything is sent.
   */
  async sendDisconnect(data?: Buffer | Uint8Array | string | null): Promise<void> {
    const info = this[kInfo];
    const buffer = toBufferOrNull(data, 'disconnect data', 'WSASendDisconnect');
    if (buffer !== null && buffer.length > info.maxDisconnectData) {
      throw new WinsockError('WSAEMSGSIZE', 'WSASendDisconnect', {
        detail: `disconnect data is ${buffer.length} bytes; maxDisconnectData is ${info.maxDisconnectData}`,
      });
    }
    if (buffer !== null && buffer.length > 0) checkDataCarried('disconnectData', info.capabilities);
    if (this.destroyed) throw new WinsockError('WSAENOTSOCK', 'WSASendDisconnect', { detail: 'the socket is closed' });
    if (this.writableEnded) {
      // Winsock: a second WSASendDisconnect returns 0; data can no longer go anywhere.
      if (buffer !== null && buffer.length > 0) throw new WinsockError('WSAESHUTDOWN', 'WSASendDisconnect');
      if (this.writableFinished) return;
      return this.waitFinished();
    }
    this.setDisconnectData(buffer !== null && buffer.length > 0 ? buffer : null);
    const finished = this.waitFinished();
    this.end();
    return finished;
  }

  /** @internal Where a subclass keeps the data its _final sends (TCP carries none). */
  protected setDisconnectData(_data: Buffer | null): void {}

  private waitFinished(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onFinish = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        if (this.writableFinished) resolve();
        else
          reject(
            this.errored
              ? WinsockError.fromNodeError(this.errored, 'WSASendDisconnect')
              : new WinsockError('WSAENOTSOCK', 'WSASendDisconnect', {
                  detail: 'the socket closed before its data was sent',
                }),
          );
      };
      const cleanup = (): void => {
        this.off('finish', onFinish);
        this.off('close', onClose);
      };
      this.on('finish', onFinish);
      this.on('close', onClose);
    });
  }

  /**
   * WSARecvDisconnect: resolves the disconnect data the peer sent with its
   * shutdown (null when none; TCP/IP never carries any). Before the peer's
   * teardown it waits for it, leaving reception as it is (no provider shuts
   * reception down at once: docs/winsock-mapping.md); it still works after
   * the socket has closed.
   */
  recvDisconnect(): Promise<Buffer | null> {
    if (this.recvDisconnectResult) return this.recvDisconnectResult;
    if (this.readableEnded || this.destroyed) {
      this.recvDisconnectResult = this.peerDisconnectData();
      return this.recvDisconnectResult;
    }
    return new Promise<Buffer | null>((resolve, reject) => {
      const done = (): void => {
        this.off('end', done);
        this.off('close', done);
        this.recvDisconnect().then(resolve, reject);
      };
      this.on('end', done);
      this.on('close', done);
    });
  }

  /** @internal The peer's disconnect data once its teardown arrived; TCP/IP carries none. */
  protected peerDisconnectData(): Promise<Buffer | null> {
    return Promise.resolve(null);
  }

  /**
   * @internal net.Socket's _final, or the provider's own WSASendDisconnect
   * (native after the hand-off): it runs once every write callback ran.
   */
  override _final(callback: (error?: Error | null) => void): void {
    const shutdown = this[kInfo].sendDisconnect;
    const handle = (this as unknown as { _handle: unknown })._handle;
    if (shutdown === undefined || handle === null || handle === undefined) {
      netSocketFinal.call(this, callback);
      return;
    }
    try {
      shutdown(this);
    } catch (err) {
      callback(WinsockError.fromNodeError(err, 'WSASendDisconnect'));
      return;
    }
    callback();
  }

  /**
   * As net.Socket.write, every call form (`write(data, cb)`, `write(data,
   * null, cb)`, `write(data, 'utf8', cb)`). In the promise API, a write
   * after `sendDisconnect()`/`end()` fails with WSAESHUTDOWN and leaves the
   * socket open (as WSASend after shutdown(SD_SEND): only that call fails, and
   * the socket keeps receiving), and one after destroy with WSAENOTSOCK
   * (through the callback only, as net). In winsock2/net: net's errors.
   */
  override write(data: Uint8Array | string, callback?: (error?: Error) => void): boolean;
  override write(data: Uint8Array | string, encoding?: BufferEncoding, callback?: (error?: Error) => void): boolean;
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if ((this.writableEnded || this.destroyed) && this[kInfo].errors === 'winsock') {
      const cb = typeof encoding === 'function' ? encoding : callback;
      const destroyed = this.destroyed;
      const error = destroyed
        ? new WinsockError('WSAENOTSOCK', 'WSASend', { detail: 'the socket is closed' })
        : new WinsockError('WSAESHUTDOWN', 'WSASend', {
            detail: 'the sending side was shut down (sendDisconnect or end)',
          });
      process.nextTick(() => {
        if (typeof cb === 'function') (cb as (err: Error) => void)(error);
        if (!destroyed) this.emit('error', error);
      });
      return false;
    }
    return netSocketWrite.call(this, chunk, encoding, callback);
  }

  /**
   * As net.Socket.setTimeout. In the promise API, bad arguments throw
   * WSAEINVAL where net throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE.
   */
  override setTimeout(timeout: number, callback?: () => void): this {
    if (this[kInfo].errors === 'winsock') {
      checkTimeout(timeout);
      if (callback !== undefined && typeof callback !== 'function') {
        throw new WinsockError('WSAEINVAL', 'setsockopt', { detail: 'the setTimeout callback must be a function' });
      }
    }
    return super.setTimeout(timeout, callback);
  }

  /** @internal An error of this socket's provider in the socket's style (WinsockError, or net's in winsock2/net). */
  protected styleError(error: Error): Error {
    if (this[kInfo].errors === 'winsock') return toWinsockError(error);
    return error instanceof WinsockError ? toNetSocketError(error) : withWinsockCode(error);
  }

  /** @internal net's _destroy (closes the handle), counted out of the provider's handle count first. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    untrackSocket(this);
    super._destroy(error, callback);
  }

  /**
   * As net.Socket.destroy; the error it carries is the promise API's
   * WinsockError (the original is its `cause`), or in winsock2/net net's own
   * error with `winsockCode`/`winsockErrno` added.
   */
  override destroy(error?: Error): this {
    // Counted out of its server as it is destroyed, as net.Server counts its
    // connections: the server's 'close' can then come before this socket's.
    const owner = (this as unknown as Record<symbol, SocketOwner | undefined>)[kOwner];
    if (owner !== undefined) {
      (this as unknown as Record<symbol, SocketOwner | undefined>)[kOwner] = undefined;
      owner.forget();
    }
    if (error !== undefined && error !== null && !isAbortError(error)) {
      // winsock2/net: net's error (ECONNRESET from a read), whichever provider failed the socket.
      error = this.styleError(error);
    }
    return super.destroy(error);
  }
}

/** The Winsock function a node:net failure stands for. */
function syscallOf(err: Error): string {
  switch ((err as { syscall?: unknown }).syscall) {
    case 'connect':
      return 'WSAConnect';
    case 'write':
    case 'writev':
      return 'WSASend';
    case 'shutdown':
      return 'WSASendDisconnect';
    default:
      return 'WSARecv';
  }
}

function toWinsockError(err: Error): WinsockError {
  return err instanceof WinsockError ? err : WinsockError.fromNodeError(err, syscallOf(err), 'WSAECONNABORTED');
}

/**
 * net's connect() puts net's own write() back as an own property whenever
 * the socket's write is not net.Socket.prototype.write (its way to undo
 * writeAfterFIN on a socket connecting again), which would hide ours:
 * put ours back in its place.
 */
function connectKeepingWrite(this: WinsockSocket, ...args: unknown[]): WinsockSocket {
  netSocketConnect.apply(this, args);
  if (Object.hasOwn(this, 'write') && (this as { write?: unknown }).write === (netSocketWrite as unknown)) {
    Reflect.set(this, 'write', Reflect.get(Object.getPrototypeOf(this) as object, 'write'));
  }
  return this;
}
// Its _destroy() counts it out of the handle count: no 'close' listener per socket (lib/tcp/tracker.ts).
Object.defineProperty(WinsockSocket.prototype, kUntracksOnDestroy, { value: true });
Object.defineProperty(WinsockSocket.prototype, 'connect', {
  configurable: true,
  writable: true,
  value: connectKeepingWrite,
});

function withWinsockCode(err: Error): Error {
  const code = winsockCodeOfNodeError(err);
  if (code !== undefined && !(err instanceof WinsockError)) {
    const annotated = err as NetErrorWithWinsockCode;
    annotated.winsockCode = code;
    annotated.winsockErrno = WSA_ERRORS[code];
  }
  return err;
}

/**
 * @internal Makes a socket Node created a WinsockSocket, in place: same
 * object, same handle, same listeners; only its prototype and the Winsock
 * slot change.
 */
export function adoptSocket(socket: net.Socket, info: SocketInfo): WinsockSocket {
  const adopted = socket as WinsockSocket;
  // The slots first, then the prototype: V8 shares the hidden class of
  // sockets adopted this way, where a property added after a prototype
  // change gives every socket a map of its own (~0.9 KB each, measured).
  adopted[kInfo] = info;
  // Sockets our providers construct are WinsockSockets already, slots and all
  // (lib/node-internals.ts); only the fallback's net sockets get them here.
  if (!(socket instanceof WinsockSocket)) {
    declareSlots(adopted);
    Object.setPrototypeOf(socket, WinsockSocket.prototype);
  }
  return adopted;
}

export { kOwner } from './tcp/slots';

/** @internal What counts a socket until it is destroyed or closed. */
export interface SocketOwner {
  forget(): void;
}

/** @internal Replaces the Winsock slot (a socket that existed before its connect completed). */
export function setSocketInfo(socket: WinsockSocket, info: SocketInfo): void {
  socket[kInfo] = info;
}
