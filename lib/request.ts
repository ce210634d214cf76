/** The ConnectionRequest a condition function sees, and its bookkeeping. */
import { performance } from 'node:perf_hooks';
import type { RawRequest } from './provider';
import type { ConnectionRequest, Decision, Qos, SocketAddress } from './types';

let nextId = 1;

/** @internal What decides a request: its server's `decide(request, decision)`. */
export interface RequestDecider {
  decide(request: PendingRequest, decision: Decision): void;
}

export class PendingRequest implements ConnectionRequest {
  readonly id = nextId++;
  readonly offeredAt = performance.now();
  readonly callerId: SocketAddress;
  readonly calleeId: SocketAddress;
  readonly callerData: Buffer | null;
  readonly sqos: Qos | null;
  readonly gqos: Qos | null;

  constructor(
    /** @internal */ readonly raw: RawRequest,
    /** The server that decides it (no closure per request: an accept path allocates per connection). */
    private readonly decider: RequestDecider,
  ) {
    this.callerId = raw.callerId;
    this.calleeId = raw.calleeId;
    this.callerData = raw.callerData;
    this.sqos = raw.sqos;
    this.gqos = raw.gqos;
  }

  decide(decision: Decision): void {
    this.decider.decide(this, decision);
  }

  /** Plain data for logs and JSON output. */
  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      callerId: this.callerId,
      calleeId: this.calleeId,
      callerData: this.callerData?.toString('base64') ?? null,
      sqos: this.sqos,
      gqos: this.gqos,
    };
  }
}
