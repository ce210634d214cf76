/**
 * `npm run soak`: thousands of connections through one server, minutes long,
 * not part of `npm test`.
 *
 * Every connection carries random caller data, a random-size payload each way
 * written in random chunk sizes, and the seed teardown: each side hangs up
 * with disconnect data holding the SHA-256 and length of what it sent, and the
 * other side checks them against what it received. Every received chunk is
 * also compared, at its offset, with the bytes the sender generated, so a
 * lost, duplicated or reordered byte is caught where it happens, aborted
 * connections included (whatever arrived must be an exact prefix).
 * Some callers are refused by the condition, some decided asynchronously,
 * some abort while deferred, and some connections are reset (resetAndDestroy)
 * by either side mid-stream.
 *
 * At the end: 0 bytes lost or duplicated, 0 unexpected errors, the provider's
 * handle count back to where it started, and RSS flat (after GC).
 *
 * It adapts to the provider's capabilities. Where there is no connect or
 * disconnect data (the native provider over TCP/IP), the same checks travel
 * in band: the server says hello ("H\n") once accepted, then the client sends
 * its plan as a first line; each side ends its bytes with a summary line
 * (SHA-256 and length) before its FIN. The condition cannot read the plan
 * then, so the server draws the verdicts itself and the client counts the
 * refusals it saw (a refused connect, or, under Wine, which completes the
 * handshake before the condition runs, an end before the hello): both
 * counts must agree.
 *
 *   npm run soak
 *   SOAK_CONNECTIONS=20000 SOAK_CONCURRENCY=128 SOAK_MAX_PAYLOAD=4194304 npm run soak
 *   SOAK_PROVIDER=framed SOAK_MODE=message SOAK_SEED=7 npm run soak
 *   SOAK_IN_BAND=1 npm run soak   # in band even where the provider carries the data
 *   npm run soak:wine             # the native provider under Wine (in band)
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { connect } from '../../lib/connect';
import { WinsockError } from '../../lib/errors';
import { resolveProvider } from '../../lib/providers';
import { createServer } from '../../lib/server';
import type { WinsockSocket } from '../../lib/socket';
import type { ConnectionRequest, Decision, ProviderName, SocketMode } from '../../lib/types';

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};
const CONNECTIONS = env('SOAK_CONNECTIONS', 150_000);
const CONCURRENCY = env('SOAK_CONCURRENCY', 64);
const MAX_PAYLOAD = env('SOAK_MAX_PAYLOAD', 1 << 20);
const ABORT_RATE = env('SOAK_ABORT_RATE', 0.08);
const REJECT_RATE = env('SOAK_REJECT_RATE', 0.04);
const DEFER_RATE = env('SOAK_DEFER_RATE', 0.2);
const WITHDRAW_RATE = env('SOAK_WITHDRAW_RATE', 0.02);
const PROVIDER = (process.env['SOAK_PROVIDER'] ?? 'framed') as ProviderName;
const MODE = (process.env['SOAK_MODE'] ?? 'stream') as SocketMode;
let seed = env('SOAK_SEED', Date.now() % 0x7fff_ffff) >>> 0 || 1;
const FIRST_SEED = seed;
/** Plan and summaries in band: the provider carries no connect or disconnect data. */
const caps = resolveProvider(PROVIDER).capabilities(MODE);
const IN_BAND = process.env['SOAK_IN_BAND'] === '1' || !caps.connectData || !caps.disconnectData; // SOAK_IN_BAND=1 forces it
const HELLO = Buffer.from('H\n');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** xorshift32: deterministic plans from SOAK_SEED. */
function rand(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x1_0000_0000;
}
/** Log-uniform sizes: as many small payloads as large ones. */
function size(max: number): number {
  return rand() < 0.05 ? 0 : Math.min(max, Math.floor(Math.exp(rand() * Math.log(max + 1))));
}

/**
 * The bytes of stream `key` at any offset: a window into a random pool of
 * prime length, so any offset error (loss, duplication, reordering) shows as a
 * mismatch, and a receiver can check a chunk without keeping the stream.
 */
const POOL = randomBytes((4 << 20) + 7);
function expected(key: number, offset: number, n: number): Buffer {
  const start = (key * 104_729 + offset) % POOL.length;
  if (start + n <= POOL.length) return POOL.subarray(start, start + n);
  return Buffer.concat([POOL.subarray(start), expected(key, offset + POOL.length - start, n - (POOL.length - start))]);
}

type Abort = 'none' | 'client-reset' | 'server-reset' | 'withdraw';

interface Plan {
  id: number;
  upload: number;
  download: number;
  verdict: 'accept' | 'reject' | 'defer';
  abort: Abort;
  /** For resets: after how many bytes the resetting side pulls the plug. */
  abortAt: number;
  padding: number;
}

function plan(id: number): Plan {
  const r = rand();
  // In band the server draws the verdict (its condition cannot read the plan).
  const verdict = IN_BAND ? 'accept' : r < REJECT_RATE ? 'reject' : r < REJECT_RATE + DEFER_RATE ? 'defer' : 'accept';
  const a = rand();
  const abort: Abort =
    verdict === 'reject'
      ? 'none'
      : a < ABORT_RATE / 2
        ? 'client-reset'
        : a < ABORT_RATE
          ? 'server-reset'
          : verdict === 'defer' && a < ABORT_RATE + WITHDRAW_RATE * 10
            ? 'withdraw'
            : // In band the client does not know whether it will be deferred: some abort anyway.
              IN_BAND && a < ABORT_RATE + WITHDRAW_RATE
              ? 'withdraw'
              : 'none';
  const upload = size(MAX_PAYLOAD);
  const download = size(MAX_PAYLOAD);
  return {
    id,
    upload,
    download,
    verdict,
    abort,
    abortAt: Math.floor(rand() * (Math.max(upload, download) + 1)),
    padding: size(2048),
  };
}

const stats = {
  attempted: 0,
  accepted: 0,
  refusedAsPlanned: 0,
  withdrawnAsPlanned: 0,
  completed: 0,
  resets: 0,
  /** In band: verdicts the server drew, refusals the clients saw. */
  serverRejected: 0,
  serverDeferred: 0,
  serverNoPlan: 0,
  bytesUp: 0,
  bytesDown: 0,
  checkedUp: 0,
  checkedDown: 0,
  disconnectDataChecked: 0,
  mismatches: 0,
  unexpected: 0,
};
const problems: string[] = [];
function problem(msg: string): void {
  stats.unexpected++;
  if (problems.length < 20) problems.push(msg);
}
function mismatch(msg: string): void {
  stats.mismatches++;
  if (problems.length < 20) problems.push(`MISMATCH ${msg}`);
}

const RESET_CODES = new Set(['WSAECONNRESET', 'WSAECONNABORTED', 'WSAENOTSOCK', 'WSAESHUTDOWN', 'WSAENOTCONN']);

/** Checks every chunk against the sender's bytes at its offset; hashes what arrived. */
class Receiver {
  offset = 0;
  private readonly hash = createHash('sha256');
  constructor(
    private readonly key: number,
    private readonly what: string,
  ) {}
  take(chunk: Buffer): void {
    if (!chunk.equals(expected(this.key, this.offset, chunk.length)))
      mismatch(`${this.what}: bytes at ${this.offset}..${this.offset + chunk.length} differ from what was sent`);
    this.offset += chunk.length;
    this.hash.update(chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Writes `total` bytes of stream `key` in random chunk sizes, honouring back-pressure; stops early at `stopAt` (then calls onStop). */
async function send(
  socket: WinsockSocket,
  key: number,
  total: number,
  stopAt: number | null,
  onStop: () => void,
): Promise<string> {
  const hash = createHash('sha256');
  let off = 0;
  while (off < total) {
    if (socket.destroyed) return '';
    if (stopAt !== null && off >= stopAt) {
      onStop();
      return '';
    }
    const n = Math.min(total - off, 1 + Math.floor(rand() * (MODE === 'message' ? 65536 : 256 * 1024)));
    const chunk = expected(key, off, n);
    hash.update(chunk);
    off += n;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  if (stopAt !== null && off >= stopAt) {
    onStop();
    return '';
  }
  return hash.digest('hex');
}

function encodeSummary(sha: string, length: number): Buffer {
  return Buffer.from(JSON.stringify({ sha, length }));
}
function decodeSummary(data: Buffer | null): { sha: string; length: number } | null {
  if (!data) return null;
  try {
    return JSON.parse(data.toString()) as { sha: string; length: number };
  } catch {
    return null;
  }
}

/** Resolves when the socket is closed for good, with the error code it ended with (or 'end'). */
function settled(socket: WinsockSocket): Promise<string> {
  return new Promise((resolve) => {
    let how = 'end';
    // Message mode reports the peer's graceful shutdown as WSAEDISCON after 'end' (SPEC): that is an end.
    socket.on('error', (e: WinsockError) => {
      if (e.code !== 'WSAEDISCON') how = e.code ?? String(e);
    });
    socket.once('close', () => resolve(how));
  });
}

/**
 * In band: splits what a socket receives into a line (the plan, or the
 * hello), `payload` bytes checked by a Receiver, and the rest (the summary
 * line) until the end.
 */
class InBand {
  private head = Buffer.alloc(0);
  headLine: string | null = null;
  rx: Receiver | null = null;
  payload = 0;
  tail = Buffer.alloc(0);
  constructor(
    private readonly headLength: number | null,
    private readonly onHead: (line: string) => { key: number; payload: number; what: string },
  ) {}
  take(chunk: Buffer): number {
    let c = chunk;
    if (this.headLine === null) {
      this.head = Buffer.concat([this.head, c]);
      const end = this.headLength ?? this.head.indexOf(0x0a) + 1;
      if (end <= 0 || this.head.length < end) return 0;
      this.headLine = this.head.subarray(0, end).toString();
      c = this.head.subarray(end);
      const h = this.onHead(this.headLine);
      this.rx = new Receiver(h.key, h.what);
      this.payload = h.payload;
    }
    const rx = this.rx as Receiver;
    const n = Math.min(c.length, this.payload - rx.offset);
    if (n > 0) rx.take(c.subarray(0, n));
    if (c.length > n) this.tail = Buffer.concat([this.tail, c.subarray(n)]);
    return n;
  }
  /** The summary line, once the payload is complete and the end came. */
  summary(): { sha: string; length: number } | null {
    if (!this.rx || this.rx.offset !== this.payload) return null;
    return decodeSummary(this.tail);
  }
}

function serveInBand(socket: WinsockSocket): void {
  const closed = settled(socket);
  let info: Plan | null = null;
  let reset = false;
  let sent: Promise<string> = Promise.resolve('');
  const rx = new InBand(null, (line) => {
    info = JSON.parse(line) as Plan;
    // Full duplex: the reply goes out while the upload comes in.
    const p = info;
    sent = send(socket, p.id * 2 + 1, p.download, null, () => undefined);
    return { key: p.id * 2, payload: p.upload, what: `upload ${p.id}` };
  });
  socket.write(HELLO);
  socket.on('data', (c: Buffer) => {
    stats.bytesUp += rx.take(c);
    const p = info;
    if (p && p.abort === 'server-reset' && !reset && (rx.rx?.offset ?? 0) >= p.abortAt) {
      reset = true;
      stats.resets++;
      socket.resetAndDestroy();
    }
  });
  socket.once('end', () => {
    void (async () => {
      const p = info as Plan | null;
      const claim = rx.summary();
      if (!p) {
        // The caller left before its plan (a withdrawal that landed after the accept).
        stats.serverNoPlan++;
        socket.destroy();
        return;
      }
      if (!claim) {
        // A client reset can read as an end: then only the prefix check applies.
        if (p.abort !== 'client-reset') problem(`upload ${p.id} (${p.abort}): no summary in band`);
        socket.destroy();
        return;
      }
      stats.disconnectDataChecked++;
      const mine = (rx.rx as Receiver).digest();
      if (claim.length !== p.upload || claim.sha !== mine)
        mismatch(
          `upload ${p.id}: received ${p.upload} bytes sha ${mine.slice(0, 12)}, sender says ${claim.length} sha ${claim.sha.slice(0, 12)}`,
        );
      else stats.checkedUp++;
      const sha = await sent;
      if (socket.destroyed) return;
      socket.write(encodeSummary(sha, p.download));
      await socket.sendDisconnect(null).catch((e: WinsockError) => {
        if (!RESET_CODES.has(e.code)) problem(`server sendDisconnect ${p.id}: ${e.code}`);
      });
    })();
  });
  void closed.then((how) => {
    const p = info as Plan | null;
    if (how !== 'end' && !RESET_CODES.has(how)) problem(`server socket ${p?.id ?? '?'} ended with ${how}`);
    if (how !== 'end' && p?.abort === 'none')
      problem(`server socket ${p.id} failed with ${how} though nobody reset it`);
  });
}

async function clientInBand(port: number, p: Plan): Promise<void> {
  stats.attempted++;
  let socket: WinsockSocket;
  const controller = new AbortController();
  try {
    const attempt = connect({
      provider: PROVIDER,
      port,
      mode: MODE,
      allowHalfOpen: true,
      timeout: 60_000,
      signal: controller.signal,
    });
    if (p.abort === 'withdraw') setImmediate(() => controller.abort());
    socket = await attempt;
  } catch (err) {
    const e = err as WinsockError & { name: string };
    // Windows with SO_CONDITIONAL_ACCEPT: the server's CF_REJECT refuses the SYN.
    if (e.code === 'WSAECONNREFUSED') {
      stats.refusedAsPlanned++;
      return;
    }
    if (p.abort === 'withdraw' && e.name === 'AbortError') {
      stats.withdrawnAsPlanned++;
      return;
    }
    problem(`connect ${p.id}: ${e.code ?? e.name}: ${e.message}`);
    return;
  }
  const closed = settled(socket);
  let helloSeen = false;
  const rx = new InBand(HELLO.length, (line) => {
    if (line !== HELLO.toString()) mismatch(`download ${p.id}: hello ${JSON.stringify(line)}`);
    helloSeen = true;
    return { key: p.id * 2 + 1, payload: p.download, what: `download ${p.id}` };
  });
  const hello = new Promise<boolean>((resolve) => {
    socket.on('data', (c: Buffer) => {
      stats.bytesDown += rx.take(c);
      if (helloSeen) resolve(true);
    });
    socket.once('end', () => resolve(helloSeen));
    socket.once('close', () => resolve(helloSeen));
  });
  const ended = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
  if (!(await hello)) {
    // Under Wine the handshake completed before the condition refused it.
    stats.refusedAsPlanned++;
    socket.destroy();
    await closed;
    return;
  }
  if (p.abort === 'withdraw') {
    // Connected (and accepted) before the abort landed: leave before the plan.
    stats.withdrawnAsPlanned++;
    socket.destroy();
    await closed;
    return;
  }
  stats.accepted++;
  let reset = false;
  socket.write(`${JSON.stringify(p)}\n`);
  const sha = await send(socket, p.id * 2, p.upload, p.abort === 'client-reset' ? p.abortAt : null, () => {
    reset = true;
    stats.resets++;
    socket.resetAndDestroy();
  });
  if (!reset && !socket.destroyed) {
    socket.write(encodeSummary(sha, p.upload));
    await socket.sendDisconnect(null).catch((e: WinsockError) => {
      if (!RESET_CODES.has(e.code) || p.abort === 'none') problem(`client sendDisconnect ${p.id}: ${e.code}`);
    });
  }
  await ended;
  if (socket.readableEnded) {
    const claim = rx.summary();
    if (claim) {
      stats.disconnectDataChecked++;
      const mine = (rx.rx as Receiver).digest();
      if (claim.length !== p.download || claim.sha !== mine)
        mismatch(`download ${p.id}: received ${rx.rx?.offset ?? 0}, server says ${claim.length}`);
      else stats.checkedDown++;
    } else if (p.abort === 'none') {
      problem(`download ${p.id}: the server's end carried no summary`);
    }
  }
  socket.destroy();
  const how = await closed;
  if (p.abort === 'none') {
    if (how !== 'end') problem(`client socket ${p.id} ended with ${how}`);
    else stats.completed++;
  } else if (how !== 'end' && !RESET_CODES.has(how)) {
    problem(`client socket ${p.id} ended with ${how}`);
  }
}

// ---- the server side of one connection ----

function serve(socket: WinsockSocket): void {
  const info = JSON.parse(
    (socket.callerData as Buffer).subarray(0, (socket.callerData as Buffer).indexOf(0x0a)).toString(),
  ) as Plan;
  const upKey = info.id * 2;
  const downKey = info.id * 2 + 1;
  const rx = new Receiver(upKey, `upload ${info.id}`);
  const closed = settled(socket);
  let reset = false;
  socket.on('data', (c: Buffer) => {
    rx.take(c);
    stats.bytesUp += c.length;
    if (info.abort === 'server-reset' && !reset && rx.offset >= info.abortAt) {
      reset = true;
      stats.resets++;
      socket.resetAndDestroy();
    }
  });
  // Full duplex: the reply goes out while the upload comes in.
  const sent = send(socket, downKey, info.download, null, () => undefined);
  socket.once('end', () => {
    void (async () => {
      const data = await socket.recvDisconnect();
      const claim = decodeSummary(data);
      const mine = rx.digest();
      if (!claim) {
        // A client reset can read as an end (Linux reports an RST behind unread data as EOF); then only the prefix check applies.
        // A caller whose withdrawal came too late closes the socket it got (destroy(): a FIN without disconnect data).
        if (info.abort !== 'client-reset' && info.abort !== 'withdraw')
          problem(`upload ${info.id} (${info.abort}): no summary in the disconnect data`);
        // The caller is gone; a half-open socket nobody writes to would never learn it: closesocket, as an application must.
        socket.destroy();
        return;
      }
      stats.disconnectDataChecked++;
      if (claim.length !== rx.offset || claim.sha !== mine)
        mismatch(
          `upload ${info.id}: received ${rx.offset} bytes sha ${mine.slice(0, 12)}, sender says ${claim.length} sha ${claim.sha.slice(0, 12)}`,
        );
      else stats.checkedUp++;
      const sha = await sent;
      if (socket.destroyed) return;
      await socket.sendDisconnect(encodeSummary(sha, info.download)).catch((e: WinsockError) => {
        if (!RESET_CODES.has(e.code)) problem(`server sendDisconnect ${info.id}: ${e.code}`);
      });
    })();
  });
  void closed.then((how) => {
    if (how !== 'end' && !RESET_CODES.has(how)) problem(`server socket ${info.id} ended with ${how}`);
    if (how !== 'end' && info.abort === 'none')
      problem(`server socket ${info.id} failed with ${how} though nobody reset it`);
  });
}

// ---- the client side of one connection ----

async function client(port: number, p: Plan): Promise<void> {
  stats.attempted++;
  const header = Buffer.from(`${JSON.stringify(p)}\n`);
  const callerData = Buffer.concat([header, randomBytes(p.padding)]);
  const controller = new AbortController();
  let socket: WinsockSocket;
  try {
    const attempt = connect({
      provider: PROVIDER,
      port,
      mode: MODE,
      callerData,
      allowHalfOpen: true,
      timeout: 60_000,
      signal: controller.signal,
    });
    if (p.abort === 'withdraw') setImmediate(() => controller.abort());
    socket = await attempt;
  } catch (err) {
    const e = err as WinsockError & { name: string };
    if (p.verdict === 'reject' && e.code === 'WSAECONNREFUSED') {
      stats.refusedAsPlanned++;
      return;
    }
    if (p.abort === 'withdraw' && e.name === 'AbortError') {
      stats.withdrawnAsPlanned++;
      return;
    }
    problem(`connect ${p.id}: ${e.code ?? e.name}: ${e.message}`);
    return;
  }
  if (p.verdict === 'reject') problem(`connect ${p.id}: accepted though the condition was to refuse it`);
  if (p.abort === 'withdraw') {
    stats.withdrawnAsPlanned++;
    socket.destroy();
    return;
  } // decided before the abort landed
  stats.accepted++;
  const rx = new Receiver(p.id * 2 + 1, `download ${p.id}`);
  const closed = settled(socket);
  socket.on('data', (c: Buffer) => {
    rx.take(c);
    stats.bytesDown += c.length;
  });
  const ended = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
  let reset = false;
  const sha = await send(socket, p.id * 2, p.upload, p.abort === 'client-reset' ? p.abortAt : null, () => {
    reset = true;
    stats.resets++;
    socket.resetAndDestroy();
  });
  if (!reset && !socket.destroyed) {
    await socket.sendDisconnect(encodeSummary(sha, p.upload)).catch((e: WinsockError) => {
      if (!RESET_CODES.has(e.code) || p.abort === 'none') problem(`client sendDisconnect ${p.id}: ${e.code}`);
    });
  }
  await ended;
  if (socket.readableEnded && (!socket.errored || (socket.errored as WinsockError).code === 'WSAEDISCON')) {
    const claim = decodeSummary(await socket.recvDisconnect());
    if (claim) {
      stats.disconnectDataChecked++;
      if (claim.length !== rx.offset || claim.sha !== rx.digest())
        mismatch(`download ${p.id}: received ${rx.offset}, server says ${claim.length}`);
      else stats.checkedDown++;
    } else if (p.abort === 'none') {
      problem(`download ${p.id}: the server's end carried no summary`);
    }
  }
  socket.destroy();
  const how = await closed;
  if (p.abort === 'none') {
    if (how !== 'end') problem(`client socket ${p.id} ended with ${how}`);
    else stats.completed++;
  } else if (how !== 'end' && !RESET_CODES.has(how)) {
    problem(`client socket ${p.id} ended with ${how}`);
  }
}

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  const provider = resolveProvider(PROVIDER);
  const handles0 = provider.handleCount();
  gc();
  const rss0 = process.memoryUsage().rss;
  const server = createServer({
    provider: PROVIDER,
    mode: MODE,
    backlog: 1024,
    allowHalfOpen: true, // each side answers the other's hang-up (Winsock's half-open rule)
    condition(req: ConnectionRequest): Decision | Promise<Decision> {
      if (IN_BAND) {
        const r = rand();
        if (r < REJECT_RATE) {
          stats.serverRejected++;
          return 'reject';
        }
        if (r < REJECT_RATE + DEFER_RATE) {
          stats.serverDeferred++;
          return new Promise((resolve) => setTimeout(() => resolve('accept'), Math.floor(rand() * 3)));
        }
        return 'accept';
      }
      const data = req.callerData;
      if (!data) {
        problem('a request without caller data');
        return 'reject';
      }
      const nl = data.indexOf(0x0a);
      const p = JSON.parse(data.subarray(0, nl).toString()) as Plan;
      if (data.length !== nl + 1 + p.padding)
        mismatch(`caller data of ${p.id}: ${data.length} bytes, expected ${nl + 1 + p.padding}`);
      if (p.verdict === 'reject') return 'reject';
      if (p.verdict === 'defer')
        return new Promise((resolve) => setTimeout(() => resolve('accept'), Math.floor(rand() * 3)));
      return 'accept';
    },
  });
  server.on('connection', IN_BAND ? serveInBand : serve);
  // A caller that aborts before its hello is complete is a clientError on the server (only withdrawals may cause one).
  let clientErrors = 0;
  server.on('clientError', (e) => {
    clientErrors++;
    if (!RESET_CODES.has(e.code)) problem(`clientError ${e.code}: ${e.message}`);
  });
  server.on('conditionError', (e) => problem(`conditionError ${e.code}: ${e.message}`));
  server.on('error', (e) => problem(`server error ${e.code}`));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });

  const t0 = performance.now();
  let next = 0;
  let rssWarm = 0;
  let rssMax = 0;
  const samples: number[] = [];
  let lastProgress = -1;
  let stalledSince = performance.now();
  const ticker = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    const progress = stats.attempted + stats.bytesUp + stats.bytesDown;
    if (progress !== lastProgress) {
      lastProgress = progress;
      stalledSince = performance.now();
    }
    if (performance.now() - stalledSince > 60_000) {
      console.log(
        `\nsoak: FAILED — no progress for 60 s (${stats.attempted} connections attempted, ${server.connections} open on the server, handles ${provider.handleCount()})`,
      );
      for (const p of problems) console.log(`  ! ${p}`);
      process.exit(1);
    }
    const rss = process.memoryUsage().rss;
    rssMax = Math.max(rssMax, rss);
    process.stdout.write(
      `\r${stats.attempted}/${CONNECTIONS} connections, ${mib(stats.bytesUp + stats.bytesDown)} moved, ${s.toFixed(0)} s, rss ${mib(rss)}, handles ${provider.handleCount()}   `,
    );
  }, 1000);
  const worker = async (): Promise<void> => {
    while (next < CONNECTIONS) {
      const id = next++;
      await (IN_BAND ? clientInBand : client)(port, plan(id));
      if (id === Math.floor(CONNECTIONS / 10)) {
        gc();
        rssWarm = process.memoryUsage().rss;
      }
      if (id % Math.max(1, Math.floor(CONNECTIONS / 10)) === 0) {
        gc();
        samples.push(process.memoryUsage().rss);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  clearInterval(ticker);
  // Let the last server-side teardowns finish.
  const deadline = Date.now() + 10_000;
  while (server.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await server.close();
  while (provider.handleCount() > handles0 && Date.now() < deadline + 10_000)
    await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - t0) / 1000;
  gc();
  const rss1 = process.memoryUsage().rss;
  const handles1 = provider.handleCount();
  const growth = rss1 - (rssWarm || rss0);

  console.log('\n');
  console.log(
    `soak: ${PROVIDER} provider, ${MODE} mode, seed ${FIRST_SEED}, ${CONNECTIONS} connections, concurrency ${CONCURRENCY}, payloads up to ${mib(MAX_PAYLOAD)} each way`,
  );
  if (IN_BAND) {
    console.log(
      `  in band       plan, hello and summaries in the byte stream (no connect/disconnect data here, or SOAK_IN_BAND=1); the server drew ${stats.serverRejected} refusals and ${stats.serverDeferred} deferrals`,
    );
    // A caller that withdrew may have been refused without seeing it.
    if (
      stats.refusedAsPlanned > stats.serverRejected ||
      stats.serverRejected > stats.refusedAsPlanned + stats.withdrawnAsPlanned
    ) {
      problem(
        `the server refused ${stats.serverRejected} callers, the clients saw ${stats.refusedAsPlanned} refusals (${stats.withdrawnAsPlanned} withdrew)`,
      );
    }
    if (stats.serverNoPlan > stats.withdrawnAsPlanned)
      problem(`${stats.serverNoPlan} accepted callers sent no plan, but only ${stats.withdrawnAsPlanned} withdrew`);
  }
  console.log(
    `  connections   ${stats.attempted} attempted: ${stats.accepted} accepted, ${stats.refusedAsPlanned} refused by the condition, ${stats.withdrawnAsPlanned} withdrawn (aborted while deferred)`,
  );
  console.log(
    `                ${stats.completed} completed the full seed teardown, ${stats.resets} reset mid-stream (resetAndDestroy)`,
  );
  console.log(
    `  bytes         ${stats.bytesUp + stats.bytesDown} (${mib(stats.bytesUp + stats.bytesDown)}): ${stats.bytesUp} up, ${stats.bytesDown} down, every chunk checked at its offset`,
  );
  console.log(
    `  SHA-256       ${stats.checkedUp} uploads and ${stats.checkedDown} downloads matched the sender's summary (${stats.disconnectDataChecked} checked; ${IN_BAND ? 'in band' : 'in the disconnect data'})`,
  );
  console.log(
    `  lost/duplicated/reordered bytes: ${stats.mismatches === 0 ? 0 : `${stats.mismatches} MISMATCHES`}; unexpected errors: ${stats.unexpected}`,
  );
  console.log(
    `  duration      ${seconds.toFixed(1)} s (${(CONNECTIONS / seconds).toFixed(0)} connections/s, ${mib((stats.bytesUp + stats.bytesDown) / seconds)}/s)`,
  );
  console.log(
    `  RSS           start ${mib(rss0)}, after warm-up ${mib(rssWarm)}, end ${mib(rss1)} (growth after warm-up ${mib(growth)}), max ${mib(rssMax)}; samples ${samples.map((s) => (s / 2 ** 20).toFixed(0)).join(' ')} MiB`,
  );
  console.log(`  handles       ${handles0} before, ${handles1} after`);
  console.log(`  server events ${clientErrors} clientError (callers that aborted before their hello was complete)`);
  if (clientErrors > stats.withdrawnAsPlanned)
    problem(`${clientErrors} clientErrors but only ${stats.withdrawnAsPlanned} callers aborted`);
  for (const p of problems) console.log(`  ! ${p}`);
  const ok =
    stats.mismatches === 0 &&
    stats.unexpected === 0 &&
    handles1 === handles0 &&
    growth < 64 * 2 ** 20 &&
    stats.attempted === CONNECTIONS;
  console.log(ok ? 'soak: OK' : 'soak: FAILED');
  process.exitCode = ok ? 0 : 1;
}

void main();
