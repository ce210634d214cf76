/**
 * WinsockSocket: a connected socket of any provider as a stream.Duplex,
 * with Winsock's teardown on top (sendDisconnect / recvDisconnect /
 * resetAndDestroy) and Winsock's half-open rule (the peer's end never closes
 * our sending side).
 */
import { Duplex } from 'node:stream';
import type { HandleReceiver, SocketHandle } from './provider';
import type { Capabilities, Qos, SocketAddress, SocketMode } from './types';
import { WinsockError } from './errors';
import { toBufferOrNull } from './buffers';
import { debug } from './debug';
import type { WinsockSocketEvents } from './socket-events';
import { checkTimeout } from './socket-options';

export interface WinsockSocketOptions {
  mode: SocketMode;
  maxDisconnectData: number;
}

type WriteCallback = (error?: Error | null) => void;
type Listener<K extends keyof WinsockSocketEvents> = (...args: WinsockSocketEvents[K]) => void;
/** Any other event (the fallback overload, as Node's own typings have it). */
type AnyListener = (...args: never[]) => void;

/* eslint-disable @typescript-eslint/unified-signatures -- one overload per event, as @types/node types net.Socket */
/**
 * The typed events of a {@link WinsockSocket} (see {@link WinsockSocketEvents}):
 * `sock.on('error', (e) => e.code)` type-checks. Merged into the class.
 */
export interface WinsockSocket {
  on<K extends keyof WinsockSocketEvents>(event: K, listener: Listener<K>): this;
  on(event: string | symbol, listener: AnyListener): this;
  once<K extends keyof WinsockSocketEvents>(event: K, listener: Listener<K>): this;
  once(event: string | symbol, listener: AnyListener): this;
  addListener<K extends keyof WinsockSocketEvents>(event: K, listener: Listener<K>): this;
  addListener(event: string | symbol, listener: AnyListener): this;
  prependListener<K extends keyof WinsockSocketEvents>(event: K, listener: Listener<K>): this;
  prependListener(event: string | symbol, listener: AnyListener): this;
  prependOnceListener<K extends keyof WinsockSocketEvents>(event: K, listener: Listener<K>): this;
  prependOnceListener(event: string | symbol, listener: AnyListener): this;
  off<K extends keyof WinsockSocketEvents>(event: K, listener: Listener<K>): this;
  off(event: string | symbol, listener: AnyListener): this;
  removeListener<K extends keyof WinsockSocketEvents>(event: K, listener: Listener<K>): this;
  removeListener(event: string | symbol, listener: AnyListener): this;
  emit<K extends keyof WinsockSocketEvents>(event: K, ...args: WinsockSocketEvents[K]): boolean;
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/**
 * A connected socket of any provider: a `stream.Duplex` with Winsock's
 * teardown on top ({@link WinsockSocket.sendDisconnect | sendDisconnect},
 * {@link WinsockSocket.recvDisconnect | recvDisconnect},
 * {@link WinsockSocket.resetAndDestroy | resetAndDestroy}) and Winsock's
 * half-open rule: the peer's `'end'` never closes the local sending side.
 */
export class WinsockSocket extends Duplex {
  /** What this socket's provider can carry. */
  readonly capabilities: Capabilities;
  /**
   * The QOS the acceptor granted with its accept (`{ action: 'accept', qos }`),
   * on both ends; null when none was granted or the provider carries no QOS.
   * (The QOS a caller asked for is the acceptor's `request.sqos`.)
   */
  readonly qos: Qos | null;
  /** Always false: a WinsockSocket exists only once connected (`connect()` resolves then), as net's after 'connect'. */
  readonly connecting = false;
  /** The idle timeout `setTimeout()` set, in ms (undefined before any call), as `net.Socket.timeout`. */
  timeout: number | undefined = undefined;
  /** Callee data the acceptor sent with its accept (client side); null when none. */
  readonly calleeData: Buffer | null;
  /** Caller data the client sent with its connect (server side); null when none. */
  readonly callerData: Buffer | null;
  /** `'stream'` or `'message'` (message boundaries kept). */
  readonly mode: SocketMode;

  private readonly handle: SocketHandle;
  private readonly maxDisconnectData: number;
  private handleClosed = false;
  private resetOnDestroy = false;
  private remoteEnded = false;
  /** Disconnect data sendDisconnect() hands to _final (which runs after every write completed). */
  private pendingDisconnectData: Buffer | null = null;
  private disconnectData: Buffer | null = null;
  private recvDisconnectResult: Promise<Buffer | null> | undefined;
  private readonly remote: SocketAddress;
  /** Application bytes delivered to the readable side, and handed to the provider (never framing). */
  private bytesIn = 0;
  private bytesOut = 0;
  /** One default for every provider: Nagle off, as node:net sockets made by http and most servers are. */
  private noDelay = true;
  private keepAlive = false;
  private keepAliveDelay = 0;
  /** net.Socket's idle timer: unref'd, re-armed by every read and write (timer.refresh()). */
  private idleTimer: NodeJS.Timeout | null = null;

  /** @internal Sockets are made by `connect()` and by servers, not by users. */
  constructor(handle: SocketHandle, options: WinsockSocketOptions) {
    super({
      allowHalfOpen: true,
      // 'close' is emitted by _destroy with hadError, as net.Socket emits it.
      emitClose: false,
      // Message mode keeps each write as one message: no coalescing writev.
      ...(options.mode === 'stream' ? { writev: (chunks, cb) => this.writeChunks(chunks.map((c) => toChunk(c.chunk)), cb) } : {}),
    });
    this.handle = handle;
    this.mode = options.mode;
    this.maxDisconnectData = options.maxDisconnectData;
    this.capabilities = handle.capabilities;
    this.calleeData = handle.calleeData;
    this.callerData = handle.callerData;
    this.qos = handle.qos ?? null;
    this.remote = handle.remoteAddress;
    const receiver: HandleReceiver = {
      onData: (chunk) => {
        this.bytesIn += chunk.length;
        if (this.idleTimer !== null) this.idleTimer.refresh();
        return this.push(chunk);
      },
      onEnd: (data) => this.onRemoteEnd(data),
      onError: (error) => {
        debug('socket %s:%d error %s', this.remote.address, this.remote.port, error.code);
        this.destroy(error);
      },
    };
    handle.attach(receiver);
  }

  /** The local endpoint, read from the handle when first asked for (a getsockname the connection itself does not need). */
  private get local(): SocketAddress { return this.handle.localAddress; }

  /** The peer's address. */
  get remoteAddress(): string { return this.remote.address; }
  /** The peer's port. */
  get remotePort(): number { return this.remote.port; }
  /** The peer's address family. */
  get remoteFamily(): 'IPv4' | 'IPv6' { return this.remote.family; }
  /** The local address. */
  get localAddress(): string { return this.local.address; }
  /** The local port. */
  get localPort(): number { return this.local.port; }
  /** The local address family (as `net.Socket.localFamily`). */
  get localFamily(): 'IPv4' | 'IPv6' { return this.local.family; }
  /** The local endpoint, as `net.Socket.address()` gives it. */
  address(): SocketAddress { return { ...this.local }; }
  /** The peer's endpoint. */
  remoteEndpoint(): SocketAddress { return { ...this.remote }; }

  /** Application bytes received so far (as `net.Socket.bytesRead`; never the provider's framing). */
  get bytesRead(): number { return this.bytesIn; }

  /**
   * Application bytes written so far: handed to the provider, plus those
   * still buffered in the stream (net.Socket.bytesWritten's formula; never the
   * provider's framing).
   */
  get bytesWritten(): number {
    let buffered = 0;
    // Writable#writableBuffer (what net.Socket reads here too; not in @types/node).
    const queue = (this as unknown as { writableBuffer?: { chunk: unknown }[] }).writableBuffer ?? [];
    for (const entry of queue) {
      const { chunk } = entry;
      buffered += typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength;
    }
    return this.bytesOut + buffered;
  }

  /** As `net.Socket.readyState`: `'open'`, `'readOnly'`, `'writeOnly'` or `'closed'` (never `'opening'`: see `connecting`). */
  get readyState(): 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** As `net.Socket.pending`: true once the socket has no handle any more (destroyed), false while connected. */
  get pending(): boolean { return this.handleClosed; }

  /**
   * TCP_NODELAY, as `net.Socket.setNoDelay` (`enable` defaults to true). Every
   * provider starts with Nagle off (noDelay true). Where the provider cannot
   * set it, the value is kept and nothing else happens.
   */
  setNoDelay(enable?: boolean): this {
    const value = enable === undefined ? true : Boolean(enable);
    if (this.handleClosed || value === this.noDelay) {
      this.noDelay = value;
      return this;
    }
    this.noDelay = value;
    this.handle.setNoDelay?.(value);
    return this;
  }

  /**
   * SO_KEEPALIVE with its first probe after `initialDelay` ms (SIO_KEEPALIVE_VALS
   * on native), as `net.Socket.setKeepAlive`; 0 keeps the system's delay.
   */
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    const on = Boolean(enable);
    // net: whole seconds (~~(ms / 1000)); NaN and junk become 0.
    const delay = ~~((initialDelay ?? 0) / 1000) * 1000;
    if (this.handleClosed || (on === this.keepAlive && (!on || delay === this.keepAliveDelay))) {
      this.keepAlive = on;
      this.keepAliveDelay = delay;
      return this;
    }
    this.keepAlive = on;
    this.keepAliveDelay = delay;
    this.handle.setKeepAlive?.(on, Math.max(0, delay));
    return this;
  }

  /**
   * The idle timeout, as `net.Socket.setTimeout`: after `ms` without a read or
   * a write, `'timeout'` is emitted (the socket stays open: end or destroy it
   * yourself). 0 turns it off. `callback` is added as a once `'timeout'`
   * listener (and removed by `setTimeout(0, callback)`). Bad arguments throw
   * WSAEINVAL where net throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (this.destroyed) return this;
    const duration = checkTimeout(ms);
    if (callback !== undefined && typeof callback !== 'function') {
      throw new WinsockError('WSAEINVAL', 'setsockopt', { detail: 'the setTimeout callback must be a function' });
    }
    this.timeout = ms;
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

  /**
   * As Writable.write, but a write after `sendDisconnect()`/`end()` fails
   * with WSAESHUTDOWN and one after destroy with WSAENOTSOCK (net gives
   * ERR_STREAM_WRITE_AFTER_END / ERR_STREAM_DESTROYED). As WSASend after
   * shutdown(SD_SEND), only that write fails: the socket stays open and keeps
   * receiving. The error goes to `callback` and to `'error'`.
   */
  override write(chunk: unknown, callback?: WriteCallback): boolean;
  override write(chunk: unknown, encoding: BufferEncoding, callback?: WriteCallback): boolean;
  override write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
    if (!this.writableEnded && !this.destroyed) {
      return typeof encoding === 'string' ? super.write(chunk, encoding, callback) : super.write(chunk, encoding);
    }
    const cb = typeof encoding === 'function' ? encoding : callback;
    const error = this.destroyed
      ? new WinsockError('WSAENOTSOCK', 'WSASend', { detail: 'the socket is closed' })
      : new WinsockError('WSAESHUTDOWN', 'WSASend', { detail: 'the sending side was shut down (sendDisconnect or end)' });
    process.nextTick(() => {
      cb?.(error);
      // After destroy nobody may listen any more (net too reports that only to the callback).
      if (!this.destroyed) this.emit('error', error);
    });
    return false;
  }

  /** @internal stream.Duplex implementation. */
  override _read(): void {
    if (this.handleClosed) return;
    this.handle.readStart();
  }

  /** @internal stream.Duplex implementation. */
  override _write(chunk: unknown, _encoding: BufferEncoding, callback: WriteCallback): void {
    this.writeChunks([toChunk(chunk)], callback);
  }

  private writeChunks(chunks: Buffer[], callback: WriteCallback): void {
    if (this.handleClosed) {
      callback(new WinsockError('WSAENOTSOCK', 'WSASend', { detail: 'the socket is closed' }));
      return;
    }
    for (let i = 0; i < chunks.length; i++) this.bytesOut += (chunks[i] as Buffer).length;
    if (this.idleTimer === null) {
      this.handle.write(chunks, callback);
      return;
    }
    // An idle timeout is set: the write's start and its completion are activity (as net's).
    this.idleTimer.refresh();
    this.handle.write(chunks, (error) => {
      this.idleTimer?.refresh();
      callback(error);
    });
  }

  /** @internal stream.Duplex implementation: WSASendDisconnect with the pending data. */
  override _final(callback: WriteCallback): void {
    const data = this.pendingDisconnectData;
    this.pendingDisconnectData = null;
    this.handle.sendDisconnect(data).then(() => callback(), (err: unknown) => callback(WinsockError.fromNodeError(err, 'WSASendDisconnect')));
  }

  /** @internal stream.Duplex implementation: closesocket, or the abortive close. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (!this.handleClosed) {
      this.handleClosed = true;
      if (this.resetOnDestroy) this.handle.reset();
      else this.handle.close();
    }
    callback(error);
    // After 'error' (which callback(error) scheduled first), as net.Socket emits it.
    process.nextTick(() => this.emit('close', error !== null && error !== undefined));
  }

  /**
   * WSASendDisconnect: flushes every byte already written, then shuts down the
   * sending side, carrying `data` to the peer's recvDisconnect(). Rejects with
   * WSAEMSGSIZE (over maxDisconnectData) or WSAEOPNOTSUPP (the provider cannot
   * carry disconnect data) before anything is sent.
   */
  async sendDisconnect(data?: Buffer | Uint8Array | string | null): Promise<void> {
    const buffer = toBufferOrNull(data, 'disconnect data', 'WSASendDisconnect');
    if (buffer !== null && buffer.length > this.maxDisconnectData) {
      throw new WinsockError('WSAEMSGSIZE', 'WSASendDisconnect', {
        detail: `disconnect data is ${buffer.length} bytes; maxDisconnectData is ${this.maxDisconnectData}`,
      });
    }
    if (buffer !== null && buffer.length > 0 && !this.capabilities.disconnectData) {
      throw new WinsockError('WSAEOPNOTSUPP', 'WSASendDisconnect', {
        detail: `the ${this.capabilities.protocol} provider cannot carry disconnect data (no XP1_DISCONNECT_DATA); use provider 'framed' to carry it`,
      });
    }
    if (this.destroyed) throw new WinsockError('WSAENOTSOCK', 'WSASendDisconnect', { detail: 'the socket is closed' });
    if (this.writableFinished) {
      // Winsock: a second WSASendDisconnect returns 0; data can no longer go anywhere.
      if (buffer !== null && buffer.length > 0) throw new WinsockError('WSAESHUTDOWN', 'WSASendDisconnect');
      return;
    }
    if (this.writableEnded) {
      if (buffer !== null && buffer.length > 0) throw new WinsockError('WSAESHUTDOWN', 'WSASendDisconnect');
      return this.waitFinished();
    }
    this.pendingDisconnectData = buffer !== null && buffer.length > 0 ? buffer : null;
    const finished = this.waitFinished();
    this.end();
    return finished;
  }

  private waitFinished(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onFinish = (): void => { cleanup(); resolve(); };
      const onClose = (): void => {
        cleanup();
        if (this.writableFinished) resolve();
        else reject(this.errored ? WinsockError.fromNodeError(this.errored, 'WSASendDisconnect') : new WinsockError('WSAENOTSOCK', 'WSASendDisconnect', { detail: 'the socket closed before its data was sent' }));
      };
      const cleanup = (): void => { this.off('finish', onFinish); this.off('close', onClose); };
      this.on('finish', onFinish);
      this.on('close', onClose);
    });
  }

  /**
   * WSARecvDisconnect: resolves the disconnect data the peer sent with its
   * shutdown (null when none). Before the peer's teardown it waits for it
   * (after every byte sent before it has been read); it still works after the
   * socket has closed.
   */
  recvDisconnect(): Promise<Buffer | null> {
    if (this.recvDisconnectResult) return this.recvDisconnectResult;
    // readableEnded: inside an 'end' listener (message mode marks remoteEnded only after them).
    if (this.remoteEnded || this.destroyed || this.readableEnded) {
      this.recvDisconnectResult = this.handle.recvDisconnect().then((data) => data ?? this.disconnectData);
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

  /** The abortive close (SO_LINGER {1,0}, then closesocket): the peer sees WSAECONNRESET. */
  resetAndDestroy(): this {
    this.resetOnDestroy = true;
    return this.destroy();
  }

  /** Keeps the process alive while the socket is open (the default). */
  ref(): this { this.handle.ref(); return this; }
  /** Lets the process exit while the socket is open. */
  unref(): this { this.handle.unref(); return this; }

  private onRemoteEnd(data: Buffer | null): void {
    if (this.remoteEnded) return;
    this.disconnectData = data;
    if (this.mode === 'message') {
      // Message-oriented providers report a graceful remote shutdown as
      // WSAEDISCON from the next receive (learn.microsoft.com … connection-shutdown-2),
      // after every message already queued has been read. Only the receive
      // fails: WSASend still works, so the socket is not destroyed (that would
      // close the sending side too and break the half-open rule: the seed
      // scenario answers the peer's hang-up with a last message and its own
      // disconnect data). The application still ends or destroys it.
      this.once('end', () => {
        this.remoteEnded = true;
        const error = new WinsockError('WSAEDISCON', 'WSARecv', { detail: 'the peer shut down the connection gracefully' });
        // Nothing left to send (our side already shut down): closesocket with the error.
        if (this.writableFinished || this.destroyed) this.destroy(error);
        else this.emit('error', error);
      });
      this.push(null);
      return;
    }
    this.remoteEnded = true;
    this.push(null);
  }

}

function toChunk(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}
