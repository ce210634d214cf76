/**
 * Property-based tests of the framed wire protocol (lib/framed/frames.ts,
 * docs/protocol.md): the hello and verdict decoders, the frame decoder, and
 * the receive state machine of a connected handle (lib/framed/handle.ts).
 *
 * Every property takes a run count and a seed, so the same code is a short
 * deterministic check in the normal test run (test/fuzz-protocol.test.ts) and
 * a long fuzz (test/fuzz/main.ts, `npm run fuzz`). Each property counts the
 * protocol units (hellos, verdicts, frames) it generated into `stats.frames`.
 *
 * What is checked, whatever the bytes and however they are split:
 * - no decoder ever throws; a bad stream ends in one violation with a WSAE*
 *   code (WSAECONNABORTED, WSAEMSGSIZE, WSAVERNOTSUPPORTED) and nothing more
 *   is delivered after it;
 * - split invariance: feeding a stream in any chunks, one byte at a time
 *   included, gives exactly what feeding it whole gives;
 * - valid streams round-trip: every byte once, in order, message boundaries
 *   kept in message mode, the disconnect data exactly once;
 * - bounded buffering: nothing is held beyond a limit the header was checked
 *   against, and a length field over its limit fails at once, before a single
 *   body byte is accepted or any memory is committed for it.
 */
import { strict as assert } from 'node:assert';
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import {
  encodeDisconnect,
  encodeFrameHeader,
  encodeHello,
  encodeVerdict,
  FRAME_DATA,
  FRAME_DISCONNECT,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  HelloDecoder,
  MAGIC,
  PREAMBLE_SIZE,
  PROTOCOL_VERSION,
  VerdictDecoder,
  type FrameSink,
  type Hello,
  type PreambleStep,
  type Verdict,
  type Violation,
} from '../../lib/framed/frames';
import { MAX_QOS_BYTES } from '../../lib/framed/qos';
import { FramedHandle } from '../../lib/framed/handle';
import { WSA_ERRORS, WinsockError } from '../../lib/errors';
import type { FlowSpec, Qos, SocketMode } from '../../lib/types';
import type { HandleReceiver } from '../../lib/provider';

export interface FuzzStats {
  /** Protocol units generated: hellos, verdicts, data and disconnect frames. */
  frames: number;
  /** Bytes fed to a decoder. */
  bytes: number;
  /** Property runs (generated cases). */
  runs: number;
  /** Streams that ended in a violation (garbage or mutation detected). */
  violations: number;
}

export function newStats(): FuzzStats {
  return { frames: 0, bytes: 0, runs: 0, violations: 0 };
}

export interface RunParams {
  numRuns: number;
  seed: number;
}

const VIOLATION_CODES = new Set<string>(['WSAECONNABORTED', 'WSAEMSGSIZE', 'WSAVERNOTSUPPORTED']);

function assertViolation(v: Violation): void {
  assert.ok(VIOLATION_CODES.has(v.code), `unexpected violation code ${v.code}`);
  assert.ok(v.code in WSA_ERRORS);
  assert.equal(typeof v.detail, 'string');
}

// ---------------------------------------------------------------------------
// Generators

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

const arbFlowSpec: fc.Arbitrary<FlowSpec> = fc.record({
  tokenRate: u32,
  tokenBucketSize: u32,
  peakBandwidth: u32,
  latency: u32,
  delayVariation: u32,
  serviceType: u32,
  maxSduSize: u32,
  minimumPolicedSize: u32,
});

const arbBytes = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));

/** Mostly small, sometimes near a size that matters (64 KiB limits). */
const arbData = (max: number): fc.Arbitrary<Buffer> =>
  fc.oneof(
    { weight: 8, arbitrary: arbBytes(64) },
    { weight: 2, arbitrary: arbBytes(600) },
    { weight: 1, arbitrary: fc.integer({ min: Math.max(0, max - 3), max }).map((n) => Buffer.alloc(n, 0xa5)) },
  );

const arbQos: fc.Arbitrary<Qos> = fc.record({
  sending: fc.option(arbFlowSpec, { nil: null }),
  receiving: fc.option(arbFlowSpec, { nil: null }),
  providerSpecific: fc.option(arbBytes(40), { nil: null }),
});

const arbMode: fc.Arbitrary<SocketMode> = fc.constantFrom('stream', 'message');

export const arbHello: fc.Arbitrary<Hello> = fc.record({
  mode: arbMode,
  callerData: fc.option(arbData(65_536), { nil: null }),
  sqos: fc.option(arbQos, { nil: null }),
  gqos: fc.option(arbQos, { nil: null }),
});

const arbVerdict: fc.Arbitrary<Verdict> = fc.oneof(
  fc.record({
    accept: fc.constant(true),
    errno: fc.constant(0),
    calleeData: fc.option(arbData(65_536), { nil: null }),
    qos: fc.option(arbQos, { nil: null }),
  }),
  fc.record({
    accept: fc.constant(false),
    errno: fc.oneof(fc.constantFrom(10061, 10040, 10041, 10092), fc.integer({ min: 1, max: 0xffff_ffff })),
    calleeData: fc.constant(null),
    qos: fc.constant(null),
  }),
);

/** Cut points of a stream, as fractions so they fit any length (integers scaled: fc.double clusters at 0 and 1). */
const arbCuts = fc.array(
  fc.integer({ min: 0, max: 10_000 }).map((n) => n / 10_000),
  { maxLength: 12 },
);

/** Splits `bytes` at the given fractional cut points (empty chunks included: TCP never gives them, a decoder must not care). */
export function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [
    ...new Set(cuts.map((f) => Math.floor(f * (bytes.length + 1))).map((i) => Math.min(i, bytes.length))),
  ].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const i of at) {
    out.push(bytes.subarray(prev, i));
    prev = i;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** Every byte its own chunk. */
export function bytewise(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
  return out;
}

type Mutation =
  | { op: 'set'; at: number; value: number }
  | { op: 'xor'; at: number; mask: number }
  | { op: 'delete'; at: number; length: number }
  | { op: 'insert'; at: number; bytes: Buffer }
  | { op: 'duplicate'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'length'; at: number; value: number };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('xor' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: arbBytes(8) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  // A 32-bit length-like field overwritten with a boundary value.
  fc.record({
    op: fc.constant('length' as const),
    at: fc.nat(),
    value: fc.constantFrom(
      0,
      1,
      0x7fff_ffff,
      0x8000_0000,
      0xffff_ffff,
      65_536,
      65_537,
      16 * 1024 * 1024,
      16 * 1024 * 1024 + 1,
    ),
  }),
);

export function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case 'set':
        if (at < b.length) b[at] = m.value;
        break;
      case 'xor':
        if (at < b.length) b[at] = (b[at] as number) ^ m.mask;
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + m.length), b.subarray(at, at + m.length), b.subarray(at + m.length)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'length':
        if (at + 4 <= b.length) b.writeUInt32BE(m.value, at);
        break;
    }
  }
  return b;
}

// ---------------------------------------------------------------------------
// Hello and verdict decoders

/** The outcome of feeding chunks: where in the whole stream it ended and how. */
interface PreambleOutcome<T> {
  state: 'more' | 'done' | 'error';
  value?: T;
  /** Offset in the whole stream just past the decoded preamble. */
  end?: number;
  violation?: Violation;
  /** Offset in the whole stream of the byte that caused the error (the last byte fed). */
  errorAt?: number;
}

function feedPreamble<T>(
  decoder: { feed(chunk: Buffer, start?: number): PreambleStep<T> },
  chunks: readonly Buffer[],
): PreambleOutcome<T> {
  let offset = 0;
  for (const chunk of chunks) {
    // Sometimes start inside the chunk, as a caller with leftovers would.
    const step = decoder.feed(chunk, 0);
    if (step.state === 'done') {
      // After 'done' the decoder keeps answering done with end = the start it was given.
      const again = decoder.feed(chunk, step.end);
      assert.equal(again.state, 'done');
      return { state: 'done', value: step.value, end: offset + step.end };
    }
    if (step.state === 'error') {
      assertViolation(step.violation);
      // After 'error' it keeps answering the same.
      const again = decoder.feed(Buffer.from(MAGIC), 0);
      assert.equal(again.state, 'error');
      return { state: 'error', violation: step.violation };
    }
    offset += chunk.length;
  }
  return { state: 'more' };
}

/** Feeds byte by byte; reports the offset of the byte at which the decoder failed. */
function feedBytewise<T>(
  decoder: { feed(chunk: Buffer, start?: number): PreambleStep<T> },
  bytes: Buffer,
): PreambleOutcome<T> {
  for (let i = 0; i < bytes.length; i++) {
    const step = decoder.feed(bytes.subarray(i, i + 1));
    if (step.state === 'more') continue;
    if (step.state === 'done') {
      assert.equal(step.end, 1);
      return { state: 'done', value: step.value, end: i + 1 };
    }
    return { state: 'error', violation: step.violation, errorAt: i };
  }
  return { state: 'more' };
}

function samePreambleOutcome<T>(a: PreambleOutcome<T>, b: PreambleOutcome<T>): void {
  assert.equal(a.state, b.state);
  if (a.state === 'done') {
    assert.deepStrictEqual(a.value, b.value);
    assert.equal(a.end, b.end);
  }
  if (a.state === 'error') assert.equal(a.violation?.code, b.violation?.code);
}

/**
 * The first offset at which a preamble stream is wrong in its fixed bytes
 * (magic, version, kind), or -1. Garbage must be dropped exactly there.
 */
function firstFixedMismatch(bytes: Buffer, kind: number): number {
  const fixed = [...MAGIC, PROTOCOL_VERSION, kind];
  for (let i = 0; i < Math.min(bytes.length, fixed.length); i++) if (bytes[i] !== fixed[i]) return i;
  return -1;
}

const HELLO_LIMITS = { maxCallerData: 65_536 };
const HELLO_BOUND = PREAMBLE_SIZE + HELLO_LIMITS.maxCallerData + 2 * MAX_QOS_BYTES;

/** A valid hello, in any split, decodes to what was encoded, and ends exactly where it ends. */
export function helloRoundTrip(p: RunParams, stats: FuzzStats): void {
  fc.assert(
    fc.property(arbHello, arbBytes(16), arbCuts, (hello, trailer, cuts) => {
      stats.runs++;
      stats.frames++;
      const wire = encodeHello(hello);
      const stream = Buffer.concat([wire, trailer]);
      stats.bytes += stream.length * 2;
      const expected: Hello = { ...hello, callerData: hello.callerData };
      const whole = feedPreamble(new HelloDecoder(HELLO_LIMITS), [stream]);
      assert.equal(whole.state, 'done', JSON.stringify(whole.violation));
      assert.deepStrictEqual(whole.value, expected);
      assert.equal(whole.end, wire.length);
      samePreambleOutcome(feedPreamble(new HelloDecoder(HELLO_LIMITS), split(stream, cuts)), whole);
      if (stream.length <= 4096) samePreambleOutcome(feedBytewise(new HelloDecoder(HELLO_LIMITS), stream), whole);
    }),
    { numRuns: p.numRuns, seed: p.seed },
  );
}

/** A valid verdict round-trips the same way (client side). */
export function verdictRoundTrip(p: RunParams, stats: FuzzStats): void {
  const limits = { maxCalleeData: 65_536 };
  fc.assert(
    fc.property(arbVerdict, arbBytes(16), arbCuts, (verdict, trailer, cuts) => {
      stats.runs++;
      stats.frames++;
      const wire = encodeVerdict(verdict);
      const stream = Buffer.concat([wire, trailer]);
      stats.bytes += stream.length * 2;
      const whole = feedPreamble(new VerdictDecoder(limits), [stream]);
      assert.equal(whole.state, 'done', JSON.stringify(whole.violation));
      assert.deepStrictEqual(whole.value, verdict);
      assert.equal(whole.end, wire.length);
      samePreambleOutcome(feedPreamble(new VerdictDecoder(limits), split(stream, cuts)), whole);
    }),
    { numRuns: p.numRuns, seed: p.seed },
  );
}

/**
 * Mutated and random preambles: never a throw, the same outcome in any split,
 * garbage dropped at its first wrong fixed byte, and a length field over its
 * limit refused on the header's last byte (before any body byte).
 */
export function preambleGarbage(p: RunParams, stats: FuzzStats): void {
  const arbStream = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(arbHello, fc.array(arbMutation, { minLength: 1, maxLength: 4 }))
        .map(([h, m]) => mutate(encodeHello(h), m)),
    },
    { weight: 1, arbitrary: arbBytes(64) },
    // The fixed bytes right, the rest random: reaches the header checks.
    {
      weight: 2,
      arbitrary: arbBytes(80).map((b) => Buffer.concat([Buffer.from([...MAGIC, PROTOCOL_VERSION, 0x48]), b])),
    },
  );
  fc.assert(
    fc.property(arbStream, arbCuts, fc.constantFrom(0, 1, 100, 65_536), (stream, cuts, maxCallerData) => {
      stats.runs++;
      stats.frames++;
      stats.bytes += stream.length * 3;
      const limits = { maxCallerData };
      const whole = feedPreamble(new HelloDecoder(limits), [stream]);
      samePreambleOutcome(feedPreamble(new HelloDecoder(limits), split(stream, cuts)), whole);
      const byByte = feedBytewise(new HelloDecoder(limits), stream);
      samePreambleOutcome(byByte, whole);
      if (whole.state === 'error') stats.violations++;
      const mismatch = firstFixedMismatch(stream, 0x48);
      if (mismatch >= 0) {
        assert.equal(byByte.state, 'error');
        assert.equal(byByte.errorAt, mismatch, 'garbage is dropped at its first wrong byte');
        assert.equal(byByte.violation?.code, mismatch === 4 ? 'WSAVERNOTSUPPORTED' : 'WSAECONNABORTED');
      } else if (stream.length >= PREAMBLE_SIZE) {
        const lengths = [stream.readUInt32BE(8), stream.readUInt32BE(12), stream.readUInt32BE(16)];
        const over =
          (lengths[0] as number) > maxCallerData ||
          (lengths[1] as number) > MAX_QOS_BYTES ||
          (lengths[2] as number) > MAX_QOS_BYTES;
        if (over) {
          assert.equal(byByte.state, 'error');
          assert.equal(
            byByte.errorAt,
            PREAMBLE_SIZE - 1,
            'an oversized length is refused with the header, before any body byte',
          );
        }
        if (byByte.state === 'done') {
          assert.ok((byByte.end as number) <= PREAMBLE_SIZE + maxCallerData + 2 * MAX_QOS_BYTES);
        }
      }
    }),
    { numRuns: p.numRuns, seed: p.seed },
  );
}

/** Length fields at their maximum never allocate: intercepts Buffer.allocUnsafe while a header is fed. */
export function preambleMaxLengths(): void {
  const original = Buffer.allocUnsafe;
  let largest = 0;
  Buffer.allocUnsafe = ((size: number) => {
    largest = Math.max(largest, size);
    return original(size);
  }) as typeof Buffer.allocUnsafe;
  try {
    for (const flags of [0x01, 0x02, 0x04, 0x07]) {
      for (const value of [0xffff_ffff, 0x8000_0000, HELLO_LIMITS.maxCallerData + 1, MAX_QOS_BYTES + 1]) {
        const header = Buffer.alloc(PREAMBLE_SIZE);
        Buffer.from([...MAGIC, PROTOCOL_VERSION, 0x48, 0, flags]).copy(header);
        if (flags & 1) header.writeUInt32BE(value, 8);
        if (flags & 2) header.writeUInt32BE(value, 12);
        if (flags & 4) header.writeUInt32BE(value, 16);
        const step = new HelloDecoder(HELLO_LIMITS).feed(header);
        const over = (flags & 1 && value > HELLO_LIMITS.maxCallerData) || (flags & 6 && value > MAX_QOS_BYTES);
        if (!over) {
          assert.equal(step.state, 'more', 'lengths within their limits wait for their bodies');
          continue;
        }
        assert.equal(step.state, 'error', `flags ${flags} length ${value}`);
        if (step.state === 'error') assert.equal(step.violation.code, 'WSAEMSGSIZE');
      }
    }
    const verdictHeader = Buffer.alloc(PREAMBLE_SIZE);
    Buffer.from([...MAGIC, PROTOCOL_VERSION, 0x56, 0, 0x03]).copy(verdictHeader);
    verdictHeader.writeUInt32BE(0xffff_ffff, 12);
    verdictHeader.writeUInt32BE(0xffff_ffff, 16);
    const v = new VerdictDecoder({ maxCalleeData: 65_536 }).feed(verdictHeader);
    assert.equal(v.state, 'error');
  } finally {
    Buffer.allocUnsafe = original;
  }
  assert.ok(largest <= HELLO_BOUND, `a decoder allocated ${largest} bytes for a header it refused`);
}

// ---------------------------------------------------------------------------
// Frame decoder

interface FramePlan {
  mode: SocketMode;
  payloads: Buffer[];
  /** undefined: no disconnect frame; null: one without data. */
  disconnect: Buffer | null | undefined;
}

const FRAME_LIMITS = { maxFramePayload: 4096, maxDisconnectData: 1024 };

const arbPlan: fc.Arbitrary<FramePlan> = fc.record({
  mode: arbMode,
  payloads: fc.array(
    fc.oneof(
      { weight: 6, arbitrary: arbBytes(48) },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 0, max: FRAME_LIMITS.maxFramePayload }).map((n) => Buffer.alloc(n, n & 0xff)),
      },
    ),
    { maxLength: 24 },
  ),
  disconnect: fc.oneof(fc.constant(undefined), fc.constant(null), arbBytes(FRAME_LIMITS.maxDisconnectData)),
});

export function encodePlan(plan: FramePlan): Buffer {
  const parts: Buffer[] = [];
  for (const p of plan.payloads) parts.push(encodeFrameHeader(FRAME_DATA, p.length), p);
  if (plan.disconnect !== undefined) parts.push(encodeDisconnect(plan.disconnect));
  return Buffer.concat(parts);
}

interface FrameOutcome {
  /** Stream mode: every delivered byte; message mode: unused. */
  stream: Buffer;
  messages: Buffer[];
  disconnects: (Buffer | null)[];
  violation: Violation | null;
  atBoundary: boolean;
  largestBody: number;
}

/**
 * Decodes `chunks` the way lib/framed/handle.ts drives the decoder: a sink
 * that may refuse more (back-pressure, `pressure` says when), after which the
 * undecoded rest of the chunk is fed again.
 */
function decodeFrames(mode: SocketMode, chunks: readonly Buffer[], pressure: readonly boolean[] = []): FrameOutcome {
  const decoder = new FrameDecoder({ mode, ...FRAME_LIMITS });
  const received: Buffer[] = [];
  const disconnects: (Buffer | null)[] = [];
  let calls = 0;
  let largestBody = 0;
  let afterViolation = false;
  const sink: FrameSink = {
    onFrameData(payload) {
      assert.ok(!afterViolation, 'data delivered after a violation');
      assert.equal(disconnects.length, 0, 'data delivered after the disconnect frame');
      // A view must not outlive the chunk's contents: copy, as the facade's consumer might not.
      received.push(Buffer.from(payload));
      return !(pressure[calls++ % Math.max(1, pressure.length)] ?? false);
    },
    onFrameDisconnect(data) {
      assert.ok(!afterViolation);
      disconnects.push(data === null ? null : Buffer.from(data));
    },
  };
  // What the decoder holds for a body in assembly (a preallocated buffer or the pieces received so far).
  const internals = decoder as unknown as { body?: Buffer | null; pieces?: Buffer[] };
  const held = (): number => (internals.body?.length ?? 0) + (internals.pieces ?? []).reduce((n, b) => n + b.length, 0);
  for (const chunk of chunks) {
    let pos = 0;
    do {
      const next = decoder.decode(chunk, pos, sink);
      assert.ok(next >= pos && next <= chunk.length, 'decode returned an index outside the chunk');
      largestBody = Math.max(largestBody, held());
      if (decoder.violation) break;
      // Every call makes progress: a stop without progress would spin the handle's receive loop.
      assert.ok(next > pos || chunk.length === 0, 'the decoder made no progress');
      pos = next;
    } while (pos < chunk.length);
    if (decoder.violation) {
      afterViolation = true;
      assertViolation(decoder.violation);
      // Nothing more is decoded after a violation, whatever follows.
      const later = decoder.decode(Buffer.from([FRAME_DATA, 0, 0, 0, 1, 0x41]), 0, sink);
      assert.equal(later, 0);
      break;
    }
  }
  return {
    stream: Buffer.concat(received),
    messages: received,
    disconnects,
    violation: decoder.violation,
    atBoundary: decoder.atBoundary,
    largestBody,
  };
}

/** Valid frames in any split, under random back-pressure: every byte once, in order; the disconnect data once. */
export function framesRoundTrip(p: RunParams, stats: FuzzStats): void {
  fc.assert(
    fc.property(
      arbPlan,
      arbCuts,
      fc.array(fc.boolean(), { maxLength: 5 }),
      fc.boolean(),
      (plan, cuts, pressure, byteByByte) => {
        stats.runs++;
        stats.frames += plan.payloads.length + (plan.disconnect === undefined ? 0 : 1);
        const wire = encodePlan(plan);
        stats.bytes += wire.length;
        const chunks = byteByByte && wire.length <= 2048 ? bytewise(wire) : split(wire, cuts);
        const out = decodeFrames(plan.mode, chunks, pressure);
        assert.equal(out.violation, null, out.violation?.detail);
        assert.ok(out.atBoundary, 'a complete stream ends at a frame boundary');
        if (plan.mode === 'message') {
          assert.deepStrictEqual(out.messages, plan.payloads, 'messages kept whole and in order');
        } else {
          assert.ok(out.stream.equals(Buffer.concat(plan.payloads)), 'stream bytes in order, none lost or duplicated');
        }
        if (plan.disconnect === undefined) assert.equal(out.disconnects.length, 0);
        else
          assert.deepStrictEqual(out.disconnects, [
            plan.disconnect === null || plan.disconnect.length === 0 ? null : plan.disconnect,
          ]);
        assert.ok(out.largestBody <= Math.max(FRAME_LIMITS.maxFramePayload, FRAME_LIMITS.maxDisconnectData));
      },
    ),
    { numRuns: p.numRuns, seed: p.seed },
  );
}

/**
 * Mutated frame streams and garbage: never a throw; the same deliveries and
 * the same violation in any split; what is delivered is never more than the
 * stream's bytes; the body buffer never exceeds the limits.
 */
export function framesGarbage(p: RunParams, stats: FuzzStats): void {
  const arbStream = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(arbPlan, fc.array(arbMutation, { minLength: 1, maxLength: 5 })).map(([plan, m]) => ({
        mode: plan.mode,
        frames: plan.payloads.length + 1,
        bytes: mutate(encodePlan(plan), m),
      })),
    },
    { weight: 1, arbitrary: fc.tuple(arbMode, arbBytes(256)).map(([mode, bytes]) => ({ mode, frames: 1, bytes })) },
    // Headers only: type bytes and length fields around every limit.
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          arbMode,
          fc.array(
            fc.tuple(
              fc.constantFrom(FRAME_DATA, FRAME_DISCONNECT, 0, 0x45, 0xff),
              fc.constantFrom(0, 1, 1023, 1024, 1025, 4095, 4096, 4097, 0x7fff_ffff, 0xffff_ffff),
            ),
            { minLength: 1, maxLength: 6 },
          ),
        )
        .map(([mode, hs]) => ({
          mode,
          frames: hs.length,
          bytes: Buffer.concat(
            hs.map(([t, n]) => Buffer.concat([encodeFrameHeader(t, n), Buffer.alloc(Math.min(n, 64), 0x5a)])),
          ),
        })),
    },
  );
  fc.assert(
    fc.property(arbStream, arbCuts, fc.array(fc.boolean(), { maxLength: 4 }), (s, cuts, pressure) => {
      stats.runs++;
      stats.frames += s.frames;
      stats.bytes += s.bytes.length * 2;
      const whole = decodeFrames(s.mode, [s.bytes]);
      const parts = decodeFrames(s.mode, s.bytes.length <= 1024 ? bytewise(s.bytes) : split(s.bytes, cuts), pressure);
      assert.equal(parts.violation?.code, whole.violation?.code, 'the same violation in any split');
      assert.deepStrictEqual(parts.disconnects, whole.disconnects);
      if (s.mode === 'message') assert.deepStrictEqual(parts.messages, whole.messages);
      else assert.ok(parts.stream.equals(whole.stream), 'the same bytes in any split');
      assert.ok(whole.stream.length <= s.bytes.length, 'never more bytes out than in');
      assert.ok(parts.largestBody <= Math.max(FRAME_LIMITS.maxFramePayload, FRAME_LIMITS.maxDisconnectData));
      if (whole.violation) stats.violations++;
    }),
    { numRuns: p.numRuns, seed: p.seed },
  );
}

/** Length fields at their maximum: refused on the header, nothing delivered, nothing allocated. */
export function frameMaxLengths(): void {
  for (const mode of ['stream', 'message'] as const) {
    for (const [type, code] of [
      [FRAME_DATA, 'WSAEMSGSIZE'],
      [FRAME_DISCONNECT, 'WSAEMSGSIZE'],
      [0x00, 'WSAECONNABORTED'],
    ] as const) {
      for (const len of [0xffff_ffff, 0x8000_0000, FRAME_LIMITS.maxFramePayload + 1]) {
        const out = decodeFrames(mode, bytewise(Buffer.concat([encodeFrameHeader(type, len), Buffer.alloc(32)])));
        if (type === FRAME_DATA || type === FRAME_DISCONNECT || code !== 'WSAECONNABORTED') {
          assert.equal(out.violation?.code, code, `type 0x${type.toString(16)} length ${len}`);
        }
        assert.equal(out.stream.length, 0);
        assert.equal(out.largestBody, 0);
      }
    }
    // Exactly at the limits is fine.
    const ok = decodeFrames(mode, [
      Buffer.concat([
        encodeFrameHeader(FRAME_DATA, FRAME_LIMITS.maxFramePayload),
        Buffer.alloc(FRAME_LIMITS.maxFramePayload),
        encodeDisconnect(Buffer.alloc(FRAME_LIMITS.maxDisconnectData)),
      ]),
    ]);
    assert.equal(ok.violation, null);
    assert.equal(ok.disconnects[0]?.length, FRAME_LIMITS.maxDisconnectData);
    // Anything after the disconnect frame is a violation.
    const after = decodeFrames(mode, [Buffer.concat([encodeDisconnect(null), Buffer.from([1])])]);
    assert.equal(after.violation?.code, 'WSAECONNABORTED');
    assert.equal(FRAME_HEADER_SIZE, 5);
  }
}

/** Every single split point of a few fixed streams (the exhaustive version of "any split"). */
export function everyBoundary(stats: FuzzStats): void {
  const hello = encodeHello({
    mode: 'message',
    callerData: Buffer.from('caller data'),
    sqos: { sending: null, receiving: null, providerSpecific: Buffer.from('ps') },
    gqos: null,
  });
  const plans: FramePlan[] = [
    {
      mode: 'stream',
      payloads: [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('defgh')],
      disconnect: Buffer.from('total=42'),
    },
    { mode: 'message', payloads: [Buffer.from('m1'), Buffer.alloc(0), Buffer.from('message three')], disconnect: null },
  ];
  const expectedHello = feedPreamble(new HelloDecoder(HELLO_LIMITS), [hello]);
  for (let i = 0; i <= hello.length; i++) {
    for (let j = i; j <= hello.length; j++) {
      samePreambleOutcome(
        feedPreamble(new HelloDecoder(HELLO_LIMITS), [hello.subarray(0, i), hello.subarray(i, j), hello.subarray(j)]),
        expectedHello,
      );
      stats.frames++;
      stats.runs++;
    }
  }
  for (const plan of plans) {
    const wire = encodePlan(plan);
    const whole = decodeFrames(plan.mode, [wire]);
    for (let i = 0; i <= wire.length; i++) {
      for (let j = i; j <= wire.length; j++) {
        const out = decodeFrames(plan.mode, [wire.subarray(0, i), wire.subarray(i, j), wire.subarray(j)]);
        // Stream mode keeps no boundaries: compare the bytes, not how they were chunked.
        const norm = (o: FrameOutcome): unknown => ({
          ...o,
          largestBody: 0,
          messages: plan.mode === 'message' ? o.messages : [],
        });
        assert.deepStrictEqual(norm(out), norm(whole), `split at ${i} and ${j}`);
        stats.frames += plan.payloads.length + 1;
        stats.runs++;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The handle's receive state machine, over a socket whose chunking we control

/**
 * Enough of net.Socket for FramedHandle: a Duplex that honours pause()
 * (so the handle's back-pressure is real) and records what is written.
 */
export class FakeSocket extends Duplex {
  readonly written: Buffer[] = [];
  localAddress = '127.0.0.1';
  localPort = 40000;
  remoteAddress = '127.0.0.1';
  remotePort = 40001;
  resets = 0;
  constructor() {
    super({ allowHalfOpen: true });
  }
  override _read(): void {
    /* pushed by the test */
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.written.push(Buffer.from(chunk));
    setImmediate(cb);
  }
  resetAndDestroy(): this {
    this.resets++;
    return this.destroy();
  }
  setNoDelay(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

interface HandleOutcome {
  data: Buffer[];
  end: Buffer | null | undefined;
  errors: WinsockError[];
  destroyed: boolean;
}

/**
 * Pushes `chunks` into a FakeSocket under an FramedHandle with a receiver
 * that pushes back (returns false) per `pressure` and resumes a tick later,
 * then ends the socket (the peer's FIN); resolves what the receiver saw.
 */
async function driveHandle(
  mode: SocketMode,
  chunks: readonly Buffer[],
  pressure: readonly boolean[],
  fin: boolean,
): Promise<HandleOutcome> {
  const socket = new FakeSocket();
  const handle = new FramedHandle({
    socket: socket as unknown as Socket,
    mode,
    callerData: null,
    calleeData: null,
    qos: null,
    maxDisconnectData: FRAME_LIMITS.maxDisconnectData,
    maxFramePayload: FRAME_LIMITS.maxFramePayload,
    leftover: null,
  });
  const out: HandleOutcome = { data: [], end: undefined, errors: [], destroyed: false };
  let calls = 0;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const receiver: HandleReceiver = {
    onData(chunk) {
      assert.equal(out.errors.length, 0, 'data after an error');
      assert.equal(out.end, undefined, 'data after the end');
      out.data.push(Buffer.from(chunk));
      const more = !(pressure[calls++ % Math.max(1, pressure.length)] ?? false);
      if (!more) setImmediate(() => handle.readStart());
      return more;
    },
    onEnd(data) {
      assert.equal(out.end, undefined, 'onEnd twice');
      assert.equal(out.errors.length, 0, 'onEnd after onError');
      out.end = data;
      finished();
    },
    onError(error) {
      assert.equal(out.end, undefined, 'onError after onEnd');
      out.errors.push(error);
      finished();
    },
  };
  handle.attach(receiver);
  handle.readStart();
  for (const c of chunks) {
    socket.push(c);
    // Let the stream deliver (and the receiver push back) between chunks, in varying ways.
    if (c.length % 3 === 0) await new Promise((r) => setImmediate(r));
  }
  if (fin) {
    socket.push(null);
  } else {
    // A connection that vanishes (close without FIN) after everything it sent was read.
    const internals = handle as unknown as { stash: Buffer[] };
    for (
      let i = 0;
      i < 10_000 && out.errors.length === 0 && (socket.readableLength > 0 || internals.stash.length > 0);
      i++
    ) {
      await new Promise((r) => setImmediate(r));
    }
    socket.destroy();
  }
  let guard: NodeJS.Timeout | undefined;
  await Promise.race([
    done,
    new Promise((r) => {
      guard = setTimeout(r, 2000);
    }),
  ]);
  clearTimeout(guard);
  // Let a stray second report (a bug) show itself.
  await new Promise((r) => setImmediate(r));
  out.destroyed = socket.destroyed;
  handle.close();
  return out;
}

/** Valid streams through the handle: the receiver sees every byte once and in order, then onEnd with the disconnect data. */
export async function handleRoundTrip(p: RunParams, stats: FuzzStats): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbPlan, arbCuts, fc.array(fc.boolean(), { maxLength: 4 }), async (plan, cuts, pressure) => {
      stats.runs++;
      stats.frames += plan.payloads.length + (plan.disconnect === undefined ? 0 : 1);
      const wire = encodePlan(plan);
      stats.bytes += wire.length;
      const out = await driveHandle(
        plan.mode,
        split(wire, cuts).filter((c) => c.length > 0),
        pressure,
        true,
      );
      assert.deepStrictEqual(out.errors, []);
      if (plan.mode === 'message') assert.deepStrictEqual(out.data, plan.payloads);
      else assert.ok(Buffer.concat(out.data).equals(Buffer.concat(plan.payloads)));
      const d = plan.disconnect;
      assert.deepStrictEqual(out.end, d === undefined || d === null || d.length === 0 ? null : d);
    }),
    { numRuns: p.numRuns, seed: p.seed },
  );
}

/**
 * Garbage through the handle: exactly one outcome (onEnd or one onError with a
 * WSAE* code), nothing delivered after it, and a violation destroys only this
 * socket. Truncated streams (FIN inside a frame) and vanished connections
 * (close without FIN) are errors too, never a silent end.
 */
export async function handleGarbage(p: RunParams, stats: FuzzStats): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      arbPlan,
      fc.array(arbMutation, { maxLength: 4 }),
      arbCuts,
      fc.array(fc.boolean(), { maxLength: 3 }),
      fc.boolean(),
      async (plan, mutations, cuts, pressure, fin) => {
        stats.runs++;
        stats.frames += plan.payloads.length + 1;
        const wire = mutate(encodePlan(plan), mutations);
        stats.bytes += wire.length * 2;
        const reference = decodeFrames(plan.mode, [wire]);
        const out = await driveHandle(
          plan.mode,
          split(wire, cuts).filter((c) => c.length > 0),
          pressure,
          fin,
        );
        assert.equal(out.errors.length + (out.end === undefined ? 0 : 1), 1, 'exactly one outcome');
        for (const e of out.errors) {
          assert.ok(e instanceof WinsockError);
          assert.ok(e.code.startsWith('WSAE'), e.code);
        }
        if (reference.violation) {
          stats.violations++;
          assert.equal(out.errors[0]?.code, reference.violation.code);
          assert.ok(out.destroyed, 'a violation destroys the connection');
        } else if (!fin) {
          assert.equal(out.errors[0]?.code, 'WSAECONNRESET', 'a close without FIN is a reset');
        } else if (!reference.atBoundary) {
          assert.equal(out.errors[0]?.code, 'WSAECONNABORTED', 'a FIN inside a frame is an abort');
        } else {
          assert.deepStrictEqual(out.end, reference.disconnects[0] ?? null);
        }
        // Delivered data is what the decoder yields for these bytes, never reordered or duplicated (a prefix of it when the stream failed).
        const got = plan.mode === 'message' ? out.data : [Buffer.concat(out.data)];
        const ref = plan.mode === 'message' ? reference.messages : [reference.stream];
        if (plan.mode === 'message') {
          assert.ok(got.length <= ref.length);
          got.forEach((m, i) => assert.ok(m.equals(ref[i] as Buffer), `message ${i}`));
        } else {
          assert.ok(
            (ref[0] as Buffer).subarray(0, (got[0] as Buffer).length).equals(got[0] as Buffer),
            'delivered bytes are a prefix of the stream',
          );
        }
      },
    ),
    { numRuns: p.numRuns, seed: p.seed },
  );
}

/** What the handle writes decodes back to what was written (stream and message), disconnect frame last. */
export async function handleWrites(p: RunParams, stats: FuzzStats): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      arbMode,
      fc.array(fc.array(arbData(10_000), { minLength: 1, maxLength: 3 }), { maxLength: 8 }),
      fc.option(arbBytes(64), { nil: null }),
      async (mode, writes, disc) => {
        stats.runs++;
        const socket = new FakeSocket();
        const handle = new FramedHandle({
          socket: socket as unknown as Socket,
          mode,
          callerData: null,
          calleeData: null,
          qos: null,
          maxDisconnectData: FRAME_LIMITS.maxDisconnectData,
          maxFramePayload: FRAME_LIMITS.maxFramePayload,
          leftover: null,
        });
        handle.attach({ onData: () => true, onEnd: () => undefined, onError: () => undefined });
        const sent: Buffer[][] = [];
        for (const w of writes) {
          const err = await new Promise<WinsockError | null>((resolve) => handle.write(w, resolve));
          // A message over the frame payload bound is refused whole, before anything is sent.
          const oversized = mode === 'message' && w.some((c) => c.length > FRAME_LIMITS.maxFramePayload);
          assert.equal(err?.code, oversized ? 'WSAEMSGSIZE' : undefined);
          if (!oversized) sent.push(w);
        }
        await handle.sendDisconnect(disc);
        const wire = Buffer.concat(socket.written);
        stats.bytes += wire.length;
        const out = decodeFrames(mode, [wire]);
        stats.frames += out.messages.length + 1;
        assert.equal(out.violation, null);
        const flat = sent.flat();
        if (mode === 'message') assert.deepStrictEqual(out.messages, flat);
        else assert.ok(out.stream.equals(Buffer.concat(flat)));
        assert.deepStrictEqual(out.disconnects, [disc === null || disc.length === 0 ? null : disc]);
        handle.close();
      },
    ),
    { numRuns: p.numRuns, seed: p.seed },
  );
}
