/**
 * The emulated provider's WSAPROTOCOL_INFO entries: Windows' own TCP/IP
 * entries (MSAFD Tcpip), with the XP1_* flags WSAEnumProtocolsW reports for
 * them (0x20066), so code that reads capabilities sees on Linux what it will
 * see on Windows: no connect data, no disconnect data, no QOS.
 */
import { capabilitiesOf, copyCapabilities, decodeProtocol, XP1, type RawProtocolEntry } from '../service-flags';
import type { Capabilities, ProtocolInfo } from '../types';

/** szProtocol of Windows' TCP over IPv4 entry. */
export const TCP_IPV4_NAME = 'MSAFD Tcpip [TCP/IP]';
/** szProtocol of Windows' TCP over IPv6 entry. */
export const TCP_IPV6_NAME = 'MSAFD Tcpip [TCP/IPv6]';

// winsock2.h / ws2def.h values.
const AF_INET = 2;
const AF_INET6 = 23;
const SOCK_STREAM = 1;
const IPPROTO_TCP = 6;

/**
 * Delivery, order, graceful close, expedited (urgent) data, IFS handles;
 * never XP1_CONNECT_DATA, XP1_DISCONNECT_DATA (Wine's protocol.c
 * test_service_flags checks 0x20066 for both TCP entries).
 */
export const TCP_SERVICE_FLAGS =
  XP1.GUARANTEED_DELIVERY | XP1.GUARANTEED_ORDER | XP1.GRACEFUL_CLOSE | XP1.EXPEDITED_DATA | XP1.IFS_HANDLES;

const ENTRIES: readonly RawProtocolEntry[] = [
  {
    name: TCP_IPV4_NAME,
    addressFamily: AF_INET,
    socketType: SOCK_STREAM,
    protocol: IPPROTO_TCP,
    serviceFlags: TCP_SERVICE_FLAGS,
  },
  {
    name: TCP_IPV6_NAME,
    addressFamily: AF_INET6,
    socketType: SOCK_STREAM,
    protocol: IPPROTO_TCP,
    serviceFlags: TCP_SERVICE_FLAGS,
  },
];

export function emulatedProtocols(): ProtocolInfo[] {
  return ENTRIES.map(decodeProtocol);
}

/**
 * conditionalAccept is false: the kernel completes the TCP handshake before
 * the condition runs (as Wine does), so a rejected caller's connect() had
 * already resolved when it is reset.
 */
const CAPS = capabilitiesOf('emulated', decodeProtocol(ENTRIES[0] as RawProtocolEntry), false);

/** A fresh object each time: callers may hand it to users, who may mutate it. */
export function emulatedCapabilities(): Capabilities {
  return copyCapabilities(CAPS);
}
