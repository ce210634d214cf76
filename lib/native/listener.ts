/**
 * ProviderListener over a native listening socket. The addon wakes us on
 * FD_ACCEPT (onAcceptable); we call WSAAccept (native accept()) on this
 * thread until WSAEWOULDBLOCK, with a condition function that asks the
 * facade synchronously. CF_DEFER bookkeeping lives here:
 * - after WSATRY_AGAIN nothing is accepted until retry() (WSAAccept would
 *   offer the same request again, and FD_ACCEPT does not re-fire for it);
 * - the re-offered request is the head, matched by caller address:port, and
 *   passed to the condition as the same RawRequest object.
 * A WSAAccept error that means the request is gone (WSAECONNRESET,
 * WSAEACCES, and Wine's WSAENOTCONN after the caller's reset) ends that
 * request with 'withdrawn' and frees the head; the listener keeps serving.
 * Under SO_CONDITIONAL_ACCEPT a rejected caller's SYN retries are refused
 * without asking the condition again (rejections.ts), and an accept is
 * applied off this thread: WSAAccept returning CF_ACCEPT can wait for the TCP
 * handshake there (docs/windows.md), so the condition's 'accept' becomes
 * CF_DEFER here and the addon's acceptHeld() answers CF_ACCEPT on a native
 * thread; reject and defer stay on this thread (neither waits).
 */
import type { ConditionVerdict, ListenerCallbacks, ProviderListener, RawRequest } from '../provider';
import type { Capabilities, SocketAddress } from '../types';
import { WSA_ERRORS, WinsockError } from '../errors';
import { capabilitiesOf, decodeProtocol } from '../service-flags';
import { debug } from '../debug';
import type { NetConnection } from '../provider';
import {
  CF_ACCEPT, CF_DEFER, CF_REJECT, isHandedOver, type HandedOverSocket, type NativeListener, type NativeListenerOwner, type NativeRequest,
  type NativeSocket, type NativeVerdictCode, type NativeVerdictWithData,
} from './addon';
import { NativeSocketHandle } from './socket';
import { toWinsockError } from './errors';
import { RejectionMemory } from './rejections';

/**
 * WSAAccept results that mean the offered (or deferred) request is gone, not
 * that the listener failed: the caller ended it (WSAECONNRESET), it timed out
 * or was withdrawn (WSAEACCES), both documented for WSAAccept; and Wine's
 * WSAENOTCONN, which its WSAAccept returns for a deferred caller that reset
 * (test/probe/expected-wine.json, 9.withdrawn.*_rst_accept).
 */
const REQUEST_GONE: ReadonlySet<number> = new Set([WSA_ERRORS.WSAECONNRESET, WSA_ERRORS.WSAEACCES, WSA_ERRORS.WSAENOTCONN]);

/**
 * WSAAccept calls per turn of the event loop: a flood of callers (or a
 * stack that keeps answering "gone") must not hold the JS thread; the rest
 * is accepted on the next turn.
 */
const ACCEPTS_PER_TURN = 256;

/** The 'libuv' data path: accepted SOCKETs go to Node's TCP handle (lib/native/handoff.ts). */
export interface HandOff {
  /** The SOCKET as a NetConnection; on failure it was closed once, and a WinsockError is thrown. */
  adopt(socket: number, callerData: Buffer | null): NetConnection;
  /** Closes (abortively) a SOCKET nobody will take: accepted after close(). */
  discard(socket: number): void;
}

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
  private continuation: NodeJS.Immediate | null = null;
  /** acceptHeld() is running for the deferred head. */
  private accepting = false;

  /**
   * @param rejections callers rejected a moment ago (rejections.ts); used
   *   only where SO_CONDITIONAL_ACCEPT took, the one case where a rejected
   *   caller retries its SYN. Injectable so tests can run its clock.
   * @param handOff accepted SOCKETs go to Node's TCP handle (the 'libuv'
   *   data path); null: the addon's own data path.
   */
  constructor(
    private readonly native: NativeListener,
    private readonly callbacks: ListenerCallbacks,
    private readonly rejections: RejectionMemory = new RejectionMemory(),
    private readonly handOff: HandOff | null = null,
  ) {
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

  /** Called by the addon: the held accept of the deferred head finished. */
  onAcceptHeld(result: NativeSocket | HandedOverSocket | number): void {
    this.accepting = false;
    const request = this.deferred;
    this.deferred = null;
    if (this.closed) {
      if (typeof result !== 'number') this.discard(result);
      return;
    }
    if (typeof result !== 'number') {
      this.adopt(result, request);
    } else if (request !== null) {
      // The caller left before the handshake completed (WSAECONNRESET,
      // WSAEACCES), or another caller is at the head (WSATRY_AGAIN: the held
      // one is gone): that request is withdrawn; the listener keeps serving.
      const error = result === WSA_ERRORS.WSATRY_AGAIN || result === WSA_ERRORS.WSAEWOULDBLOCK
        ? new WinsockError('WSAECONNRESET', 'WSAAccept', { detail: 'the caller left before the handshake completed' })
        : WinsockError.fromErrno(result, 'WSAAccept');
      this.callbacks.withdrawn(request, error);
    }
    this.drain();
  }

  retry(): void {
    if (this.closed || this.accepting) return;
    this.drain();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.continuation !== null) clearImmediate(this.continuation);
    this.continuation = null;
    // Refuse every queued (and the deferred) request before closing.
    // With SO_CONDITIONAL_ACCEPT in effect (Windows) the handshake has not
    // completed: CF_REJECT, and the caller sees WSAECONNREFUSED. Without it
    // (Wine, or no condition) the caller is already connected: accept and
    // close abortively, so it sees a reset rather than a silent end.
    const refuse = this.capabilities.conditionalAccept;
    // While a held accept runs on its thread, WSAAccept is not called here
    // too (both would take the head); closing the socket ends it, and the
    // requests still queued are reset by the closed listener.
    for (let i = 0; i < (this.accepting ? 0 : 100_000); i++) {
      let result: ReturnType<NativeListener['accept']>;
      try {
        result = this.native.accept(() => (refuse ? CF_REJECT : CF_ACCEPT));
      } catch {
        break;
      }
      if (typeof result !== 'number') {
        this.discard(result);
        continue;
      }
      if (result !== WSA_ERRORS.WSAECONNREFUSED && !REQUEST_GONE.has(result)) break;
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

  /**
   * What WSAAccept's condition function answers for `raw`: a SYN retry of a
   * caller rejected a moment ago is refused without asking the facade; the
   * deferred head is offered again as the same RawRequest; anything else is
   * a new request for the facade's condition.
   */
  private offer(raw: NativeRequest, offered: Offered): NativeVerdictCode | NativeVerdictWithData {
    const callerId = raw.callerId ?? UNKNOWN;
    if (this.deferred !== null && !sameAddress(this.deferred.callerId, callerId)) {
      // The deferred caller is gone and another one is at the head.
      const gone = this.deferred;
      this.deferred = null;
      this.callbacks.withdrawn(gone, new WinsockError('WSAECONNRESET', 'WSAAccept'));
    }
    if (this.deferred === null && this.capabilities.conditionalAccept && this.rejections.isRetry(callerId)) {
      offered.request = this.newRequest(raw, callerId);
      offered.retry = true;
      offered.verdict = 'reject';
      return CF_REJECT;
    }
    const request = this.deferred ?? this.newRequest(raw, callerId);
    offered.request = request;
    const verdict = this.callbacks.condition(request);
    offered.verdict = verdict.action;
    if (verdict.action === 'accept' && this.capabilities.conditionalAccept && verdict.calleeData === null) {
      // Held: CF_DEFER now, CF_ACCEPT from acceptHeld() off this thread.
      offered.held = true;
      return CF_DEFER;
    }
    return this.verdictCode(verdict);
  }

  private newRequest(raw: NativeRequest, callerId: SocketAddress): RawRequest {
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

  /** WSAAccept until WSAEWOULDBLOCK, a CF_DEFER, close, or the turn's budget. */
  private drain(): void {
    if (this.draining || this.accepting) return;  // a callback re-entered us (e.g. retry() from connection())
    this.draining = true;
    try {
      for (let n = 0; !this.closed; n++) {
        if (n === ACCEPTS_PER_TURN) {
          this.continueNextTurn();
          return;
        }
        const offered: Offered = { request: null, retry: false, verdict: null, held: false };
        let result: ReturnType<NativeListener['accept']>;
        try {
          result = this.native.accept((raw) => this.offer(raw, offered), this.handOff !== null);
        } catch (err) {
          // The condition threw (the facade's never does): that request was
          // rejected; the error must not be lost, and the server keeps serving.
          queueMicrotask(() => { throw err; });
          continue;
        }
        const request = offered.request;
        if (typeof result !== 'number') {
          this.deferred = null;
          this.adopt(result, request);
          // Not `return`, relying on FD_ACCEPT's re-enabling to signal the
          // next caller: under Wine it does not re-signal for callers already
          // queued (waves of 100 concurrent connects fell from ~2,300 to ~120
          // conn/s, each waiting for the watchdog), so the loop runs on to
          // WSAEWOULDBLOCK.
          continue;
        }
        if (result === WSA_ERRORS.WSAEWOULDBLOCK) return;
        if (result === WSA_ERRORS.WSATRY_AGAIN) {
          // CF_DEFER: the request stays at the head; nothing else until retry().
          this.deferred = request;
          if (offered.held && request !== null) {
            // Accepted by the condition: CF_ACCEPT off this thread.
            this.accepting = true;
            try {
              this.native.acceptHeld(request.callerId, this.handOff !== null);
            } catch (err) {
              this.accepting = false;
              this.deferred = null;
              this.callbacks.withdrawn(request, toWinsockError(err, 'WSAAccept'));
              continue;
            }
          }
          return;
        }
        if (result === WSA_ERRORS.WSAECONNREFUSED) {
          // CF_REJECT: the caller was refused; the next request may follow.
          if (this.deferred === request) this.deferred = null;
          if (request !== null && offered.retry) {
            this.callbacks.refused(request, 'rejectedRetry');
          } else if (request !== null && offered.verdict === 'reject' && this.capabilities.conditionalAccept) {
            // Its SYN retries must get the same answer (rejections.ts).
            this.rejections.remember(request.callerId);
          }
          continue;
        }
        if (REQUEST_GONE.has(result)) {
          // The caller left (RESET, Wine's NOTCONN) or its request was
          // withdrawn (ACCES): end that request, free the head, keep serving.
          const gone = request ?? this.deferred;
          this.deferred = null;
          if (gone !== null && !offered.retry) this.callbacks.withdrawn(gone, WinsockError.fromErrno(result, 'WSAAccept'));
          continue;
        }
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
    } catch (err) {
      if (!this.closed) this.callbacks.error(toWinsockError(err, 'WSAAccept'));
    } finally {
      this.draining = false;
    }
  }

  /** An accepted socket nobody will take: reset. */
  private discard(accepted: NativeSocket | HandedOverSocket): void {
    if (!isHandedOver(accepted)) accepted.reset();
    else this.handOff?.discard(accepted.socket);
  }

  /** An accepted socket becomes the facade's connection. */
  private adopt(accepted: NativeSocket | HandedOverSocket, request: RawRequest | null): void {
    if (isHandedOver(accepted)) {
      this.handOver(accepted.socket, request);
      return;
    }
    const handle = new NativeSocketHandle(() => accepted, request?.callerData ?? null, this.capabilities.conditionalAccept, this.capabilities);
    handle.captureAddresses();
    this.callbacks.connection(handle, request ?? {
      callerId: handle.remoteAddress, calleeId: handle.localAddress, callerData: null, sqos: null, gqos: null,
    });
  }

  /**
   * An accepted SOCKET to Node's TCP handle. A hand-off that fails closes
   * that SOCKET (once, in handoff.ts) and is that connection's clientError;
   * the listener keeps serving.
   */
  private handOver(socket: number, request: RawRequest | null): void {
    let conn: NetConnection;
    try {
      conn = (this.handOff as HandOff).adopt(socket, request?.callerData ?? null);
    } catch (err) {
      this.callbacks.clientError(toWinsockError(err, 'uv_tcp_open'), request?.callerId ?? null);
      return;
    }
    const s = conn.socket;
    this.callbacks.connection(conn, request ?? {
      callerId: { address: s.remoteAddress ?? '', port: s.remotePort ?? 0, family: s.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4' },
      calleeId: this.address, callerData: null, sqos: null, gqos: null,
    });
  }

  private continueNextTurn(): void {
    if (this.continuation !== null) return;
    this.continuation = setImmediate(() => {
      this.continuation = null;
      if (!this.closed && this.deferred === null && !this.accepting) this.drain();
    });
  }
}

/** What the condition function saw during one WSAAccept call. */
interface Offered {
  request: RawRequest | null;
  /** A SYN retry of a caller rejected a moment ago, refused without asking. */
  retry: boolean;
  verdict: ConditionVerdict['action'] | null;
  /** An accept answered CF_DEFER, to be applied by acceptHeld(). */
  held: boolean;
}
