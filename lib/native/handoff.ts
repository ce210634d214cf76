/**
 * The native provider's 'libuv' data path: a SOCKET the addon accepted
 * (WSAAccept) or connected (WSAConnect), never associated with the addon's
 * completion port, becomes Node's own TCP handle and a real `net.Socket`.
 * TLSWrap, http's parser, http2 and every net idiom then consume the handle
 * directly; Winsock only decided who gets in.
 *
 * The Node internals it needs (Node's TCP class, `TCP#open`, a socket made
 * from a handle) are lib/node-internals.ts', the one module that leans on
 * them. The self-test below runs them at load, so a Node that changes any
 * of them makes the provider use the addon's own data path (or, when
 * WINSOCK2_NATIVE_DATA=libuv forces this one, fail to load with the
 * reason), never break at the first connection.
 *
 * Why not the public `new net.Socket({ fd: SOCKET })`: on Windows net
 * creates the handle from `guessHandleType(fd)`, i.e. uv_guess_handle, which
 * knows only files, pipes and consoles there (it never answers TCP for a
 * SOCKET) and the constructor throws ERR_INVALID_FD_TYPE.
 *
 * Ownership: from the accept (or detach()) until `open()` succeeded the
 * SOCKET is ours, and a failure closes it here, once; after that Node's
 * handle owns it and closes it when the net.Socket is destroyed. The
 * addon never closes a SOCKET it gave away.
 */
import { isIPv6, Socket, type TcpNetConnectOpts } from 'node:net';
import { WinsockError } from '../errors';
import type { HandleTracker } from '../tcp/tracker';
import type { NativeAddon } from './addon';
import { toWinsockError } from './errors';
import { handleOptions, TCP_SOCKET, tcpConstructor, uvError, type TcpHandle } from '../node-internals';
import { WinsockSocket } from '../socket';
import { kNativeSocket } from '../tcp/slots';

/** Where a native socket's bytes go: Node's TCP handle, or the addon's own overlapped I/O. */
export type NativeDataPath = 'libuv' | 'addon';

/** The environment variable that forces a data path. */
export const DATA_PATH_VARIABLE = 'WINSOCK2_NATIVE_DATA';

/**
 * The SOCKET under an adopted socket (Node's handle does not say on
 * Windows: its fd is -1), kept on the socket itself: a property costs an
 * idle connection less than a WeakMap entry.
 */
type WithSocket = Socket & { [kNativeSocket]?: number };

/** The SOCKET a handed-over socket was made from, while it is open (tests, diagnostics); else undefined. */
export function socketOf(socket: Socket): number | undefined {
  const open = (socket as unknown as { _handle?: unknown })._handle;
  return socket.destroyed || open === null || open === undefined ? undefined : (socket as WithSocket)[kNativeSocket];
}

/**
 * Makes `socket` (a SOCKET the caller owns) a net.Socket over Node's TCP
 * handle, allowHalfOpen (the facade sets the user's), TCP_NODELAY on.
 * Connected: paused (as net.Server's pauseOnConnect), not reading yet. Not
 * connected (`connected` false, a SOCKET from openSocket): not reading
 * until net's connect() on it completes. On failure the SOCKET is closed
 * here, once, and a WinsockError thrown.
 */
export function adoptSocket(addon: NativeAddon, socket: number, connected = true): Socket {
  let handle: TcpHandle | null = null;
  try {
    handle = new (tcpConstructor())(TCP_SOCKET);
    const err = handle.open(socket);
    if (err !== 0) throw uvError(err, 'uv_tcp_open');
  } catch (err) {
    handle?.close();  // a handle that did not take the SOCKET never closes it
    try {
      addon.closeSocket(socket, true);
    } catch {
      // closesocket failed: nothing more can be done with that value
    }
    throw WinsockError.fromNodeError(err, 'uv_tcp_open', 'WSAEINVAL');
  }
  // From here Node's handle owns the SOCKET.
  try {
    // Constructed as the socket class users get: a prototype changed later
    // (adoptSocket in lib/socket.ts) makes V8 run net's and http's code on it far slower.
    const adopted: Socket = new WinsockSocket(handleOptions(handle, true, connected, !connected));
    // TCP_NODELAY, the one default every winsock2 socket starts with, set
    // through net so that net's record of it agrees (setNoDelay(false) is
    // skipped while net believes it off). As net.Server does for its own
    // accepted sockets with noDelay: the constructor's option does not reach
    // a socket made from a handle.
    adopted.setNoDelay(true);
    (adopted as WithSocket)[kNativeSocket] = socket;
    return adopted;
  } catch (err) {
    handle.close();  // closes the SOCKET, once
    throw WinsockError.fromNodeError(err, 'uv_tcp_open', 'WSAEINVAL');
  }
}

/**
 * adoptSocket with the provider's handle count: the SOCKET is counted from
 * the moment TypeScript owns it until its net.Socket's 'close' (or the
 * failed hand-off closed it). `untrack` is the provider's one shared
 * 'close' listener (calls tracker.remove()): no closure per connection;
 * net emits 'close' once.
 */
export function handOver(addon: NativeAddon, socket: number, tracker: HandleTracker, untrack: () => void): Socket {
  tracker.add();
  let adopted: Socket;
  try {
    adopted = adoptSocket(addon, socket);
  } catch (err) {
    tracker.remove();
    throw err;
  }
  adopted.on('close', untrack);
  return adopted;
}

/**
 * A connect on the 'libuv' data path without connect data or QOS (all
 * TCP/IP can carry): a SOCKET of the addon's, unconnected, as Node's TCP
 * handle under a net.Socket, which net then connects as its own (libuv:
 * bind, ConnectEx on its completion port, SO_UPDATE_CONNECT_CONTEXT).
 * No thread of ours waits for the connect, and the SOCKET stays known for
 * WSASendDisconnect. Under Wine this is what makes a native connect cost
 * what node.exe's own connect costs (docs/performance.md). The caller
 * counts the socket (a WinsockSocket counts itself out when destroyed).
 * Throws a WinsockError (the SOCKET, if any, closed once).
 */
export function connectOver(addon: NativeAddon, options: TcpNetConnectOpts): Socket {
  let socket: number;
  try {
    socket = addon.openSocket(isIPv6(options.host ?? '') ? 6 : 4);
  } catch (err) {
    throw toWinsockError(err, 'WSASocketW');
  }
  const adopted = adoptSocket(addon, socket, false);
  try {
    return adopted.connect(options);
  } catch (err) {
    adopted.destroy(); // Node's handle owns the SOCKET now: it closes it, once
    throw WinsockError.fromNodeError(err, 'WSAConnect', 'WSAEINVAL');
  }
}

/**
 * The contract's sendDisconnect for handed-over sockets: WSASendDisconnect
 * (no data: TCP/IP carries none) on the socket's SOCKET while Node's handle
 * is open. One function per provider: the SOCKET is read from the socket.
 */
export function sendDisconnectFor(addon: NativeAddon): (owner: Socket) => void {
  return (owner) => {
    const socket = (owner as WithSocket)[kNativeSocket];
    const open = (owner as unknown as { _handle?: unknown })._handle;
    // Closed: the SOCKET value may already name another socket.
    if (socket === undefined || owner.destroyed || open === null || open === undefined) throw new WinsockError('WSAENOTSOCK', 'WSASendDisconnect');
    try {
      addon.sendDisconnectSocket(socket);
    } catch (err) {
      throw toWinsockError(err, 'WSASendDisconnect');
    }
  };
}

/**
 * The self-test at load: a connected loopback pair from the addon, one end
 * opened as Node's TCP handle; it must be a net.Socket whose handle is TCP
 * and whose peer (getpeername through libuv) is the other end. Returns
 * null when the hand-off works, else why not.
 */
export function selfTest(addon: NativeAddon): string | null {
  let pair: [number, number, number];
  try {
    pair = addon.socketPair();
  } catch (err) {
    return `a loopback socket pair failed: ${(err as Error).message}`;
  }
  const [a, b, port] = pair;
  let socket: Socket | null = null;
  try {
    socket = adoptSocket(addon, a);
    if (!(socket instanceof Socket)) return 'the adopted socket is not a net.Socket';
    const handle = (socket as unknown as { _handle?: { constructor?: { name?: string } } })._handle;
    if (handle?.constructor?.name !== 'TCP') return "the adopted socket's handle is not Node's TCP handle";
    if (socket.remoteAddress !== '127.0.0.1' || socket.remotePort !== port) {
      return `getpeername through libuv answered ${String(socket.remoteAddress)}:${String(socket.remotePort)}, not 127.0.0.1:${port}`;
    }
    return null;
  } catch (err) {
    return `Node's TCP handle did not take the SOCKET: ${(err as Error).message}`;
  } finally {
    socket?.destroy();
    try {
      addon.closeSocket(b, false);
    } catch {
      // already gone
    }
  }
}

/** The data path in use and why. */
export interface DataPathChoice {
  readonly path: NativeDataPath;
  readonly reason: string;
}

/**
 * Decides the data path once, at load: `forced` (WINSOCK2_NATIVE_DATA's
 * value) libuv or addon forces one, else the self-test. Throws an Error (the provider then does
 * not load, and says why) for a bad value or a forced libuv path that
 * cannot work here.
 */
export function chooseDataPath(addon: NativeAddon, forced: string | undefined): DataPathChoice {
  if (forced !== undefined && forced !== '' && forced !== 'libuv' && forced !== 'addon') {
    throw new Error(`${DATA_PATH_VARIABLE} must be "libuv" or "addon", not ${JSON.stringify(forced)}`);
  }
  if (forced === 'addon') return { path: 'addon', reason: `forced by ${DATA_PATH_VARIABLE}=addon` };
  const failure = selfTest(addon);
  if (forced === 'libuv') {
    if (failure !== null) throw new Error(`${DATA_PATH_VARIABLE}=libuv, but Node's TCP handle cannot take a SOCKET here: ${failure}`);
    return { path: 'libuv', reason: `forced by ${DATA_PATH_VARIABLE}=libuv (self-test passed)` };
  }
  if (failure !== null) return { path: 'addon', reason: `the hand-off self-test failed: ${failure}` };
  return { path: 'libuv', reason: 'the hand-off self-test passed' };
}
