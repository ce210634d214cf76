/**
 * WinsockSocket: a connected socket of any provider as a stream.Duplex,
 * with Winsock's teardown on top (sendDisconnect / recvDisconnect /
 * resetAndDestroy) and Winsock's half-open rule (the peer's end never closes
 * our sending side).
 */
import { Duplex } from 'node:stream';
import type { HandleReceiver, SocketHandle } from './provider';
import type { Capabilities, SocketAddress, SocketMode } from './types';
import { WinsockError } from './errors';
import { toBufferOrNull } from './buffers';
import { debug } from './debug';

export interface WinsockSocketOptions {
  mode: SocketMode;
  maxDisconnectData: number;
}

type WriteCallback = (error?: Error | null) => void;

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
  private readonly local: SocketAddress;
  private readonly remote: SocketAddress;

  /** @internal Sockets are made by `connect()` and by servers, not by users. */
  constructor(handle: SocketHandle, options: WinsockSocketOptions) {
    super({
      allowHalfOpen: true,
      // Message mode keeps each write as one message: no coalescing writev.
      ...(options.mode === 'stream' ? { writev: (chunks, cb) => this.writeChunks(chunks.map((c) => toChunk(c.chunk)), cb) } : {}),
    });
    this.handle = handle;
    this.mode = options.mode;
    this.maxDisconnectData = options.maxDisconnectData;
    this.capabilities = handle.capabilities;
    this.calleeData = handle.calleeData;
    this.callerData = handle.callerData;
    this.local = handle.localAddress;
    this.remote = handle.remoteAddress;
    const receiver: HandleReceiver = {
      onData: (chunk) => this.push(chunk),
      onEnd: (data) => this.onRemoteEnd(data),
      onError: (error) => {
        debug('socket %s:%d error %s', this.remote.address, this.remote.port, error.code);
        this.destroy(error);
      },
    };
    handle.attach(receiver);
  }

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
  /** The local endpoint, as `net.Socket.address()` gives it. */
  address(): SocketAddress { return { ...this.local }; }
  /** The peer's endpoint. */
  remoteEndpoint(): SocketAddress { return { ...this.remote }; }

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
    this.handle.write(chunks, callback);
  }

  /** @internal stream.Duplex implementation: WSASendDisconnect with the pending data. */
  override _final(callback: WriteCallback): void {
    const data = this.pendingDisconnectData;
    this.pendingDisconnectData = null;
    this.handle.sendDisconnect(data).then(() => callback(), (err: unknown) => callback(WinsockError.fromNodeError(err, 'WSASendDisconnect')));
  }

  /** @internal stream.Duplex implementation: closesocket, or the abortive close. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.handleClosed) {
      this.handleClosed = true;
      if (this.resetOnDestroy) this.handle.reset();
      else this.handle.close();
    }
    callback(error);
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
