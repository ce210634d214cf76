/**
 * The server end of a faults-net run (its own process, in the server's
 * namespace): one winsock2 server for the whole run, the scenario's
 * condition, and a record of every request (seen, decided, withdrawn) and
 * every accepted connection's outcome. Reports when the orchestrator asks,
 * after its open connections have ended (bounded by the idle timeout).
 */
import * as http from 'node:http';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { createHash } from 'node:crypto';
import { createServer, WinsockError, type WinsockSocket } from '../../lib/index';
import {
  codeOf,
  downKey,
  prng,
  Receiver,
  tcpHandles,
  tell,
  upKey,
  type Outcome,
  type ServerConfig,
  type ServerReport,
} from './common';
import { InBandReader, sendPayload, summaryLine } from './inband';
import { onOrder } from './channel';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Callers whose port is a multiple of this are refused by the condition (both ends can tell why). */
export const REJECT_PORT_MODULUS = 23;

export async function runServer(cfg: ServerConfig): Promise<void> {
  const rand = prng(cfg.seed ^ 0x2545f491);
  const terminal = new Map<number, number>();
  const report: ServerReport = {
    seen: 0,
    decided: 0,
    withdrawn: 0,
    conditionErrors: 0,
    unaccounted: 0,
    doubleCounted: 0,
    verdicts: {},
    outcomes: [],
    open: 0,
    handles: 0,
    rssWarmMiB: 0,
    rssEndMiB: 0,
    problems: [],
  };
  const problem = (msg: string): void => {
    if (report.problems.length < 20) report.problems.push(msg);
  };
  const see = (id: number): void => {
    if (terminal.has(id)) return;
    terminal.set(id, 0);
    tell({ type: 'seen', count: terminal.size });
    if (terminal.size === 20) {
      gc();
      report.rssWarmMiB = process.memoryUsage().rss / 2 ** 20;
    }
  };
  const end = (id: number): void => {
    see(id);
    terminal.set(id, (terminal.get(id) ?? 0) + 1);
  };
  const count = (key: string): void => {
    report.verdicts[key] = (report.verdicts[key] ?? 0) + 1;
  };

  const options = {
    provider: cfg.provider,
    allowHalfOpen: true, // the seed choreography answers after the caller's teardown
    handshakeTimeout: cfg.timeouts.handshakeMs,
    decisionTimeout: cfg.timeouts.decisionMs,
    backlog: 512,
    condition: (req: { id: number; callerId: { port: number } }) => {
      see(req.id);
      if (cfg.neverDecide) return 'defer' as const;
      if (req.callerId.port % REJECT_PORT_MODULUS === 0) return 'reject' as const;
      if (cfg.decisionDelayMs <= 0) return 'accept' as const;
      const ms = cfg.scenario === 'deferred-drop' ? cfg.decisionDelayMs : Math.floor(rand() * cfg.decisionDelayMs);
      return new Promise<'accept'>((resolve) => setTimeout(() => resolve('accept'), ms));
    },
  };
  const server = createServer(options);
  server.on('decision', (e) => {
    end(e.request.id);
    report.decided++;
    count(`${e.verdict}:${e.reason}`);
  });
  server.on('withdrawn', (e, req) => {
    end(req.id);
    report.withdrawn++;
    count(`withdrawn:${e.code}`);
  });
  server.on('conditionError', (e) => {
    report.conditionErrors++;
    count(`conditionError:${e.code}`);
  });
  server.on('clientError', (e) => count(`clientError:${codeOf(e)}`));
  server.on('error', (e) => problem(`server error ${codeOf(e)}`));

  const open = new Set<WinsockSocket>();
  const httpServer = http.createServer((req, res) => serveHttp(cfg, req, res));
  httpServer.timeout = cfg.timeouts.idleMs;
  httpServer.on('timeout', (s: WinsockSocket) =>
    s.destroy(new WinsockError('WSAETIMEDOUT', 'recv', { detail: 'idle' })),
  );

  server.on('connection', (socket: WinsockSocket) => {
    const started = performance.now();
    open.add(socket);
    let code = '';
    let complete = false;
    let bytesIn = 0;
    let bytesOut = 0;
    let mismatch = false;
    socket.on('error', (e) => {
      code ||= codeOf(e);
    });
    socket.once('close', () => {
      open.delete(socket);
      const o: Outcome = {
        id: -1,
        end: complete ? 'complete' : code || 'eof',
        ms: performance.now() - started,
        bytesIn,
        bytesOut,
        mismatch,
      };
      report.outcomes.push(o);
    });
    if (cfg.scenario === 'http') {
      socket.on('data', (c: Buffer) => {
        bytesIn += c.length;
      });
      // The response finishing on this socket is the server's "complete".
      (socket as unknown as { faultsComplete?: () => void }).faultsComplete = () => {
        complete = true;
      };
      httpServer.emit('connection', socket);
      return;
    }
    socket.setTimeout(cfg.timeouts.idleMs, () =>
      socket.destroy(new WinsockError('WSAETIMEDOUT', 'recv', { detail: 'idle' })),
    );
    if (cfg.scenario === 'seed') {
      serveSeed(
        socket,
        (c, n) => {
          complete = c;
          bytesIn = n;
        },
        (m) => {
          mismatch = m;
        },
      );
      return;
    }
    let writesDone = false;
    let readDone = false;
    const reader = new InBandReader(true, (line) => {
      const m = /^(\d+) (\d+) (\d+)$/.exec(line);
      if (!m) return null;
      const id = Number(m[1]);
      const up = Number(m[2]);
      const down = Number(m[3]);
      void (async () => {
        const sha = await sendPayload(socket, cfg.seed, downKey(id), down, rand);
        if (!sha) return;
        socket.write(summaryLine(sha, down));
        bytesOut = down;
        socket.end();
      })();
      return { receiver: new Receiver(cfg.seed, upKey(id)), length: up };
    });
    socket.on('data', (c: Buffer) => {
      reader.take(c);
      bytesIn = reader.received;
    });
    socket.on('end', () => {
      readDone = reader.verify();
      mismatch = reader.mismatch;
      complete = readDone && writesDone;
    });
    socket.on('finish', () => {
      writesDone = true;
      complete = readDone && writesDone;
    });
  });

  const bound = await server.listen({ host: cfg.host, port: cfg.port });
  tell({ type: 'ready', port: bound.port });

  onOrder((m: { type?: string }) => {
    if (m?.type !== 'report') return;
    void (async () => {
      // Bounded: waiting requests are decided within the decision timeout (one at a time: the
      // head-of-backlog rule), open connections end within the idle timeout; what is left is counted.
      const waiting = (): number => [...terminal.values()].filter((n) => n === 0).length;
      const deadline = Date.now() + cfg.timeouts.idleMs + cfg.timeouts.decisionMs * Math.min(8, 1 + waiting()) + 3000;
      while ((open.size > 0 || waiting() > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 100));
      for (const [, n] of terminal) {
        if (n === 0) report.unaccounted++;
        if (n > 1) report.doubleCounted++;
      }
      report.seen = terminal.size;
      report.open = open.size;
      report.handles = tcpHandles();
      gc();
      report.rssEndMiB = process.memoryUsage().rss / 2 ** 20;
      if (report.rssWarmMiB === 0) report.rssWarmMiB = report.rssEndMiB;
      tell({ type: 'server-report', report });
    })();
  });
}

/** The seed scenario's server: transactions in, the grand total back as disconnect data. */
let grandTotal = 0;
function serveSeed(
  socket: WinsockSocket,
  done: (complete: boolean, bytesIn: number) => void,
  bad: (m: boolean) => void,
): void {
  const hash = createHash('sha256');
  let text = '';
  let bytes = 0;
  socket.on('data', (c: Buffer) => {
    hash.update(c);
    bytes += c.length;
    if (text.length < 1 << 20) text += c.toString('latin1');
  });
  socket.on('end', () => {
    void (async () => {
      try {
        const data = await socket.recvDisconnect();
        const sha = hash.digest('hex');
        const m = /^count=(\d+) sha=([0-9a-f]{64})$/.exec(data?.toString() ?? '');
        const lines = text.split('\n').filter((l) => l.startsWith('tx '));
        const ok = m !== null && Number(m[1]) === lines.length && m[2] === sha;
        bad(m !== null && !ok);
        for (const l of lines) grandTotal += Number(l.slice(3));
        // Complete once the caller's teardown checked out; a failure to answer shows as the socket's error.
        done(ok, bytes);
        await socket.sendDisconnect(Buffer.from(`total=${grandTotal} sha=${sha}`));
      } catch (e) {
        socket.destroy(e as Error);
      }
    })();
  });
  socket.on('close', () => undefined);
}

/** The http scenario's handler: the body is checked and hashed, the reply is `down` bytes of the connection's stream. */
function serveHttp(cfg: ServerConfig, req: http.IncomingMessage, res: http.ServerResponse): void {
  const m = /^\/(\d+)\/(\d+)$/.exec(req.url ?? '');
  if (!m) {
    res.writeHead(400).end();
    return;
  }
  const id = Number(m[1]);
  const down = Number(m[2]);
  const receiver = new Receiver(cfg.seed, upKey(id));
  req.on('data', (c: Buffer) => receiver.take(c));
  req.on('end', () => {
    res.writeHead(200, {
      'content-length': down,
      'x-up-sha': receiver.digest(),
      'x-up-ok': String(!receiver.mismatch),
      connection: 'close',
    });
    const rand = prng(id);
    void sendPayload(res, cfg.seed, downKey(id), down, rand).then(() => res.end());
    res.on('finish', () => {
      const s = req.socket as unknown as { faultsComplete?: () => void };
      s.faultsComplete?.();
    });
  });
}
