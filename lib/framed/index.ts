/**
 * The framed provider: Winsock's conditional accept, connect data and
 * disconnect data over plain TCP (node:net) with the framed protocol of
 * docs/protocol.md. Runs everywhere Node runs.
 */
import {
  createServer as netCreateServer,
  type NetConnectOpts,
  type Server,
  Socket,
  type TcpNetConnectOpts,
} from 'node:net';
import type { Provider } from '../provider';
import { connectFramed } from './connect';
import { MAX_FRAME_PAYLOAD } from './frames';
import { FramedListener } from './listener';
import { framedCapabilities, framedProtocols } from './protocols';
import { connectSocket } from '../tcp/sockets';
import { HandleTracker } from '../tcp/tracker';
import { DEFAULTS } from '../types';

export { MAX_FRAME_PAYLOAD, PROTOCOL_VERSION } from './frames';
export { MESSAGE_PROTOCOL_NAME, STREAM_PROTOCOL_NAME } from './protocols';
export type { FramedHandle } from './handle';

/** Everything here has a real default; tests inject their own to reach failure paths. */
export interface FramedProviderOptions {
  /** Creates the listening server. It must be created with `allowHalfOpen: true` (Winsock sockets are half-open). */
  createServer?: () => Server;
  /** Opens the caller's TCP connection (node:net's `connect` by default). */
  connect?: (options: NetConnectOpts) => Socket;
  /** Connections allowed in their handshake (hello not yet complete) at once, per listener. Default 1024. */
  maxHandshakes?: number;
  /** How long a refused caller's socket lingers for the caller to read its verdict (ms). Default 2000. */
  lingerMs?: number;
  /** The kernel's listen backlog. Default 511, as node:net. */
  kernelBacklog?: number;
  /**
   * Largest data frame payload. The protocol fixes 16 MiB; lower it only on
   * both ends at once (tests), since a receiver drops a larger frame.
   */
  maxFramePayload?: number;
  /**
   * How long a caller waits after its TCP connect for the acceptor's first
   * byte before it concludes the peer does not speak this protocol (ms; 0: no
   * limit). Default 10000, the acceptor's default handshakeTimeout.
   */
  answerTimeout?: number;
}

export function createFramedProvider(options: FramedProviderOptions = {}): Provider {
  const tracker = new HandleTracker();
  const maxFramePayload = options.maxFramePayload ?? MAX_FRAME_PAYLOAD;
  const listenerDeps = {
    createServer: options.createServer ?? ((): Server => netCreateServer({ allowHalfOpen: true, noDelay: true })),
    tracker,
    maxHandshakes: options.maxHandshakes ?? 1024,
    lingerMs: options.lingerMs ?? 2000,
    kernelBacklog: options.kernelBacklog ?? 511,
    maxFramePayload,
  };
  const connectDeps = {
    // Not net.connect(options): a socket made without options (connectSocket says why).
    connect: options.connect ?? ((o: TcpNetConnectOpts): Socket => connectSocket(new Socket(), o)),
    tracker,
    maxFramePayload,
    answerTimeout: options.answerTimeout ?? DEFAULTS.handshakeTimeout,
  };
  return {
    name: 'framed',
    listen: (listenOptions, callbacks) => FramedListener.listen(listenOptions, callbacks, listenerDeps),
    connect: (connectOptions) => connectFramed(connectOptions, connectDeps),
    enumerateProtocols: framedProtocols,
    capabilities: framedCapabilities,
    handleCount: () => tracker.size,
  };
}

/** The process-wide framed provider. */
export const framedProvider: Provider = createFramedProvider();
