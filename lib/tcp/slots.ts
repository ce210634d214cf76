/**
 * The slots our modules keep on a net.Socket, keyed by symbols, and the one
 * place they are made: WinsockSocket's constructor declares every one, so a
 * socket keeps the shape it was constructed with.
 *
 * Why: a property added to an accepted socket after construction (a
 * tracker, a setup phase, net's cached `_peername`) moved it off its
 * in-object fields, and from then on net's stream code ran megamorphic
 * keyed loads on every read and write: ~1,700 user-space instructions per
 * ping-pong round trip (`npm run bench:instructions`, docs/performance.md).
 */

/** The HandleTracker counting the socket (lib/tcp/tracker.ts). */
export const kTracker: unique symbol = Symbol('winsock2.tracker');

/** The emulated provider's setup phase the socket reports to (lib/emulated/setup.ts). */
export const kSetup: unique symbol = Symbol('winsock2.emulatedSetup');

/** Gives a socket every slot above, and net's lazily cached `_peername`, empty. */
export function declareSlots(socket: object): void {
  const slots = socket as Record<symbol | string, unknown>;
  slots[kTracker] = undefined;
  slots[kSetup] = undefined;
  slots['_peername'] = undefined;
}
