/**
 * The fault levels of the matrix: what nftables does on the link, what the
 * relay does to the stream, and whom the orchestrator kills.
 */
import type { RelayConfig } from './common';

export type RelayShape = Omit<RelayConfig, 'role' | 'listenHost' | 'targetHost' | 'targetPort'>;

export interface Level {
  name: string;
  /** Random loss each way, %. */
  lossPercent?: number;
  /** Random resets (‰ of data segments) and the targeted reset's segment number. */
  resets?: { perMille: number; nth: number };
  /** A partition of this many ms once this fraction of connections has ended. */
  partition?: { ms: number; atFraction: number };
  relay?: RelayShape;
  /** SIGKILL the client (then a new one runs the rest) or the server (then it restarts), at this fraction. */
  kill?: { who: 'client' | 'server'; atFraction: number };
}

/** A relay that only forwards. */
export const NO_RELAY: RelayShape = {
  delayMs: 0,
  jitterMs: 0,
  resegment: false,
  byteAtATime: 0,
  stallRate: 0,
  stallMs: 0,
  lateHalfCloseMs: 0,
};

export const LEVELS: Record<string, Level> = {
  clean: { name: 'clean' },
  'loss-1%': { name: 'loss-1%', lossPercent: 1 },
  'loss-5%': { name: 'loss-5%', lossPercent: 5 },
  'loss-20%': { name: 'loss-20%', lossPercent: 20 },
  'rtt-50ms': { name: 'rtt-50ms', relay: { ...NO_RELAY, delayMs: 25, jitterMs: 10 } },
  'rtt-200ms': { name: 'rtt-200ms', relay: { ...NO_RELAY, delayMs: 100, jitterMs: 40 } },
  reorder: {
    name: 'reorder',
    relay: {
      ...NO_RELAY,
      delayMs: 2,
      jitterMs: 2,
      resegment: true,
      byteAtATime: 96,
      stallRate: 0.02,
      stallMs: 400,
      lateHalfCloseMs: 300,
    },
  },
  resets: { name: 'resets', resets: { perMille: 3, nth: 6 } },
  'partition-2s': { name: 'partition-2s', partition: { ms: 2000, atFraction: 0.3 } },
  'kill-client': { name: 'kill-client', kill: { who: 'client', atFraction: 0.3 } },
  'kill-server': { name: 'kill-server', kill: { who: 'server', atFraction: 0.3 } },
};
