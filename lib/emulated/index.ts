/**
 * The emulated provider: Windows' TCP/IP provider as seen from JavaScript,
 * over node:net. Plain TCP on the wire, so it talks to any TCP peer (curl,
 * browsers, .NET, the native provider on Windows); the accept policy
 * (condition, defer, blockList, maxConnections, backlog) runs after the
 * kernel's handshake and before one byte of the caller is read. Like
 * TCP/IP on Windows it carries no connect data, disconnect data or QOS, and
 * it is stream-oriented.
 */
import {
  createServer as netCreateServer,
  type NetConnectOpts,
  type Server,
  type Socket,
  type TcpNetConnectOpts,
} from 'node:net';
import { WinsockError } from '../errors';
import type { Provider } from '../provider';
import type { SocketMode } from '../types';
import { connectSocket } from '../tcp/sockets';
import { HandleTracker } from '../tcp/tracker';
import { WinsockSocket } from '../socket';
import { connectEmulated } from './connect';
import { EmulatedListener } from './listener';
import { emulatedCapabilities, emulatedProtocols } from './protocols';

export { TCP_IPV4_NAME, TCP_IPV6_NAME, TCP_SERVICE_FLAGS } from './protocols';

/** Everything here has a real default; tests inject their own to reach failure paths. */
export interface EmulatedProviderOptions {
  /** Creates the listening server; it must use `pauseOnConnect: true` and `allowHalfOpen: true`. */
  createServer?: () => Server;
  /** Opens the caller's TCP connection (node:net's `connect` by default). */
  connect?: (options: NetConnectOpts) => Socket;
  /** The kernel's listen backlog. Default 511, as node:net. */
  kernelBacklog?: number;
}

/**
 * net.connect, with the socket made as the class users get (a WinsockSocket
 * is a net.Socket): a prototype changed afterwards makes V8 run net's and
 * http's code on it far slower (lib/node-internals.ts).
 */
function connectWinsockSocket(options: TcpNetConnectOpts): Socket {
  return connectSocket(new WinsockSocket(), options);
}

/** TCP/IP is not message-oriented (no XP1_MESSAGE_ORIENTED), on Windows or here. */
function checkMode(mode: SocketMode, syscall: string): void {
  if (mode === 'message') {
    throw new WinsockError('WSAESOCKTNOSUPPORT', syscall, {
      detail: 'the emulated TCP/IP provider is stream-oriented; use the framed provider for mode "message"',
    });
  }
}

export function createEmulatedProvider(options: EmulatedProviderOptions = {}): Provider {
  const tracker = new HandleTracker();
  const listenerDeps = {
    createServer:
      options.createServer ??
      ((): Server => netCreateServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true })),
    tracker,
    kernelBacklog: options.kernelBacklog ?? 511,
  };
  const connectDeps = { connect: options.connect ?? connectWinsockSocket, tracker };
  return {
    name: 'emulated',
    listen: async (listenOptions, callbacks) => {
      checkMode(listenOptions.mode, 'WSASocketW');
      return EmulatedListener.listen(listenOptions, callbacks, listenerDeps);
    },
    // Not async: connectEmulated's promise is returned as it is, without another promise around it per connect.
    connect: (connectOptions) => {
      try {
        checkMode(connectOptions.mode, 'WSAConnect');
      } catch (err) {
        return Promise.reject(err);
      }
      return connectEmulated(connectOptions, connectDeps);
    },
    enumerateProtocols: emulatedProtocols,
    capabilities: () => emulatedCapabilities(),
    handleCount: () => tracker.size,
  };
}

/** The process-wide emulated provider. */
export const emulatedProvider: Provider = createEmulatedProvider();
