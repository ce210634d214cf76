/**
 * Counts the OS handles a provider instance owns (sockets and listening
 * servers), for `Provider.handleCount()` and the leak tests built on it.
 */
import type { Socket } from 'node:net';

export class HandleTracker {
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Counts a socket until its 'close' event (node:net emits it exactly once). */
  socket(socket: Socket): void {
    this.count++;
    socket.once('close', () => {
      this.count--;
    });
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
