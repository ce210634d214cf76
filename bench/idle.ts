/**
 * One side of the idle-connections case, in its own process (forked by
 * cases.ts with --expose-gc and an IPC channel):
 *
 *   idle.js server <winsock|net> <provider> <n> 0      listens, accepts n, reports its memory
 *   idle.js client <winsock|net> <provider> <n> <port> connects n, reports its memory
 *
 * Every socket reads (a 'data' listener, as an application has) and stays
 * idle. Memory is measured after a full GC once all n are up. The process
 * stays alive, holding its sockets, until the parent kills it.
 */
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { makeImpl } from './impls';
import { isProvider, type ImplName } from './loopback';

const [role, implName, provider, count, portArg] = process.argv.slice(2);
const n = Number(count);
const noop = (): void => undefined;

function send(message: object): void {
  process.send?.(message);
}

/**
 * Resident memory no other process shares: anonymous and shmem pages
 * (Linux's RssAnon + RssShmem). RSS also counts the pages of the node binary
 * this process touched (file-backed, shared by every node process), and
 * loading any library of winsock2's size touches several MiB of them
 * (docs/performance.md). Where /proc is missing, the RSS.
 */
function privateRss(rss: number): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const sum = kib('RssAnon') + kib('RssShmem');
    return Number.isFinite(sum) ? sum * 1024 : rss;
  } catch {
    return rss;
  }
}

async function memory(): Promise<{ rss: number; privateRss: number; heapUsed: number; external: number }> {
  // Let connection setup settle (timers, pending callbacks), then collect twice.
  await new Promise((r) => setTimeout(r, n >= 1000 ? 500 : 100));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((r) => setImmediate(r));
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, privateRss: privateRss(m.rss), heapUsed: m.heapUsed, external: m.external };
}

async function main(): Promise<void> {
  if (role !== 'server' && role !== 'client') throw new Error(`unknown role ${role}`);
  if (implName !== 'winsock' && implName !== 'net') throw new Error(`unknown impl ${implName}`);
  if (provider === undefined || !isProvider(provider)) throw new Error(`unknown provider ${provider}`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bad connection count ${count}`);
  const impl = makeImpl(implName as ImplName, provider);
  const held: Duplex[] = [];
  const hold = (s: Duplex): void => {
    s.on('error', (err: Error) => send({ type: 'error', message: `socket error: ${err.message}` }));
    s.on('data', noop);
    held.push(s);
  };
  // Load the implementation (and everything it requires) before the baseline.
  if (implName === 'winsock') require('../dist/index');
  const baseline = await memory();

  if (role === 'server') {
    let accepted = 0;
    let done: () => void = noop;
    const all = new Promise<void>((r) => {
      done = r;
    });
    const server = await impl.listen({
      condition: true,
      onConnection(s) {
        hold(s);
        if (++accepted === n) done();
      },
    });
    send({ type: 'listening', port: server.port });
    await all;
  } else {
    const port = Number(portArg);
    // A bounded number of connects in flight: a burst of 10k would overflow the kernel's SYN queue.
    const inFlight = 100;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        next++;
        hold(await impl.connect(port));
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  }
  const m = await memory();
  send({
    type: 'memory',
    baselineRss: baseline.rss,
    rss: m.rss,
    privateRss: m.privateRss,
    heapUsed: m.heapUsed,
    external: m.external,
    connections: held.length,
  });
  // Hold every socket until the parent kills this process.
  setInterval(noop, 1 << 30);
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
});
