/**
 * The emulated provider's connections before they are the application's:
 * while the TCP connect is in flight, or while an accepted request waits in
 * the queue, the socket's events go to a SetupPhase. Then the socket itself,
 * Node's own net.Socket, is handed to the facade as a NetConnection: no
 * handle of ours sits in the data path afterwards.
 */
import type { Socket } from 'node:net';
import type { NetConnection } from '../provider';
import { emulatedCapabilities } from './protocols';
import { kSetup } from '../tcp/slots';

/** Where a socket's events go until it is accepted, refused, connected or given up. */
export interface SetupPhase {
  /**
   * The peer's FIN with nothing before it in the buffer. (Bytes the peer
   * sent stay in the socket's readable buffer, unread: no 'data' listener
   * is used, so a FIN after them does not end the stream before the
   * application could read them.)
   */
  end(): void;
  error(err: Error): void;
  close(): void;
  /** The TCP connect completed (a phase that watches a connect: {@link watchConnect}). */
  connect?(): void;
}

/** The phase a socket's four setup listeners report to (the socket knows it: no closures per connection). */
type WatchedSocket = Socket & { [kSetup]?: SetupPhase };

// Four listeners shared by every socket: node:net calls them with the socket as `this`.
// A 'readable' listener makes the socket read into its buffer without anyone consuming it, up to its highWaterMark.
function onReadable(this: WatchedSocket): void {}
function onEnd(this: WatchedSocket): void {
  this[kSetup]?.end();
}
function onError(this: WatchedSocket, err: Error): void {
  this[kSetup]?.error(err);
}
function onClose(this: WatchedSocket): void {
  this[kSetup]?.close();
}
function onConnect(this: WatchedSocket): void {
  this[kSetup]?.connect?.();
}

/**
 * Sends the socket's events to `phase` (an 'error' listener among them, so
 * nothing is unhandled). Only connections that wait are watched: a request
 * decided as it arrives never gets a listener of ours.
 */
export function watchSetup(socket: Socket, phase: SetupPhase): void {
  const watched = socket as WatchedSocket;
  if (watched[kSetup] === undefined) {
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  }
  watched[kSetup] = phase;
}

/**
 * Sends a connecting socket's 'connect', 'error' and 'close' to `phase`:
 * nothing can be read before the connect completes, so no 'readable' (which
 * would also start a read, and a 'connect' listener of net's, on every
 * connect), and shared listeners instead of once()'s wrapper per socket.
 */
export function watchConnect(socket: Socket, phase: SetupPhase): void {
  (socket as WatchedSocket)[kSetup] = phase;
  socket.on('connect', onConnect);
  socket.on('error', onError);
  socket.on('close', onClose);
}

/** Takes the setup listeners off: the socket's events are its owner's from here. */
export function endSetup(socket: Socket): void {
  const watched = socket as WatchedSocket;
  if (watched[kSetup] === undefined) return;
  watched[kSetup] = undefined;
  // Whichever were added (watchSetup's four, or watchConnect's three).
  // Removing an absent listener is a no-op, except 'readable': a Readable
  // then schedules updateReadableListening on the next tick regardless (a
  // tick per connect, and it resets `readableFlowing` of a socket paused
  // meanwhile to null), so only a 'readable' listener really added goes.
  if (socket.listenerCount('readable', onReadable) > 0) socket.removeListener('readable', onReadable);
  socket.removeListener('end', onEnd);
  socket.removeListener('error', onError);
  socket.removeListener('close', onClose);
  socket.removeListener('connect', onConnect);
}

/** A socket refused or given up: whatever it still reports is dropped (its errors too, so none is unhandled). */
export function ignoreSocket(socket: Socket): void {
  watchSetup(socket, IGNORE_EVENTS);
}

const IGNORE_EVENTS: SetupPhase = { end() {}, error() {}, close() {} };

const CAPABILITIES = emulatedCapabilities();

/**
 * The connection the facade gets: the socket itself, with whatever the
 * caller sent while its request waited still in its readable buffer (and its
 * FIN after them), as TCP would have kept them.
 */
export function netConnection(socket: Socket): NetConnection {
  endSetup(socket);
  return { kind: 'net', socket, capabilities: CAPABILITIES, callerData: null, calleeData: null, qos: null };
}
