/**
 * The events a WinsockSocket emits, with their arguments: the stream.Duplex
 * events plus net.Socket's `'timeout'` and `'close'` with `hadError`.
 * Kept apart from lib/socket.ts so the typings read as one table.
 */
import type { Readable } from 'node:stream';
import type { WinsockError } from './errors';

/** The events a {@link WinsockSocket} emits, with their arguments. */
export interface WinsockSocketEvents {
  /** Received application bytes (one whole message in message mode). */
  data: [chunk: Buffer];
  /** The peer shut down its sending side (its disconnect data: `recvDisconnect()`). */
  end: [];
  /**
   * The connection failed, or a write was refused (WSAESHUTDOWN after
   * `sendDisconnect()`): always a WinsockError.
   */
  error: [error: WinsockError];
  /** The socket closed; `hadError` is true when it closed because of an error (as net.Socket). */
  close: [hadError: boolean];
  /** `setTimeout(ms)`'s idle time passed without a read or a write; the socket is still open. */
  timeout: [];
  /** The write buffer emptied: writing may go on. */
  drain: [];
  /** Every write completed and the sending side was shut down. */
  finish: [];
  /** Data can be read with `read()`. */
  readable: [];
  /** Reading paused. */
  pause: [];
  /** Reading resumed. */
  resume: [];
  /** A readable was piped into this socket. */
  pipe: [source: Readable];
  /** A readable was unpiped from this socket. */
  unpipe: [source: Readable];
}
