/**
 * Handing a provider's outgoing buffers to a node:net socket, for the
 * emulated and the framed handle alike.
 */
import type { Socket } from 'node:net';
import { WinsockError } from '../errors';

/**
 * Writes `parts` (corked into one writev when there are several) and calls
 * `callback` once node:net no longer needs them.
 *
 * When the kernel took every byte synchronously (libuv's try-write: node:net
 * holds none of the caller's buffers any more), the callback runs at once and
 * synchronously, as net.Socket completes such a write: the facade's Writable
 * then sees the write done before write() returns, so write() returns true
 * and a writer loop goes on without a 'drain' round trip per chunk. With bytes
 * still queued in node:net the callback waits for their completion: they may
 * be the caller's own buffers, which it must not reuse before then. A later
 * failure still reaches the handle through the socket's 'error'.
 */
export function writeParts(
  socket: Socket,
  parts: readonly Buffer[],
  callback: (error: WinsockError | null) => void,
): void {
  let early = false;
  const done = (err?: Error | null): void => {
    if (!early) callback(err ? WinsockError.fromNodeError(err, 'WSASend') : null);
  };
  if (parts.length === 1) {
    socket.write(parts[0] as Buffer, done);
  } else {
    socket.cork();
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) socket.write(parts[i] as Buffer);
    socket.write(parts[last] as Buffer, done);
    socket.uncork();
  }
  if (socket.writableLength === 0) {
    early = true;
    callback(null);
  }
}
