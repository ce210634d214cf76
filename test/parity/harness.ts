/**
 * The parity harness (issue 20): one scenario script runs on a subject — a
 * module with net's createServer and connect: node:net itself, or
 * `winsock2/net` on a provider — and records what a program could observe
 * (the events each actor emits, in order; callback calls; return values;
 * properties) under named keys. Two traces are then compared key by key.
 *
 * Events are recorded per actor (client, peer, server), never interleaved
 * across actors: their relative order depends on scheduling even on node:net
 * alone, while the order within one object is what net defines.
 */
import type { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { isDeepStrictEqual, inspect } from 'node:util';

/** What a scenario needs from the module under test: net's two factories, options-object forms. */
export interface NetLike {
  createServer(options: net.ServerOpts, listener?: (socket: net.Socket) => void): net.Server;
  connect(options: net.NetConnectOpts, listener?: () => void): net.Socket;
}

export interface Subject {
  /** 'net', or 'winsock2/net <provider>'. */
  readonly name: string;
  readonly net: NetLike;
}

export const NODE_NET: Subject = { name: 'net', net };

/** key -> recorded value; events of an actor live under `<actor>.events`. */
export type Trace = Map<string, unknown>;

/** Events every socket records unless a scenario says otherwise (no 'data': chunking is the kernel's). */
export const SOCKET_EVENTS = ['lookup', 'connect', 'ready', 'timeout', 'end', 'finish', 'error', 'close'] as const;
export const SERVER_EVENTS = ['listening', 'connection', 'drop', 'error', 'close'] as const;

/** An event as a program sees it, without what varies from run to run (ports, fds). */
function describeEvent(event: string, args: unknown[]): string {
  const [first] = args;
  if (event === 'error') return `error(${errorName(first)})`;
  if (event === 'close' && typeof first === 'boolean') return `close(${first})`;
  return event;
}

/** An error as code (net's codes) or, where there is none, its name and message. */
export function errorName(err: unknown): string {
  if (err === null || err === undefined) return String(err);
  if (typeof err !== 'object') return `non-error ${typeof err === 'string' ? err : typeof err}`;
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code;
  return `${String(e.name)}: ${String(e.message)}`;
}

export class Ctx {
  readonly trace: Trace = new Map();
  private readonly sockets = new Set<net.Socket>();
  private readonly servers = new Set<net.Server>();
  private readonly cleanups: (() => unknown)[] = [];
  private stopped = false;

  constructor(readonly subject: Subject) {}

  get net(): NetLike {
    return this.subject.net;
  }

  /** Records `value` under `key` (keys are unique within a scenario: a second record is a script bug). */
  rec(key: string, value: unknown): void {
    if (this.stopped) return;
    if (this.trace.has(key)) throw new Error(`parity: ${key} recorded twice`);
    this.trace.set(key, value);
  }

  /** Appends `entry` to `<actor>.events`: an event, or a step the script took between events. */
  mark(actor: string, entry: string): void {
    // What happens after the script returned (the cleanup's destroys) is not part of the observation.
    if (this.stopped) return;
    const key = `${actor}.events`;
    const list = (this.trace.get(key) as string[] | undefined) ?? [];
    list.push(entry);
    this.trace.set(key, list);
  }

  /** Records each of `events` that `emitter` emits, in order, under `<actor>.events`. */
  watch(actor: string, emitter: EventEmitter, events: readonly string[] = SOCKET_EVENTS): void {
    if (!this.trace.has(`${actor}.events`)) this.trace.set(`${actor}.events`, []);
    for (const event of events) {
      // An 'error' listener changes behaviour (no throw): every scenario watches errors on purpose.
      emitter.on(event, (...args: unknown[]) => this.mark(actor, describeEvent(event, args)));
    }
  }

  /** A server from the subject, watched as `actor`, destroyed after the scenario. */
  server(options: net.ServerOpts = {}, actor = 'server', listener?: (socket: net.Socket) => void): net.Server {
    const server = this.net.createServer(options, listener);
    this.servers.add(server);
    server.on('connection', (s: net.Socket) => this.sockets.add(s));
    this.watch(actor, server, SERVER_EVENTS);
    return server;
  }

  /** listen(0, '127.0.0.1') (or `host`) through net's positional form; resolves the port. */
  async listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as net.AddressInfo).port;
  }

  /** A client socket from the subject, watched as `actor`, destroyed after the scenario. */
  connect(
    options: net.NetConnectOpts,
    actor = 'client',
    events: readonly string[] = SOCKET_EVENTS,
    listener?: () => void,
  ): net.Socket {
    const socket = this.net.connect(options, listener);
    this.own(socket);
    this.watch(actor, socket, events);
    return socket;
  }

  own<T extends net.Socket>(socket: T): T {
    this.sockets.add(socket);
    return socket;
  }

  /** The server's socket for the next connection, watched as `actor`. */
  accepted(server: net.Server, actor = 'peer', events: readonly string[] = SOCKET_EVENTS): Promise<net.Socket> {
    return new Promise((resolve) => {
      server.once('connection', (s: net.Socket) => {
        this.watch(actor, s, events);
        resolve(s);
      });
    });
  }

  /** Ends the observation: later events are not recorded. */
  stop(): void {
    this.stopped = true;
  }

  onCleanup(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    this.stopped = true;
    for (const fn of this.cleanups.splice(0).reverse()) await fn();
    for (const s of this.sockets) s.destroy();
    await Promise.all(
      [...this.servers].map(
        (s) =>
          new Promise<void>((resolve) => {
            if (!s.listening) {
              resolve();
              return;
            }
            s.close(() => resolve());
          }),
      ),
    );
  }
}

/** Resolves when `emitter` emits `event`, or false after `ms` (a hang guard: the trace shows what did not happen). */
export function seen(emitter: EventEmitter, event: string, ms = 4000): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      resolve(false);
    }, ms);
    const on = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    emitter.once(event, on);
  });
}

/** Polls `predicate` until true, or false after `ms` (a hang guard, never a timing assertion). */
export async function until(predicate: () => boolean, ms = 4000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** A few turns of the event loop: lets anything already due happen before the script checks it did not. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 30));
}

/** Runs `promise`, or resolves `fallback` after `ms` (what a hung operation is recorded as). */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export interface Scenario {
  readonly name: string;
  run(c: Ctx): Promise<void>;
}

/** Runs one scenario on one subject; a scenario that throws or hangs records that as `outcome`. */
export async function runScenario(scenario: Scenario, subject: Subject, ms = 10_000): Promise<Trace> {
  const c = new Ctx(subject);
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      scenario.run(c).then(
        () => 'completed',
        (err: unknown) => `threw ${errorName(err)}`,
      ),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('hung'), ms);
      }),
    ]);
    c.rec('outcome', outcome);
    c.stop();
  } finally {
    clearTimeout(timer);
    await c.cleanup();
  }
  return c.trace;
}

export interface Difference {
  readonly key: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

/** Every key whose value differs between the two traces (a key missing on one side differs). */
export function compare(expected: Trace, actual: Trace): Difference[] {
  const keys = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  return keys
    .filter((k) => !isDeepStrictEqual(expected.get(k), actual.get(k)))
    .map((key) => ({ key, expected: expected.get(key), actual: actual.get(key) }));
}

export function formatDifference(d: Difference): string {
  const show = (v: unknown): string => inspect(v, { depth: 4, breakLength: Infinity });
  return `${d.key}: net ${show(d.expected)}, subject ${show(d.actual)}`;
}
