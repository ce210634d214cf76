/**
 * HandleSocket: a WinsockSocket whose bytes go through a provider's
 * SocketHandle instead of a libuv handle: the framed provider (its framing
 * sits between the socket and the kernel) and native's own overlapped data
 * path. It is still a `net.Socket` (with no `_handle`: TLS wraps it in a
 * JSStreamSocket, as any socket-like stream), and it behaves as one where the
 * two can be compared: `allowHalfOpen`, write callbacks, 'connect'/'ready',
 * read-ahead, 'close' with hadError, net's write-after-end rules.
 *
 * What differs is Winsock's: disconnect data travels with the shutdown, and
 * in message mode a graceful remote shutdown shows as WSAEDISCON.
 */
import type { HandleReceiver, SocketHandle } from './provider';
import type { Qos } from './types';
import { WinsockError } from './errors';
import { debug } from './debug';
import { checkTimeout } from './socket-options';
import { untrackSocket } from './tcp/tracker';
import { WinsockSocket, setSocketInfo, type SocketInfo } from './socket';

type Callback = (error?: Error | null) => void;

export interface HandleSocketOptions {
  readonly info: SocketInfo;
  readonly allowHalfOpen: boolean;
  /** net's pauseOnConnect (a server's accepted sockets): paused, no read-ahead until resumed or read. */
  readonly pauseOnConnect?: boolean;
}

export class HandleSocket extends WinsockSocket {
  private handle: SocketHandle | null = null;
  private handleClosed = false;
  private remoteEnded = false;
  /** Disconnect data sendDisconnect() hands to _final (which runs after every write completed). */
  private pendingDisconnectData: Buffer | null = null;
  private disconnectData: Buffer | null = null;
  private bytesIn = 0;
  /** Application bytes handed to the provider (never its framing). */
  private bytesOut = 0;
  private noDelayOn = true;
  private keepAliveOn = false;
  private keepAliveDelay = 0;
  /** net.Socket's idle timer, kept here: net's own walks `_handle`, which this socket does not have. */
  private idleTimer: NodeJS.Timeout | null = null;
  /** Writes made before the handle arrived (winsock2/net's connect returns the socket at once). */
  private waiting: (() => void)[] | null = null;

  /** @internal Made by `connect()` and by servers, not by users. */
  constructor(handle: SocketHandle | null, options: HandleSocketOptions) {
    // No options to net.Socket: it copies them (`{ ...options }`) and adds
    // four properties to the copy, and under Node 20's V8 each such copy gets
    // hidden classes of its own, which sends every load from it through the
    // megamorphic stub cache and misses there (~5 µs per socket, measured).
    // What the options would have set is set here instead.
    super();
    this.allowHalfOpen = options.allowHalfOpen;
    setSocketInfo(this, options.info);
    if (handle === null) {
      // winsock2/net: the socket exists before the provider's connect completes.
      (this as { connecting: boolean }).connecting = true;
      this.waiting = [];
    } else {
      this.attachHandle(handle, options.pauseOnConnect === true);
    }
  }

  /** @internal What the connect learnt (callee data, QOS) replaces the placeholder state. */
  adoptInfo(info: SocketInfo): void {
    setSocketInfo(this, info);
  }

  /** @internal The provider's connect completed: the socket is open ('connect' and 'ready' follow). */
  open(handle: SocketHandle): void {
    this.attachHandle(handle);
    (this as { connecting: boolean }).connecting = false;
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const resume of waiting) resume();
    this.emit('connect');
    this.emit('ready');
  }

  private attachHandle(handle: SocketHandle, paused = false): void {
    this.handle = handle;
    // net.Socket's getters (remoteAddress, remotePort, remoteFamily) read _peername when there is no _handle.
    const remote = handle.remoteAddress;
    (this as unknown as { _peername: object })._peername = {
      address: remote.address,
      port: remote.port,
      family: remote.family,
    };
    handle.attach(new Receiver(this));
    if (paused) {
      // As net's pauseOnCreate: paused (a 'data' listener does not start it), nothing read until resume() or read().
      (this as unknown as { readableFlowing: boolean | null }).readableFlowing = false;
      return;
    }
    // Read ahead as net.Socket does from its 'connect': fill the readable buffer up to its highWaterMark.
    // At once when the handle holds nothing (only later reads can deliver, as with libuv's); else on the
    // next turn of the loop, so whoever got this socket from a promise can listen for 'end' and 'error'
    // first. (A setImmediate per socket was ~17 k instructions per framed connection, bench:instructions.)
    if (handle.quiet?.() === true) this.read(0);
    else setImmediate(readAhead, this);
  }

  /** @internal Receiver's onData: bytes from the provider. */
  received(chunk: Buffer): boolean {
    this.bytesIn += chunk.length;
    if (this.idleTimer !== null) this.idleTimer.refresh();
    return this.push(chunk);
  }

  /** @internal The handle this socket's info came from (callee data, QOS): read once at attach. */
  static infoOf(
    handle: SocketHandle,
    base: Omit<SocketInfo, 'callerData' | 'calleeData' | 'qos' | 'capabilities'>,
  ): SocketInfo {
    const qos: Qos | null = handle.qos ?? null;
    // A literal of fixed shape, in make-socket.ts's order, not a spread of
    // `base` (lib/service-flags.ts copyCapabilities says why).
    return {
      capabilities: handle.capabilities,
      callerData: handle.callerData,
      calleeData: handle.calleeData,
      qos,
      mode: base.mode,
      maxDisconnectData: base.maxDisconnectData,
      errors: base.errors,
      sendDisconnect: base.sendDisconnect,
    };
  }

  /** @internal */
  override _read(): void {
    if (this.handle === null) {
      this.waiting?.push(() => this._read());
      return;
    }
    if (this.handleClosed) return;
    this.handle.readStart();
  }

  /** @internal */
  override _write(chunk: unknown, encoding: BufferEncoding, callback: Callback): void {
    this.writeChunks([toChunk(chunk, encoding)], callback);
  }

  /** @internal */
  override _writev(chunks: { chunk: unknown; encoding: BufferEncoding }[], callback: Callback): void {
    if (this.mode === 'message') {
      // Message mode keeps each write as one message: no coalescing, one after the other.
      const next = (i: number): void => {
        if (i === chunks.length) {
          callback();
          return;
        }
        const entry = chunks[i] as { chunk: unknown; encoding: BufferEncoding };
        this.writeChunks([toChunk(entry.chunk, entry.encoding)], (err) => (err ? callback(err) : next(i + 1)));
      };
      next(0);
      return;
    }
    this.writeChunks(
      chunks.map((c) => toChunk(c.chunk, c.encoding)),
      callback,
    );
  }

  private writeChunks(chunks: Buffer[], callback: Callback): void {
    const handle = this.handle;
    if (handle === null) {
      this.waiting?.push(() => this.writeChunks(chunks, callback));
      return;
    }
    if (this.handleClosed) {
      callback(new WinsockError('WSAENOTSOCK', 'WSASend', { detail: 'the socket is closed' }));
      return;
    }
    for (let i = 0; i < chunks.length; i++) this.bytesOut += (chunks[i] as Buffer).length;
    // An idle timeout is set: the write's start and its completion are activity (as net's).
    this.idleTimer?.refresh();
    handle.write(chunks, (error) => {
      this.idleTimer?.refresh();
      // A failed write's callback gets the socket's style of error (net's ECANCELED in winsock2/net).
      callback(error === null ? null : this.styleError(error));
    });
  }

  /** @internal */
  protected override setDisconnectData(data: Buffer | null): void {
    this.pendingDisconnectData = data;
  }

  /** @internal WSASendDisconnect with the pending data, once every write completed. */
  override _final(callback: Callback): void {
    const handle = this.handle;
    if (handle === null) {
      this.waiting?.push(() => this._final(callback));
      return;
    }
    const data = this.pendingDisconnectData;
    this.pendingDisconnectData = null;
    handle.sendDisconnect(data).then(
      () => callback(),
      (err: unknown) => callback(WinsockError.fromNodeError(err, 'WSASendDisconnect')),
    );
  }

  /** @internal closesocket, or the abortive close; 'close' with hadError, as net.Socket emits it. */
  override _destroy(error: Error | null, callback: Callback): void {
    // It inherits WinsockSocket's promise to count itself out of a handle count here (kUntracksOnDestroy).
    untrackSocket(this);
    (this as { connecting: boolean }).connecting = false;
    this.waiting = null;
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    const handle = this.handle;
    const emitClose = (): void => {
      this.emit('close', error !== null && error !== undefined);
    };
    if (handle !== null && !this.handleClosed) {
      this.handleClosed = true;
      if (this.resetOnDestroy) handle.reset();
      else handle.close();
      callback(error);
      // 'close' when the OS socket has closed, as net's (after the callbacks of writes the close cut short).
      if (handle.onClosed) handle.onClosed(emitClose);
      else setImmediate(emitClose);
      return;
    }
    callback(error);
    // No socket to close (a connect that never completed): net emits 'close' on a later turn too.
    setImmediate(emitClose);
  }

  private resetOnDestroy = false;

  /** The abortive close (SO_LINGER {1,0}, then closesocket): the peer sees WSAECONNRESET. */
  override resetAndDestroy(): this {
    this.resetOnDestroy = true;
    return this.destroy();
  }

  /** @internal */
  protected override peerDisconnectData(): Promise<Buffer | null> {
    if (this.handle === null) return Promise.resolve(null);
    return this.handle.recvDisconnect().then((data) => data ?? this.disconnectData);
  }

  /** TCP_NODELAY on the provider's socket (every provider starts with Nagle off). */
  override setNoDelay(enable?: boolean): this {
    const value = enable === undefined ? true : Boolean(enable);
    if (value !== this.noDelayOn && !this.handleClosed) this.handle?.setNoDelay?.(value);
    this.noDelayOn = value;
    return this;
  }

  /** SO_KEEPALIVE with its first probe after `initialDelay` ms, as net.Socket.setKeepAlive. */
  override setKeepAlive(enable?: boolean, initialDelay?: number): this {
    const on = Boolean(enable);
    // net: whole seconds (~~(ms / 1000)); NaN and junk become 0.
    const delay = ~~((initialDelay ?? 0) / 1000) * 1000;
    const changed = on !== this.keepAliveOn || (on && delay !== this.keepAliveDelay);
    this.keepAliveOn = on;
    this.keepAliveDelay = delay;
    if (changed && !this.handleClosed) this.handle?.setKeepAlive?.(on, Math.max(0, delay));
    return this;
  }

  /**
   * The idle timeout, as net.Socket.setTimeout: after `ms` without a read or
   * a write, 'timeout' is emitted (the socket stays open). 0 turns it off.
   */
  override setTimeout(ms: number, callback?: () => void): this {
    if (this.destroyed) return this;
    const duration = checkTimeout(ms);
    if (callback !== undefined && typeof callback !== 'function') {
      throw new WinsockError('WSAEINVAL', 'setsockopt', { detail: 'the setTimeout callback must be a function' });
    }
    (this as { timeout: number | undefined }).timeout = ms;
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (duration === 0) {
      if (callback !== undefined) this.removeListener('timeout', callback);
      return this;
    }
    this.idleTimer = setTimeout(() => this.emit('timeout'), duration);
    this.idleTimer.unref();
    if (callback !== undefined) this.once('timeout', callback);
    return this;
  }

  /** Keeps the process alive while the socket is open (the default). */
  override ref(): this {
    this.handle?.ref();
    return this;
  }

  /** Lets the process exit while the socket is open. */
  override unref(): this {
    this.handle?.unref();
    return this;
  }

  /** The local endpoint, as net.Socket.address() gives it. */
  override address(): { address: string; family: string; port: number } {
    if (this.handle === null) return {} as { address: string; family: string; port: number };
    const local = this.handle.localAddress;
    return { address: local.address, family: local.family, port: local.port };
  }

  /** Not a socket that connects itself: the provider connected it. */
  override connect(): this {
    throw new WinsockError('WSAEISCONN', 'WSAConnect', {
      detail: 'a winsock2 socket is connected by connect() or a server; it cannot connect again',
    });
  }

  /** @internal Receiver's onEnd: the peer shut down its sending side. */
  onRemoteEnd(data: Buffer | null): void {
    if (this.remoteEnded) return;
    this.disconnectData = data;
    if (this.mode === 'message') {
      // Message-oriented providers report a graceful remote shutdown as
      // WSAEDISCON from the next receive (learn.microsoft.com … connection-shutdown-2),
      // after every message already queued has been read. Only the receive
      // fails: WSASend still works, so the socket is not destroyed when the
      // application keeps its side open (allowHalfOpen).
      this.once('end', () => {
        this.remoteEnded = true;
        const error = new WinsockError('WSAEDISCON', 'WSARecv', {
          detail: 'the peer shut down the connection gracefully',
        });
        if (this.writableFinished || this.destroyed) this.destroy(error);
        else this.emit('error', error);
      });
      this.endReadable();
      return;
    }
    this.remoteEnded = true;
    this.endReadable();
  }

  /**
   * The end of the stream, as net's onStreamRead gives it: push(null), then
   * read(0), which is the only way 'end' comes in paused mode when nothing is
   * buffered (a server socket nobody reads still sees its client's end, and
   * with allowHalfOpen false ends its side in turn).
   */
  private endReadable(): void {
    this.push(null);
    this.read(0);
  }
}

/**
 * A one-time 'connect' listener added once the socket is open runs on the
 * next tick (net would never call it). Node's own consumers take a
 * net.Socket with no `_handle` for one still connecting and wait for its
 * 'connect' with once(): TLSSocket does (`this.connecting =
 * socket.connecting || !socket._handle`), so `tls.connect({ socket })` over
 * a framed socket would wait for ever. Persistent listeners (on) are left
 * alone, as net leaves them.
 */
const addOnceListener = HandleSocket.prototype.once;
function lateConnectOnce(
  this: HandleSocket,
  event: string | symbol,
  listener: (...args: unknown[]) => void,
): HandleSocket {
  addOnceListener.call(this, event, listener);
  if (event === 'connect' && !this.connecting && !this.destroyed) {
    process.nextTick(() => {
      if (!this.listeners('connect').includes(listener)) return;
      this.removeListener('connect', listener);
      listener.call(this);
    });
  }
  return this;
}
Object.defineProperty(HandleSocket.prototype, 'once', { configurable: true, writable: true, value: lateConnectOnce });

// net.Socket defines these as accessors on its prototype; @types/node types
// them as properties, so they are redefined here rather than in the class.
Object.defineProperties(HandleSocket.prototype, {
  bytesRead: {
    configurable: true,
    get(this: HandleSocket) {
      return (this as unknown as { bytesIn: number }).bytesIn;
    },
  },
  // net's formula: handed to the provider, plus what still waits in the stream.
  bytesWritten: {
    configurable: true,
    get(this: HandleSocket) {
      let buffered = 0;
      for (const entry of (this as unknown as { writableBuffer: { chunk: unknown; encoding: BufferEncoding }[] })
        .writableBuffer) {
        const { chunk } = entry;
        buffered +=
          typeof chunk === 'string' ? Buffer.byteLength(chunk, entry.encoding) : (chunk as Uint8Array).byteLength;
      }
      return (this as unknown as { bytesOut: number }).bytesOut + buffered;
    },
  },
  pending: {
    configurable: true,
    get(this: HandleSocket) {
      return this.connecting || (this as unknown as { handleClosed: boolean }).handleClosed;
    },
  },
  bufferSize: {
    configurable: true,
    get(this: HandleSocket) {
      return this.writableLength;
    },
  },
  localAddress: {
    configurable: true,
    get(this: HandleSocket) {
      return this.address().address;
    },
  },
  localPort: {
    configurable: true,
    get(this: HandleSocket) {
      return this.address().port;
    },
  },
  localFamily: {
    configurable: true,
    get(this: HandleSocket) {
      return this.address().family;
    },
  },
});

function toChunk(chunk: unknown, encoding: BufferEncoding | 'buffer'): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk), encoding === 'buffer' ? 'utf8' : encoding);
}

/**
 * What a provider's handle reports to: one small object per socket with its
 * methods on the prototype (three closures per socket before).
 */
class Receiver implements HandleReceiver {
  constructor(private readonly socket: HandleSocket) {}
  onData(chunk: Buffer): boolean {
    return this.socket.received(chunk);
  }
  onEnd(data: Buffer | null): void {
    this.socket.onRemoteEnd(data);
  }
  onError(error: WinsockError): void {
    debug('socket %s:%d error %s', this.socket.remoteAddress, this.socket.remotePort, error.code);
    this.socket.destroy(error);
  }
}

function readAhead(socket: HandleSocket): void {
  if (!socket.destroyed) socket.read(0);
}
