/**
 * The framed provider's wire protocol, version 1 (docs/protocol.md is the
 * reference; keep the two in step): encoders for the hello, the verdict and
 * the frames, and incremental decoders that accept bytes exactly as TCP
 * delivers them (any split, one byte at a time included).
 *
 * The decoders never buffer more than a length field they have already
 * checked against a limit allows, only ever what the peer really sent (never
 * an allocation sized by a length it merely announced), and they reject
 * garbage at its first wrong byte: the magic and version are compared as
 * each byte arrives.
 */
import { WinsockError, type WinsockErrorCode } from '../errors';
import type { Qos, SocketMode } from '../types';
import { decodeQos, encodeQos, MAX_QOS_BYTES } from './qos';

/** "WS2E": the first four bytes of every hello and verdict. */
export const MAGIC: readonly number[] = [0x57, 0x53, 0x32, 0x45];
export const PROTOCOL_VERSION = 1;
export const KIND_HELLO = 0x48; // 'H'
export const KIND_VERDICT = 0x56; // 'V'
/** Magic and version: the start of a verdict an acceptor sends early when its decision is not immediate. */
export const VERDICT_START_SIZE = 5;
/** Hello and verdict share one fixed header size: magic, version, kind and 14 bytes of fields. */
export const PREAMBLE_SIZE = 20;

export const MODE_STREAM = 0;
export const MODE_MESSAGE = 1;

export const HELLO_CALLER_DATA = 0x01;
export const HELLO_SQOS = 0x02;
export const HELLO_GQOS = 0x04;
const HELLO_FLAGS = HELLO_CALLER_DATA | HELLO_SQOS | HELLO_GQOS;

export const VERDICT_ACCEPT = 0;
export const VERDICT_REJECT = 1;
export const VERDICT_CALLEE_DATA = 0x01;
export const VERDICT_QOS = 0x02;
const VERDICT_FLAGS = VERDICT_CALLEE_DATA | VERDICT_QOS;

export const FRAME_DATA = 0x44; // 'D'
export const FRAME_DISCONNECT = 0x58; // 'X'
export const FRAME_HEADER_SIZE = 5;
/**
 * Largest data frame payload (16 MiB). A protocol constant: a receiver drops
 * a connection that announces more, so it never buffers more than this for
 * one message. Stream writes are split; a larger message is WSAEMSGSIZE.
 */
export const MAX_FRAME_PAYLOAD = 16 * 1024 * 1024;

/** Why a peer's bytes were refused; the caller turns it into a WinsockError with its own syscall. */
export interface Violation {
  readonly code: Extract<WinsockErrorCode, 'WSAECONNABORTED' | 'WSAEMSGSIZE' | 'WSAVERNOTSUPPORTED'>;
  readonly detail: string;
}

export function violationError(v: Violation, syscall: string): WinsockError {
  return new WinsockError(v.code, syscall, { detail: v.detail });
}

function malformed(detail: string): Violation {
  return { code: 'WSAECONNABORTED', detail: `protocol violation: ${detail}` };
}

function tooBig(what: string, length: number, limit: number): Violation {
  return { code: 'WSAEMSGSIZE', detail: `${what} of ${length} bytes exceeds the limit of ${limit}` };
}

export interface Hello {
  readonly mode: SocketMode;
  readonly callerData: Buffer | null;
  readonly sqos: Qos | null;
  readonly gqos: Qos | null;
}

export interface Verdict {
  readonly accept: boolean;
  /** The Winsock error number of a rejection (10061 refused, 10040 too big, ...); 0 on accept. */
  readonly errno: number;
  readonly calleeData: Buffer | null;
  readonly qos: Qos | null;
}

function writePreambleStart(out: Buffer, kind: number): void {
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC[i] as number;
  out[4] = PROTOCOL_VERSION;
  out[5] = kind;
}

/** The caller's hello; `syscall` names the call in errors about bad QOS values. */
export function encodeHello(hello: Hello, syscall = 'WSAConnect'): Buffer {
  const sqos = hello.sqos ? encodeQos(hello.sqos, syscall) : null;
  const gqos = hello.gqos ? encodeQos(hello.gqos, syscall) : null;
  const data = hello.callerData;
  const out = Buffer.allocUnsafe(
    PREAMBLE_SIZE + (data ? data.length : 0) + (sqos ? sqos.length : 0) + (gqos ? gqos.length : 0),
  );
  writePreambleStart(out, KIND_HELLO);
  out[6] = hello.mode === 'message' ? MODE_MESSAGE : MODE_STREAM;
  out[7] = (data ? HELLO_CALLER_DATA : 0) | (sqos ? HELLO_SQOS : 0) | (gqos ? HELLO_GQOS : 0);
  out.writeUInt32BE(data ? data.length : 0, 8);
  out.writeUInt32BE(sqos ? sqos.length : 0, 12);
  out.writeUInt32BE(gqos ? gqos.length : 0, 16);
  let off = PREAMBLE_SIZE;
  for (const part of [data, sqos, gqos]) if (part) off += part.copy(out, off);
  return out;
}

/** The acceptor's verdict. A rejection carries no callee data and no QOS. */
export function encodeVerdict(verdict: Verdict, syscall = 'WSAAccept'): Buffer {
  const qos = verdict.accept && verdict.qos ? encodeQos(verdict.qos, syscall) : null;
  const data = verdict.accept ? verdict.calleeData : null;
  const out = Buffer.allocUnsafe(PREAMBLE_SIZE + (data ? data.length : 0) + (qos ? qos.length : 0));
  writePreambleStart(out, KIND_VERDICT);
  out[6] = verdict.accept ? VERDICT_ACCEPT : VERDICT_REJECT;
  out[7] = (data ? VERDICT_CALLEE_DATA : 0) | (qos ? VERDICT_QOS : 0);
  out.writeUInt32BE(verdict.accept ? 0 : verdict.errno >>> 0, 8);
  out.writeUInt32BE(data ? data.length : 0, 12);
  out.writeUInt32BE(qos ? qos.length : 0, 16);
  let off = PREAMBLE_SIZE;
  for (const part of [data, qos]) if (part) off += part.copy(out, off);
  return out;
}

/** A data or disconnect frame header. */
export function encodeFrameHeader(type: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
  out[0] = type;
  out.writeUInt32BE(length, 1);
  return out;
}

/** The disconnect frame; no data and empty data are the same on the wire (length 0). */
export function encodeDisconnect(data: Buffer | null): Buffer {
  const len = data ? data.length : 0;
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + len);
  out[0] = FRAME_DISCONNECT;
  out.writeUInt32BE(len, 1);
  if (data) data.copy(out, FRAME_HEADER_SIZE);
  return out;
}

/** What `feed` reports: more bytes needed, the decoded value (and where it ended in the chunk), or a violation. */
export type PreambleStep<T> =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly value: T; readonly end: number }
  | { readonly state: 'error'; readonly violation: Violation };

const MORE = { state: 'more' } as const;

/**
 * Shared incremental decoder of the hello and the verdict: a 20-byte fixed
 * header (checked byte by byte for its first six bytes), then bodies whose
 * lengths the header gives and a subclass bounds before any is buffered.
 */
abstract class PreambleDecoder<T> {
  // Written before it is read: no zero fill, and small allocations come from the pool.
  private readonly header = Buffer.allocUnsafe(PREAMBLE_SIZE);
  private headerFill = 0;
  private lengths: number[] = [];
  private bodies: Buffer[] = [];
  /** Copies of the received pieces of the body being read: memory follows the bytes sent, not the lengths announced. */
  private pieces: Buffer[] = [];
  private bodyIndex = 0;
  private bodyFill = 0;
  private finished: PreambleStep<T> | null = null;

  protected abstract readonly kind: number;
  protected abstract readonly what: string;
  /** Validates the complete header; returns the body lengths in wire order, or a violation. */
  protected abstract checkHeader(header: Buffer): number[] | Violation;
  /** Builds the value from the complete bodies; a string is why they are malformed. */
  protected abstract build(header: Buffer, bodies: readonly Buffer[]): T | string;

  /** Back to the state of a new decoder (one decoder serves many preambles that arrive whole). */
  protected reset(): void {
    this.headerFill = 0;
    this.lengths = [];
    this.bodies = [];
    this.pieces = [];
    this.bodyIndex = 0;
    this.bodyFill = 0;
    this.finished = null;
  }

  /** How many bytes this decoder has consumed so far (for diagnostics). */
  get received(): number {
    let n = this.headerFill;
    for (let i = 0; i < this.bodyIndex; i++) n += this.lengths[i] as number;
    return n + this.bodyFill;
  }

  /** Feeds `chunk[start..]`. After 'done' or 'error' the decoder keeps answering the same. */
  feed(chunk: Buffer, start = 0): PreambleStep<T> {
    const finished = this.finished;
    if (finished) return finished.state === 'done' ? { state: 'done', value: finished.value, end: start } : finished;
    let pos = start;
    while (this.headerFill < PREAMBLE_SIZE) {
      if (pos >= chunk.length) return MORE;
      const byte = chunk[pos++] as number;
      const i = this.headerFill;
      if (i < MAGIC.length && byte !== MAGIC[i]) {
        return this.fail(malformed(`byte ${i} of the ${this.what} is 0x${byte.toString(16)}, not the magic "WS2E"`));
      }
      if (i === 4 && byte !== PROTOCOL_VERSION) {
        return this.fail({
          code: 'WSAVERNOTSUPPORTED',
          detail: `peer speaks protocol version ${byte}, this end speaks ${PROTOCOL_VERSION}`,
        });
      }
      if (i === 5 && byte !== this.kind) {
        return this.fail(
          malformed(`expected a ${this.what} (kind 0x${this.kind.toString(16)}), got kind 0x${byte.toString(16)}`),
        );
      }
      this.header[this.headerFill++] = byte;
      if (this.headerFill === PREAMBLE_SIZE) {
        const lengths = this.checkHeader(this.header);
        if (!Array.isArray(lengths)) return this.fail(lengths);
        this.lengths = lengths;
      }
    }
    while (this.bodyIndex < this.lengths.length) {
      const length = this.lengths[this.bodyIndex] as number;
      const need = length - this.bodyFill;
      if (need > 0) {
        if (pos >= chunk.length) return MORE;
        const n = Math.min(need, chunk.length - pos);
        // Copied, not viewed: a view would pin the peer's whole chunk for as long as the hello waits.
        this.pieces.push(Buffer.from(chunk.subarray(pos, pos + n)));
        pos += n;
        this.bodyFill += n;
        if (n < need) return MORE;
      }
      this.bodies.push(this.pieces.length === 1 ? (this.pieces[0] as Buffer) : Buffer.concat(this.pieces, length));
      this.pieces = [];
      this.bodyIndex++;
      this.bodyFill = 0;
    }
    const value = this.build(this.header, this.bodies);
    if (typeof value === 'string') return this.fail(malformed(value));
    const done = { state: 'done', value, end: pos } as const;
    this.finished = done;
    return done;
  }

  private fail(violation: Violation): PreambleStep<T> {
    const step = { state: 'error', violation } as const;
    this.finished = step;
    return step;
  }
}

function checkFlaggedLength(present: boolean, length: number, what: string): Violation | null {
  if (!present && length !== 0) return malformed(`${what} length ${length} without its presence flag`);
  return null;
}

export interface HelloLimits {
  readonly maxCallerData: number;
}

/** Decodes a caller's hello (server side). */
export class HelloDecoder extends PreambleDecoder<Hello> {
  protected readonly kind = KIND_HELLO;
  protected readonly what = 'hello';

  constructor(private limits: HelloLimits) {
    super();
  }

  /** Starts over on a new hello, under `limits`. */
  restart(limits: HelloLimits): this {
    this.limits = limits;
    this.reset();
    return this;
  }

  protected checkHeader(h: Buffer): number[] | Violation {
    const mode = h[6] as number;
    const flags = h[7] as number;
    if (mode !== MODE_STREAM && mode !== MODE_MESSAGE) return malformed(`unknown mode ${mode} in hello`);
    if ((flags & ~HELLO_FLAGS) !== 0) return malformed(`unknown hello flags 0x${flags.toString(16)}`);
    const dataLen = h.readUInt32BE(8);
    const sqosLen = h.readUInt32BE(12);
    const gqosLen = h.readUInt32BE(16);
    const bad =
      checkFlaggedLength((flags & HELLO_CALLER_DATA) !== 0, dataLen, 'caller data') ??
      checkFlaggedLength((flags & HELLO_SQOS) !== 0, sqosLen, 'SQOS') ??
      checkFlaggedLength((flags & HELLO_GQOS) !== 0, gqosLen, 'GQOS');
    if (bad) return bad;
    if (dataLen > this.limits.maxCallerData) return tooBig('caller data', dataLen, this.limits.maxCallerData);
    if (sqosLen > MAX_QOS_BYTES) return tooBig('SQOS', sqosLen, MAX_QOS_BYTES);
    if (gqosLen > MAX_QOS_BYTES) return tooBig('GQOS', gqosLen, MAX_QOS_BYTES);
    return [dataLen, sqosLen, gqosLen];
  }

  protected build(h: Buffer, bodies: readonly Buffer[]): Hello | string {
    const flags = h[7] as number;
    const [data, sqosBody, gqosBody] = bodies as [Buffer, Buffer, Buffer];
    const sqos = flags & HELLO_SQOS ? decodeQos(sqosBody) : null;
    if (typeof sqos === 'string') return `SQOS: ${sqos}`;
    const gqos = flags & HELLO_GQOS ? decodeQos(gqosBody) : null;
    if (typeof gqos === 'string') return `GQOS: ${gqos}`;
    return {
      mode: h[6] === MODE_MESSAGE ? 'message' : 'stream',
      callerData: flags & HELLO_CALLER_DATA ? data : null,
      sqos,
      gqos,
    };
  }
}

export interface VerdictLimits {
  readonly maxCalleeData: number;
}

/** Decodes the acceptor's verdict (client side). */
export class VerdictDecoder extends PreambleDecoder<Verdict> {
  protected readonly kind = KIND_VERDICT;
  protected readonly what = 'verdict';

  constructor(private limits: VerdictLimits) {
    super();
  }

  /** Starts over on a new verdict, under `limits`. */
  restart(limits: VerdictLimits): this {
    this.limits = limits;
    this.reset();
    return this;
  }

  protected checkHeader(h: Buffer): number[] | Violation {
    const status = h[6] as number;
    const flags = h[7] as number;
    if (status !== VERDICT_ACCEPT && status !== VERDICT_REJECT) return malformed(`unknown verdict status ${status}`);
    if ((flags & ~VERDICT_FLAGS) !== 0) return malformed(`unknown verdict flags 0x${flags.toString(16)}`);
    const errno = h.readUInt32BE(8);
    const dataLen = h.readUInt32BE(12);
    const qosLen = h.readUInt32BE(16);
    if (status === VERDICT_ACCEPT && errno !== 0) return malformed(`accepting verdict with error ${errno}`);
    if (status === VERDICT_REJECT && (errno === 0 || flags !== 0 || dataLen !== 0 || qosLen !== 0)) {
      return malformed('a rejecting verdict must carry an error number and nothing else');
    }
    const bad =
      checkFlaggedLength((flags & VERDICT_CALLEE_DATA) !== 0, dataLen, 'callee data') ??
      checkFlaggedLength((flags & VERDICT_QOS) !== 0, qosLen, 'QOS');
    if (bad) return bad;
    if (dataLen > this.limits.maxCalleeData) return tooBig('callee data', dataLen, this.limits.maxCalleeData);
    if (qosLen > MAX_QOS_BYTES) return tooBig('QOS', qosLen, MAX_QOS_BYTES);
    return [dataLen, qosLen];
  }

  protected build(h: Buffer, bodies: readonly Buffer[]): Verdict | string {
    const flags = h[7] as number;
    const [data, qosBody] = bodies as [Buffer, Buffer];
    const qos = flags & VERDICT_QOS ? decodeQos(qosBody) : null;
    if (typeof qos === 'string') return `verdict QOS: ${qos}`;
    return {
      accept: h[6] === VERDICT_ACCEPT,
      errno: h.readUInt32BE(8),
      calleeData: flags & VERDICT_CALLEE_DATA ? data : null,
      qos,
    };
  }
}

/** Where the frame decoder delivers what it decoded. */
export interface FrameSink {
  /**
   * Stream mode: the next bytes of the stream (any split). Message mode: one
   * whole message. Return false to stop decoding here (back-pressure).
   */
  onFrameData(payload: Buffer): boolean;
  /** The peer's disconnect frame; null when it carried no data. */
  onFrameDisconnect(data: Buffer | null): void;
}

export interface FrameDecoderOptions {
  readonly mode: SocketMode;
  readonly maxDisconnectData: number;
  /** Defaults to MAX_FRAME_PAYLOAD; tests lower it on both ends. */
  readonly maxFramePayload?: number;
}

const enum FrameState {
  Header,
  Payload,
  Disconnected,
  Failed,
}

/**
 * Decodes data and disconnect frames after the handshake. Zero copy where it
 * can be: stream payloads are delivered as views of the incoming chunks as
 * they arrive, a message that lies inside one chunk is a view too; only a
 * header, or a message or disconnect body split across chunks, is copied
 * (the body once, when its last byte arrived).
 */
export class FrameDecoder {
  private state = FrameState.Header;
  // Written before it is read: no zero fill, and small allocations come from the pool.
  private readonly header = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
  private headerFill = 0;
  private type = 0;
  private remaining = 0;
  /**
   * Views of the pieces of a message or disconnect body that spans chunks.
   * Memory follows the bytes the peer really sent, never the length it
   * announced (a peer announcing 16 MiB and sending 10 bytes costs 10 bytes).
   */
  private pieces: Buffer[] = [];
  private piecesLength = 0;
  private readonly message: boolean;
  private readonly maxDisconnectData: number;
  private readonly maxFramePayload: number;
  /** Set once the peer sent something it must not have; decoding has stopped for good. */
  violation: Violation | null = null;

  constructor(options: FrameDecoderOptions) {
    this.message = options.mode === 'message';
    this.maxDisconnectData = options.maxDisconnectData;
    this.maxFramePayload = options.maxFramePayload ?? MAX_FRAME_PAYLOAD;
  }

  /** True between frames: the peer may end the connection here without truncating anything. */
  get atBoundary(): boolean {
    return this.state === FrameState.Header ? this.headerFill === 0 : this.state === FrameState.Disconnected;
  }

  /** True once the disconnect frame was decoded. */
  get disconnected(): boolean {
    return this.state === FrameState.Disconnected;
  }

  /**
   * Decodes `chunk[start..]`. Returns the index where decoding stopped:
   * `chunk.length` when all was consumed, less when the sink returned false
   * (resume later with the rest) or on a violation (see `violation`).
   */
  decode(chunk: Buffer, start: number, sink: FrameSink): number {
    let pos = start;
    const len = chunk.length;
    while (pos < len) {
      switch (this.state) {
        case FrameState.Header: {
          if (this.headerFill === 0 && len - pos >= FRAME_HEADER_SIZE) {
            // The common case: the whole header is in this chunk.
            this.type = chunk[pos] as number;
            // Byte loads: readUInt32BE's bounds checks cost per frame (ping-pong profile).
            this.remaining =
              (chunk[pos + 1] as number) * 0x1000000 +
              (((chunk[pos + 2] as number) << 16) | ((chunk[pos + 3] as number) << 8) | (chunk[pos + 4] as number));
            pos += FRAME_HEADER_SIZE;
          } else {
            while (this.headerFill < FRAME_HEADER_SIZE && pos < len)
              this.header[this.headerFill++] = chunk[pos++] as number;
            if (this.headerFill < FRAME_HEADER_SIZE) return pos;
            this.headerFill = 0;
            this.type = this.header[0] as number;
            this.remaining = this.header.readUInt32BE(1);
          }
          const bad = this.startFrame();
          if (bad) return this.fail(bad, pos);
          if (this.remaining === 0 && !this.completeEmpty(sink)) return pos;
          break;
        }
        case FrameState.Payload: {
          const n = Math.min(this.remaining, len - pos);
          if (this.type === FRAME_DATA && !this.message) {
            this.remaining -= n;
            if (this.remaining === 0) this.state = FrameState.Header;
            const more = sink.onFrameData(chunk.subarray(pos, pos + n));
            pos += n;
            if (!more) return pos;
            break;
          }
          if (this.piecesLength === 0 && n === this.remaining) {
            // The whole body is in this chunk: a view, no copy.
            const whole = chunk.subarray(pos, pos + n);
            pos += n;
            this.remaining = 0;
            if (!this.complete(whole, false, sink)) return pos;
            break;
          }
          this.pieces.push(chunk.subarray(pos, pos + n));
          this.piecesLength += n;
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) {
            // One copy, of exactly the bytes received.
            const whole = Buffer.concat(this.pieces, this.piecesLength);
            this.pieces = [];
            this.piecesLength = 0;
            if (!this.complete(whole, true, sink)) return pos;
          }
          break;
        }
        case FrameState.Disconnected:
          return this.fail(malformed(`${len - pos} bytes after the disconnect frame`), pos);
        case FrameState.Failed:
          return pos;
      }
    }
    return pos;
  }

  /** Checks a just-read header; sets up the payload state. */
  private startFrame(): Violation | null {
    if (this.type === FRAME_DATA) {
      if (this.remaining > this.maxFramePayload) return tooBig('data frame', this.remaining, this.maxFramePayload);
    } else if (this.type === FRAME_DISCONNECT) {
      if (this.remaining > this.maxDisconnectData)
        return tooBig('disconnect data', this.remaining, this.maxDisconnectData);
    } else {
      return malformed(`unknown frame type 0x${this.type.toString(16)}`);
    }
    this.state = FrameState.Payload;
    return null;
  }

  /** A frame with a zero length field. Returns false when the sink asked to stop. */
  private completeEmpty(sink: FrameSink): boolean {
    if (this.type === FRAME_DISCONNECT) {
      this.state = FrameState.Disconnected;
      sink.onFrameDisconnect(null);
      return true;
    }
    this.state = FrameState.Header;
    // An empty stream frame carries nothing; an empty message is a message.
    return this.message ? sink.onFrameData(Buffer.alloc(0)) : true;
  }

  /** A whole body; `owned` when it was assembled here rather than a view of a chunk. */
  private complete(body: Buffer, owned: boolean, sink: FrameSink): boolean {
    if (this.type === FRAME_DISCONNECT) {
      this.state = FrameState.Disconnected;
      // A view is copied: disconnect data may be kept long after its chunk, which it would pin.
      sink.onFrameDisconnect(owned ? body : Buffer.from(body));
      return true;
    }
    this.state = FrameState.Header;
    return sink.onFrameData(body);
  }

  private fail(v: Violation, pos: number): number {
    this.state = FrameState.Failed;
    this.violation = v;
    this.pieces = [];
    this.piecesLength = 0;
    return pos;
  }
}
