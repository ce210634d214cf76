/**
 * One home for argument checks (as ws keeps its in lib/validation.js): the
 * port, the socket mode, the limits, and the one refusal of data a provider
 * cannot carry. Each throws a WinsockError with the code Microsoft documents
 * for the call it stands in front of.
 */
import { WinsockError } from './errors';
import { describe } from './decision';
import type { Capabilities, SocketMode } from './types';

/** A port to bind (0 = any) or to connect to (1-65535). */
export function checkPort(value: unknown, syscall: 'bind' | 'WSAConnect'): number {
  const min = syscall === 'bind' ? 0 : 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 65535) {
    throw new WinsockError('WSAEINVAL', syscall, {
      detail: `port must be an integer ${min}-65535, not ${describe(value)}`,
    });
  }
  return value;
}

/** `'stream'` or `'message'`. */
export function checkMode(value: unknown, syscall: string): SocketMode {
  if (value === undefined) return 'stream';
  if (value !== 'stream' && value !== 'message') {
    throw new WinsockError('WSAEINVAL', syscall, {
      detail: `mode must be 'stream' or 'message', not ${describe(value)}`,
    });
  }
  return value;
}

/** A limit option: a non-negative safe integer, or the fallback when absent. */
export function checkLimit(value: unknown, name: string, fallback: number, syscall: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new WinsockError('WSAEINVAL', syscall, {
      detail: `${name} must be a non-negative integer, not ${String(value)}`,
    });
  }
  return value;
}

/** Rejects option names an API does not know: a typo must not silently bind every interface. */
export function checkKnownKeys(options: object, known: ReadonlySet<string>, what: string, syscall: string): void {
  // for-in over own keys (Object.keys' set) allocates no array: this runs on every connect.
  for (const key in options) {
    if (Object.hasOwn(options, key) && !known.has(key)) {
      throw new WinsockError('WSAEINVAL', syscall, {
        detail: `${what} has no option ${JSON.stringify(key)} (known: ${[...known].join(', ')})`,
      });
    }
  }
}

/** Data a provider may be asked to carry, and what Microsoft documents when the protocol cannot. */
const DATA_REFUSALS = {
  // WSAConnect: "WSAEPROTONOSUPPORT: The lpCallerData argument is not supported by the service provider."
  callerData: {
    code: 'WSAEPROTONOSUPPORT',
    syscall: 'WSAConnect',
    flag: 'connectData',
    xp1: 'XP1_CONNECT_DATA',
    what: 'caller data',
  },
  // WSAAccept's condition returns callee data through lpCalleeData; TCP/IP gives it no room (len 0).
  calleeData: {
    code: 'WSAEOPNOTSUPP',
    syscall: 'WSAAccept',
    flag: 'connectData',
    xp1: 'XP1_CONNECT_DATA',
    what: 'callee data',
  },
  // WSASendDisconnect: "WSAENOPROTOOPT: The parameter lpOutboundDisconnectData is not NULL, and the disconnect data is not supported by the service provider."
  disconnectData: {
    code: 'WSAENOPROTOOPT',
    syscall: 'WSASendDisconnect',
    flag: 'disconnectData',
    xp1: 'XP1_DISCONNECT_DATA',
    what: 'disconnect data',
  },
  // WSAConnect's lpSQOS/lpGQOS on a protocol without XP1_QOS_SUPPORTED. The page lists no code for it
  // (Windows' TCP/IP ignores lpSQOS, which would drop it silently): we choose WSAEOPNOTSUPP, before sending.
  connectQos: {
    code: 'WSAEOPNOTSUPP',
    syscall: 'WSAConnect',
    flag: 'qos',
    xp1: 'XP1_QOS_SUPPORTED',
    what: 'QOS (sqos or gqos)',
  },
  // The QOS a condition function grants through lpSQOS/lpGQOS: the page is silent; refused as for callee data.
  grantedQos: {
    code: 'WSAEOPNOTSUPP',
    syscall: 'WSAAccept',
    flag: 'qos',
    xp1: 'XP1_QOS_SUPPORTED',
    what: 'a granted QOS',
  },
} as const;

/** The situations {@link checkDataCarried} refuses. */
export type CarriedKind = keyof typeof DATA_REFUSALS;

/** Refuses data the provider cannot carry, before anything is sent (nothing is dropped silently). */
export function checkDataCarried(kind: CarriedKind, capabilities: Capabilities): void {
  const refusal = DATA_REFUSALS[kind];
  if (capabilities[refusal.flag]) return;
  throw new WinsockError(refusal.code, refusal.syscall, {
    detail: `the ${capabilities.protocol} provider cannot carry ${refusal.what} (no ${refusal.xp1}); use provider 'framed' to carry it`,
  });
}
