/**
 * What the faults-net peers (server, client, relay; each its own process,
 * each in its own network namespace) and the orchestrator share: the run's
 * configuration, the deterministic bytes every connection carries, and the
 * counters a peer reports back.
 *
 * The peers use only the package's public API (lib/index, what dist/index.js
 * exports) so the harness outlives rewrites of the providers.
 */
import { createHash, type Hash } from 'node:crypto';
import { lineSockets, send } from './channel';

/** 'native': node.exe under Wine, on loopback through the relay (docs/reliability.md). */
export type Provider = 'emulated' | 'framed' | 'native';
/**
 * soak: in-band payloads with SHA-256 summaries; the caller half-closes once the server has
 * answered (its first byte). half-close: the same, but the caller half-closes as soon as it has
 * written everything, even while its request still waits for a decision.
 */
export type ScenarioName = 'seed' | 'soak' | 'half-close' | 'http' | 'deferred-drop' | 'decision-timeout';

/** The timeouts every scenario configures; a connection that does not complete must end within them. */
export interface Timeouts {
  /** connect({ timeout }): connect, including a deferred decision. */
  connectMs: number;
  /** createServer({ handshakeTimeout }). */
  handshakeMs: number;
  /** createServer({ decisionTimeout }). */
  decisionMs: number;
  /** socket.setTimeout() on both ends: idle time before the application gives up. */
  idleMs: number;
  /** A connection still open after this is a hang (a harness failure, never expected). */
  hangMs: number;
}

export interface ServerConfig {
  role: 'server';
  provider: Provider;
  scenario: ScenarioName;
  host: string;
  port: number;
  seed: number;
  timeouts: Timeouts;
  /** Milliseconds the condition takes (a Promise); 0 decides synchronously. */
  decisionDelayMs: number;
  /** 'defer' and never decide (the decision-timeout scenario). */
  neverDecide: boolean;
}

export interface ClientConfig {
  role: 'client';
  provider: Provider;
  scenario: ScenarioName;
  host: string;
  port: number;
  seed: number;
  /** Connection ids run by this client: [first, first + count). */
  first: number;
  count: number;
  concurrency: number;
  maxPayload: number;
  /** Each worker waits up to this long (random) before its next connection: spreads a run over time. */
  thinkMs: number;
  timeouts: Timeouts;
}

export interface RelayConfig {
  role: 'relay';
  listenHost: string;
  targetHost: string;
  targetPort: number;
  /** One-way delay and its jitter (uniform ±), ms; order is kept (a TCP stream). */
  delayMs: number;
  jitterMs: number;
  /** Re-segment every chunk at random boundaries. */
  resegment: boolean;
  /** Deliver the first this-many bytes of each direction one byte per write. */
  byteAtATime: number;
  /** Chance per chunk of a stall of stallMs before it. */
  stallRate: number;
  stallMs: number;
  /** Forward a half-close this much later than the data before it. */
  lateHalfCloseMs: number;
}

export type PeerConfig = ServerConfig | ClientConfig | RelayConfig;

/** How one connection ended, from one end. */
export interface Outcome {
  id: number;
  /** 'complete', or why not: a Winsock code, 'eof' (the peer closed early, no error), 'hang'. */
  end: string;
  ms: number;
  bytesIn: number;
  bytesOut: number;
  /** Received bytes differed from what the peer sent (at an offset, or by SHA-256). */
  mismatch: boolean;
  /** For one that did not complete: what was seen (for the report). */
  detail?: string;
}

/** A client's end: its outcomes travel one by one ('outcome'), so a killed client's finished connections still count. */
export interface ClientReport {
  handles: number;
  problems: string[];
}

export interface ServerReport {
  seen: number;
  decided: number;
  withdrawn: number;
  conditionErrors: number;
  /** Request ids with no terminal event, or with more than one. */
  unaccounted: number;
  doubleCounted: number;
  verdicts: Record<string, number>;
  outcomes: Outcome[];
  open: number;
  handles: number;
  rssWarmMiB: number;
  rssEndMiB: number;
  problems: string[];
}

/** Messages from a peer to the orchestrator. */
export type PeerMessage =
  | { type: 'ready'; port: number }
  | { type: 'seen'; count: number }
  | { type: 'outcome'; outcome: Outcome }
  | { type: 'client-report'; report: ClientReport }
  | { type: 'server-report'; report: ServerReport };

/** Messages from the orchestrator to a peer. */
export type OrchestratorMessage = { type: 'report' };

/** xorshift32 from a seed: the same sequence in every process. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const POOL_LENGTH = (1 << 20) + 7; // prime-ish length: an offset error shows as a mismatch
let pool: Buffer | null = null;
let poolSeed = -1;

/** The pool every process derives from the run's seed: no bytes need to travel out of band. */
function poolFor(seed: number): Buffer {
  if (pool && poolSeed === seed) return pool;
  const r = prng(seed ^ 0x5bd1e995);
  const b = Buffer.alloc(POOL_LENGTH);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(Math.floor(r() * 0x1_0000_0000), Math.min(i, b.length - 4));
  pool = b;
  poolSeed = seed;
  return b;
}

/** The bytes of stream `key` at `offset`: the receiver checks each chunk where it lands. */
export function expected(seed: number, key: number, offset: number, n: number): Buffer {
  const p = poolFor(seed);
  const parts: Buffer[] = [];
  let start = (key * 104_729 + offset) % p.length;
  let left = n;
  for (let guard = 0; left > 0 && guard < 1 + n / p.length + 1; guard++) {
    const take = Math.min(left, p.length - start);
    parts.push(p.subarray(start, start + take));
    left -= take;
    start = 0;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** Sizes for connection `id`: log-uniform, so as many small payloads as large ones. */
export function sizes(seed: number, id: number, max: number): { up: number; down: number } {
  const r = prng(seed * 31 + id * 7919 + 1);
  const one = (): number => (r() < 0.05 ? 0 : Math.min(max, Math.floor(Math.exp(r() * Math.log(max + 1)))));
  return { up: one(), down: one() };
}

/** Checks a stream chunk by chunk against the sender's bytes and hashes it. */
export class Receiver {
  offset = 0;
  mismatch = false;
  private readonly hash: Hash = createHash('sha256');
  constructor(
    private readonly seed: number,
    private readonly key: number,
  ) {}
  take(chunk: Buffer): void {
    if (!chunk.equals(expected(this.seed, this.key, this.offset, chunk.length))) this.mismatch = true;
    this.offset += chunk.length;
    this.hash.update(chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The stream key of connection `id` in one direction. */
export const upKey = (id: number): number => id * 2 + 1;
export const downKey = (id: number): number => id * 2 + 2;

/** The code an error carries (a WinsockError's Winsock name), or its message. */
export function codeOf(e: unknown): string {
  if (e && typeof e === 'object') {
    const o = e as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof o.code === 'string') return o.code;
    if (o.name === 'AbortError') return 'AbortError';
    if (typeof o.message === 'string') return `untyped: ${o.message.slice(0, 60)}`;
  }
  return `untyped: ${String(e).slice(0, 60)}`;
}

/** Open TCP sockets of this process (listeners are TCPServerWrap, not counted). */
export function tcpHandles(): number {
  // The TCP line to the orchestrator (node.exe under Wine) is not one of the run's.
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length - lineSockets();
}

/** Sends a message to the orchestrator (IPC, or the TCP line of channel.ts under Wine). */
export function tell(message: PeerMessage): void {
  send(message);
}
