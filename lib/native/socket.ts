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
  private endWaiters: (() => void)[] = [];
  private connectSettle: ((errno: number) => void) | null = null;

  constructor(readonly native: NativeSocket, callerData: Buffer | null, conditionalAccept: boolean) {
    this.callerData = callerData;
    this.capabilities = capabilitiesOf('native', decodeProtocol(native.protocol()), conditionalAccept);
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
    try {
      // A fresh array: the addon keeps it (and so the Buffers) until completion.
      this.native.write(chunks.slice(), (errno) => callback(errno === 0 ? null : WinsockError.fromErrno(errno, 'WSASend')));
    } catch (err) {
      const error = toWinsockError(err, 'WSASend');
      process.nextTick(callback, error);
    }
  }

  sendDisconnect(data: Buffer | null): Promise<void> {
    try {
      this.native.sendDisconnect(data);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(toWinsockError(err, 'WSASendDisconnect'));
    }
  }

  recvDisconnect(): Promise<Buffer | null> {
    // WSARecvDisconnect only after every byte was read (on Windows it resets
    // the connection while data is queued): wait for the end or the close.
    if (!this.ended && !this.closed) {
      return new Promise<void>((resolve) => this.endWaiters.push(() => resolve())).then(() => this.recvDisconnect());
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

  ref(): void {
    this.native.ref();
  }

  unref(): void {
    this.native.unref();
  }

  private wakeEndWaiters(): void {
    const waiters = this.endWaiters;
    this.endWaiters = [];
    for (const w of waiters) w();
  }
}
