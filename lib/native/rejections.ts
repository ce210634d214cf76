/**
 * The native listener's memory of callers it rejected a moment ago.
 *
 * Under SO_CONDITIONAL_ACCEPT, CF_REJECT answers the caller's SYN with a
 * reset. A Windows client (loopback included) does not give up at the first
 * reset: it sends its SYN again, about twice within ~2 s (KB175523; libuv
 * turns this off for its own loopback connects with SIO_TCP_INITIAL_RTO).
 * Each retry reaches WSAAccept as a new connection request from the same
 * address and port. Without this memory the condition function would run
 * 3-5 times for one connect(): a stateful condition ("reject once, then
 * accept") would admit the caller it rejected, and every retry would be a
 * new 'decision'.
 *
 * So a rejection is remembered per caller address and port for
 * `windowMs` after the last time that caller was refused (each retry
 * refreshes it), and the listener refuses a retry without asking the
 * condition again (reported as a 'decision' with reason 'rejectedRetry').
 * A new connect() from the same client uses a new ephemeral port, so it is
 * a new caller and is asked normally. The memory holds at most `capacity`
 * callers (the oldest are forgotten first), so a flood of callers cannot
 * grow it without bound, and it uses no timers: entries expire when looked
 * at.
 */
import type { SocketAddress } from '../types';

/** How long a rejection is remembered after the caller's last attempt (ms). */
export const REJECTION_WINDOW_MS = 3000;
/** At most this many rejected callers are remembered. */
export const REJECTION_CAPACITY = 4096;

function keyOf(address: SocketAddress): string {
  return `${address.family}|${address.address}|${address.port}`;
}

export class RejectionMemory {
  /** caller key -> expiry time; Map keeps insertion (= refresh) order, oldest first. */
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly now: () => number = () => performance.now(),
    readonly windowMs: number = REJECTION_WINDOW_MS,
    readonly capacity: number = REJECTION_CAPACITY,
  ) {}

  /** Remembers (or refreshes) a rejection of `caller`. */
  remember(caller: SocketAddress): void {
    if (caller.port === 0) return;  // an unknown caller (no address): nothing to match a retry with
    const key = keyOf(caller);
    this.expiries.delete(key);  // re-insert at the end: the newest
    this.expiries.set(key, this.now() + this.windowMs);
    while (this.expiries.size > this.capacity) {
      const oldest = this.expiries.keys().next();
      if (oldest.done === true) break;
      this.expiries.delete(oldest.value);
    }
  }

  /** True when `caller` was rejected within the window; a hit refreshes the window. */
  isRetry(caller: SocketAddress): boolean {
    this.prune();
    const key = keyOf(caller);
    if (!this.expiries.has(key)) return false;
    this.remember(caller);
    return true;
  }

  /** How many callers are remembered (tests, diagnostics). */
  get size(): number {
    this.prune();
    return this.expiries.size;
  }

  private prune(): void {
    const now = this.now();
    // Refreshing re-inserts, so expiries are in ascending order.
    for (const [key, expiry] of this.expiries) {
      if (expiry > now) break;
      this.expiries.delete(key);
    }
  }
}
