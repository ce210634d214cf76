/**
 * XP1_* service flags of WSAPROTOCOL_INFO.dwServiceFlags1 and their decoding
 * into ProtocolInfo / Capabilities. Values from winsock2.h.
 */
import type { Capabilities, ProtocolInfo, ProviderName } from './types';

export const XP1 = {
  CONNECTIONLESS: 0x00000001,
  GUARANTEED_DELIVERY: 0x00000002,
  GUARANTEED_ORDER: 0x00000004,
  MESSAGE_ORIENTED: 0x00000008,
  PSEUDO_STREAM: 0x00000010,
  GRACEFUL_CLOSE: 0x00000020,
  EXPEDITED_DATA: 0x00000040,
  CONNECT_DATA: 0x00000080,
  DISCONNECT_DATA: 0x00000100,
  SUPPORT_BROADCAST: 0x00000200,
  SUPPORT_MULTIPOINT: 0x00000400,
  MULTIPOINT_CONTROL_PLANE: 0x00000800,
  MULTIPOINT_DATA_PLANE: 0x00001000,
  QOS_SUPPORTED: 0x00002000,
  INTERRUPT: 0x00004000,
  UNI_SEND: 0x00008000,
  UNI_RECV: 0x00010000,
  IFS_HANDLES: 0x00020000,
  PARTIAL_MESSAGE: 0x00040000,
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
