/**
 * WSAAccept's backlog as both node:net listeners (emulated, framed) keep it:
 * a FIFO of pending requests of which only the head is ever offered to the
 * condition; after 'defer' (CF_DEFER) nothing is offered until retry(), when
 * the same head is offered again. The listener says what accepting or
 * refusing a request means for its wire.
 */
import type { ConditionVerdict } from '../provider';

export interface BacklogOwner<T> {
  /** Runs the condition function for the head's request (the facade's; it never throws by contract). */
  condition(entry: T): ConditionVerdict;
  /** The listener is closing or closed: offer nothing more. */
  closed(): boolean;
  /** The head got a final verdict and has left the queue. */
  decided(entry: T, verdict: Exclude<ConditionVerdict, { action: 'defer' }>): void;
}

export class Backlog<T> {
  private readonly queue: T[] = [];
  private headDeferred = false;
  private pumping = false;

  constructor(private readonly owner: BacklogOwner<T>) {}

  get size(): number {
    return this.queue.length;
  }

  /** The requests still waiting (the head first). */
  waiting(): readonly T[] {
    return this.queue;
  }

  /** Queues a request and offers what can be offered. */
  push(entry: T): void {
    this.queue.push(entry);
    this.pump();
  }

  /** Takes a request out (it left, or broke the protocol); false when it was not queued. Does not pump. */
  remove(entry: T): boolean {
    const i = this.queue.indexOf(entry);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    // The deferred request was the head; whoever is head now has not been offered.
    if (i === 0) this.headDeferred = false;
    return true;
  }

  /** A deferred decision has settled: offer the head again. */
  retry(): void {
    this.headDeferred = false;
    this.pump();
  }

  /** Empties the queue (the listener closes): returns what was in it. */
  drain(): T[] {
    this.headDeferred = false;
    return this.queue.splice(0);
  }

  /** Offers the head to the condition until one defers or the queue is empty. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.owner.closed() && !this.headDeferred && this.queue.length > 0) {
        const head = this.queue[0] as T;
        let verdict: ConditionVerdict;
        try {
          verdict = this.owner.condition(head);
        } catch (err) {
          // The contract says condition() never throws. If it does, throwing on
          // inside a socket event would take the process down: refuse only
          // this caller and make the bug visible as a warning instead.
          process.emitWarning(
            `winsock2: the listener's condition callback threw; the caller was refused: ${String(err)}`,
            'WinsockWarning',
          );
          verdict = { action: 'reject' };
        }
        // The callbacks may have closed the listener or dropped the head meanwhile.
        if (this.owner.closed() || this.queue[0] !== head) continue;
        if (verdict.action === 'defer') {
          this.headDeferred = true;
          break;
        }
        this.queue.shift();
        this.owner.decided(head, verdict);
      }
    } finally {
      this.pumping = false;
    }
  }
}
