/**
 * Counts the OS handles a provider instance owns (sockets and listening
 * servers), for `Provider.handleCount()` and the leak tests built on it.
 */
import type { Socket } from 'node:net';

/** The tracker a socket is counted by, on the socket itself: one shared 'close' listener serves every socket. */
const kTracker = Symbol('winsock2.tracker');
type TrackedSocket = Socket & { [kTracker]?: HandleTracker };

function untrack(this: TrackedSocket): void {
  this[kTracker]?.remove();
}

export class HandleTracker {
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * Counts a socket until its 'close' event (node:net emits it exactly once).
   * No closure per socket: an idle server holds them by the ten thousand.
   */
  socket(socket: Socket): void {
    this.count++;
    (socket as TrackedSocket)[kTracker] = this;
    socket.on('close', untrack);
  }

  /**
   * Counts a socket whose owner already listens for its 'close' and calls
   * remove() there (one listener fewer per connection than socket()).
   */
  add(): void {
    this.count++;
  }

  remove(): void {
    this.count--;
  }

  /**
   * Counts a listening server until the returned release runs: `server.close()`
   * closes the listening handle at once, but node:net emits 'close' only after
   * every accepted socket ended, and those belong to the application.
   */
  server(): () => void {
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
    };
  }
}
