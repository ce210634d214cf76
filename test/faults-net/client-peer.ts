/**
 * The client end of a faults-net run (its own process, in the caller's
 * namespace): connections [first, first + count) of the scenario, `concurrency`
 * at a time, each reported to the orchestrator as it ends ('outcome'), so
 * the connections of a client killed mid-run still count.
 *
 * Every connection has a watchdog: one still open after `hangMs` is a hang
 * (reported as such, then destroyed), which the orchestrator counts as a failure.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { connect, WinsockError, type WinsockSocket } from '../../lib/index';
import {
  codeOf,
  downKey,
  expected,
  prng,
  Receiver,
  sizes,
  tcpHandles,
  tell,
  upKey,
  type ClientConfig,
  type Outcome,
} from './common';
import { InBandReader, sendPayload, summaryLine } from './inband';

interface Attempt {
  outcome: Outcome;
  socket: WinsockSocket | null;
  settle: () => void;
}

function idle(cfg: ClientConfig, socket: WinsockSocket): void {
  socket.setTimeout(cfg.timeouts.idleMs, () =>
    socket.destroy(new WinsockError('WSAETIMEDOUT', 'recv', { detail: 'idle' })),
  );
}

async function open(cfg: ClientConfig, extra: Record<string, unknown> = {}): Promise<WinsockSocket> {
  const options = {
    provider: cfg.provider,
    host: cfg.host,
    port: cfg.port,
    timeout: cfg.timeouts.connectMs,
    allowHalfOpen: true,
    ...extra,
  };
  return connect(options);
}

/** Resolves when the socket has closed, with the first error's code ('' for none). */
function closed(socket: WinsockSocket): Promise<string> {
  return new Promise((resolve) => {
    let code = '';
    socket.on('error', (e) => {
      code ||= codeOf(e);
    });
    socket.once('close', () => resolve(code));
  });
}

async function soak(cfg: ClientConfig, id: number, a: Attempt, rand: () => number, earlyFin = false): Promise<void> {
  const { up, down } = sizes(cfg.seed, id, cfg.maxPayload);
  const socket = await open(cfg);
  a.socket = socket;
  idle(cfg, socket);
  const ended = closed(socket);
  const reader = new InBandReader(false, () => null);
  reader.expect(new Receiver(cfg.seed, downKey(id)), down);
  let readOk = false;
  let wrote = false;
  const trace: string[] = [];
  for (const ev of ['end', 'finish', 'timeout'] as const)
    socket.on(ev, () => {
      if (trace.length < 12) trace.push(ev);
    });
  socket.on('error', (e) => trace.push(`error ${codeOf(e)}`));
  socket.on('close', (hadError: boolean) => trace.push(`close${hadError ? ' (error)' : ''}`));
  socket.on('data', (c: Buffer) => {
    reader.take(c);
    a.outcome.bytesIn = reader.received;
  });
  socket.on('end', () => {
    readOk = reader.verify();
    a.outcome.mismatch = reader.mismatch;
  });
  socket.on('finish', () => {
    wrote = true;
  });
  socket.write(`${id} ${up} ${down}\n`);
  const sha = await sendPayload(socket, cfg.seed, upKey(id), up, rand);
  if (sha) {
    socket.write(summaryLine(sha, up));
    a.outcome.bytesOut = up;
    if (!earlyFin && reader.received === 0 && !socket.readableEnded) {
      // Half-close once the server has answered: its first byte says the request was accepted.
      await new Promise<void>((resolve) => {
        const go = (): void => {
          socket.off('data', go);
          socket.off('close', go);
          socket.off('end', go);
          resolve();
        };
        socket.on('data', go);
        socket.on('end', go);
        socket.on('close', go);
      });
    }
    if (!socket.destroyed) socket.end();
  }
  const code = await ended;
  a.outcome.end = readOk && wrote ? 'complete' : code || 'eof';
  if (a.outcome.end !== 'complete')
    a.outcome.detail = `read ${reader.received}/${down} verified ${readOk}, wrote ${up} finished ${wrote}; ${trace.join(',')}`;
}

async function seed(cfg: ClientConfig, id: number, a: Attempt, rand: () => number): Promise<void> {
  const socket = await open(cfg, { callerData: Buffer.from(`seed ${id}`) });
  a.socket = socket;
  idle(cfg, socket);
  const ended = closed(socket);
  const hash = createHash('sha256');
  const n = 1 + (id % 20);
  for (let i = 0; i < n; i++) {
    const line = Buffer.from(`tx ${1 + Math.floor(rand() * 1000)}\n`);
    hash.update(line);
    a.outcome.bytesOut += line.length;
    socket.write(line);
  }
  const sha = hash.digest('hex');
  let ok = false;
  // Set by the 'end' listener (a holder: TypeScript does not see the callback assign it).
  const pending: { reply: Promise<void> | null } = { reply: null };
  socket.on('data', (c: Buffer) => {
    a.outcome.bytesIn += c.length;
  }); // the server sends no bytes; reading lets 'end' come
  socket.on('end', () => {
    pending.reply = socket.recvDisconnect().then(
      (data) => {
        const m = /^total=(\d+) sha=([0-9a-f]{64})$/.exec(data?.toString() ?? '');
        ok = m !== null && m[2] === sha;
        if (m && m[2] !== sha) a.outcome.mismatch = true;
        if (!ok) a.outcome.detail = `disconnect data ${JSON.stringify(data?.toString().slice(0, 80) ?? null)}`;
        socket.destroy();
      },
      (e: unknown) => {
        socket.destroy(e as Error);
      },
    );
  });
  await socket.sendDisconnect(Buffer.from(`count=${n} sha=${sha}`));
  const code = await ended;
  // The socket may close (both sides shut down) before recvDisconnect() settles: it still works after close.
  if (pending.reply) await pending.reply;
  a.outcome.end = ok ? 'complete' : code || 'eof';
}

async function overHttp(cfg: ClientConfig, id: number, a: Attempt, rand: () => number): Promise<void> {
  const { up, down } = sizes(cfg.seed, id, cfg.maxPayload);
  const socket = await open(cfg);
  a.socket = socket;
  const ended = closed(socket);
  const upHash = createHash('sha256');
  let ok = false;
  const req = http.request({
    method: 'POST',
    host: cfg.host,
    port: cfg.port,
    path: `/${id}/${down}`,
    headers: { 'content-length': up, connection: 'close' },
    createConnection: () => socket,
  });
  req.setTimeout(cfg.timeouts.idleMs, () => req.destroy(new WinsockError('WSAETIMEDOUT', 'recv', { detail: 'idle' })));
  req.on('error', (e) => {
    if (!socket.destroyed) socket.destroy(e);
  });
  req.on('response', (res) => {
    const receiver = new Receiver(cfg.seed, downKey(id));
    res.on('data', (c: Buffer) => {
      receiver.take(c);
      a.outcome.bytesIn = receiver.offset;
    });
    res.on('end', () => {
      a.outcome.mismatch = receiver.mismatch || res.headers['x-up-ok'] === 'false';
      const upSha = upHash.digest('hex');
      if (res.headers['x-up-sha'] !== upSha) a.outcome.mismatch = true;
      ok =
        res.statusCode === 200 &&
        !a.outcome.mismatch &&
        receiver.offset === down &&
        receiver.digest() ===
          createHash('sha256')
            .update(expected(cfg.seed, downKey(id), 0, down))
            .digest('hex');
      socket.destroy();
    });
    res.on('error', () => undefined);
  });
  // Bounded: every pass writes at least one byte.
  for (let off = 0; off < up && !req.destroyed;) {
    const n = Math.min(up - off, 1 + Math.floor(rand() * 65536));
    const chunk = expected(cfg.seed, upKey(id), off, n);
    upHash.update(chunk);
    off += n;
    if (!req.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          req.off('drain', done);
          req.off('close', done);
          resolve();
        };
        req.on('drain', done);
        req.on('close', done);
      });
    }
  }
  a.outcome.bytesOut = up;
  req.end();
  const code = await ended;
  a.outcome.end = ok ? 'complete' : code || 'eof';
}

const SCENARIOS = {
  soak: soak,
  'half-close': (c: ClientConfig, i: number, a: Attempt, r: () => number) => soak(c, i, a, r, true),
  seed: seed,
  http: overHttp,
  'deferred-drop': soak,
  'decision-timeout': soak,
} as const;

async function one(cfg: ClientConfig, id: number): Promise<Outcome> {
  const rand = prng(cfg.seed * 7 + id);
  const started = performance.now();
  const a: Attempt = {
    outcome: { id, end: 'hang', ms: 0, bytesIn: 0, bytesOut: 0, mismatch: false },
    socket: null,
    settle: () => undefined,
  };
  let watchdog: NodeJS.Timeout | undefined;
  const hang = new Promise<void>((resolve) => {
    watchdog = setTimeout(() => {
      a.outcome.end = 'hang';
      a.socket?.destroy();
      resolve();
    }, cfg.timeouts.hangMs);
  });
  const work = SCENARIOS[cfg.scenario](cfg, id, a, rand).catch((e: unknown) => {
    a.outcome.end = codeOf(e);
    a.socket?.destroy();
  });
  let hung = false;
  await Promise.race([
    work,
    hang.then(() => {
      hung = true;
    }),
  ]);
  clearTimeout(watchdog);
  if (hung) a.outcome.end = 'hang';
  a.outcome.ms = performance.now() - started;
  return a.outcome;
}

export async function runClient(cfg: ClientConfig): Promise<void> {
  let next = cfg.first;
  const last = cfg.first + cfg.count;
  const worker = async (): Promise<void> => {
    // Bounded: each pass takes one id of a finite range.
    while (next < last) {
      const id = next++;
      if (cfg.thinkMs > 0) await new Promise((r) => setTimeout(r, Math.floor(prng(id + 1)() * cfg.thinkMs)));
      const outcome = await one(cfg, id);
      tell({ type: 'outcome', outcome });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cfg.concurrency) }, worker));
  // Closed handles leave the active list on the next turns of the loop.
  const deadline = Date.now() + 3000;
  while (tcpHandles() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  tell({ type: 'client-report', report: { handles: tcpHandles(), problems: [] } });
}
