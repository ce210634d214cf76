/**
 * The benchmark cases. Each `run` measures one side (the subject or the
 * baseline) once and returns its metrics; the harness pairs, orders and
 * repeats runs. A case body is the same code for both sides: only the Impl
 * underneath differs.
 *
 * Nothing here asserts a time. A run fails only when the work itself went
 * wrong (bytes or totals that do not add up, a leaked socket).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Impl, ImplName, ProviderName } from './loopback';
import type * as LinesModule from '../dist/demo/lines';
import type * as RandomModule from '../dist/demo/random';
import { GATE_CASES } from './gate';

export type Better = 'higher' | 'lower';

/** A target: on the subject/baseline ratio of medians, or on the subject's median itself. */
export interface Target {
  readonly on: 'ratio' | 'value';
  readonly op: '>=' | '<=';
  readonly value: number;
}

export interface Metric {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly better: Better;
  /**
   * Targets by pairing, `<provider>/<baseline>`: each provider is judged
   * against its own anchor. `emulated` (plain TCP over node:net) against
   * node:net itself; `framed` against the floor of its design (a hand-written
   * hello/verdict and framing, bench/floor-impl.ts), since no framed design
   * can reach net's connection rate; `native` against node.exe's net under
   * Wine. Any other pairing (framed against net, a stand-in against net,
   * another build) is reported without a target.
   */
  readonly targets?: Readonly<Partial<Record<Pairing, Target>>>;
}

export type Pairing = 'emulated/net' | 'framed/floor' | 'native/net';

export interface RunContext {
  readonly provider: ProviderName;
  readonly quick: boolean;
}

export interface Case {
  readonly id: string;
  readonly title: string;
  readonly metrics: readonly Metric[];
  /** The workload of one run, for the table and the JSON. */
  params(quick: boolean): Record<string, number>;
  run(impl: Impl, params: Record<string, number>, ctx: RunContext): Promise<Record<string, number>>;
  /** Pairs this case runs when --pairs is not given (memory runs are slow and quiet). */
  readonly pairs?: (quick: boolean) => number;
  /** Warm-up pairs when --warmup is not given (default 3, quick 1). */
  readonly warmup?: (quick: boolean) => number;
  /** False when the case needs child processes (not under Wine). */
  readonly portable: boolean;
  /**
   * The case starts its own child processes for the sides' servers (idle,
   * the gate cases): run.ts then runs it in its process rather than giving
   * each side a process of its own (side.ts).
   */
  readonly ownProcesses?: boolean;
  /**
   * Whether `--subject floor` and `--subject passthrough` can run it: they
   * carry no caller or disconnect data and live in this process
   * (bench/floor-impl.ts).
   */
  readonly floor: boolean;
  /** Needs caller and disconnect data: winsock2 runs it on the framed provider only. */
  readonly callerData?: boolean;
  /** Its client is a plain TCP program (wrk): winsock2 runs it on the providers whose wire is plain TCP (not framed). */
  readonly plainTcpClient?: boolean;
}

const atLeast = (value: number): Target => ({ on: 'ratio', op: '>=', value });
const atMost = (value: number): Target => ({ on: 'ratio', op: '<=', value });

const MiB = 1024 * 1024;
const noop = (): void => undefined;

function now(): number {
  return performance.now();
}

/**
 * Waits for conditions that socket events make true: `until` re-checks only
 * when `notify()` is called (from those events), never by polling — a
 * setImmediate spin costs a loop turn per check, and under Wine pinned to one
 * CPU it starves wineserver (conn-seq ran 10x slower that way).
 */
class Signal {
  private waiters: { check(): boolean }[] = [];

  notify(): void {
    if (this.waiters.length > 0) this.waiters = this.waiters.filter((w) => !w.check());
  }

  /** Resolves when `predicate` holds; rejects after `ms` (a hang guard, not a timing). */
  until(predicate: () => boolean, what: string, ms = 60_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`benchmark stalled: ${what}`));
      }, ms);
      const waiter = {
        check: (): boolean => {
          if (!predicate()) return false;
          clearTimeout(timer);
          resolve();
          return true;
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** Every socket of the run closed: a run never leaves work behind for the next one. */
async function drained(impl: Impl): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (impl.handleCount() > 0) {
    if (Date.now() > deadline) throw new Error(`${impl.name}: ${impl.handleCount()} sockets still open after the run`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

// ---- 1. bulk throughput one way ----

const bulk: Case = {
  id: 'bulk',
  title: 'bulk one way',
  metrics: [
    {
      id: 'bulk',
      title: 'bulk throughput, one way',
      unit: 'MiB/s',
      better: 'higher',
      targets: { 'emulated/net': atLeast(0.97), 'framed/floor': atLeast(1.0), 'native/net': atLeast(1.0) },
    },
  ],
  params: (quick) => ({ bytes: (quick ? 16 : 256) * MiB, writeSize: 64 * 1024 }),
  portable: true,
  floor: true,
  async run(impl, { bytes, writeSize }) {
    const total = bytes as number;
    const size = writeSize as number;
    let received = 0;
    let serverSocket: Duplex | null = null;
    const accepted = new Signal();
    let finish: () => void = noop;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const server = await impl.listen({
      condition: false,
      onConnection(s) {
        serverSocket = s;
        accepted.notify();
        s.on('error', noop);
        s.on('data', (d: Buffer) => {
          received += d.length;
          if (received >= total) finish();
        });
      },
    });
    const client = await impl.connect(server.port);
    client.on('error', noop);
    await accepted.until(() => serverSocket !== null, 'bulk: accept');
    const chunk = Buffer.alloc(size, 0x61);
    const writes = Math.ceil(total / size);
    const t0 = now();
    for (let i = 0; i < writes; i++) {
      if (!client.write(chunk)) await once(client, 'drain');
    }
    await finished;
    const ms = now() - t0;
    if (received !== writes * size) throw new Error(`bulk: received ${received} bytes, sent ${writes * size}`);
    client.destroy();
    (serverSocket as Duplex | null)?.destroy();
    await server.close();
    await drained(impl);
    return { bulk: total / MiB / (ms / 1000) };
  },
};

// ---- 2. 1-byte ping-pong latency ----

const pingpong: Case = {
  id: 'pingpong',
  title: '1-byte ping-pong',
  metrics: [
    {
      id: 'pingpong',
      title: 'ping-pong round trip',
      unit: 'µs',
      better: 'lower',
      targets: { 'emulated/net': atMost(1.05), 'framed/floor': atMost(1.0) },
    },
  ],
  params: (quick) => ({ roundTrips: quick ? 1000 : 10_000 }),
  portable: true,
  floor: true,
  async run(impl, { roundTrips }) {
    const rounds = roundTrips as number;
    let serverSocket: Duplex | null = null;
    const accepted = new Signal();
    const server = await impl.listen({
      condition: false,
      onConnection(s) {
        serverSocket = s;
        accepted.notify();
        s.on('error', noop);
        s.on('data', (d: Buffer) => {
          s.write(d);
        });
      },
    });
    const client = await impl.connect(server.port);
    client.on('error', noop);
    await accepted.until(() => serverSocket !== null, 'ping-pong: accept');
    const one = Buffer.from([0x70]);
    let n = 0;
    const t0 = now();
    await new Promise<void>((resolve) => {
      client.on('data', (d: Buffer) => {
        n += d.length;
        if (n >= rounds) resolve();
        else client.write(one);
      });
      client.write(one);
    });
    const ms = now() - t0;
    if (n !== rounds) throw new Error(`ping-pong: ${n} bytes back for ${rounds} round trips`);
    client.destroy();
    (serverSocket as Duplex | null)?.destroy();
    await server.close();
    await drained(impl);
    return { pingpong: (ms * 1000) / rounds };
  },
};

// ---- 3. connection rate: connect → condition → accept → close ----

/**
 * A server that runs the condition, accepts, and closes its side when the
 * client hangs up. `accepted` / `closed` count server-side sockets.
 */
async function acceptingServer(
  impl: Impl,
): Promise<{ port: number; close(): Promise<void>; accepted(): number; closed(): number; signal: Signal }> {
  let accepted = 0;
  let closed = 0;
  const signal = new Signal();
  const server = await impl.listen({
    condition: true,
    onConnection(s) {
      accepted++;
      signal.notify();
      s.on('error', noop);
      s.once('close', () => {
        closed++;
        signal.notify();
      });
      s.on('end', () => s.destroy());
      s.resume();
    },
  });
  return { port: server.port, close: () => server.close(), accepted: () => accepted, closed: () => closed, signal };
}

const connSequential: Case = {
  id: 'conn-seq',
  title: 'connections, sequential',
  metrics: [
    {
      id: 'conn-seq',
      title: 'connection rate, sequential',
      unit: 'conn/s',
      better: 'higher',
      // Accept rate with a JS condition (the net twin runs the same check).
      targets: { 'emulated/net': atLeast(0.9), 'framed/floor': atLeast(0.95), 'native/net': atLeast(0.9) },
    },
  ],
  params: (quick) => ({ connections: quick ? 200 : 2000 }),
  portable: true,
  floor: true,
  async run(impl, { connections }) {
    const n = connections as number;
    const server = await acceptingServer(impl);
    const t0 = now();
    for (let i = 0; i < n; i++) {
      const c = await impl.connect(server.port);
      c.on('error', noop);
      // A cycle is complete when the server side has accepted it too (net's
      // client 'connect' comes from the kernel, before the server's accept).
      if (server.accepted() <= i) await server.signal.until(() => server.accepted() > i, 'sequential: accept');
      c.destroy();
    }
    await server.signal.until(() => server.closed() >= n, 'sequential: server-side close');
    const ms = now() - t0;
    await server.close();
    await drained(impl);
    return { 'conn-seq': n / (ms / 1000) };
  },
};

const connConcurrent: Case = {
  id: 'conn-conc',
  title: 'connections, concurrent',
  metrics: [
    {
      id: 'conn-conc',
      title: 'connection rate, concurrent',
      unit: 'conn/s',
      better: 'higher',
      targets: { 'emulated/net': atLeast(0.9), 'framed/floor': atLeast(0.95) },
    },
  ],
  params: (quick) => ({ concurrency: quick ? 50 : 200, waves: quick ? 1 : 5 }),
  portable: true,
  floor: true,
  async run(impl, { concurrency, waves }) {
    const width = concurrency as number;
    const rounds = waves as number;
    const server = await acceptingServer(impl);
    const one = async (): Promise<void> => {
      const c = await impl.connect(server.port);
      c.on('error', noop);
      c.destroy();
    };
    const t0 = now();
    for (let w = 1; w <= rounds; w++) {
      const wave: Promise<void>[] = [];
      for (let i = 0; i < width; i++) wave.push(one());
      await Promise.all(wave);
      await server.signal.until(() => server.closed() >= w * width, 'concurrent: server-side close');
    }
    const ms = now() - t0;
    await server.close();
    await drained(impl);
    return { 'conn-conc': (width * rounds) / (ms / 1000) };
  },
};

// ---- 4. memory of idle connections (child processes) ----

export interface IdleReport {
  type: 'memory';
  baselineRss: number;
  rss: number;
  /** RssAnon + RssShmem (Linux): resident memory not shared with other processes. */
  privateRss: number;
  heapUsed: number;
  external: number;
  connections: number;
}

interface ChildMessage {
  type: 'listening' | 'memory' | 'error';
  port?: number;
  message?: string;
}

/** One side of the idle-connections case: a child process that reports its memory over IPC. */
function idleChild(role: 'server' | 'client', impl: ImplName, provider: ProviderName, n: number, port = 0) {
  const script = path.join(__dirname, 'idle.js');
  const child = fork(script, [role, impl, provider, String(n), String(port)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: ChildMessage[] = [];
  const waiters: (() => void)[] = [];
  let exited: string | null = null;
  child.on('message', (m: ChildMessage) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  child.on('exit', (code, signal) => {
    exited = `exited (${code ?? signal})`;
    for (const w of waiters.splice(0)) w();
  });
  const next = async (type: ChildMessage['type'], ms: number): Promise<ChildMessage> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = messages.findIndex((m) => m.type === type || m.type === 'error');
      if (i >= 0) {
        const m = messages.splice(i, 1)[0] as ChildMessage;
        if (m.type === 'error') throw new Error(`idle ${role} (${impl}): ${m.message}`);
        return m;
      }
      if (exited) throw new Error(`idle ${role} (${impl}) ${exited} before '${type}'`);
      if (Date.now() > deadline) throw new Error(`idle ${role} (${impl}): no '${type}' within ${ms} ms`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  const stop = async (): Promise<void> => {
    if (exited) return;
    const gone = once(child, 'exit');
    child.kill('SIGTERM');
    await gone;
  };
  return { next, stop };
}

const idle: Case = {
  id: 'idle',
  title: 'idle connections',
  metrics: [
    {
      id: 'idle-rss-server',
      title: 'idle connections: server RSS',
      unit: 'MiB',
      better: 'lower',
      targets: { 'emulated/net': atMost(1.2) },
    },
    {
      id: 'idle-rss-client',
      title: 'idle connections: client RSS',
      unit: 'MiB',
      better: 'lower',
      targets: { 'emulated/net': atMost(1.2) },
    },
    {
      id: 'idle-private-server',
      title: 'idle connections: server private RSS (anon + shmem)',
      unit: 'MiB',
      better: 'lower',
    },
    {
      id: 'idle-private-client',
      title: 'idle connections: client private RSS (anon + shmem)',
      unit: 'MiB',
      better: 'lower',
    },
    { id: 'idle-heap-server', title: 'idle connections: server heap', unit: 'MiB', better: 'lower' },
    { id: 'idle-heap-client', title: 'idle connections: client heap', unit: 'MiB', better: 'lower' },
    {
      id: 'idle-conn-bytes',
      title: 'idle connections: RSS per connection (server + client)',
      unit: 'KiB',
      better: 'lower',
    },
  ],
  params: (quick) => ({ connections: quick ? 200 : 10_000 }),
  pairs: (quick) => (quick ? 1 : 3),
  // Fresh processes every run: there is no JIT state to warm, one pair warms the OS side.
  warmup: () => 1,
  portable: false,
  ownProcesses: true,
  floor: false,
  async run(impl, { connections }, ctx) {
    const n = connections as number;
    // Server and client in separate processes: 10k connections are 20k fds
    // when both ends live in one process, and each RSS is clean of the other side.
    const server = idleChild('server', impl.name, ctx.provider, n);
    let client: ReturnType<typeof idleChild> | null = null;
    try {
      const { port } = await server.next('listening', 30_000);
      client = idleChild('client', impl.name, ctx.provider, n, port);
      const c = (await client.next('memory', 180_000)) as unknown as IdleReport;
      const s = (await server.next('memory', 60_000)) as unknown as IdleReport;
      return {
        'idle-rss-server': s.rss / MiB,
        'idle-rss-client': c.rss / MiB,
        'idle-private-server': s.privateRss / MiB,
        'idle-private-client': c.privateRss / MiB,
        'idle-heap-server': s.heapUsed / MiB,
        'idle-heap-client': c.heapUsed / MiB,
        'idle-conn-bytes': (s.rss - s.baselineRss + c.rss - c.baselineRss) / n / 1024,
      };
    } finally {
      await client?.stop();
      await server.stop();
    }
  },
};

// ---- 5. the seed scenario ----

/** The demo's seeded PRNG (lib/demo/random.ts): the same amounts on both sides of a pair. */
function random(seed: number): () => number {
  // Loaded from the build like the library itself (bench/ compiles on its own, against dist/).
  const { seededRandom } = require('../dist/demo/random') as typeof RandomModule;
  return seededRandom(seed);
}

/** The demo's line splitter (lib/demo/lines.ts), from the build for the same reason. */
function lines(s: Duplex, onLine: (line: string) => void): void {
  const { onLines } = require('../dist/demo/lines') as typeof LinesModule;
  onLines(s, onLine);
}

/**
 * Clients connect one after another (as `npm run demo` does) with their name
 * as caller data, send their transactions, and hang up with their count as
 * disconnect data; the server answers every hang-up with the running grand
 * total. The net twin does the same over plain TCP: the name, the welcome,
 * the count and the total travel in band as lines.
 */
const seed: Case = {
  id: 'seed',
  title: 'seed scenario',
  metrics: [
    {
      id: 'seed',
      title: 'seed scenario (clients, 100 tx + disconnect data each)',
      unit: 'clients/s',
      better: 'higher',
    },
  ],
  params: (quick) => ({ clients: quick ? 50 : 1000, transactions: 100 }),
  portable: true,
  floor: false,
  callerData: true,
  async run(impl, { clients, transactions }) {
    const nClients = clients as number;
    const perClient = transactions as number;
    const inBand = impl.name === 'net';
    let grandTotal = 0;
    let countTotal = 0;
    let served = 0;
    const signal = new Signal();

    const serve = (s: Duplex): void => {
      s.on('error', noop);
      s.once('close', () => {
        served++;
        signal.notify();
      });
      lines(s, (line) => {
        if (line.startsWith('tx:')) grandTotal += Number(line.slice(3));
        else if (line.startsWith('hello ')) s.write(`welcome ${line.slice(6)}\n`);
        else if (line.startsWith('count=')) countTotal += Number(line.slice(6));
      });
      s.once('end', () => {
        void (async () => {
          if (inBand) {
            await new Promise<void>((resolve) => {
              s.end(`total=${grandTotal}\n`, () => resolve());
            });
          } else {
            const count = await impl.recvDisconnect(s);
            countTotal += Number(count?.replace(/^count=/, '') ?? 0);
            await impl.sendDisconnect(s, `total=${grandTotal}`);
          }
          s.destroy();
        })().catch((err: unknown) => {
          s.destroy(err instanceof Error ? err : new Error(String(err)));
        });
      });
    };
    const server = await impl.listen({ condition: true, onConnection: serve });
    const rand = random(42);
    let amountSent = 0;
    let lastTotal = '';
    const t0 = now();
    for (let i = 1; i <= nClients; i++) {
      const name = `client-${i}`;
      const s = await impl.connect(server.port, inBand ? undefined : name);
      s.on('error', noop);
      let welcome: string | null = impl.calleeData(s);
      let total: string | null = null;
      let onWelcome: () => void = noop;
      const welcomed = new Promise<void>((resolve) => {
        onWelcome = resolve;
      });
      lines(s, (line) => {
        if (line.startsWith('welcome ')) {
          welcome = line;
          onWelcome();
        } else if (line.startsWith('total=')) total = line;
      });
      const ended = once(s, 'end');
      if (inBand) {
        s.write(`hello ${name}\n`);
        await welcomed; // the twin of connect() resolving with the callee data
      }
      // One corked burst on both sides, so both hand the kernel the same one
      // write. Uncorked, winsock2's Duplex queued writes 2..100 behind the
      // first (its writes complete a tick later) and sent them as one frame,
      // while net.Socket made 100 write calls: the row then measured that
      // difference in buffering (winsock2 at 1.7x net), not the transport.
      s.cork();
      for (let t = 0; t < perClient; t++) {
        const amount = 1 + Math.floor(rand() * 100);
        amountSent += amount;
        s.write(`tx:${amount}\n`);
      }
      s.uncork();
      if (inBand) {
        s.end(`count=${perClient}\n`);
        await ended;
      } else {
        await impl.sendDisconnect(s, `count=${perClient}`);
        await ended;
        total = await impl.recvDisconnect(s);
      }
      s.destroy();
      if (welcome !== `welcome ${name}`) throw new Error(`seed: ${name} got welcome ${JSON.stringify(welcome)}`);
      if (total === null) throw new Error(`seed: ${name} got no total`);
      lastTotal = total;
    }
    const ms = now() - t0;
    await signal.until(() => served >= nClients, 'seed: server-side close');
    await server.close();
    await drained(impl);
    if (grandTotal !== amountSent) throw new Error(`seed: server counted ${grandTotal}, clients sent ${amountSent}`);
    if (countTotal !== nClients * perClient)
      throw new Error(`seed: counts add up to ${countTotal}, not ${nClients * perClient}`);
    if (lastTotal !== `total=${amountSent}`)
      throw new Error(`seed: last client saw ${lastTotal}, expected total=${amountSent}`);
    return { seed: nClients / (ms / 1000) };
  },
};

export const CASES: readonly Case[] = [bulk, pingpong, connSequential, connConcurrent, idle, seed, ...GATE_CASES];
