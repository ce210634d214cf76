/**
 * SocketHandle over a native socket (see lib/provider.ts for the contract).
 * This object is also the native socket's owner: the addon calls onConnect /
 * onData / onEnd / onError on it, on the JavaScript thread.
 */
import type { HandleReceiver, SocketHandle } from '../provider';
import type { Capabilities, SocketAddress } from '../types';
import { WinsockError } from '../errors';
import { capabilitiesOf, decodeProtocol } from '../service-flags';
import type { NativeSocket, NativeSocketOwner } from './addon';
import { toWinsockError } from './errors';
import { MAX_NATIVE_WRITE, splitWrite } from './write-split';

const NO_ADDRESS: SocketAddress = { address: '', port: 0, family: 'IPv4' };

export class NativeSocketHandle implements SocketHandle, NativeSocketOwner {
  capabilities: Capabilities;
  localAddress: SocketAddress = NO_ADDRESS;
  remoteAddress: SocketAddress = NO_ADDRESS;
  calleeData: Buffer | null = null;
  readonly callerData: Buffer | null;

  private receiver: HandleReceiver | null = null;
  private closed = false;
  private ended = false;
  private endWaiters: (() => void)[] | null = null;  // made when first needed: idle sockets are many
  private connectSettle: ((errno: number) => void) | null = null;

  readonly native: NativeSocket;

  /**
   * `open` makes (or hands over) the native socket; it gets this object as
   * the owner, so the addon's callbacks reach whatever holds this handle.
   */
  constructor(open: (owner: NativeSocketOwner) => NativeSocket, callerData: Buffer | null, conditionalAccept: boolean, capabilities?: Capabilities) {
    this.native = open(this);
    this.callerData = callerData;
    // An accepted socket has its listener's provider (WSAAccept docs): the
    // listener's (frozen) object is shared, not rebuilt per connection.
    this.capabilities = capabilities ?? capabilitiesOf('native', decodeProtocol(this.native.protocol()), conditionalAccept);
  }

  /** Reads the addresses once connected (they must stay readable after close). */
  captureAddresses(): void {
    try {
      this.localAddress = this.native.localAddress() ?? NO_ADDRESS;
      this.remoteAddress = this.native.remoteAddress() ?? NO_ADDRESS;
    } catch {
      // the peer is already gone: keep what we have
    }
    this.calleeData = this.native.calleeData();
  }

  /** Provider side: where onConnect's result goes. */
  onConnected(settle: (errno: number) => void): void {
    this.connectSettle = settle;
  }

  // ---- NativeSocketOwner (called by the addon) ----

  onConnect(errno: number): void {
    const settle = this.connectSettle;
    this.connectSettle = null;
    settle?.(errno);
  }

  onData(chunk: Buffer): boolean {
    return this.receiver ? this.receiver.onData(chunk) : false;
  }

  onEnd(disconnectData: Buffer | null): void {
    this.ended = true;
    this.wakeEndWaiters();
    this.receiver?.onEnd(disconnectData);
  }

  onError(errno: number, syscall: string): void {
    this.ended = true;
    this.wakeEndWaiters();
    this.receiver?.onError(WinsockError.fromErrno(errno, syscall));
  }

  // ---- SocketHandle (called by the facade) ----

  attach(receiver: HandleReceiver): void {
    this.receiver = receiver;
    this.native.attach(this);
  }

  readStart(): void {
    if (!this.closed) this.native.readStart();
  }

  readStop(): void {
    if (!this.closed) this.native.readStop();
  }

  write(chunks: readonly Buffer[], callback: (error: WinsockError | null) => void): void {
    let total = 0;
    for (const c of chunks) total += c.length;
    if (total > MAX_NATIVE_WRITE) {
      this.writeSplit(splitWrite(chunks), callback);
      return;
    }
    this.writeOne(chunks, callback);
  }

  /** Writes larger than one WSASend may carry, in order; `callback` once, after the last (or the first failure). */
  private writeSplit(parts: Buffer[][], callback: (error: WinsockError | null) => void): void {
    let left = parts.length;
    let failed = false;
    for (const part of parts) {
      this.writeOne(part, (error) => {
        if (failed) return;
        if (error) {
          failed = true;
          callback(error);
        } else if (--left === 0) {
          callback(null);
        }
      });
    }
  }

  private writeOne(chunks: readonly Buffer[], callback: (error: WinsockError | null) => void): void {
    try {
      // A fresh array: the addon keeps it (and so the Buffers) until completion.
      const copied = this.native.write(chunks.slice(), (errno) => callback(errno === 0 ? null : WinsockError.fromErrno(errno, 'WSASend')));
      // Copied into native memory: done for the caller now (a later send
      // failure arrives through onError, as with a kernel-buffered write).
      if (copied) process.nextTick(callback, null);
    } catch (err) {
      const error = toWinsockError(err, 'WSASend');
      process.nextTick(callback, error);
    }
  }

  sendDisconnect(data: Buffer | null): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.native.sendDisconnect(data, (errno) => (errno === 0 ? resolve() : reject(WinsockError.fromErrno(errno, 'WSASendDisconnect'))));
      } catch (err) {
        reject(toWinsockError(err, 'WSASendDisconnect'));
      }
    });
  }

  recvDisconnect(): Promise<Buffer | null> {
    // WSARecvDisconnect only after every byte was read (on Windows it resets
    // the connection while data is queued): wait for the end or the close.
    if (!this.ended && !this.closed) {
      return new Promise<void>((resolve) => (this.endWaiters ??= []).push(() => resolve())).then(() => this.recvDisconnect());
    }
    try {
      return Promise.resolve(this.native.recvDisconnect());
    } catch (err) {
      return Promise.reject(toWinsockError(err, 'WSARecvDisconnect'));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
    this.wakeEndWaiters();
  }

  reset(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.reset();
    this.wakeEndWaiters();
  }

  /** TCP_NODELAY (on from the start, as in node's net). */
  setNoDelay(enable: boolean): void {
    if (this.closed) return;
    try {
      this.native.setNoDelay(enable);
    } catch (err) {
      throw toWinsockError(err, 'setsockopt');
    }
  }

  /** Keep-alive probes after `initialDelayMs` idle (0: the system default), every second after. */
  setKeepAlive(enable: boolean, initialDelayMs: number): void {
    if (this.closed) return;
    try {
      this.native.setKeepAlive(enable, initialDelayMs);
    } catch (err) {
      throw toWinsockError(err, 'WSAIoctl');
    }
  }

  ref(): void {
    this.native.ref();
  }

  unref(): void {
    this.native.unref();
  }

  private wakeEndWaiters(): void {
    const waiters = this.endWaiters;
    this.endWaiters = null;
    for (const w of waiters ?? []) w();
  }
}
