/**
 * WSAConnect over the framed protocol: TCP connect, hello, then wait for
 * the verdict. The connect completes only when the acceptor's condition has
 * decided (conditional accept), so a deferred request keeps the caller
 * waiting, bounded by `timeout` and `signal`.
 */
import type { Socket, TcpNetConnectOpts } from 'node:net';
import { createAbortError, WinsockError, WSA_ERRORS } from '../errors';
import type { Connection, ProviderConnectOptions } from '../provider';
import { ConnectAttempt } from '../tcp/connect-attempt';
import {
  encodeHello,
  VerdictDecoder,
  violationError,
  type PreambleStep,
  type Verdict,
  type VerdictLimits,
} from './frames';
import { FramedHandle, IGNORE_EVENTS, type Handshake } from './handle';
import type { HandleTracker } from '../tcp/tracker';

export interface ConnectDeps {
  readonly connect: (options: TcpNetConnectOpts) => Socket;
  readonly tracker: HandleTracker;
  readonly maxFramePayload: number;
  /**
   * How long after the TCP connect the acceptor's first byte may take (ms; 0:
   * no limit). A framed acceptor answers at once (the verdict, or its start
   * when the decision is not immediate); a plain TCP server never does.
   */
  readonly answerTimeout: number;
}

/** What a caller learns when the peer never answers its hello: it is not a framed acceptor. */
export function notFramedError(ms: number): WinsockError {
  return new WinsockError('WSAECONNABORTED', 'WSAConnect', {
    detail:
      `no answer to the hello within ${ms} ms: the peer does not speak winsock2's framed protocol ` +
      "(a plain TCP server, e.g. one on the 'emulated' or 'native' provider? both ends must use provider 'framed')",
  });
}

/** Why a rejection happened, in words, for the common Winsock numbers a server sends. */
function rejectDetail(errno: number, mode: string): string {
  switch (errno) {
    case WSA_ERRORS.WSAECONNREFUSED:
      return 'the acceptor refused the request';
    case WSA_ERRORS.WSAEMSGSIZE:
      return "the caller data (or QOS) exceeds the acceptor's limit";
    case WSA_ERRORS.WSAEPROTOTYPE:
      return `the acceptor is not in ${mode} mode`;
    case WSA_ERRORS.WSAVERNOTSUPPORTED:
      return "the acceptor does not speak this client's protocol version";
    default:
      return 'the acceptor rejected the request';
  }
}

/** The hello of a connect without caller data or QOS, per mode: encoded once (node:net never writes into it). */
const PLAIN_HELLO = {
  stream: encodeHello({ mode: 'stream', callerData: null, sqos: null, gqos: null }),
  message: encodeHello({ mode: 'message', callerData: null, sqos: null, gqos: null }),
} as const;

/** Decodes every verdict that arrives in one chunk (most): no decoder per connect. */
const verdictDecoder = new VerdictDecoder({ maxCalleeData: 0 });

export function connectFramed(options: ProviderConnectOptions, deps: ConnectDeps): Promise<Connection> {
  return new Promise<Connection>((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(createAbortError(signal));
      return;
    }
    let hello: Buffer;
    try {
      hello =
        options.callerData === null && options.sqos === null && options.gqos === null
          ? PLAIN_HELLO[options.mode]
          : encodeHello(
              { mode: options.mode, callerData: options.callerData, sqos: options.sqos, gqos: options.gqos },
              'WSAConnect',
            );
    } catch (err) {
      // encodeHello throws WinsockErrors only (bad QOS values).
      reject(WinsockError.fromNodeError(err, 'WSAConnect', 'WSAEINVAL'));
      return;
    }
    const socket = deps.connect({ host: options.host, port: options.port, allowHalfOpen: true, noDelay: true });
    new Connecting(socket, options, deps, resolve, reject);
    // node:net queues this until the TCP connect completes.
    socket.write(hello);
  });
}

/**
 * One connect waiting for its verdict: the handshake its handle's socket
 * events go to until the verdict (one object, shared methods; the handle's
 * four listeners are the only ones the socket gets).
 */
class Connecting extends ConnectAttempt implements Handshake {
  private readonly handle: FramedHandle;
  /** Only for a verdict split over chunks; one that arrives whole is decoded by the shared decoder. */
  private decoder: VerdictDecoder | null = null;
  private readonly limits: VerdictLimits;
  /** Set once the acceptor's first byte arrived (or the connect settled): the answer timer is then off. */
  private answered = false;
  private answerTimer: NodeJS.Timeout | null = null;

  constructor(
    socket: Socket,
    options: ProviderConnectOptions,
    deps: ConnectDeps,
    resolve: (connection: Connection) => void,
    reject: (err: Error) => void,
  ) {
    super('framed', socket, options, resolve, reject);
    this.limits = { maxCalleeData: options.maxCalleeData };
    if (deps.answerTimeout > 0) {
      // From the TCP connect on: a slow network is the connect timeout's business, not this one's.
      socket.once('connect', () => {
        if (this.answered) return;
        this.answerTimer = setTimeout(() => this.fail(notFramedError(deps.answerTimeout)), deps.answerTimeout);
      });
    }
    this.handle = new FramedHandle(
      {
        socket,
        mode: options.mode,
        maxDisconnectData: options.maxDisconnectData,
        maxFramePayload: deps.maxFramePayload,
        tracker: deps.tracker,
      },
      this,
    );
    this.arm('no verdict');
  }

  protected discard(): void {
    this.stopAnswerTimer();
    this.handle.handshake = IGNORE_EVENTS;
  }

  private stopAnswerTimer(): void {
    this.answered = true;
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.answerTimer = null;
  }

  private feed(chunk: Buffer): PreambleStep<Verdict> {
    if (this.decoder) return this.decoder.feed(chunk);
    const step = verdictDecoder.restart(this.limits).feed(chunk);
    if (step.state !== 'more') return step;
    this.decoder = new VerdictDecoder(this.limits);
    return this.decoder.feed(chunk);
  }

  data(chunk: Buffer): void {
    if (!this.answered) this.stopAnswerTimer();
    const step = this.feed(chunk);
    if (step.state === 'more') return;
    if (step.state === 'error') {
      this.fail(violationError(step.violation, 'WSAConnect'));
      return;
    }
    const verdict = step.value;
    const { options } = this;
    if (!verdict.accept) {
      this.fail(WinsockError.fromErrno(verdict.errno, 'WSAConnect', rejectDetail(verdict.errno, options.mode)));
      return;
    }
    const remoteAddress = this.knownPeer();
    this.handle.open({
      callerData: null,
      calleeData: verdict.calleeData,
      qos: verdict.qos,
      leftover: step.end < chunk.length ? chunk.subarray(step.end) : null,
      remoteAddress,
    });
    this.succeed(this.handle);
  }

  // Before the verdict, a server that hangs up or resets has refused us: with
  // real conditional accept the caller never got past SYN_SENT and sees WSAECONNREFUSED.
  end(): void {
    this.fail(
      new WinsockError('WSAECONNREFUSED', 'WSAConnect', {
        detail: `the acceptor closed the connection before its verdict (${this.decoder ? this.decoder.received : 0} bytes of it received)`,
      }),
    );
  }

  error(err: Error & { code?: string }): void {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      this.fail(
        new WinsockError('WSAECONNREFUSED', 'WSAConnect', {
          cause: err,
          detail: `the acceptor reset the connection before its verdict: ${err.message}`,
        }),
      );
    } else {
      this.fail(WinsockError.fromNodeError(err, 'WSAConnect'));
    }
  }

  close(): void {
    this.fail(
      new WinsockError('WSAECONNREFUSED', 'WSAConnect', { detail: 'the connection closed before the verdict' }),
    );
  }
}
