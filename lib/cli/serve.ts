/**
 * `winsock2 serve`: a listening socket whose condition function applies
 * command-line rules, printing every decision as one line.
 */
import { BlockList } from 'node:net';
import { createServer } from '../server';
import { WinsockError } from '../errors';
import type { WinsockSocket } from '../socket';
import type { ConnectionRequest, Decision, DecisionEvent, SocketAddress } from '../types';
import { DEFAULTS } from '../types';
import {
  COMMON_OPTIONS, EXIT, EXIT_CODES_HELP, UsageError, describeError, endpoint, err, intOption, jsonData, oneLine, out,
  parseAddressRule, parseCommandLine, providerOption, ruleMatches, showData, type AddressRule,
} from './common';

/** The classic port of the Winsock sample programs. */
export const DEFAULT_PORT = 5150;

const HELP = `usage: winsock2 serve [options]

Listens and runs every connection request through a condition function built
from the rules below (WSAAccept), printing one line per decision:

  <ISO time> <verdict> <caller address:port> caller-data=<data> reason=<why> rule=<rule> duration=<ms>

Each accepted connection is read to its end; the peer's disconnect data is
printed and answered with --disconnect-reply. Runs until SIGINT/SIGTERM (or
--count), then stops listening, refuses what is still queued, and closes.

options:
  --port N                 port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDRESS           address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)
  --allow RULE             accept only callers matching a rule (repeatable); a rule is an
                           address (10.1.2.3, ::1), a CIDR (10.0.0.0/8) or a range (a-b)
  --deny RULE              refuse callers matching a rule (repeatable; checked first,
                           through the server's net.BlockList)
  --defer MS               decide each request MS ms later (a Promise: CF_DEFER underneath)
  --decision-timeout MS    reject a decision still pending after MS ms (default
                           ${DEFAULTS.decisionTimeout}, or twice --defer when larger)
  --callee-data TEXT       callee data sent back with every accept
  --disconnect-reply TEXT  disconnect data answering each caller's teardown
  --echo                   send every byte received back to the caller
  --max-connections N      refuse callers beyond N open connections
  --count N                exit after N requests are done (refused, withdrawn, or
                           accepted and closed); --once is --count 1
  --provider auto|native|emulated|framed
  --json                   one JSON object per line (events: listening, decision,
                           closed, conditionError, withdrawn, clientError, stopped)
  --help, -h               this help

Callee data and disconnect replies need a provider that carries them
(capabilities.connectData / disconnectData); asking for them on one that
cannot fails with WSAEOPNOTSUPP.

${EXIT_CODES_HELP}`;

interface Rules {
  allow: AddressRule[];
  deny: AddressRule[];
}

/** Why the rules accepted or refused a caller, for the decision line. */
function ruleFor(rules: Rules, address: string): { accept: boolean; rule: string } {
  if (rules.allow.length === 0) return { accept: true, rule: 'default' };
  const match = rules.allow.find((r) => ruleMatches(r, address));
  return match ? { accept: true, rule: `allow ${match.text}` } : { accept: false, rule: 'not in --allow' };
}

export async function serveCommand(args: string[]): Promise<number> {
  const values = parseCommandLine(args, {
    ...COMMON_OPTIONS,
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    allow: { type: 'string', multiple: true, default: [] },
    deny: { type: 'string', multiple: true, default: [] },
    defer: { type: 'string' },
    'decision-timeout': { type: 'string' },
    'callee-data': { type: 'string' },
    'disconnect-reply': { type: 'string' },
    echo: { type: 'boolean', default: false },
    'max-connections': { type: 'string' },
    count: { type: 'string' },
    once: { type: 'boolean', default: false },
  });
  if (values.help) {
    out(HELP);
    return EXIT.OK;
  }
  const provider = providerOption(values.provider);
  const port = intOption(values.port, 'port', 0, 65535) ?? DEFAULT_PORT;
  const host = values.host;
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const deferMs = intOption(values.defer, 'defer', 0, 2 ** 31 - 1);
  const decisionTimeout = intOption(values['decision-timeout'], 'decision-timeout', 0, 2 ** 31 - 1)
    ?? Math.max(DEFAULTS.decisionTimeout, 2 * (deferMs ?? 0));
  const maxConnections = intOption(values['max-connections'], 'max-connections', 0, 2 ** 31 - 1);
  if (values.once && values.count !== undefined) throw new UsageError('--once and --count cannot be combined');
  const count = values.once ? 1 : intOption(values.count, 'count', 1, 2 ** 31 - 1);
  const rules: Rules = {
    allow: values.allow.map((r) => parseAddressRule(r, 'allow')),
    deny: values.deny.map((r) => parseAddressRule(r, 'deny')),
  };
  const calleeData = values['callee-data'];
  const disconnectReply = values['disconnect-reply'];
  const json = values.json;
  const echo = values.echo;

  const blockList = new BlockList();
  for (const rule of rules.deny) rule.addTo(blockList);

  const ruleNotes = new Map<number, string>();
  /** Pending --defer timers, cleared at stop (the server refuses those requests when it closes). */
  const deferTimers = new Set<NodeJS.Timeout>();
  const emit = (event: string, fields: Record<string, unknown>, text: string, toStderr = false): void => {
    if (json) out(JSON.stringify({ event, time: new Date().toISOString(), ...fields }));
    else if (toStderr) err(`${new Date().toISOString()} ${text}`);
    else out(`${new Date().toISOString()} ${text}`);
  };

  const server = createServer({
    // serve answers a client's hang-up with its own disconnect data: Winsock's half-open rule.
    allowHalfOpen: true,
    ...(provider === undefined ? {} : { provider }),
    ...(values.deny.length > 0 ? { blockList } : {}),
    ...(maxConnections === undefined ? {} : { maxConnections }),
    decisionTimeout,
    condition(req: ConnectionRequest): Decision | Promise<Decision> {
      const { accept, rule } = ruleFor(rules, req.callerId.address);
      ruleNotes.set(req.id, rule);
      const decision: Decision = accept ? { action: 'accept', calleeData: calleeData ?? null } : 'reject';
      if (deferMs === undefined) return decision;
      return new Promise<Decision>((resolve) => {
        const timer = setTimeout(() => {
          deferTimers.delete(timer);
          resolve(decision);
        }, deferMs);
        deferTimers.add(timer);
      });
    },
  });

  let done = 0;
  let stopping = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => { finish = resolve; });
  const countOne = (): void => {
    done++;
    if (count !== undefined && done >= count) finish();
  };
  /** Accepted connections still open, each with its handler (settled once its `closed` line is out). */
  const open = new Map<WinsockSocket, Promise<void>>();

  server.on('decision', (e: DecisionEvent) => {
    const caller = e.request.callerId;
    const rule = e.reason === 'blockList'
      ? `deny ${rules.deny.find((r) => ruleMatches(r, caller.address))?.text ?? '?'}`
      : e.reason === 'maxConnections' ? `max-connections ${maxConnections ?? '?'}`
        : ruleNotes.get(e.request.id) ?? e.reason;
    ruleNotes.delete(e.request.id);
    const duration = Math.round(e.durationMs * 1000) / 1000;
    emit('decision', {
      id: e.request.id, caller, callerData: jsonData(e.request.callerData), verdict: e.verdict, reason: e.reason, rule,
      durationMs: duration, deferrals: e.deferrals,
    }, `${e.verdict.padEnd(6)} ${endpoint(caller.address, caller.port)} caller-data=${showData(e.request.callerData)} ` +
      `reason=${e.reason} rule=${JSON.stringify(rule)} duration=${duration.toFixed(3)}ms deferrals=${e.deferrals}`);
    if (e.verdict === 'reject') countOne();
  });
  server.on('conditionError', (error: WinsockError, req) => {
    emit('conditionError', { id: req.id, caller: req.callerId, error: describeError(error) },
      `conditionError ${endpoint(req.callerId.address, req.callerId.port)}: ${describeError(error)}`, true);
  });
  server.on('withdrawn', (error: WinsockError, req) => {
    emit('withdrawn', { id: req.id, caller: req.callerId, error: error.code },
      `withdrawn ${endpoint(req.callerId.address, req.callerId.port)} ${error.code}`);
    countOne();
  });
  server.on('clientError', (error: WinsockError, remote: SocketAddress | null) => {
    emit('clientError', { caller: remote, error: describeError(error) },
      `clientError ${remote ? endpoint(remote.address, remote.port) : '?'}: ${describeError(error)}`, true);
  });
  let listenerError: WinsockError | null = null;
  server.on('error', (error: WinsockError) => {
    listenerError = error;
    finish();
  });
  server.on('connection', (socket) => {
    open.set(socket, handle(socket).finally(() => {
      open.delete(socket);
      countOne();
    }));
  });

  async function handle(socket: WinsockSocket): Promise<void> {
    const caller = socket.remoteEndpoint();
    let received = 0;
    // Failures surface through the awaits below; this keeps a late one from being unhandled.
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (echo) socket.write(chunk);
    });
    try {
      if (!(await ended(socket))) throw new WinsockError('WSAECONNABORTED', 'WSARecv', { detail: 'the connection closed before the peer hung up' });
      const peerData = await socket.recvDisconnect();
      await socket.sendDisconnect(disconnectReply ?? null);
      emit('closed', {
        caller, callerData: jsonData(socket.callerData), receivedBytes: received, disconnectData: jsonData(peerData),
        reply: disconnectReply ?? null,
      }, `closed ${endpoint(caller.address, caller.port)} received=${received}B disconnect-data=${showData(peerData)} ` +
        `reply=${disconnectReply === undefined ? '-' : JSON.stringify(disconnectReply)}`);
    } catch (e) {
      if (stopping) {
        // Our own shutdown hung up on it (below, after `server.close()`): not an error.
        emit('closed', { caller, callerData: jsonData(socket.callerData), receivedBytes: received, closedBy: 'shutdown' },
          `closed ${endpoint(caller.address, caller.port)} received=${received}B by=shutdown`);
        return;
      }
      const error = e instanceof WinsockError ? e : WinsockError.fromNodeError(e, 'WSARecv');
      emit('closed', { caller, receivedBytes: received, error: describeError(error) },
        `closed ${endpoint(caller.address, caller.port)} received=${received}B error=${oneLine(describeError(error))}`);
    } finally {
      socket.destroy();
    }
  }

  // Installed before listening: a signal as soon as the "listening" line is out must find them.
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130); // a second signal: stop now
    signalled = signal;
    finish();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await server.listen({ port, host });
  } catch (e) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw e;
  }
  const caps = server.capabilities;
  const unsupported = (calleeData !== undefined && calleeData !== '' && !caps.connectData) ||
    (disconnectReply !== undefined && disconnectReply !== '' && !caps.disconnectData);
  if (unsupported) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (calleeData !== undefined && calleeData !== '' && !caps.connectData) {
    await server.close();
    throw new WinsockError('WSAEOPNOTSUPP', 'WSAAccept', {
      detail: `the ${caps.protocol} provider cannot carry callee data (no XP1_CONNECT_DATA); use --provider framed to carry it`,
    });
  }
  if (disconnectReply !== undefined && disconnectReply !== '' && !caps.disconnectData) {
    await server.close();
    throw new WinsockError('WSAEOPNOTSUPP', 'WSASendDisconnect', {
      detail: `the ${caps.protocol} provider cannot carry disconnect data (no XP1_DISCONNECT_DATA); use --provider framed to carry it`,
    });
  }
  const address = server.address() as SocketAddress;
  emit('listening', { address: address.address, port: address.port, family: address.family, capabilities: caps },
    `listening on ${endpoint(address.address, address.port)} (provider ${caps.provider}, ${caps.protocol}; ` +
    `conditional accept ${caps.conditionalAccept ? 'yes' : 'no'}, connect data ${caps.connectData ? 'yes' : 'no'}, ` +
    `disconnect data ${caps.disconnectData ? 'yes' : 'no'})`);

  try {
    await finished;
    stopping = true;
    for (const timer of deferTimers) clearTimeout(timer);
    deferTimers.clear();
    await server.close();
    // Accepted connections still open: hang up gracefully, then close; each
    // handler prints its `closed` line before `stopped`, which stays the last.
    const handlers = [...open.values()];
    await Promise.all([...open.keys()].map(async (socket) => {
      const timer = setTimeout(() => socket.destroy(), 2000);
      try {
        await socket.sendDisconnect(disconnectReply ?? null);
      } catch {
        // The socket may already be gone; destroy below either way.
      } finally {
        clearTimeout(timer);
        socket.destroy();
      }
    }));
    await Promise.all(handlers);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (listenerError) throw listenerError;
  emit('stopped', { requests: done, signal: signalled }, `stopped after ${done} request${done === 1 ? '' : 's'}${signalled ? ` (${signalled})` : ''}`);
  return EXIT.OK;
}

/** Resolves true at the peer's graceful teardown ('end'), false when the socket closed first; rejects on 'error'. */
function ended(socket: WinsockSocket): Promise<boolean> {
  if (socket.readableEnded) return Promise.resolve(true);
  return new Promise<boolean>((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('end', onEnd);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const onEnd = (): void => { cleanup(); resolve(true); };
    const onClose = (): void => { cleanup(); resolve(false); };
    const onError = (e: Error): void => { cleanup(); reject(e); };
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}
