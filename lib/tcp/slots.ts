/**
 * The slots our modules keep on a net.Socket, and the one place they are
 * made: WinsockSocket's constructor (and the adoption of a socket net
 * constructed) declares every one, so a socket keeps the shape it was
 * constructed with.
 *
 * Why: a property added to an accepted socket after construction (a
 * tracker, a setup phase, net's cached `_peername`) moved it off its
 * in-object fields, and from then on net's stream code ran megamorphic
 * keyed loads on every read and write: ~1,700 user-space instructions per
 * ping-pong round trip (`npm run bench:instructions`, docs/performance.md).
 */

/** The HandleTracker counting the socket (lib/tcp/tracker.ts): one shared 'close' listener serves every socket. */
export const kTracker: unique symbol = Symbol('winsock2.tracker');

/** The emulated provider's setup phase the socket reports to (lib/emulated/setup.ts). */
export const kSetup: unique symbol = Symbol('winsock2.emulatedSetup');

/** The server that counts an accepted socket (lib/server.ts; counted out by the socket's destroy()). */
export const kOwner: unique symbol = Symbol('winsock2.owner');

/** The native provider's SOCKET under a handed-over socket, for WSASendDisconnect (lib/native/handoff.ts). */
export const kNativeSocket: unique symbol = Symbol('winsock2.SOCKET');

/** In this order, always; `_peername` is where net caches the peer's address. */
const SLOTS: readonly PropertyKey[] = [kTracker, kSetup, kOwner, kNativeSocket, '_peername'];

/** Slots as stored on a socket. */
interface Slotted {
  [kTracker]: unknown;
  [kSetup]: unknown;
  [kOwner]: unknown;
  [kNativeSocket]: unknown;
  _peername: unknown;
}

/**
 * Makes every slot above, empty, on a socket being constructed (it has none
 * yet). One store per slot, each at a site of its own that only ever sees
 * this class's sockets: a loop over the keys was one megamorphic keyed store
 * and five `Object.hasOwn` calls per connection (~2,500 instructions).
 */
export function makeSlots(socket: object): void {
  const slots = socket as Slotted;
  slots[kTracker] = undefined;
  slots[kSetup] = undefined;
  slots[kOwner] = undefined;
  slots[kNativeSocket] = undefined;
  slots._peername = undefined;
}

/** Gives a socket net constructed every slot above it does not have yet, empty (what it has already is kept). */
export function declareSlots(socket: object): void {
  const slots = socket as Record<PropertyKey, unknown>;
  for (const key of SLOTS) if (!Object.hasOwn(slots, key)) slots[key] = undefined;
}
