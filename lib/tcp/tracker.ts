/**
 * Counts the OS handles a provider instance owns (sockets and listening
 * servers), for `Provider.handleCount()` and the leak tests built on it.
 */
import type { Socket } from 'node:net';
import { kTracker } from './slots';

/**
 * Set on a socket class's prototype (WinsockSocket's) whose _destroy()
 * calls {@link untrackSocket}: its sockets need no 'close' listener, which
 * would make every idle socket's 'close' listener list an array.
 */
export const kUntracksOnDestroy = Symbol('winsock2.untracksOnDestroy');
type TrackedSocket = Socket & { [kTracker]?: HandleTracker; [kUntracksOnDestroy]?: boolean };

/** Counts `socket` out of its tracker, once (its OS handle is being closed). */
export function untrackSocket(socket: Socket): void {
  const tracked = socket as TrackedSocket;
  const tracker = tracked[kTracker];
  if (tracker === undefined) return;
  tracked[kTracker] = undefined;
  tracker.remove();
}

function untrack(this: TrackedSocket): void {
  untrackSocket(this);
}

export class HandleTracker {
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * Counts a socket until it closes: its 'close' event (node:net emits it
   * exactly once), or its _destroy() for a class that untracks there.
   * No closure per socket: an idle server holds them by the ten thousand.
   */
  socket(socket: Socket): void {
    this.count++;
    const tracked = socket as TrackedSocket;
    tracked[kTracker] = this;
    // Counted out by its destroy() where the class does that (WinsockSocket), else on 'close'.
    if (tracked[kUntracksOnDestroy] !== true) socket.on('close', untrack);
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
