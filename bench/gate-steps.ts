/**
 * Where the gate's cost per connection goes (docs/performance.md, issue 20):
 * the same http.Server handler reached five ways, each step adding one
 * piece of what the emulated gate does, under `wrk -t1 -c32 -H 'Connection:
 * close'` (a connection per request), interleaved rounds in one process:
 *
 *   plain        http.Server listening alone
 *   paused       net.Server with pauseOnConnect, read-ahead started, fed to it
 *   hook         the same, the socket constructed as a WinsockSocket (lib/node-internals.ts)
 *   hook+peer    the same plus the caller's address (getpeername), which a condition needs
 *   gate         winsock2's emulated server, no condition
 *   gate+cond    the same with the bench's condition (reads the caller's address)
 *
 *   npm run build && npm run build:bench && node out-bench/gate-steps.js [rounds] [seconds]
 *
 * Prints req/s per round and the median's ratio to plain; nothing asserts a time.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type * as Winsock from '../dist/index';
import type * as Internals from '../dist/node-internals';
import type * as SocketModule from '../dist/socket';
import type * as Sockets from '../dist/tcp/sockets';
import { runWrk } from './gate';
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

const steps: Record<string, () => Promise<number>> = {
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
    const gate = ws.createServer({ provider: 'emulated' });
    gate.on('connection', (s) => target.emit('connection', s));
    return (await gate.listen({ port: 0, host: HOST })).port;
  },
  'gate+cond': async () => {
    const target = http.createServer(handler);
    const gate = ws.createServer({
      provider: 'emulated',
      condition: (req) => (req.callerId.address === HOST ? 'accept' : 'reject'),
    });
    gate.on('connection', (s) => target.emit('connection', s));
    return (await gate.listen({ port: 0, host: HOST })).port;
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 4);
  const seconds = Number(process.argv[3] ?? 4);
  const ports = new Map<string, number>();
  for (const [name, start] of Object.entries(steps)) ports.set(name, await start());
  const rates = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, port] of ports) {
      const { requestsPerSec, socketErrors, non2xx } = await runWrk(`http://${HOST}:${port}/`, seconds, false);
      if (non2xx > 0 || socketErrors > 0) throw new Error(`${name}: ${non2xx} non-2xx, ${socketErrors} socket errors`);
      rates.set(name, [...(rates.get(name) ?? []), requestsPerSec]);
    }
  }
  const plain = median(rates.get('plain') ?? []);
  for (const [name, runs] of rates) {
    const m = median(runs);
    console.log(
      `${name.padEnd(10)} ${runs.map((r) => r.toFixed(0).padStart(6)).join(' ')}   median ${m.toFixed(0).padStart(6)}   ratio ${(m / plain).toFixed(3)}`,
    );
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
