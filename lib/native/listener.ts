/**
 * ProviderListener over a native listening socket. The addon wakes us on
 * FD_ACCEPT (onAcceptable); we call WSAAccept (native accept()) on this
 * thread until WSAEWOULDBLOCK, with a condition function that asks the
 * facade synchronously. CF_DEFER bookkeeping lives here:
 * - after WSATRY_AGAIN nothing is accepted until retry() (WSAAccept would
 *   offer the same request again, and FD_ACCEPT does not re-fire for it);
 * - the re-offered request is the head, matched by caller address:port, and
 *   passed to the condition as the same RawRequest object.
 */
import type { ConditionVerdict, ProviderListener, RawRequest } from '../provider';
import type { Capabilities, SocketAddress } from '../types';
import { WSA_ERRORS, WinsockError } from '../errors';
import { capabilitiesOf, decodeProtocol } from '../service-flags';
import { debug } from '../debug';
import { CF_ACCEPT, CF_DEFER, CF_REJECT, isHandedOver, type NativeListener, type NativeListenerOwner, type NativeRequest, type NativeVerdictCode, type NativeVerdictWithData } from './addon';
import { NativeSocketHandle } from './socket';
import { toWinsockError } from './errors';
import type { NetConnection, NetListenerCallbacks } from './net-connection';

/** The 'libuv' data path: makes an accepted SOCKET a NetConnection (lib/native/handoff.ts); throws a WinsockError. */
export type AdoptAccepted = (socket: number, callerData: Buffer | null) => NetConnection;

const UNKNOWN: SocketAddress = { address: '', port: 0, family: 'IPv4' };

function sameAddress(a: SocketAddress, b: SocketAddress | null): boolean {
  return b !== null && a.address === b.address && a.port === b.port && a.family === b.family;
}

export class NativeProviderListener implements ProviderListener, NativeListenerOwner {
  readonly address: SocketAddress;
  readonly capabilities: Capabilities;
  /** The request left at the head by CF_DEFER, until retry(). */
  private deferred: RawRequest | null = null;
  private closed = false;
  private draining = false;

  /** `adopt`: accepted SOCKETs go to Node's TCP handle (the 'libuv' data path); null: the addon's data path. */
  constructor(private readonly native: NativeListener, private readonly callbacks: NetListenerCallbacks, private readonly adopt: AdoptAccepted | null = null) {
    this.address = native.address() ?? UNKNOWN;
    this.capabilities = Object.freeze(capabilitiesOf('native', decodeProtocol(native.protocol()), native.conditionalAccept()));
  }

  start(): void {
    this.native.start(this);
  }

  /** Called by the addon (FD_ACCEPT). */
  onAcceptable(): void {
    if (this.closed || this.deferred !== null) return;
    this.drain();
  }

  retry(): void {
    if (this.closed) return;
    this.drain();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    // Refuse every queued (and the deferred) request before closing.
    // With SO_CONDITIONAL_ACCEPT in effect (Windows) the handshake has not
    // completed: CF_REJECT, and the caller sees WSAECONNREFUSED. Without it
    // (Wine, or no condition) the caller is already connected: accept and
    // close abortively, so it sees a reset rather than a silent end.
    const refuse = this.capabilities.conditionalAccept;
    for (let i = 0; i < 100_000; i++) {
      let result: ReturnType<NativeListener['accept']>;
      try {
        result = this.native.accept(() => (refuse ? CF_REJECT : CF_ACCEPT));
      } catch {
        break;
      }
      if (typeof result !== 'number') {
        if (!isHandedOver(result)) result.reset();
        continue;
      }
      if (result !== WSA_ERRORS.WSAECONNREFUSED && result !== WSA_ERRORS.WSAECONNRESET && result !== WSA_ERRORS.WSAEACCES) break;
    }
    this.deferred = null;
    this.native.close();
    return Promise.resolve();
  }

  ref(): void {
    this.native.ref();
  }

  unref(): void {
    this.native.unref();
  }

  /** The RawRequest for what WSAAccept offers: the deferred head again, or a new one. */
  private requestFor(raw: NativeRequest): RawRequest {
    const callerId = raw.callerId ?? UNKNOWN;
    if (this.deferred !== null) {
      if (sameAddress(this.deferred.callerId, callerId)) return this.deferred;
      // The deferred caller is gone and another one is at the head.
      const gone = this.deferred;
      this.deferred = null;
      this.callbacks.withdrawn(gone, new WinsockError('WSAECONNRESET', 'WSAAccept'));
    }
    return { callerId, calleeId: raw.calleeId ?? this.address, callerData: raw.callerData, sqos: raw.sqos, gqos: null };
  }

  private verdictCode(verdict: ConditionVerdict): NativeVerdictCode | NativeVerdictWithData {
    switch (verdict.action) {
      case 'accept':
        return verdict.calleeData ? { verdict: CF_ACCEPT, calleeData: verdict.calleeData } : CF_ACCEPT;
      case 'defer':
        return CF_DEFER;
      default:
        return CF_REJECT;
    }
  }

  /**
   * An accepted SOCKET to Node's TCP handle. A hand-off that fails closes
   * that SOCKET (once, in handoff.ts) and is that connection's clientError;
   * the listener keeps serving.
   */
  private handOver(socket: number, request: RawRequest | null): void {
    let conn: NetConnection;
    try {
      conn = (this.adopt as AdoptAccepted)(socket, request?.callerData ?? null);
    } catch (err) {
      this.callbacks.clientError(toWinsockError(err, 'uv_tcp_open'), request?.callerId ?? null);
      return;
    }
    this.callbacks.connection(conn, request ?? {
      callerId: { address: conn.socket.remoteAddress ?? '', port: conn.socket.remotePort ?? 0, family: conn.socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4' },
      calleeId: this.address, callerData: null, sqos: null, gqos: null,
    });
  }

  /** WSAAccept until WSAEWOULDBLOCK, a CF_DEFER, or close. */
  private drain(): void {
    if (this.draining) return;  // a callback re-entered us (e.g. retry() from connection())
    this.draining = true;
    try {
      while (!this.closed) {
        const offered: { request: RawRequest | null } = { request: null };
        let result: ReturnType<NativeListener['accept']>;
        try {
          result = this.native.accept((raw) => {
            const request = this.requestFor(raw);
            offered.request = request;
            return this.verdictCode(this.callbacks.condition(request));
          }, this.adopt !== null);
        } catch (err) {
          // The condition threw (the facade's never does): that request was
          // rejected; the error must not be lost, and the server keeps serving.
          queueMicrotask(() => { throw err; });
          continue;
        }
        const request = offered.request;
        if (typeof result !== 'number' && isHandedOver(result)) {
          this.deferred = null;
          this.handOver(result.socket, request);
          continue;
        }
        if (typeof result !== 'number') {
          this.deferred = null;
          const accepted = result;
          const handle = new NativeSocketHandle(() => accepted, request?.callerData ?? null, this.capabilities.conditionalAccept, this.capabilities);
          handle.captureAddresses();
          this.callbacks.connection(handle, request ?? {
            callerId: handle.remoteAddress, calleeId: handle.localAddress, callerData: null, sqos: null, gqos: null,
          });
          continue;
        }
        switch (result) {
          case WSA_ERRORS.WSAEWOULDBLOCK:
            return;
          case WSA_ERRORS.WSATRY_AGAIN:
            // CF_DEFER: the request stays at the head; nothing else until retry().
            this.deferred = request;
            return;
          case WSA_ERRORS.WSAECONNREFUSED:
            // CF_REJECT: the caller was refused; the next request may follow.
            if (this.deferred === request) this.deferred = null;
            continue;
          case WSA_ERRORS.WSAECONNRESET:
          case WSA_ERRORS.WSAEACCES: {
            // The caller left (RESET) or its request was withdrawn (ACCES).
            const gone = request ?? this.deferred;
            this.deferred = null;
            if (gone) this.callbacks.withdrawn(gone, WinsockError.fromErrno(result, 'WSAAccept'));
            continue;
          }
          default: {
            if (this.closed) return;
            const error = WinsockError.fromErrno(result, 'WSAAccept');
            debug('native WSAAccept failed: %s', error.message);
            if (result === WSA_ERRORS.WSAEMFILE || result === WSA_ERRORS.WSAENOBUFS) {
              // Out of resources: that request stays queued; try again on the next FD_ACCEPT.
              this.callbacks.clientError(error, null);
              return;
            }
            this.callbacks.error(error);
            return;
          }
        }
      }
    } catch (err) {
      if (!this.closed) this.callbacks.error(toWinsockError(err, 'WSAAccept'));
    } finally {
      this.draining = false;
    }
  }
}
