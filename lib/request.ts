/** The ConnectionRequest a condition function sees, and its bookkeeping. */
import { performance } from 'node:perf_hooks';
import type { RawRequest } from './provider';
import type { ConnectionRequest, Decision, Qos, SocketAddress } from './types';

let nextId = 1;

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
    private readonly onDecide: (request: PendingRequest, decision: Decision) => void,
  ) {
    this.callerId = raw.callerId;
    this.calleeId = raw.calleeId;
    this.callerData = raw.callerData;
    this.sqos = raw.sqos;
    this.gqos = raw.gqos;
  }

  decide(decision: Decision): void {
    this.onDecide(this, decision);
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
