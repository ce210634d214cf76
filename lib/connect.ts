/**
 * connect(): WSAConnect with caller data, callee data and QOS, on the chosen
 * provider. Every check that can fail does so before anything is sent.
 */
import type { ConnectOptions, EnumerateProtocolsOptions, ProtocolInfo } from './types';
import { DEFAULTS } from './types';
import { WinsockError, createAbortError } from './errors';
import { toBufferOrNull } from './buffers';
import { checkDataCarried, checkKnownKeys, checkLimit, checkMode, checkPort } from './validation';
import { resolveProvider } from './providers';
import type { WinsockSocket } from './socket';
import { sharedFactory, type SocketFactory } from './make-socket';
import type { Connection } from './provider';

const CONNECT_OPTIONS: ReadonlySet<string> = new Set([
  'host',
  'port',
  'provider',
  'callerData',
  'sqos',
  'gqos',
  'signal',
  'timeout',
  'mode',
  'allowHalfOpen',
  'maxCallerData',
  'maxCalleeData',
  'maxDisconnectData',
]);

/**
 * Connects (WSAConnect). On `framed` (and `native` on Windows) it resolves once
 * the acceptor's condition accepted the request and a rejection is
 * WSAECONNREFUSED; on `emulated` (and `native` under Wine) it resolves with the
 * TCP handshake, to any TCP server, and a rejection is a reset that follows.
 */
export function connect(options: ConnectOptions): Promise<WinsockSocket> {
  // Not async: an async function's state and its await cost every connect an
  // allocation of their own; failed checks still reject, never throw.
  let pending: Promise<Connection>;
  let factory: SocketFactory;
  try {
    if (typeof options !== 'object' || options === null) {
      throw new WinsockError('WSAEINVAL', 'WSAConnect', { detail: 'connect options must be an object' });
    }
    checkKnownKeys(options, CONNECT_OPTIONS, 'connect', 'WSAConnect');
    const port = checkPort(options.port, 'WSAConnect');
    const host = options.host ?? '127.0.0.1';
    if (typeof host !== 'string' || host === '')
      throw new WinsockError('WSAEINVAL', 'WSAConnect', { detail: 'host must be a non-empty string' });
    const mode = checkMode(options.mode, 'WSAConnect');
    const timeout = checkLimit(options.timeout, 'timeout', 0, 'WSAConnect');
    const maxCallerData = checkLimit(options.maxCallerData, 'maxCallerData', DEFAULTS.maxCallerData, 'WSAConnect');
    const maxCalleeData = checkLimit(options.maxCalleeData, 'maxCalleeData', DEFAULTS.maxCalleeData, 'WSAConnect');
    const maxDisconnectData = checkLimit(
      options.maxDisconnectData,
      'maxDisconnectData',
      DEFAULTS.maxDisconnectData,
      'WSASendDisconnect',
    );
    const signal = options.signal ?? null;
    if (signal !== null && !(signal instanceof AbortSignal)) {
      throw new WinsockError('WSAEINVAL', 'WSAConnect', { detail: 'signal must be an AbortSignal' });
    }
    const callerData = toBufferOrNull(options.callerData, 'callerData', 'WSAConnect');
    const provider = resolveProvider(options.provider);
    const capabilities = provider.capabilities(mode);
    if (callerData !== null && callerData.length > maxCallerData) {
      throw new WinsockError('WSAEMSGSIZE', 'WSAConnect', {
        detail: `caller data is ${callerData.length} bytes; maxCallerData is ${maxCallerData}`,
      });
    }
    if (callerData !== null && callerData.length > 0) checkDataCarried('callerData', capabilities);
    // Every provider the same: QOS (socket or group) is carried where the protocol has XP1_QOS_SUPPORTED, else refused.
    if ((options.sqos ?? null) !== null || (options.gqos ?? null) !== null)
      checkDataCarried('connectQos', capabilities);
    if (signal?.aborted) throw createAbortError(signal);
    factory = sharedFactory(mode, maxDisconnectData, options.allowHalfOpen === true, 'winsock');
    pending = provider.connect({
      host,
      port,
      callerData: callerData !== null && callerData.length > 0 ? callerData : null,
      sqos: options.sqos ?? null,
      gqos: options.gqos ?? null,
      timeout,
      signal,
      maxCalleeData,
      maxDisconnectData,
      mode,
    });
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return pending.then(factory.make);
}

/** The installed protocols with their XP1_* service flags decoded (native: WSAEnumProtocolsW). */
export function enumerateProtocols(options: EnumerateProtocolsOptions = {}): ProtocolInfo[] {
  return resolveProvider(options.provider).enumerateProtocols();
}
