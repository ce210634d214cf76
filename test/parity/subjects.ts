/**
 * The subjects the parity suite compares with node:net: `winsock2/net`
 * (lib/net.ts, the package's "./net" export) on every provider under test.
 * The module is loaded from this build's out/lib/net.js when it exists, so
 * the suite compiles and runs (pending, with the reason) on a tree where the
 * facade has not landed yet.
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import type { ProviderName } from '../../lib/types';
import type { NetLike, Subject } from './harness';

/** The compiled winsock2/net next to this file's build (out/lib/net.js). */
export const WINSOCK_NET_PATH = path.resolve(__dirname, '..', '..', 'lib', 'net.js');

/** winsock2/net's module, or null where this tree has no lib/net.ts. */
export function loadWinsockNet(): NetLike | null {
  if (!fs.existsSync(WINSOCK_NET_PATH)) return null;
  // A path computed at run time: the suite must compile before lib/net.ts exists.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(WINSOCK_NET_PATH) as NetLike;
}

/** winsock2/net with `provider` given in every createServer and connect, as a user would pass it. */
export function winsockSubject(mod: NetLike, provider: ProviderName): Subject {
  return {
    name: `winsock2/net ${provider}`,
    net: {
      createServer: (options: net.ServerOpts, listener?: (socket: net.Socket) => void) =>
        mod.createServer({ ...options, provider } as net.ServerOpts, listener),
      connect: (options: net.NetConnectOpts, listener?: () => void) =>
        mod.connect({ ...options, provider } as unknown as net.NetConnectOpts, listener),
    },
  };
}
