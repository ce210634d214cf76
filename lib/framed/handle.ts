/**
 * A connected framed socket: the SocketHandle both sides get once the
 * verdict was an accept. It frames writes, decodes the peer's frames and
 * carries the disconnect data; the facade's Duplex sits on top.
 *
 * One handle per TCP connection, from its first byte: during the handshake
 * the socket's events go to the {@link Handshake} (the listener's or
 * connect()'s), and once the verdict was an accept `open()` hands the same
 * listeners over to the data path. Nothing is re-registered at the hand-off
 * and the socket is never paused and resumed for it.
 *
 * Receive path: chunks from node:net go through `stash` (normally empty:
 * a chunk is pushed and decoded at once) so that when the receiver says
 * "full" the undecoded rest of a chunk waits there while the socket is
 * paused. At most the chunk in hand is held beyond the receiver's own
 * buffer; the kernel holds the rest (TCP flow control does the bounding).
 */
import type { Socket } from 'node:net';
import { debug } from '../debug';
import { WinsockError } from '../errors';
import type { HandleReceiver, SocketHandle } from '../provider';
import type { Capabilities, Qos, SocketAddress, SocketMode } from '../types';
import { writeParts } from '../tcp/write';
import { abortSocket, socketAddress } from '../tcp/sockets';
import type { HandleTracker } from '../tcp/tracker';
import {
  encodeDisconnect,
  FRAME_DATA,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  type FrameSink,
  MAX_FRAME_PAYLOAD,
  violationError,
} from './frames';
import { framedCapabilities } from './protocols';

/**
 * Writes up to this many payload bytes are copied behind their header into
 * one buffer: one write beats a corked pair for small payloads (ping-pong
 * latency); above it the copy costs more than the extra iovec.
 */
const SMALL_WRITE = 2048;

/** What a connection is before and after its handshake. */
export interface HandleSettings {
  readonly socket: Socket;
  readonly mode: SocketMode;
  readonly maxDisconnectData: number;
  readonly maxFramePayload?: number;
  /** Counts the socket until its 'close' (in the handle's own listener: no listener of its own). */
  readonly tracker?: HandleTracker;
}

/** What the handshake learnt, given to `open()`. */
export interface OpenInit {
  /** Caller data of the request (server side; null on the client). */
  readonly callerData: Buffer | null;
  /** Callee data of the verdict (client side; null on the server). */
  readonly calleeData: Buffer | null;
  /** QOS the verdict carried (client side) or the caller asked for (server side). */
  readonly qos: Qos | null;
  /** Bytes that arrived in the same chunk as the verdict, already past it (client side). */
  readonly leftover: Buffer | null;
  /** The endpoints, when the creator already knows them: each saves a getsockname/getpeername. */
  readonly localAddress?: SocketAddress;
  readonly remoteAddress?: SocketAddress;
}

/** A handle open from the start (tests drive the data path this way). */
export type HandleInit = HandleSettings & OpenInit & { readonly maxDisconnectData: number };

/**
 * Who gets the socket's events while the connection is in its handshake
 * (and after it failed or was refused): one object per connection, whose
 * methods are shared, instead of four closures per connection registered
 * and later removed.
 */
export interface Handshake {
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
  close(): void;
}

/** For a connection whose handshake is over without an accept: every event is dropped (errors too, so none is unhandled). */
export const IGNORE_EVENTS: Handshake = { data() {}, end() {}, error() {}, close() {} };

const NO_ADDRESS: SocketAddress = Object.freeze({ address: '', port: 0, family: 'IPv4' });

/** The handle a socket belongs to, on the socket itself (see the shared listeners in FramedHandle). */
const kHandle = Symbol('winsock2.framedHandle');
type OwnedSocket = Socket & { [kHandle]: FramedHandle };

type RecvState = 'open' | 'ended' | 'failed' | 'closed';

function writeHeader(out: Buffer, type: number, length: number, at = 0): void {
  // Byte stores: writeUInt32BE's argument checks showed in the ping-pong profile.
  out[at] = type;
  out[at + 1] = length >>> 24;
  out[at + 2] = (length >>> 16) & 0xff;
  out[at + 3] = (length >>> 8) & 0xff;
  out[at + 4] = length & 0xff;
}

/** Copies `src` into `out` at `at`; a byte loop beats Buffer#copy's call overhead for tiny chunks. */
function put(out: Buffer, src: Buffer, at: number): number {
  const n = src.length;
  if (n > 32) src.copy(out, at);
  else for (let i = 0; i < n; i++) out[at + i] = src[i] as number;
  return n;
}

export class FramedHandle implements SocketHandle, FrameSink {
  readonly capabilities: Capabilities;
  // Set by open(): the handshake fills them in.
  remoteAddress: SocketAddress = NO_ADDRESS;
  calleeData: Buffer | null = null;
  callerData: Buffer | null = null;
  /** Not part of SocketHandle: the QOS the verdict carried (client) or the caller's SQOS (server). */
  qos: Qos | null = null;
  /** Until open(): where the socket's events go. */
  handshake: Handshake | null;
  /** The local endpoint once known (given by the listener, or read on first use). */
  private local: SocketAddress | null = null;
  private readonly tracker: HandleTracker | null;

  private readonly socket: Socket;
  private readonly message: boolean;
  private readonly decoder: FrameDecoder;
  private readonly maxFramePayload: number;
  private readonly maxDisconnectData: number;

  private receiver: HandleReceiver | null = null;
  private reading = false;
  private readonly stash: Buffer[] = [];
  private busy = false;
  private socketPaused = true;
  private peerEnded = false;
  private socketClosed = false;
  private recvState: RecvState = 'open';
  /** The receive-side failure, kept for an error before attach() and for writes after it. */
  private failure: WinsockError | null = null;
  private peerDisconnect: Buffer | null = null;
  private recvWaiters: ((data: Buffer | null) => void)[] = [];
  private sendShut = false;
  private closedLocally = false;

  /**
   * An open handle (`init` has what the handshake learnt), or, with
   * `handshake`, a connection still in its handshake: `open()` follows.
   */
  constructor(init: HandleInit);
  constructor(init: HandleSettings, handshake: Handshake);
  constructor(init: HandleSettings & Partial<OpenInit>, handshake: Handshake | null = null) {
    const { socket } = init;
    this.socket = socket;
    this.message = init.mode === 'message';
    this.capabilities = framedCapabilities(init.mode);
    this.maxFramePayload = init.maxFramePayload ?? MAX_FRAME_PAYLOAD;
    this.maxDisconnectData = init.maxDisconnectData;
    this.decoder = new FrameDecoder({
      mode: init.mode,
      maxDisconnectData: init.maxDisconnectData,
      maxFramePayload: this.maxFramePayload,
    });
    this.handshake = handshake;
    this.tracker = init.tracker ?? null;
    this.tracker?.add();
    (socket as OwnedSocket)[kHandle] = this;
    // The only four listeners the connection ever gets: the handshake's events go through them too.
    socket.on('data', FramedHandle.onSocketData);
    socket.on('end', FramedHandle.onSocketEnd);
    // Always listened to: an unhandled 'error' would crash the process.
    socket.on('error', FramedHandle.onSocketError);
    socket.on('close', FramedHandle.onSocketClose);
    if (handshake === null) {
      // Open from the start: paused until readStart(), as after open().
      socket.pause();
      this.open(init as HandleInit);
    }
  }

  // The socket's four listeners are shared by every handle (node:net calls
  // them with the socket as `this`, which knows its handle): four closures
  // and their context less per connection.

  private static onSocketData(this: OwnedSocket, chunk: Buffer): void {
    const handle = this[kHandle];
    if (handle.handshake) handle.handshake.data(chunk);
    else handle.onSocketData(chunk);
  }

  private static onSocketEnd(this: OwnedSocket): void {
    const handle = this[kHandle];
    if (handle.handshake) {
      handle.handshake.end();
      return;
    }
    handle.peerEnded = true;
    handle.process();
  }

  private static onSocketError(this: OwnedSocket, err: Error & { syscall?: string }): void {
    const handle = this[kHandle];
    if (handle.handshake) {
      handle.handshake.error(err);
      return;
    }
    if (handle.closedLocally) return;
    handle.fail(WinsockError.fromNodeError(err, err.syscall === 'write' ? 'WSASend' : 'WSARecv'), 'none');
  }

  private static onSocketClose(this: OwnedSocket): void {
    const handle = this[kHandle];
    handle.tracker?.remove();
    handle.socketClosed = true;
    if (handle.handshake) {
      handle.handshake.close();
      return;
    }
    if (handle.closedLocally) return;
    // 'end' and 'error' come before 'close'; a close with neither is a connection that vanished.
    if (handle.recvState === 'open' && !handle.peerEnded) {
      handle.fail(
        new WinsockError('WSAECONNRESET', 'WSARecv', { detail: 'the connection closed without a shutdown' }),
        'none',
      );
    }
  }

  /**
   * The handshake is over with an accept: the data path takes the socket's
   * events from here on. The socket keeps flowing (the first readStart()
   * usually comes within the tick); whatever arrives before it waits in the
   * stash, and the socket is paused then, so at most one chunk is held.
   */
  open(init: OpenInit): void {
    const socket = this.socket;
    this.handshake = null;
    this.socketPaused = socket.isPaused();
    this.local = init.localAddress ?? null;
    this.remoteAddress = init.remoteAddress ?? socketAddress(socket.remoteAddress, socket.remotePort);
    this.callerData = init.callerData;
    this.calleeData = init.calleeData;
    this.qos = init.qos;
    if (init.leftover && init.leftover.length > 0) this.stash.push(init.leftover);
  }

  /**
   * The local endpoint, read (getsockname) on first use rather than for
   * every connection; node:net keeps what it read. Never read before the
   * socket closed: unknown ('' and port 0), as net.Socket's localAddress.
   */
  get localAddress(): SocketAddress {
    if (this.local === null) this.local = socketAddress(this.socket.localAddress, this.socket.localPort);
    return this.local;
  }

  attach(receiver: HandleReceiver): void {
    if (this.receiver) throw new Error('FramedHandle.attach called twice');
    this.receiver = receiver;
    const failure = this.failure;
    // A failure that came before anyone listened is reported asynchronously:
    // the facade is still wiring itself up inside attach().
    if (failure && this.recvState === 'failed') process.nextTick(() => receiver.onError(failure));
  }

  quiet(): boolean {
    // A paused socket may hold bytes or an end node:net has not handed over yet.
    return this.stash.length === 0 && !this.peerEnded && !this.socketPaused && this.recvState === 'open';
  }

  readStart(): void {
    this.reading = true;
    this.process();
  }

  readStop(): void {
    this.reading = false;
    this.pauseSocket();
  }

  // ---- receive ----

  private onSocketData(chunk: Buffer): void {
    if (this.recvState !== 'open') return;
    if (this.busy || !this.reading || this.receiver === null || this.stash.length > 0) {
      this.stash.push(chunk);
      this.process();
      return;
    }
    // The hot path (every chunk while the receiver keeps up): decode in place, no stash round trip.
    this.busy = true;
    let stop: number;
    try {
      stop = this.decoder.decode(chunk, 0, this);
    } finally {
      this.busy = false;
    }
    if (this.decoder.violation) {
      this.fail(violationError(this.decoder.violation, 'WSARecv'), 'reset');
      return;
    }
    if (stop < chunk.length) this.stash.push(chunk.subarray(stop));
    // The receiver may have said "full", closed, or ended meanwhile: settle pause/resume and the end.
    if (this.stash.length > 0 || !this.reading || this.peerEnded) this.process();
  }

  /** Decodes what waits in the stash while the receiver wants data; then resumes or pauses the socket. */
  private process(): void {
    // Re-entered from inside a receiver callback (readStart in onData): the outer loop continues.
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.reading && this.receiver && this.recvState === 'open' && this.stash.length > 0) {
        const chunk = this.stash[0] as Buffer;
        const stop = this.decoder.decode(chunk, 0, this);
        if (this.decoder.violation) {
          this.fail(violationError(this.decoder.violation, 'WSARecv'), 'reset');
          return;
        }
        if (stop < chunk.length) this.stash[0] = chunk.subarray(stop);
        else this.stash.shift();
      }
    } finally {
      this.busy = false;
    }
    if (this.recvState !== 'open') return;
    if (this.reading && this.receiver && this.stash.length === 0) {
      if (this.peerEnded) this.deliverEnd();
      else if (this.socketPaused) {
        this.socketPaused = false;
        this.socket.resume();
      }
    } else {
      this.pauseSocket();
    }
  }

  private pauseSocket(): void {
    if (this.socketPaused) return;
    this.socketPaused = true;
    this.socket.pause();
  }

  /** FrameSink: stream bytes or one message. */
  onFrameData(payload: Buffer): boolean {
    const more = (this.receiver as HandleReceiver).onData(payload);
    if (!more) this.reading = false;
    return this.reading && this.recvState === 'open';
  }

  /** FrameSink: the peer's disconnect frame; its FIN follows and delivers it. */
  onFrameDisconnect(data: Buffer | null): void {
    this.peerDisconnect = data;
  }

  private deliverEnd(): void {
    const receiver = this.receiver;
    if (!receiver) return;
    if (!this.decoder.atBoundary) {
      this.fail(
        new WinsockError('WSAECONNABORTED', 'WSARecv', {
          detail: 'protocol violation: the connection ended inside a frame',
        }),
        'reset',
      );
      return;
    }
    this.recvState = 'ended';
    this.settleWaiters();
    debug(
      'framed: peer %s:%d shut down (disconnect data: %s)',
      this.remoteAddress.address,
      this.remoteAddress.port,
      this.peerDisconnect ? `${this.peerDisconnect.length} bytes` : 'none',
    );
    receiver.onEnd(this.peerDisconnect);
  }

  /**
   * Fails the receive side once. A protocol violation resets the connection
   * (`'reset'`): the peer broke the protocol, so it sees an abort at once
   * rather than a FIN it might read as a clean shutdown.
   */
  private fail(error: WinsockError, close: 'reset' | 'none'): void {
    if (this.closedLocally || this.recvState === 'failed' || this.recvState === 'closed') return;
    this.recvState = 'failed';
    this.failure = error;
    this.stash.length = 0;
    debug(
      'framed: connection with %s:%d failed: %s',
      this.remoteAddress.address,
      this.remoteAddress.port,
      error.message,
    );
    if (close === 'reset') abortSocket(this.socket);
    this.settleWaiters();
    this.receiver?.onError(error);
  }

  private settleWaiters(): void {
    const waiters = this.recvWaiters;
    this.recvWaiters = [];
    for (const resolve of waiters) resolve(this.peerDisconnect);
  }

  recvDisconnect(): Promise<Buffer | null> {
    if (this.recvState !== 'open' || this.socketClosed) return Promise.resolve(this.peerDisconnect);
    return new Promise((resolve) => this.recvWaiters.push(resolve));
  }

  // ---- send ----

  private sendError(syscall: string): WinsockError | null {
    if (this.closedLocally) return new WinsockError('WSAENOTSOCK', syscall, { detail: 'the socket was closed' });
    if (this.sendShut)
      return new WinsockError('WSAESHUTDOWN', syscall, { detail: 'the sending side was shut down by sendDisconnect' });
    if (this.failure) return new WinsockError(this.failure.code, syscall, { cause: this.failure });
    if (this.socket.destroyed) return new WinsockError('WSAENOTCONN', syscall, { detail: 'the connection is closed' });
    return null;
  }

  write(chunks: readonly Buffer[], callback: (error: WinsockError | null) => void): void {
    const refused = this.sendError('WSASend');
    if (refused) {
      process.nextTick(callback, refused);
      return;
    }
    const parts = this.message ? this.messageParts(chunks) : this.streamParts(chunks);
    if (parts instanceof WinsockError) {
      process.nextTick(callback, parts);
      return;
    }
    if (parts.length === 0) {
      process.nextTick(callback, null);
      return;
    }
    const socket = this.socket;
    if (parts.length === 1 && socket.writableLength + (parts[0] as Buffer).length < socket.writableHighWaterMark) {
      // Small write with room in node:net's buffer (the ping-pong case): no completion callback to track.
      socket.write(parts[0] as Buffer);
      process.nextTick(callback, null);
      return;
    }
    writeParts(socket, parts, callback);
  }

  /** Stream mode: the bytes in as few frames as the payload bound allows (boundaries mean nothing). */
  private streamParts(chunks: readonly Buffer[]): Buffer[] {
    let total = 0;
    for (const c of chunks) total += c.length;
    if (total === 0) return [];
    if (total <= SMALL_WRITE) {
      const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + total);
      writeHeader(out, FRAME_DATA, total);
      let off = FRAME_HEADER_SIZE;
      for (const c of chunks) off += put(out, c, off);
      return [out];
    }
    const parts: Buffer[] = [];
    let budget = 0; // bytes the current frame header still announces
    let left = total;
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) {
        if (budget === 0) {
          budget = Math.min(left, this.maxFramePayload);
          const header = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
          writeHeader(header, FRAME_DATA, budget);
          parts.push(header);
        }
        const n = Math.min(budget, c.length - off);
        parts.push(off === 0 && n === c.length ? c : c.subarray(off, off + n));
        off += n;
        budget -= n;
        left -= n;
      }
    }
    return parts;
  }

  /** Message mode: one frame per chunk; a message over the payload bound is refused before anything is sent. */
  private messageParts(chunks: readonly Buffer[]): Buffer[] | WinsockError {
    for (const c of chunks) {
      if (c.length > this.maxFramePayload) {
        return new WinsockError('WSAEMSGSIZE', 'WSASend', {
          detail: `a message of ${c.length} bytes exceeds the protocol's limit of ${this.maxFramePayload}`,
        });
      }
    }
    const parts: Buffer[] = [];
    for (const c of chunks) {
      if (c.length <= SMALL_WRITE) {
        const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + c.length);
        writeHeader(out, FRAME_DATA, c.length);
        put(out, c, FRAME_HEADER_SIZE);
        parts.push(out);
      } else {
        const header = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
        writeHeader(header, FRAME_DATA, c.length);
        parts.push(header, c);
      }
    }
    return parts;
  }

  sendDisconnect(data: Buffer | null): Promise<void> {
    const refused = this.sendError('WSASendDisconnect');
    if (refused) return Promise.reject(refused);
    if (data && data.length > this.maxDisconnectData) {
      return Promise.reject(
        new WinsockError('WSAEMSGSIZE', 'WSASendDisconnect', {
          detail: `disconnect data of ${data.length} bytes exceeds the limit of ${this.maxDisconnectData}`,
        }),
      );
    }
    this.sendShut = true;
    return new Promise((resolve, reject) => {
      // The frame queues behind every earlier write; end() sends FIN after it.
      // The callback runs on 'finish' (FIN handed to the kernel) or with the error that prevented it.
      this.socket.end(encodeDisconnect(data), (err?: Error | null) => {
        if (err) reject(WinsockError.fromNodeError(err, 'WSASendDisconnect', 'WSAENOTCONN'));
        else resolve();
      });
    });
  }

  // ---- close ----

  private closeLocally(): boolean {
    if (this.closedLocally) return false;
    this.closedLocally = true;
    if (this.recvState === 'open') this.recvState = 'closed';
    this.stash.length = 0;
    this.settleWaiters();
    return !this.socket.destroyed;
  }

  close(): void {
    if (this.closeLocally()) this.socket.destroy();
  }

  reset(): void {
    // SO_LINGER {1, 0}: the peer gets RST (WSAECONNRESET). After sendDisconnect
    // libuv can no longer reset (see abortSocket): the peer has had our
    // disconnect and FIN, and sees a plain close.
    if (this.closeLocally()) abortSocket(this.socket);
  }

  onClosed(done: () => void): void {
    // node:net's 'close' comes from libuv's close callback, after the write
    // requests the close cancelled have called back: the same order as net's.
    if (this.socketClosed) process.nextTick(done);
    else this.socket.once('close', () => done());
  }

  setNoDelay(enable: boolean): void {
    if (!this.socket.destroyed) this.socket.setNoDelay(enable);
  }

  setKeepAlive(enable: boolean, delayMs: number): void {
    if (!this.socket.destroyed) this.socket.setKeepAlive(enable, delayMs);
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }
}
