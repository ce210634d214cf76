/**
 * The servers of the gate's steps (docs/performance.md, issue 20): the same
 * http.Server handler reached six ways, each adding one piece of what the
 * emulated gate does. `npm run` scripts time them under wrk
 * (gate-steps.ts) and count their instructions (gate-instructions.ts).
 *
 *   plain        http.Server listening alone
 *   paused       net.Server with pauseOnConnect, read-ahead started, fed to it
 *   hook         the same, the socket constructed as a WinsockSocket (lib/node-internals.ts)
 *   hook+peer    the same plus the caller's address (getpeername), which a condition needs
 *   gate         winsock2's emulated server, no condition
 *   gate+cond    the same with a condition reading the caller's address
 *
 * The gates are `allowHalfOpen: true`, as http.Server's own listener (and the
 * http gate cases of `npm run bench`): with net's default (false) each socket
 * also takes net's end-on-end teardown, ~15 k more instructions per request
 * here (docs/performance.md).
 *
 * Each starts its server and resolves its port.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type * as Winsock from '../dist/index';
import type * as Internals from '../dist/node-internals';
import type * as SocketModule from '../dist/socket';
import type * as Sockets from '../dist/tcp/sockets';
import { HOST } from './loopback';

/* eslint-disable @typescript-eslint/no-require-imports -- the built library, as the other bench files load it */
const ws = require('../dist/index') as typeof Winsock;
const { acceptAsWinsockSockets } = require('../dist/node-internals') as typeof Internals;
const { WinsockSocket } = require('../dist/socket') as typeof SocketModule;
const { remoteOf } = require('../dist/tcp/sockets') as typeof Sockets;
/* eslint-enable @typescript-eslint/no-require-imports */

const handler = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.setHeader('content-type', 'text/plain');
  res.end('hello from behind the gate\n');
};

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, HOST, () => resolve((server.address() as net.AddressInfo).port)));
}

/** As the facade starts an accepted socket: reading into its buffer, delivered when someone reads. */
function readAhead(socket: net.Socket): void {
  (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
  socket.read(0);
}

const pausedServer = (): net.Server => net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });

export const GATE_STEPS: Record<string, () => Promise<number>> = {
  plain: () => listen(http.createServer(handler)),
  paused: () => {
    const target = http.createServer(handler);
    return listen(
      pausedServer().on('connection', (s: net.Socket) => {
        readAhead(s);
        target.emit('connection', s);
      }),
    );
  },
  hook: async () => {
    const target = http.createServer(handler);
    const server = pausedServer();
    const port = await listen(server);
    acceptAsWinsockSockets(server, WinsockSocket, (s) => {
      readAhead(s);
      target.emit('connection', s);
    });
    return port;
  },
  'hook+peer': async () => {
    const target = http.createServer(handler);
    const server = pausedServer();
    const port = await listen(server);
    acceptAsWinsockSockets(server, WinsockSocket, (s) => {
      if (remoteOf(s) === null) {
        s.destroy();
        return;
      }
      readAhead(s);
      target.emit('connection', s);
    });
    return port;
  },
  gate: async () => {
    const target = http.createServer(handler);
    const gate = ws.createServer({ provider: 'emulated', allowHalfOpen: true });
    gate.on('connection', (s) => target.emit('connection', s));
    return (await gate.listen({ port: 0, host: HOST })).port;
  },
  'gate+cond': async () => {
    const target = http.createServer(handler);
    const gate = ws.createServer({
      provider: 'emulated',
      allowHalfOpen: true,
      condition: (req) => (req.callerId.address === HOST ? 'accept' : 'reject'),
    });
    gate.on('connection', (s) => target.emit('connection', s));
    return (await gate.listen({ port: 0, host: HOST })).port;
  },
};
