/**
 * The ONE module that leans on Node internals: everything that touches a
 * libuv handle under a net.Socket or a net.Server. What it uses, unchanged
 * in Node 20, 22 and 24 (lib/net.js, src/tcp_wrap.cc) and so in Electron
 * >= 29 (Node 20.9+):
 * - `Socket#_handle` (the TCPWrap of a socket) and its `constructor` (Node's
 *   `TCP` class from tcp_wrap.cc), taken from a live handle: a net.Socket
 *   given an IP-literal connect target creates its handle synchronously
 *   inside connect() and starts connecting only on the next tick, when it
 *   checks `connecting`; destroyed at once, it never touches the network.
 *   Never `process.binding('tcp_wrap')`: deprecated (DEP0111, loud under
 *   --pending-deprecation) and refused under --permission.
 * - `new TCP(0)`: 0 is `TCPConstants.SOCKET` (1 is SERVER), and
 *   `TCP#open(socket)`: uv_tcp_open (the native provider's hand-off,
 *   lib/native/handoff.ts).
 * - `new net.Socket({ handle })`: documented only as internal, used by
 *   net.Server for every accepted socket; here with our own subclass, and
 *   the options in an object with no prototype (handleOptions says why). With
 *   `manualStart` (the option net's own callers use for a handle that is
 *   not connected yet) it does not start reading, and a later
 *   `socket.connect()` connects that handle instead of making one.
 * - `Server#_handle.onconnection(status, clientHandle)`: the callback
 *   net.Server's listening handle calls for every accepted connection
 *   (net's `onconnection`). Taking it over lets the accepted socket be
 *   constructed as a WinsockSocket. The alternative, net's socket with its
 *   prototype changed afterwards (Object.setPrototypeOf), is what
 *   {@link acceptAsWinsockSockets}' fallback does: it halves http
 *   throughput with a connection per request (measured: 9.6-10.4k req/s
 *   against 17.7-18.2k, wrk -c32 on this machine), as V8 optimises code
 *   for objects that changed their prototype far worse.
 *
 * - `TCPWrap#getpeername(out)` (fills `address`, `family`, `port`; 0 on
 *   success) and net's cache of its result, `Socket#_peername`: the accept
 *   hook asks the kernel once, into an object that already has those three
 *   properties, where net's getters would make one property by property
 *   from C++ and read `_handle` (a megamorphic load) five times.
 *
 * Each is checked where it is used (tcpConstructor, acceptAsWinsockSockets);
 * a Node that changes any of them gets the public fallback, never a broken
 * first connection. WINSOCK2_ACCEPT_HOOK=off forces the fallback (tests).
 */
import * as net from 'node:net';
import * as util from 'node:util';

/** The part of Node's TCPWrap the hand-off calls. */
export interface TcpHandle {
  open(socket: number): number;
  close(callback?: () => void): void;
}
type TcpConstructor = new (type: number) => TcpHandle;

/** TCPConstants.SOCKET in src/tcp_wrap.cc. */
export const TCP_SOCKET = 0;

let tcpClass: TcpConstructor | null = null;

/** Node's TCP class, from a live handle (see the module comment). Throws an Error saying why not. */
export function tcpConstructor(): TcpConstructor {
  if (tcpClass !== null) return tcpClass;
  const probe = new net.Socket();
  probe.on('error', () => undefined); // never connects; nothing to report
  let ctor: unknown;
  try {
    probe.connect({ port: 9, host: '127.0.0.1' });
    const handle = (probe as unknown as { _handle?: unknown })._handle;
    ctor = typeof handle === 'object' && handle !== null ? handle.constructor : undefined;
  } finally {
    probe.destroy();
  }
  if (typeof ctor !== 'function' || ctor.name !== 'TCP') {
    throw new Error('a net.Socket has no TCP handle after connect() (Socket#_handle.constructor is not TCP)');
  }
  if (typeof (ctor.prototype as { open?: unknown }).open !== 'function') {
    throw new Error("Node's TCP handle has no open() method");
  }
  tcpClass = ctor as TcpConstructor;
  return tcpClass;
}

/** A libuv error number as the Node error net would report. */
export function uvError(errno: number, syscall: string): NodeJS.ErrnoException {
  let name = `UV_${errno}`;
  try {
    name = util.getSystemErrorName(errno);
  } catch {
    // not a known libuv error: keep the number
  }
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${name}`);
  err.code = name;
  err.errno = errno;
  err.syscall = syscall;
  return err;
}

/** What TCPWrap#getpeername fills in, and net caches as `_peername`. */
interface PeerName {
  address: string;
  family: string;
  port: number;
}

/** The peer of an accepted handle (getpeername), or null when the handle cannot say (the caller already left). */
function peerOf(clientHandle: unknown): PeerName | null {
  const handle = clientHandle as { getpeername?: (out: PeerName) => number };
  if (typeof handle.getpeername !== 'function') return null;
  const peer: PeerName = { address: '', family: '', port: 0 };
  return handle.getpeername(peer) === 0 ? peer : null;
}

/** What net.Socket's constructor takes from net.Server for an accepted handle. */
export interface AcceptedSocketOptions extends net.SocketConstructorOpts {
  handle: unknown;
  pauseOnCreate: boolean;
  /** A handle not connected yet: no read until net's connect() completes. */
  manualStart?: boolean;
}

/**
 * The options net.Socket's constructor takes for a handle, in an object
 * with no prototype. The constructor copies its options (`{ ...options }`)
 * and adds four properties to the copy; under Node 20's V8 the copy of an
 * ordinary object gets hidden classes of its own every time, so each load
 * from it in net's and stream's constructors misses the inline and stub
 * caches (docs/performance.md, "A hidden class per copy"). A prototype-less
 * source (a dictionary) is copied property by property onto an empty
 * literal, whose hidden classes every copy shares. `new net.Socket(options)`
 * in a loop: 6.4 µs with an object literal, 2.0 µs with this, 1.7 µs with
 * no options at all. net.Server's own accept passes a literal.
 */
export function handleOptions(
  handle: unknown,
  allowHalfOpen: boolean,
  pauseOnCreate: boolean,
  manualStart = false,
): AcceptedSocketOptions {
  const options = Object.create(null) as AcceptedSocketOptions;
  options.handle = handle;
  options.readable = true;
  options.writable = true;
  options.allowHalfOpen = allowHalfOpen;
  options.pauseOnCreate = pauseOnCreate;
  if (manualStart) options.manualStart = true;
  return options;
}

/** The socket class accepted connections are made as (a net.Socket subclass). */
export type AcceptedSocketClass<S extends net.Socket> = new (options: AcceptedSocketOptions) => S;

/** Why the accept hook cannot be used on this server (null: it can). */
function acceptHookUnavailable(server: net.Server): string | null {
  if (process.env['WINSOCK2_ACCEPT_HOOK'] === 'off') return 'WINSOCK2_ACCEPT_HOOK=off';
  const handle = (server as unknown as { _handle?: unknown })._handle;
  if (typeof handle !== 'object' || handle === null) return 'the listening server has no _handle';
  if (typeof (handle as { onconnection?: unknown }).onconnection !== 'function') {
    return "the listening handle has no onconnection callback (net's accept path changed)";
  }
  return null;
}

/**
 * Every connection `server` accepts (it must be listening) becomes an
 * `Accepted` socket handed to `onSocket`, as net.Server makes them
 * (allowHalfOpen, pauseOnConnect and noDelay from the server's options):
 * net's own `onconnection` with our class. The server emits no
 * 'connection' and does not count these sockets (`getConnections()`,
 * `maxConnections` and close() waiting are the gate's). Where the hook is
 * unavailable, net's 'connection' sockets are handed over as they are and
 * `onSocket` receives `adopted: false` (the caller then changes their
 * prototype). Returns which path is used.
 */
export function acceptAsWinsockSockets<S extends net.Socket>(
  server: net.Server,
  Accepted: AcceptedSocketClass<S>,
  onSocket: (socket: net.Socket, constructed: boolean) => void,
): 'hook' | 'fallback' {
  const why = acceptHookUnavailable(server);
  if (why !== null) {
    server.on('connection', (socket: net.Socket) => onSocket(socket, false));
    return 'fallback';
  }
  const options = server as unknown as { allowHalfOpen?: boolean; pauseOnConnect?: boolean; noDelay?: boolean };
  const allowHalfOpen = options.allowHalfOpen === true;
  const pauseOnCreate = options.pauseOnConnect === true;
  const noDelay = options.noDelay === true;
  const handle = (server as unknown as { _handle: { onconnection: (status: number, client: unknown) => void } })
    ._handle;
  handle.onconnection = (status: number, clientHandle: unknown): void => {
    if (status < 0) {
      // As net's onconnection: the accept failed, the server says so.
      server.emit('error', uvError(status, 'accept'));
      return;
    }
    const peer = peerOf(clientHandle);
    const socket = new Accepted(handleOptions(clientHandle, allowHalfOpen, pauseOnCreate));
    // net's getters read the peer from here (and ask the kernel themselves when it is not set).
    if (peer !== null) (socket as unknown as { _peername: PeerName })._peername = peer;
    if (noDelay) socket.setNoDelay(true);
    onSocket(socket, true);
  };
  return 'hook';
}
