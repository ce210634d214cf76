/**
 * The orchestrator of one faults-net case (scenario x provider x level):
 * makes the namespaces, starts the server, the relay and the clients in
 * them, applies the level's faults at their moment, collects every outcome,
 * then checks that the server still serves (a probe client on a clean link)
 * and reads its report. Everything is bounded: the case has a deadline, and
 * the namespaces and every process are gone when it returns.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type {
  ClientConfig,
  Outcome,
  PeerConfig,
  PeerMessage,
  Provider,
  ScenarioName,
  ServerReport,
  Timeouts,
} from './common';
import type { Level } from './levels';
import { LinkPair, SERVER_ADDRESS } from './netns';
import { logFiles, nodeExe, wineEnv, winePath } from './wine';
import { readLines } from './channel';

export interface CaseSpec {
  scenario: ScenarioName;
  provider: Provider;
  level: Level;
  connections: number;
  concurrency: number;
  maxPayload: number;
  seed: number;
}

export interface CaseResult {
  scenario: ScenarioName;
  provider: Provider;
  level: string;
  connections: number;
  completed: number;
  bytes: number;
  /** Why the others did not complete, by code, at the client (c:) and the server (s:). */
  errors: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  serverHandles: number;
  clientHandles: number;
  rssWarmMiB: number;
  rssEndMiB: number;
  probe: string;
  server: Omit<ServerReport, 'outcomes'> | null;
  /** What must hold and did not: empty when the case passed. */
  violations: string[];
  seconds: number;
}

const PORT = 7000; // inside the server's namespace: nothing else listens there
const PEER = path.join(__dirname, 'peer.js');

/** The timeouts each scenario configures (ms). */
export function timeoutsFor(scenario: ScenarioName): Timeouts {
  if (scenario === 'deferred-drop')
    return { connectMs: 2500, handshakeMs: 5000, decisionMs: 5000, idleMs: 2500, hangMs: 30_000 };
  if (scenario === 'decision-timeout')
    return { connectMs: 8000, handshakeMs: 5000, decisionMs: 1500, idleMs: 6000, hangMs: 30_000 };
  return { connectMs: 10_000, handshakeMs: 5000, decisionMs: 5000, idleMs: 10_000, hangMs: 60_000 };
}

/** Where peers run: inside the namespaces of a LinkPair, or (native under Wine) on this machine's loopback. */
interface Place {
  exec(ns: string, argv: string[]): [string, string[]];
  readonly caller: string;
  readonly server: string;
}

/** Loopback: no namespaces, the command as it is (the native rows; wine.ts says why). */
const LOOPBACK: Place = { exec: (_ns, argv) => [argv[0], argv.slice(1)], caller: '', server: '' };

class Peer {
  readonly child: ChildProcess;
  private readonly waiters: { want: (m: PeerMessage) => boolean; resolve: (m: PeerMessage) => void }[] = [];
  /** node.exe's line (channel.ts): a TCP server of ours it connects to, and its connection. */
  private line: { server: net.Server; socket: net.Socket | null } | null = null;
  exited = false;
  constructor(
    place: Place,
    ns: string,
    config: PeerConfig,
    seed: number,
    private readonly onMessage: (m: PeerMessage) => void,
    wine: { name: string; channelPort: number; server: net.Server } | null = null,
  ) {
    if (wine === null) {
      const [cmd, args] = place.exec(ns, [process.execPath, PEER, JSON.stringify(config)]);
      this.child = spawn(cmd, args, {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, FAULTS_SEED: String(seed) },
      });
      this.child.on('message', (m: PeerMessage) => this.deliver(m));
    } else {
      // node.exe under Wine: no IPC; its line is TCP on loopback, its output files.
      this.line = { server: wine.server, socket: null };
      wine.server.once('connection', (socket: net.Socket) => this.attachLine(socket));
      const logs = logFiles(wine.name);
      this.child = spawn('wine', [nodeExe(), winePath(PEER), JSON.stringify(config)], {
        stdio: ['ignore', logs.out, logs.err],
        env: { ...wineEnv(), FAULTS_SEED: String(seed), FAULTS_REPORT: `127.0.0.1:${wine.channelPort}` },
      });
      fs.closeSync(logs.out);
      fs.closeSync(logs.err);
    }
    this.child.on('exit', () => {
      this.exited = true;
      this.line?.socket?.destroy();
      for (const w of this.waiters.splice(0)) w.resolve({ type: 'seen', count: -1 });
    });
    this.child.on('error', () => undefined);
  }
  private attachLine(socket: net.Socket): void {
    if (this.line === null) return;
    this.line.socket = socket;
    socket.on('error', () => undefined);
    readLines(socket, (m: PeerMessage) => this.deliver(m));
  }
  private deliver(m: PeerMessage): void {
    this.onMessage(m);
    for (const w of this.waiters.splice(0)) {
      if (w.want(m)) w.resolve(m);
      else this.waiters.push(w);
    }
  }
  /** The first message `want` accepts; a 'seen' -1 if the peer exits or `ms` pass first. */
  next(want: (m: PeerMessage) => boolean, ms: number): Promise<PeerMessage | null> {
    if (this.exited) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve(null);
      }, ms);
      this.waiters.push({
        want,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m.type === 'seen' && m.count === -1 ? null : m);
        },
      });
    });
  }
  send(m: { type: 'report' }): void {
    if (this.exited) return;
    if (this.line !== null) this.line.socket?.write(`${JSON.stringify(m)}\n`);
    else if (this.child.connected) this.child.send(m);
  }
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
  exitedPromise(ms: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runCase(spec: CaseSpec): Promise<CaseResult> {
  const started = Date.now();
  const t = timeoutsFor(spec.scenario);
  const { level } = spec;
  // native: node.exe under Wine on loopback, no namespaces (wine.ts); its clients and relay are Linux node's.
  const native = spec.provider === 'native';
  const pair = native ? null : LinkPair.create();
  const place: Place = pair ?? LOOPBACK;
  const serverHost = native ? '127.0.0.1' : SERVER_ADDRESS;
  let serverPort = native ? 0 : PORT;
  let line: net.Server | null = null;
  if (native) {
    line = net.createServer();
    const l = line;
    await new Promise<void>((resolve) => l.listen(0, '127.0.0.1', resolve));
  }
  let serverStarts = 0;
  const peers: Peer[] = [];
  const outcomes: Outcome[] = [];
  const violations: string[] = [];
  let clientHandles = 0;
  let seen = 0;
  let onSeen: (() => void) | null = null;
  let onOutcome: (() => void) | null = null;
  const listen = (m: PeerMessage): void => {
    if (m.type === 'outcome') {
      outcomes.push(m.outcome);
      onOutcome?.();
    }
    if (m.type === 'seen') {
      seen = Math.max(seen, m.count);
      onSeen?.();
    }
    if (m.type === 'client-report') clientHandles += m.report.handles;
  };
  const decisionDelayMs = spec.scenario === 'deferred-drop' ? 1000 : 150;
  const serverConfig: PeerConfig = {
    role: 'server',
    provider: spec.provider,
    scenario: spec.scenario,
    host: serverHost,
    port: serverPort,
    seed: spec.seed,
    timeouts: t,
    decisionDelayMs,
    neverDecide: spec.scenario === 'decision-timeout',
  };
  const startServer = async (): Promise<Peer> => {
    const wine =
      line === null
        ? null
        : {
            name: `${spec.scenario}-${spec.level.name}-server-${serverStarts++}`,
            channelPort: (line.address() as net.AddressInfo).port,
            server: line,
          };
    const p = new Peer(place, place.server, serverConfig, spec.seed, listen, wine);
    peers.push(p);
    const ready = await p.next((m) => m.type === 'ready', native ? 60_000 : 15_000);
    if (!ready || ready.type !== 'ready') throw new Error('the server peer did not start');
    // native binds port 0 the first time; a restarted server takes the same port (the relay forwards there).
    serverPort = ready.port;
    serverConfig.port = ready.port;
    return p;
  };
  let timers: NodeJS.Timeout[] = [];
  let partitioned = false;
  const partition = (ms: number): void => {
    if (partitioned) return;
    partitioned = true;
    pair?.setBlackhole();
    timers.push(
      setTimeout(() => {
        pair?.clearFaults();
        applyLink();
      }, ms),
    );
  };
  const applyLink = (): void => {
    if (level.lossPercent) pair?.setLoss(level.lossPercent);
    if (level.resets) pair?.setResets(level.resets.perMille, level.resets.nth);
  };
  try {
    let server = await startServer();
    let host = serverHost;
    let port = serverPort;
    if (level.relay) {
      const relay = new Peer(
        place,
        place.caller,
        { role: 'relay', listenHost: '127.0.0.1', targetHost: serverHost, targetPort: serverPort, ...level.relay },
        spec.seed,
        listen,
      );
      peers.push(relay);
      const ready = await relay.next((m) => m.type === 'ready', 15_000);
      if (!ready || ready.type !== 'ready') throw new Error('the relay did not start');
      host = '127.0.0.1';
      port = ready.port;
    }
    applyLink();
    const clientConfig = (first: number, count: number): ClientConfig => ({
      role: 'client',
      // A native server's callers are plain TCP: Linux node's emulated provider.
      provider: native ? 'emulated' : spec.provider,
      scenario: spec.scenario,
      host,
      port,
      seed: spec.seed,
      first,
      count,
      concurrency: spec.concurrency,
      maxPayload: spec.maxPayload,
      timeouts: t,
      // Killed peers: spread the run so the kill finds connections in every phase.
      thinkMs: level.kill ? 150 : 0,
    });
    const startClient = (first: number, count: number): Peer => {
      const p = new Peer(place, place.caller, clientConfig(first, count), spec.seed, listen);
      peers.push(p);
      return p;
    };
    let client = startClient(0, spec.connections);
    const at = (fraction: number): number => Math.max(1, Math.floor(spec.connections * fraction));
    if (spec.scenario === 'deferred-drop' || spec.scenario === 'decision-timeout') {
      // The link drops while the first requests wait for their decision.
      const ms = spec.scenario === 'deferred-drop' ? 3000 : 2000;
      onSeen = () => {
        if (seen >= 1) {
          onSeen = null;
          partition(ms);
        }
      };
    }
    let killed = false;
    const deadline = Date.now() + t.hangMs + 30_000;
    onOutcome = () => {
      if (level.partition && outcomes.length >= at(level.partition.atFraction)) partition(level.partition.ms);
      if (level.kill && !killed && outcomes.length >= at(level.kill.atFraction)) {
        killed = true;
        if (level.kill.who === 'client') {
          client.kill();
          // A new client runs the ids the killed one had not finished.
          void client.exitedPromise(5000).then(() => {
            const finished = new Set(outcomes.map((o) => o.id));
            const rest = [...Array(spec.connections).keys()].filter((i) => !finished.has(i));
            client = startClient(spec.connections, rest.length);
          });
        } else {
          server.kill();
          void server.exitedPromise(5000).then(async () => {
            await delay(300);
            server = await startServer();
          });
        }
      }
    };
    // Bounded: until the client exits (a killed one once its replacement has) or the deadline.
    const original = client;
    for (let guard = 0; guard < 100_000 && Date.now() < deadline; guard++) {
      await client.exitedPromise(Math.max(0, deadline - Date.now()));
      if (killed && level.kill?.who === 'client' && client === original) {
        await delay(100);
        continue;
      }
      if (client.exited) break;
    }
    if (!client.exited) {
      violations.push('clients still running at the case deadline (a hang)');
      client.kill();
    }
    for (const tm of timers) clearTimeout(tm);
    timers = [];
    pair?.clearFaults();
    if (level.kill?.who === 'server') await delay(native ? 3000 : 500);
    // The server keeps serving: a probe client on the clean link, straight to the server. The
    // condition refuses callers by port (REJECT_PORT_MODULUS), so a probe may meet a planned refusal.
    const PROBES = 4;
    const probeOutcomes: Outcome[] = [];
    const probeClient = new Peer(
      place,
      place.caller,
      {
        ...clientConfig(1_000_000, PROBES),
        host: serverHost,
        port: serverPort,
        concurrency: PROBES,
        maxPayload: 4096,
        thinkMs: 0,
        // Its own timeouts: it may wait behind requests still queued (one decision at a time).
        timeouts: { ...timeoutsFor('soak'), connectMs: 30_000 },
        scenario: spec.scenario === 'seed' || spec.scenario === 'http' ? spec.scenario : 'soak',
      },
      spec.seed,
      (m) => {
        if (m.type === 'outcome') probeOutcomes.push(m.outcome);
      },
    );
    peers.push(probeClient);
    await probeClient.exitedPromise(t.hangMs);
    const refused = (o: Outcome): boolean =>
      (o.end === 'WSAECONNREFUSED' || o.end === 'WSAECONNRESET') && o.bytesIn === 0;
    const probeOk = probeOutcomes.filter((o) =>
      spec.scenario === 'decision-timeout' ? refused(o) : o.end === 'complete',
    ).length;
    const probe = `${probeOk}/${PROBES}`;
    // decision-timeout: never decided, so every probe must be refused by the timeout (and not hang).
    const serving =
      spec.scenario === 'decision-timeout'
        ? probeOk === PROBES
        : probeOk >= PROBES - 1 &&
          probeOutcomes.length === PROBES &&
          probeOutcomes.every((o) => o.end === 'complete' || refused(o));
    if (!serving)
      violations.push(`the server stopped serving: probe ${probe} (${probeOutcomes.map((o) => o.end).join(',')})`);
    server.send({ type: 'report' });
    const reportMsg = await server.next((m) => m.type === 'server-report', t.idleMs + t.decisionMs * 9 + 10_000);
    const report = reportMsg?.type === 'server-report' ? reportMsg.report : null;
    if (!report) violations.push('the server did not report');

    // What must hold.
    const errors: Record<string, number> = {};
    const clientOutcomes = outcomes;
    for (const o of clientOutcomes) if (o.end !== 'complete') errors[`c:${o.end}`] = (errors[`c:${o.end}`] ?? 0) + 1;
    for (const o of report?.outcomes ?? [])
      if (o.end !== 'complete') errors[`s:${o.end}`] = (errors[`s:${o.end}`] ?? 0) + 1;
    const all = [...clientOutcomes, ...(report?.outcomes ?? [])];
    const hangs = all.filter((o) => o.end === 'hang').length;
    if (hangs) violations.push(`${hangs} connections hung`);
    const mism = all.filter((o) => o.mismatch).length;
    if (mism) violations.push(`${mism} connections received bytes that differ from what was sent`);
    const untyped = all.filter((o) => o.end.startsWith('untyped')).map((o) => o.end);
    if (untyped.length)
      violations.push(
        `${untyped.length} connections ended with an error that is not a WinsockError: ${[...new Set(untyped)].join('; ')}`,
      );
    const eof = all.filter((o) => o.end === 'eof').length;
    // Plain TCP on Linux: a reset that reaches a socket which has sent its FIN, or whose data is
    // all read, is reported as a clean end (node:net shows the same: docs/reliability.md). Only the
    // application's framing (the summary line) notices; framed's disconnect frame does.
    const eofAllowed = Boolean(level.kill) || (Boolean(level.resets) && spec.provider === 'emulated');
    if (eof && !eofAllowed) {
      const samples = all
        .filter((o) => o.end === 'eof' && o.detail)
        .slice(0, 3)
        .map((o) => `#${o.id} ${o.detail}`);
      // The finding half-close-while-deferred.test.ts records: named, so other causes stand out.
      const halfClosedWithdrawn = all.filter(
        (o) => o.end === 'eof' && o.bytesIn === 0 && /finished true/.test(o.detail ?? ''),
      ).length;
      const known =
        spec.provider === 'emulated' && halfClosedWithdrawn === eof && (report?.withdrawn ?? 0) >= eof
          ? ' [the emulated listener withdrew half-closed callers: half-close-while-deferred.test.ts]'
          : '';
      violations.push(
        `${eof} connections ended early with no error${known}${samples.length ? ` (${samples.join('; ')})` : ''}`,
      );
    }
    // A killed client's unfinished connections are run again under new ids by its replacement.
    if (clientOutcomes.length !== spec.connections)
      violations.push(`${clientOutcomes.length} of ${spec.connections} client connections reported`);
    if (report) {
      if (report.unaccounted || report.doubleCounted)
        violations.push(
          `requests not accounted for by decision/withdrawn: ${report.unaccounted} missing, ${report.doubleCounted} twice`,
        );
      if (spec.scenario === 'decision-timeout') {
        // Nothing is ever decided: every request the server saw ends by the timeout or by its caller leaving.
        const timedOut = report.verdicts['reject:decisionTimeout'] ?? 0;
        if (timedOut + report.withdrawn !== report.seen)
          violations.push(
            `decision-timeout: ${timedOut} timed out + ${report.withdrawn} withdrawn != ${report.seen} seen`,
          );
        if ((report.verdicts['conditionError:WSAETIMEDOUT'] ?? 0) !== timedOut)
          violations.push('decision-timeout: each timeout is a conditionError WSAETIMEDOUT');
      }
      if (report.open) violations.push(`${report.open} server connections still open after the idle timeout`);
      if (report.handles) violations.push(`${report.handles} server TCP handles left`);
    }
    if (clientHandles) violations.push(`${clientHandles} client TCP handles left`);
    const done = clientOutcomes.filter((o) => o.end === 'complete');
    const ms = done.map((o) => o.ms).sort((a, b) => a - b);
    let serverSummary: CaseResult['server'] = null;
    if (report) {
      const { outcomes: _o, ...rest } = report;
      void _o;
      serverSummary = rest;
    }
    return {
      scenario: spec.scenario,
      provider: spec.provider,
      level: level.name,
      connections: clientOutcomes.length,
      completed: done.length,
      bytes: done.reduce((s, o) => s + o.bytesIn + o.bytesOut, 0),
      errors,
      p50Ms: percentile(ms, 50),
      p99Ms: percentile(ms, 99),
      serverHandles: report?.handles ?? -1,
      clientHandles,
      rssWarmMiB: Math.round(report?.rssWarmMiB ?? 0),
      rssEndMiB: Math.round(report?.rssEndMiB ?? 0),
      probe,
      server: serverSummary,
      violations,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    for (const tm of timers) clearTimeout(tm);
    for (const p of peers) p.kill();
    await Promise.all(peers.map((p) => p.exitedPromise(5000)));
    pair?.destroy();
    line?.close();
  }
}
