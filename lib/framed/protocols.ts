/**
 * The framed provider's WSAPROTOCOL_INFO entries and capabilities. The
 * flags are the real XP1_* bits, so the framed entries decode through the
 * same code as the native WSAEnumProtocolsW output.
 */
import { capabilitiesOf, copyCapabilities, decodeProtocol, XP1, type RawProtocolEntry } from '../service-flags';
import type { Capabilities, ProtocolInfo, SocketMode } from '../types';
import { PROTOCOL_VERSION } from './frames';

/** szProtocol of the framed stream protocol; the version is the wire protocol's. */
export const STREAM_PROTOCOL_NAME = `winsock2-framed/TCP v${PROTOCOL_VERSION}`;
/** szProtocol of the framed message protocol (same wire protocol, one frame per message). */
export const MESSAGE_PROTOCOL_NAME = `winsock2-framed/TCP v${PROTOCOL_VERSION} [message]`;

// winsock2.h / ws2def.h values.
const AF_INET = 2;
const AF_INET6 = 23;
const SOCK_STREAM = 1;
const SOCK_SEQPACKET = 5;
const IPPROTO_TCP = 6;

/**
 * What both modes carry: TCP underneath gives delivery and order; the
 * framing adds connect/disconnect data, QOS passthrough (carried to the
 * acceptor, not enforced by any network) and a graceful close.
 */
const COMMON =
  XP1.GUARANTEED_DELIVERY |
  XP1.GUARANTEED_ORDER |
  XP1.GRACEFUL_CLOSE |
  XP1.CONNECT_DATA |
  XP1.DISCONNECT_DATA |
  XP1.QOS_SUPPORTED;

const ENTRIES: readonly RawProtocolEntry[] = [
  {
    name: STREAM_PROTOCOL_NAME,
    addressFamily: AF_INET,
    socketType: SOCK_STREAM,
    protocol: IPPROTO_TCP,
    serviceFlags: COMMON,
  },
  {
    name: STREAM_PROTOCOL_NAME,
    addressFamily: AF_INET6,
    socketType: SOCK_STREAM,
    protocol: IPPROTO_TCP,
    serviceFlags: COMMON,
  },
  // Reliable, ordered, boundaries kept: SOCK_SEQPACKET is the socket type that says so.
  {
    name: MESSAGE_PROTOCOL_NAME,
    addressFamily: AF_INET,
    socketType: SOCK_SEQPACKET,
    protocol: IPPROTO_TCP,
    serviceFlags: COMMON | XP1.MESSAGE_ORIENTED,
  },
  {
    name: MESSAGE_PROTOCOL_NAME,
    addressFamily: AF_INET6,
    socketType: SOCK_SEQPACKET,
    protocol: IPPROTO_TCP,
    serviceFlags: COMMON | XP1.MESSAGE_ORIENTED,
  },
];

export function framedProtocols(): ProtocolInfo[] {
  return ENTRIES.map(decodeProtocol);
}

const STREAM_CAPS = capabilitiesOf('framed', decodeProtocol(ENTRIES[0] as RawProtocolEntry), true);
const MESSAGE_CAPS = capabilitiesOf('framed', decodeProtocol(ENTRIES[2] as RawProtocolEntry), true);

/** A fresh object each time: callers may hand it to users, who may mutate it. */
export function framedCapabilities(mode: SocketMode): Capabilities {
  return copyCapabilities(mode === 'message' ? MESSAGE_CAPS : STREAM_CAPS);
}
