/**
 * winsock2: Winsock 2 conditional accept, connect data and disconnect data
 * for Node.js and Electron. The tour, the install and the documents are in
 * the package's `README.md` (at the root of the package and of its repository).
 *
 * @packageDocumentation
 */
export { createServer, WinsockServer } from './server';
export type { DropArgument, WinsockServerEvents } from './server';
export type { WinsockSocketEvents } from './socket-events';
export { WinsockSocket } from './socket';
export type {
  AnyWinsockSocketListener,
  NetErrorWithWinsockCode,
  WinsockSocketListener,
  WinsockSocketOptions,
} from './socket';
export { connect, enumerateProtocols } from './connect';
export { WinsockError, WSA_ERRORS, describeWinsockError, winsockErrorName } from './errors';
export type { WinsockErrorCode, WinsockErrorOptions } from './errors';
export { XP1 } from './service-flags';
export { DEFAULTS } from './types';
export { availableProviders, nativeUnavailableReason } from './providers';
export type { ProviderAvailability } from './providers';
export type {
  Capabilities,
  ConditionFunction,
  ConnectOptions,
  ConnectionRequest,
  DataLimits,
  Decision,
  DecisionEvent,
  DecisionObject,
  AcceptDecision,
  RejectDecision,
  DeferDecision,
  DecisionReason,
  EnumerateProtocolsOptions,
  FlowSpec,
  ListenOptions,
  ProtocolInfo,
  ProviderChoice,
  ProviderName,
  Qos,
  ServerOptions,
  SocketAddress,
  SocketMode,
  Verdict,
} from './types';
