/**
 * QOS on the wire: the Winsock QOS structure (two FLOWSPECs and the
 * provider-specific bytes) as the hello and the verdict carry it.
 * Layout (docs/protocol.md, "QOS body"):
 *
 *   flags u8   bit0 sending present, bit1 receiving present, bit2 providerSpecific present
 *   sending   8 × u32 BE (if bit0), in FLOWSPEC field order
 *   receiving 8 × u32 BE (if bit1)
 *   providerSpecific: every remaining byte (if bit2; may be empty)
 *
 * FLOWSPEC fields are ULONGs in winsock2.h/qos.h, hence u32; QOS_NOT_SPECIFIED
 * is 0xFFFFFFFF and travels like any other value.
 */
import { WinsockError } from '../errors';
import type { FlowSpec, Qos } from '../types';

const FLAG_SENDING = 0x01;
const FLAG_RECEIVING = 0x02;
const FLAG_PROVIDER_SPECIFIC = 0x04;
const KNOWN_FLAGS = FLAG_SENDING | FLAG_RECEIVING | FLAG_PROVIDER_SPECIFIC;

/** The FLOWSPEC fields in the order the C structure declares them. */
const FLOWSPEC_FIELDS = [
  'tokenRate',
  'tokenBucketSize',
  'peakBandwidth',
  'latency',
  'delayVariation',
  'serviceType',
  'maxSduSize',
  'minimumPolicedSize',
] as const satisfies readonly (keyof FlowSpec)[];

const FLOWSPEC_SIZE = FLOWSPEC_FIELDS.length * 4;

/** Largest providerSpecific buffer carried (the protocol's bound, not Winsock's). */
export const MAX_QOS_PROVIDER_SPECIFIC = 65_536;

/** Largest encoded QOS body; a longer length field is WSAEMSGSIZE. */
export const MAX_QOS_BYTES = 1 + 2 * FLOWSPEC_SIZE + MAX_QOS_PROVIDER_SPECIFIC;

function checkFlowSpec(spec: FlowSpec, which: string, syscall: string): void {
  for (const field of FLOWSPEC_FIELDS) {
    const v = spec[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new WinsockError('WSAEINVAL', syscall, {
        detail: `QOS ${which}.${field} must be an integer in 0..0xFFFFFFFF, got ${String(v)}`,
      });
    }
  }
}

/** Encodes a QOS; throws WSAEINVAL for values a FLOWSPEC cannot hold, WSAEMSGSIZE when too large. */
export function encodeQos(qos: Qos, syscall: string): Buffer {
  const ps = qos.providerSpecific;
  if (ps && ps.length > MAX_QOS_PROVIDER_SPECIFIC) {
    throw new WinsockError('WSAEMSGSIZE', syscall, {
      detail: `QOS providerSpecific is ${ps.length} bytes, the limit is ${MAX_QOS_PROVIDER_SPECIFIC}`,
    });
  }
  if (qos.sending) checkFlowSpec(qos.sending, 'sending', syscall);
  if (qos.receiving) checkFlowSpec(qos.receiving, 'receiving', syscall);
  const size = 1 + (qos.sending ? FLOWSPEC_SIZE : 0) + (qos.receiving ? FLOWSPEC_SIZE : 0) + (ps ? ps.length : 0);
  const out = Buffer.allocUnsafe(size);
  let flags = 0;
  let off = 1;
  for (const [spec, flag] of [
    [qos.sending, FLAG_SENDING],
    [qos.receiving, FLAG_RECEIVING],
  ] as const) {
    if (!spec) continue;
    flags |= flag;
    for (const field of FLOWSPEC_FIELDS) off = out.writeUInt32BE(spec[field], off);
  }
  if (ps) {
    flags |= FLAG_PROVIDER_SPECIFIC;
    ps.copy(out, off);
  }
  out[0] = flags;
  return out;
}

function readFlowSpec(buf: Buffer, off: number): FlowSpec {
  return {
    tokenRate: buf.readUInt32BE(off),
    tokenBucketSize: buf.readUInt32BE(off + 4),
    peakBandwidth: buf.readUInt32BE(off + 8),
    latency: buf.readUInt32BE(off + 12),
    delayVariation: buf.readUInt32BE(off + 16),
    serviceType: buf.readUInt32BE(off + 20),
    maxSduSize: buf.readUInt32BE(off + 24),
    minimumPolicedSize: buf.readUInt32BE(off + 28),
  };
}

/** Decodes a QOS body; returns a reason string when it is malformed. */
export function decodeQos(buf: Buffer): Qos | string {
  if (buf.length < 1) return 'empty QOS body';
  const flags = buf[0] as number;
  if ((flags & ~KNOWN_FLAGS) !== 0) return `unknown QOS flags 0x${flags.toString(16)}`;
  const fixed = 1 + (flags & FLAG_SENDING ? FLOWSPEC_SIZE : 0) + (flags & FLAG_RECEIVING ? FLOWSPEC_SIZE : 0);
  if (buf.length < fixed) return `QOS body of ${buf.length} bytes is shorter than its flow specs (${fixed})`;
  if (!(flags & FLAG_PROVIDER_SPECIFIC) && buf.length !== fixed)
    return `QOS body has ${buf.length - fixed} stray bytes`;
  let off = 1;
  let sending: FlowSpec | null = null;
  let receiving: FlowSpec | null = null;
  if (flags & FLAG_SENDING) {
    sending = readFlowSpec(buf, off);
    off += FLOWSPEC_SIZE;
  }
  if (flags & FLAG_RECEIVING) {
    receiving = readFlowSpec(buf, off);
    off += FLOWSPEC_SIZE;
  }
  // Copied: the body may be a view into a larger receive buffer.
  const providerSpecific = flags & FLAG_PROVIDER_SPECIFIC ? Buffer.from(buf.subarray(off)) : null;
  return { sending, receiving, providerSpecific };
}
