/**
 * XP1_* service flags of WSAPROTOCOL_INFO.dwServiceFlags1 and their decoding
 * into ProtocolInfo / Capabilities. Values from winsock2.h.
 */
import type { Capabilities, ProtocolInfo, ProviderName } from './types';

/** The XP1_* service flags of WSAPROTOCOL_INFO.dwServiceFlags1 (winsock2.h values). */
export const XP1 = {
  /** XP1_CONNECTIONLESS: Connectionless (datagram) service. */
  CONNECTIONLESS: 0x00000001,
  /** XP1_GUARANTEED_DELIVERY: Every byte sent is delivered. */
  GUARANTEED_DELIVERY: 0x00000002,
  /** XP1_GUARANTEED_ORDER: Bytes arrive in the order sent. */
  GUARANTEED_ORDER: 0x00000004,
  /** XP1_MESSAGE_ORIENTED: Message boundaries are kept. */
  MESSAGE_ORIENTED: 0x00000008,
  /** XP1_PSEUDO_STREAM: Message-oriented, but boundaries are ignored on receive. */
  PSEUDO_STREAM: 0x00000010,
  /** XP1_GRACEFUL_CLOSE: Two-phase (graceful) close; the peer sees the shutdown. */
  GRACEFUL_CLOSE: 0x00000020,
  /** XP1_EXPEDITED_DATA: Urgent (out-of-band) data. */
  EXPEDITED_DATA: 0x00000040,
  /** XP1_CONNECT_DATA: Connect data: caller data and callee data are carried. */
  CONNECT_DATA: 0x00000080,
  /** XP1_DISCONNECT_DATA: Disconnect data is carried (WSASendDisconnect / WSARecvDisconnect). */
  DISCONNECT_DATA: 0x00000100,
  /** XP1_SUPPORT_BROADCAST: Broadcast. */
  SUPPORT_BROADCAST: 0x00000200,
  /** XP1_SUPPORT_MULTIPOINT: Multipoint. */
  SUPPORT_MULTIPOINT: 0x00000400,
  /** XP1_MULTIPOINT_CONTROL_PLANE: Rooted multipoint control plane. */
  MULTIPOINT_CONTROL_PLANE: 0x00000800,
  /** XP1_MULTIPOINT_DATA_PLANE: Rooted multipoint data plane. */
  MULTIPOINT_DATA_PLANE: 0x00001000,
  /** XP1_QOS_SUPPORTED: Quality of service requests are supported. */
  QOS_SUPPORTED: 0x00002000,
  /** XP1_INTERRUPT: Reserved. */
  INTERRUPT: 0x00004000,
  /** XP1_UNI_SEND: Unidirectional: send only. */
  UNI_SEND: 0x00008000,
  /** XP1_UNI_RECV: Unidirectional: receive only. */
  UNI_RECV: 0x00010000,
  /** XP1_IFS_HANDLES: Socket handles are installable file system handles. */
  IFS_HANDLES: 0x00020000,
  /** XP1_PARTIAL_MESSAGE: MSG_PARTIAL is supported. */
  PARTIAL_MESSAGE: 0x00040000,
  /** XP1_SAN_SUPPORT_SDP: Sockets Direct Protocol (SAN). */
  SAN_SUPPORT_SDP: 0x00080000,
} as const;

/** The raw fields of one WSAPROTOCOL_INFOW entry that the package reads. */
export interface RawProtocolEntry {
  name: string;
  addressFamily: number;
  socketType: number;
  protocol: number;
  serviceFlags: number;
}

export function decodeProtocol(entry: RawProtocolEntry): ProtocolInfo {
  const f = entry.serviceFlags >>> 0;
  return {
    name: entry.name,
    addressFamily: entry.addressFamily,
    socketType: entry.socketType,
    protocol: entry.protocol,
    serviceFlags: f,
    connectData: (f & XP1.CONNECT_DATA) !== 0,
    disconnectData: (f & XP1.DISCONNECT_DATA) !== 0,
    qos: (f & XP1.QOS_SUPPORTED) !== 0,
    gracefulClose: (f & XP1.GRACEFUL_CLOSE) !== 0,
    messageOriented: (f & XP1.MESSAGE_ORIENTED) !== 0,
  };
}

/** Capabilities of a socket whose provider is described by `info`. */
/**
 * A copy of `c` as a fixed-shape literal. Not `{ ...c }`: under Node 20's V8
 * every spread copy gets a hidden class of its own, and every later load
 * from it misses the inline caches (docs/performance.md).
 */
export function copyCapabilities(c: Capabilities): Capabilities {
  return {
    provider: c.provider,
    protocol: c.protocol,
    connectData: c.connectData,
    disconnectData: c.disconnectData,
    qos: c.qos,
    gracefulClose: c.gracefulClose,
    messageOriented: c.messageOriented,
    conditionalAccept: c.conditionalAccept,
  };
}

export function capabilitiesOf(provider: ProviderName, info: ProtocolInfo, conditionalAccept: boolean): Capabilities {
  return {
    provider,
    protocol: info.name,
    connectData: info.connectData,
    disconnectData: info.disconnectData,
    qos: info.qos,
    gracefulClose: info.gracefulClose,
    messageOriented: info.messageOriented,
    conditionalAccept,
  };
}
