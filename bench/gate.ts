/**
 * The gate cases (issue 20): an http(s).Server fed by a winsock2 server, the
 * pattern docs/ecosystem.md teaches —
 *   gate.on('connection', (s) => target.emit('connection', s))
 * — against the same handler on a plain http(s).Server listening alone.
 * Keep-alive, and a connection per request (`Connection: close`).
 *
 * The load comes from a real load generator in its own process: wrk
 * (Debian's `wrk`, installed by scripts/ci-install-tools.sh), so the
 * client's cost is not charged to either side. Both servers run in this
 * process; the CPU per request is this process's CPU time (user + system)
 * over the requests wrk completed: the server side only.
 *
 * A run fails when wrk is missing, when any response is not 2xx, or when
 * more than 1% of requests hit socket errors; nothing here asserts a time.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as path from 'node:path';
import type { Case, Target } from './cases';
import { HOST, type Impl } from './loopback';

/** A test-only self-signed certificate for 127.0.0.1 (test/fixtures/tls; never used outside tests and benches). */
const TLS_DIR = path.join(__dirname, '..', 'test', 'fixtures', 'tls');
const WRK = process.env['WINSOCK2_BENCH_WRK'] ?? 'wrk';
/** wrk -t1 -c32: one load thread (2 CPUs here, one for the server), 32 connections, as issue 20 measured. */
const CONNECTIONS = 32;
const BODY = 'hello from behind the gate\n';

const handler = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.setHeader('content-type', 'text/plain');
  res.end(BODY);
};

interface WrkResult {
  requests: number;
  requestsPerSec: number;
  socketErrors: number;
  non2xx: number;
}

/** Runs wrk against `url` for `seconds`; resolves its parsed summary. */
export function runWrk(url: string, seconds: number, keepAlive: boolean): Promise<WrkResult> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, ...(keepAlive ? [] : ['-H', 'Connection: close']), url];
  return new Promise((resolve, reject) => {
    const child = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new Error(`gate: ${WRK} not found (apt-get install wrk; scripts/ci-install-tools.sh installs it)`)
          : err,
      );
    });
    child.once('close', (code) => {
      const total = /(\d+) requests in/.exec(out);
      const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (code !== 0 || !total || !rate) {
        reject(new Error(`gate: wrk ${args.join(' ')} exited ${String(code)}: ${out.trim()}`));
        return;
      }
      const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      resolve({
        requests: Number(total[1]),
        requestsPerSec: Number(rate[1]),
        socketErrors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
        non2xx: non2xx ? Number(non2xx[1]) : 0,
      });
    });
  });
}

async function listenPlain(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: HOST, backlog: 2048 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as net.AddressInfo).port;
}

/**
 * The server one side of the pair runs: the net side (the baseline) is the
 * plain http(s).Server listening alone; every other side is a gate that
 * admits callers with the bench condition and feeds the same kind of server.
 */
async function serve(impl: Impl, secure: boolean): Promise<{ port: number; close(): Promise<void> }> {
  const target: http.Server = secure
    ? https.createServer(
        { key: fs.readFileSync(path.join(TLS_DIR, 'key.pem')), cert: fs.readFileSync(path.join(TLS_DIR, 'cert.pem')) },
        handler,
      )
    : http.createServer(handler);
  // Both sides answer with the same keep-alive defaults; only the path to the socket differs.
  const dropAll = (): void => {
    target.closeAllConnections();
  };
  if (impl.name === 'net') {
    const port = await listenPlain(target);
    return {
      port,
      close: () =>
        new Promise<void>((resolve) => {
          target.close(() => resolve());
          dropAll();
        }),
    };
  }
  // The gate's allowHalfOpen is its target's own (http.Server: true, https.Server: false), as docs/ecosystem.md says.
  const gate = await impl.listen({
    condition: true,
    count: false,
    allowHalfOpen: !secure,
    onConnection: (s) => target.emit('connection', s),
  });
  return {
    port: gate.port,
    close: async () => {
      await gate.close();
      dropAll();
    },
  };
}

function gateCase(id: string, title: string, secure: boolean, keepAlive: boolean): Case {
  // Issue 20's target: a server behind the gate costs what it costs alone.
  const atLeast097: Target = { on: 'ratio', op: '>=', value: 0.97 };
  return {
    id,
    title,
    metrics: [
      {
        id: `${id}-rate`,
        title: `${title}: requests/s (wrk -t1 -c${CONNECTIONS})`,
        unit: 'req/s',
        better: 'higher',
        targets: { 'emulated/net': atLeast097, 'native/net': atLeast097 },
      },
      { id: `${id}-cpu`, title: `${title}: server CPU per request`, unit: 'µs/req', better: 'lower' },
    ],
    params: (quick) => ({ seconds: quick ? 1 : 5, connections: CONNECTIONS }),
    pairs: (quick) => (quick ? 1 : 7),
    warmup: () => 1,
    // wrk is a Linux child process: not under Wine.
    portable: false,
    // wrk speaks HTTP over TCP: the framed floor speaks its own protocol.
    floor: false,
    // wrk speaks HTTP over plain TCP: framed's callers speak its framing first.
    plainTcpClient: true,
    async run(impl, params) {
      const server = await serve(impl, secure);
      try {
        const before = process.cpuUsage();
        const result = await runWrk(
          `${secure ? 'https' : 'http'}://${HOST}:${server.port}/`,
          params['seconds'],
          keepAlive,
        );
        const used = process.cpuUsage(before);
        if (result.requests === 0) throw new Error(`${id}: wrk completed no request`);
        if (result.non2xx > 0) throw new Error(`${id}: ${result.non2xx} responses were not 2xx`);
        if (result.socketErrors > result.requests / 100)
          throw new Error(`${id}: ${result.socketErrors} socket errors in ${result.requests} requests`);
        return { [`${id}-rate`]: result.requestsPerSec, [`${id}-cpu`]: (used.user + used.system) / result.requests };
      } finally {
        await server.close();
      }
    },
  };
}

/** http and https, keep-alive and a connection per request: the four the issue measured. */
export const GATE_CASES: readonly Case[] = [
  gateCase('gate-http', 'http behind the gate, keep-alive', false, true),
  gateCase('gate-https', 'https behind the gate, keep-alive', true, true),
  gateCase('gate-http-close', 'http behind the gate, a connection per request', false, false),
  gateCase('gate-https-close', 'https behind the gate, a connection per request', true, false),
];
