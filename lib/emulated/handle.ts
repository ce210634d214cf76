/**
 * A connected socket of the emulated provider: a node:net socket with
 * nothing on the wire but the application's bytes. Every call maps to one
 * net.Socket call, so the hot path costs next to nothing over node:net.
 */
import type { Socket } from 'node:net';
import { debug } from '../debug';
import { WinsockError } from '../errors';
import type { HandleReceiver, SocketHandle } from '../provider';
import type { Capabilities, SocketAddress } from '../types';
import { writeParts } from '../tcp/write';
import { abortSocket, socketAddress } from '../tcp/sockets';
import type { HandleTracker } from '../tcp/tracker';
import { emulatedCapabilities } from './protocols';

/**
 * Where the socket's events go before the connection is the application's:
 * connect()'s until the TCP connect completes, the listener's while the
 * request waits in the queue. The handle's own four listeners serve that
 * phase too, so a connection gets four listeners in all, none swapped.
 */
export interface SetupPhase {
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
  close(): void;
}

/** For a connection refused or given up before it opened: whatever the socket still reports is dropped (errors too, so none is unhandled). */
export const IGNORE_EVENTS: SetupPhase = { data() {}, end() {}, error() {}, close() {} };

/** What the setup phase learnt, given to open(). */
export interface OpenInit {
  /** Bytes already read from the socket (while the request waited in the queue), delivered first. */
  readonly early?: readonly Buffer[];
  readonly localAddress?: SocketAddress | undefined;
  readonly remoteAddress?: SocketAddress | undefined;
}

export interface EmulatedHandleInit {
  readonly socket: Socket;
  /** Bytes already read from the socket (while the request waited in the queue), delivered first. */
  readonly early: readonly Buffer[];
  readonly localAddress?: SocketAddress;
  readonly remoteAddress?: SocketAddress;
  /** A connection still being set up (connecting, or queued): `open()` follows. */
  readonly setup?: SetupPhase;
  /** Counts the socket until its 'close' (in the handle's own listener). */
  readonly tracker?: HandleTracker;
}

const NO_ADDRESS: SocketAddress = Object.freeze({ address: '', port: 0, family: 'IPv4' });

/** The handle a socket belongs to, on the socket itself (see the shared listeners below). */
const kHandle = Symbol('winsock2.emulatedHandle');
type OwnedSocket = Socket & { [kHandle]: EmulatedHandle };

const NO_DATA = Promise.resolve(null);

export class EmulatedHandle implements SocketHandle {
  readonly capabilities: Capabilities = emulatedCapabilities();
  remoteAddress: SocketAddress;
  /** Until open(): where the socket's events go. */
  setup: SetupPhase | null;
  /** TCP/IP carries neither (the facade refuses them with WSAEOPNOTSUPP before they get here). */
  readonly calleeData = null;
  readonly callerData = null;
  readonly qos = null;

  private readonly socket: Socket;
  /** The local endpoint once known (given by the listener, or read on first use). */
  private local: SocketAddress | null;
  private receiver: HandleReceiver | null = null;
  private early: Buffer[] | null;
  private peerEnded = false;
  private failed = false;
  private closedLocally = false;
  private sendShut = false;
  private failure: WinsockError | null = null;
  private readonly tracker: HandleTracker | null;

  constructor(init: EmulatedHandleInit) {
    const { socket } = init;
    this.socket = socket;
    this.local = init.localAddress ?? null;
    this.setup = init.setup ?? null;
    this.remoteAddress = init.remoteAddress ?? (this.setup ? NO_ADDRESS : socketAddress(socket.remoteAddress, socket.remotePort));
    this.early = init.early.length > 0 ? [...init.early] : null;
    this.tracker = init.tracker ?? null;
    this.tracker?.add();
    // Paused until readStart(); adding 'data' to a paused stream does not resume it.
    socket.pause();
    (socket as OwnedSocket)[kHandle] = this;
    socket.on('data', EmulatedHandle.onSocketData);
    socket.on('end', EmulatedHandle.onSocketEnd);
    // Always listened to: an unhandled 'error' would crash the process.
    socket.on('error', EmulatedHandle.onSocketError);
    socket.on('close', EmulatedHandle.onSocketClose);
  }

  // The socket's four listeners are shared by every handle (node:net calls
  // them with the socket as `this`, which knows its handle): four closures
  // and their context less per connection, which an idle server holds by
  // the ten thousand.

  private static onSocketData(this: OwnedSocket, chunk: Buffer): void {
    const handle = this[kHandle];
    if (handle.setup) handle.setup.data(chunk);
    else if (handle.receiver && !handle.receiver.onData(chunk)) this.pause();
  }

  private static onSocketEnd(this: OwnedSocket): void {
    const handle = this[kHandle];
    if (handle.setup) {
      handle.setup.end();
      return;
    }
    handle.peerEnded = true;
    handle.receiver?.onEnd(null);
  }

  private static onSocketError(this: OwnedSocket, err: Error & { syscall?: string }): void {
    const handle = this[kHandle];
    if (handle.setup) {
      handle.setup.error(err);
      return;
    }
    handle.fail(WinsockError.fromNodeError(err, err.syscall === 'write' ? 'WSASend' : 'WSARecv'));
  }

  private static onSocketClose(this: OwnedSocket): void {
    const handle = this[kHandle];
    handle.tracker?.remove();
    if (handle.setup) {
      handle.setup.close();
      return;
    }
    // 'end' and 'error' come before 'close'; a close with neither (and not
    // ours) is a connection that vanished under us.
    if (!handle.closedLocally && !handle.peerEnded) {
      handle.fail(new WinsockError('WSAECONNRESET', 'WSARecv', { detail: 'the connection closed without a shutdown' }));
    }
  }

  /** Connected (client) or accepted (server): the socket's events are the connection's from here on. */
  open(init: OpenInit): void {
    this.setup = null;
    if (init.localAddress) this.local = init.localAddress;
    this.remoteAddress = init.remoteAddress ?? socketAddress(this.socket.remoteAddress, this.socket.remotePort);
    const early = init.early;
    if (early && early.length > 0) this.early = [...early];
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

  private fail(error: WinsockError): void {
    if (this.closedLocally || this.failed) return;
    this.failed = true;
    this.failure = error;
    debug('emulated: connection with %s:%d failed: %s', this.remoteAddress.address, this.remoteAddress.port, error.message);
    this.receiver?.onError(error);
  }

  attach(receiver: HandleReceiver): void {
    if (this.receiver) throw new Error('EmulatedHandle.attach called twice');
    this.receiver = receiver;
    const failure = this.failure;
    // A failure before anyone listened is reported once the facade is wired up.
    if (failure) process.nextTick(() => receiver.onError(failure));
  }

  readStart(): void {
    const early = this.early;
    if (early) {
      // Bytes the caller sent while its request waited: they come first, as TCP delivers them.
      this.early = null;
      for (let i = 0; i < early.length; i++) {
        if (!(this.receiver as HandleReceiver).onData(early[i] as Buffer)) {
          this.early = early.slice(i + 1);
          if (this.early.length === 0) this.early = null;
          return;
        }
      }
    }
    this.socket.resume();
  }

  readStop(): void {
    this.socket.pause();
  }

  write(chunks: readonly Buffer[], callback: (error: WinsockError | null) => void): void {
    const refused = this.sendError('WSASend');
    if (refused) {
      process.nextTick(callback, refused);
      return;
    }
    writeParts(this.socket, chunks, callback);
  }

  private sendError(syscall: string): WinsockError | null {
    if (this.closedLocally) return new WinsockError('WSAENOTSOCK', syscall, { detail: 'the socket was closed' });
    if (this.sendShut) return new WinsockError('WSAESHUTDOWN', syscall, { detail: 'the sending side was shut down' });
    if (this.failure) return new WinsockError(this.failure.code, syscall, { cause: this.failure });
    if (this.socket.destroyed) return new WinsockError('WSAENOTCONN', syscall, { detail: 'the connection is closed' });
    return null;
  }

  /** shutdown(SD_SEND): TCP carries no disconnect data (the facade refused any). */
  sendDisconnect(data: Buffer | null): Promise<void> {
    void data;
    const refused = this.sendError('WSASendDisconnect');
    if (refused) return Promise.reject(refused);
    this.sendShut = true;
    return new Promise((resolve, reject) => {
      this.socket.end((err?: Error | null) => {
        if (err) reject(WinsockError.fromNodeError(err, 'WSASendDisconnect', 'WSAENOTCONN'));
        else resolve();
      });
    });
  }

  /** WSARecvDisconnect on TCP/IP: there is never disconnect data. */
  recvDisconnect(): Promise<Buffer | null> {
    return NO_DATA;
  }

  close(): void {
    if (this.closedLocally) return;
    this.closedLocally = true;
    this.early = null;
    this.socket.destroy();
  }

  reset(): void {
    if (this.closedLocally) return;
    this.closedLocally = true;
    this.early = null;
    // SO_LINGER {1, 0}: the peer sees WSAECONNRESET (a plain close once our FIN went: see abortSocket).
    abortSocket(this.socket);
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
