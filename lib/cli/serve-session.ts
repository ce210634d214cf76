/**
 * `winsock2 serve`, the server: a winsock2 server whose condition applies the
 * command-line rules, whose events go to the report, and which counts the
 * requests done (for --count) and shuts down cleanly.
 */
import {
  createServer,
  WinsockError,
  type ConnectionRequest,
  type Decision,
  type DecisionEvent,
  type SocketAddress,
  type WinsockServer,
  type WinsockSocket,
} from '../index';
import { ruleFor, type ServeConfig } from './serve-options';
import type { ServeReport } from './serve-report';

export class ServeSession {
  readonly server: WinsockServer;
  /** Requests done: refused, withdrawn, or accepted and closed. */
  done = 0;
  /** The listener's own failure, if it failed. */
  listenerError: WinsockError | null = null;
  /** Resolves when the session should stop: --count reached, the listener failed, or stop() was called. */
  readonly finished: Promise<void>;
  private finish: () => void = () => undefined;
  private stopping = false;
  /** Which rule decided each request, for its decision line. */
  private readonly ruleNotes = new Map<number, string>();
  /** Pending --defer timers, cleared at shut-down (the server refuses those requests when it closes). */
  private readonly deferTimers = new Set<NodeJS.Timeout>();
  /** Accepted connections still open, each with its handler (settled once its `closed` line is out). */
  private readonly open = new Map<WinsockSocket, Promise<void>>();

  constructor(
    private readonly config: ServeConfig,
    private readonly report: ServeReport,
  ) {
    this.finished = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    this.server = createServer({
      // serve answers a client's hang-up with its own disconnect data: Winsock's half-open rule.
      allowHalfOpen: true,
      ...(config.provider === undefined ? {} : { provider: config.provider }),
      ...(config.blockList === null ? {} : { blockList: config.blockList }),
      ...(config.maxConnections === undefined ? {} : { maxConnections: config.maxConnections }),
      decisionTimeout: config.decisionTimeout,
      condition: (req) => this.condition(req),
    });
    this.server.on('decision', (e: DecisionEvent) => {
      this.report.decision(e, this.ruleNotes.get(e.request.id));
      this.ruleNotes.delete(e.request.id);
      if (e.verdict === 'reject') this.countOne();
    });
    this.server.on('conditionError', (error: WinsockError, req) =>
      this.report.conditionError(error, req.id, req.callerId),
    );
    this.server.on('withdrawn', (error: WinsockError, req) => {
      this.report.withdrawn(error, req.id, req.callerId);
      this.countOne();
    });
    this.server.on('clientError', (error: WinsockError, remote: SocketAddress | null) =>
      this.report.clientError(error, remote),
    );
    this.server.on('error', (error: WinsockError) => {
      this.listenerError = error;
      this.finish();
    });
    this.server.on('connection', (socket) => {
      this.open.set(
        socket,
        this.handle(socket).finally(() => {
          this.open.delete(socket);
          this.countOne();
        }),
      );
    });
  }

  /** Ends the session (a signal): `finished` resolves. */
  stop(): void {
    this.finish();
  }

  private condition(req: ConnectionRequest): Decision | Promise<Decision> {
    const { accept, rule } = ruleFor(this.config.rules, req.callerId.address);
    this.ruleNotes.set(req.id, rule);
    const decision: Decision = accept ? { action: 'accept', calleeData: this.config.calleeData ?? null } : 'reject';
    const { deferMs } = this.config;
    if (deferMs === undefined) return decision;
    return new Promise<Decision>((resolve) => {
      const timer = setTimeout(() => {
        this.deferTimers.delete(timer);
        resolve(decision);
      }, deferMs);
      this.deferTimers.add(timer);
    });
  }

  private countOne(): void {
    this.done++;
    if (this.config.count !== undefined && this.done >= this.config.count) this.finish();
  }

  /** One accepted connection: read it to its end, answer the caller's hang-up, report how it closed. */
  private async handle(socket: WinsockSocket): Promise<void> {
    const caller = socket.remoteEndpoint();
    let received = 0;
    // Failures surface through the awaits below; this keeps a late one from being unhandled.
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (this.config.echo) socket.write(chunk);
    });
    try {
      if (!(await ended(socket)))
        throw new WinsockError('WSAECONNABORTED', 'WSARecv', {
          detail: 'the connection closed before the peer hung up',
        });
      const peerData = await socket.recvDisconnect();
      await socket.sendDisconnect(this.config.disconnectReply ?? null);
      this.report.closed(caller, socket.callerData, received, { by: 'peer', peerData });
    } catch (e) {
      // Our own shutdown hung up on it (shutDown(), after `server.close()`): not an error.
      if (this.stopping) this.report.closed(caller, socket.callerData, received, { by: 'shutdown' });
      else
        this.report.closed(caller, socket.callerData, received, {
          by: 'error',
          error: WinsockError.fromNodeError(e, 'WSARecv'),
        });
    } finally {
      socket.destroy();
    }
  }

  /**
   * Stops listening (the server refuses what is still queued or deferred),
   * then hangs up every open connection gracefully; resolves once each has
   * printed its `closed` line, so `stopped` stays the last line.
   */
  async shutDown(): Promise<void> {
    this.stopping = true;
    for (const timer of this.deferTimers) clearTimeout(timer);
    this.deferTimers.clear();
    await this.server.close();
    const handlers = [...this.open.values()];
    await Promise.all(
      [...this.open.keys()].map(async (socket) => {
        const timer = setTimeout(() => socket.destroy(), 2000);
        try {
          await socket.sendDisconnect(this.config.disconnectReply ?? null);
        } catch {
          // The socket may already be gone; destroyed below either way.
        } finally {
          clearTimeout(timer);
          socket.destroy();
        }
      }),
    );
    await Promise.all(handlers);
  }
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
    const onEnd = (): void => {
      cleanup();
      resolve(true);
    };
    const onClose = (): void => {
      cleanup();
      resolve(false);
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}
