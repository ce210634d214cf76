/**
 * The gate cases (issue 20): an http(s).Server fed by a winsock2 server, the
 * pattern docs/ecosystem.md teaches —
 *   gate.on('connection', (s) => target.emit('connection', s))
 * — against the same handler on a plain http(s).Server listening alone.
 * Keep-alive, and a connection per request (`Connection: close`).
 *
 * Each side's server runs in a process of its own (gate-child.ts), started
 * for the run and stopped after it, as a user's server would: in one
 * process the two servers shared V8's caches and heap and each ran at a
 * speed set partly by the other. The load comes from a real load generator
 * in its own process: wrk (Debian's `wrk`, installed by
 * scripts/ci-install-tools.sh). The CPU per request is the server process's
 * CPU time (user + system) during wrk's run over the requests wrk completed.
 *
 * A run fails when wrk is missing, when any response is not 2xx, or when
 * more than 1% of requests hit socket errors; nothing here asserts a time.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Case, Target } from './cases';
import { forkChild } from './child';
import { HOST, type Impl, type ProviderName } from './loopback';

const WRK = process.env['WINSOCK2_BENCH_WRK'] ?? 'wrk';
/** wrk -t1 -c32: one load thread (2 CPUs here, one for the server), 32 connections, as issue 20 measured. */
const CONNECTIONS = 32;

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

/** One side's server in its own process (gate-child.ts): its port, its CPU time so far, and stop. */
async function startSide(
  impl: Impl,
  secure: boolean,
  provider: ProviderName,
): Promise<{ port: number; cpu(): Promise<number>; stop(): Promise<void> }> {
  const child = forkChild(
    path.join(__dirname, 'gate-child.js'),
    [impl.name, secure ? 'https' : 'http', provider],
    `gate child (${impl.name})`,
  );
  try {
    const ready = await child.next('ready');
    return {
      port: ready['port'] as number,
      cpu: async () => (await child.next('cpu', 'cpu'))['micros'] as number,
      stop: () => child.stop(),
    };
  } catch (err) {
    await child.stop();
    throw err;
  }
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
    ownProcesses: true,
    // wrk speaks HTTP over TCP: the framed floor speaks its own protocol.
    floor: false,
    // wrk speaks HTTP over plain TCP: framed's callers speak its framing first.
    plainTcpClient: true,
    async run(impl, params, ctx) {
      if (impl.name !== 'net' && impl.name !== 'winsock') throw new Error(`${id}: runs on winsock2 and net only`);
      const server = await startSide(impl, secure, ctx.provider);
      try {
        const before = await server.cpu();
        const result = await runWrk(
          `${secure ? 'https' : 'http'}://${HOST}:${server.port}/`,
          params['seconds'],
          keepAlive,
        );
        const used = (await server.cpu()) - before;
        if (result.requests === 0) throw new Error(`${id}: wrk completed no request`);
        if (result.non2xx > 0) throw new Error(`${id}: ${result.non2xx} responses were not 2xx`);
        if (result.socketErrors > result.requests / 100)
          throw new Error(`${id}: ${result.socketErrors} socket errors in ${result.requests} requests`);
        return { [`${id}-rate`]: result.requestsPerSec, [`${id}-cpu`]: used / result.requests };
      } finally {
        await server.stop();
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
