/**
 * WSAConnect over the framed protocol: TCP connect, hello, then wait for
 * the verdict. The connect completes only when the acceptor's condition has
 * decided (conditional accept), so a deferred request keeps the caller
 * waiting, bounded by `timeout` and `signal`.
 */
import { isIPv4, type NetConnectOpts, type Socket } from 'node:net';
import { debug } from '../debug';
import { createAbortError, WinsockError, WSA_ERRORS } from '../errors';
import type { ProviderConnectOptions, SocketHandle } from '../provider';
import { socketAddress } from '../tcp/sockets';
import { encodeHello, VerdictDecoder, violationError, type PreambleStep, type Verdict, type VerdictLimits } from './frames';
import { FramedHandle, IGNORE_EVENTS, type Handshake } from './handle';
import type { HandleTracker } from '../tcp/tracker';

export interface ConnectDeps {
  readonly connect: (options: NetConnectOpts) => Socket;
  readonly tracker: HandleTracker;
  readonly maxFramePayload: number;
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

export function connectFramed(options: ProviderConnectOptions, deps: ConnectDeps): Promise<SocketHandle> {
  return new Promise<SocketHandle>((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(createAbortError(signal));
      return;
    }
    let hello: Buffer;
    try {
      hello = options.callerData === null && options.sqos === null && options.gqos === null
        ? PLAIN_HELLO[options.mode]
        : encodeHello({ mode: options.mode, callerData: options.callerData, sqos: options.sqos, gqos: options.gqos }, 'WSAConnect');
    } catch (err) {
      reject(err);
      return;
    }
    const socket = deps.connect({ host: options.host, port: options.port, allowHalfOpen: true, noDelay: true });
    const connecting = new Connecting(socket, options, deps, resolve, reject);
    if (signal) signal.addEventListener('abort', connecting.onAbort, { once: true });
    if (options.timeout > 0) {
      connecting.timer = setTimeout(
        () => connecting.fail(new WinsockError('WSAETIMEDOUT', 'WSAConnect', { detail: `no verdict within ${options.timeout} ms` })),
        options.timeout,
      );
    }
    // node:net queues this until the TCP connect completes.
    socket.write(hello);
  });
}

/**
 * One connect waiting for its verdict: the handshake its handle's socket
 * events go to until the verdict (one object, shared methods; the handle's
 * four listeners are the only ones the socket gets).
 */
class Connecting implements Handshake {
  readonly handle: FramedHandle;
  timer: NodeJS.Timeout | null = null;
  /** Only for a verdict split over chunks; one that arrives whole is decoded by the shared decoder. */
  private decoder: VerdictDecoder | null = null;
  private settled = false;
  private readonly limits: VerdictLimits;

  constructor(
    private readonly socket: Socket,
    private readonly options: ProviderConnectOptions,
    deps: ConnectDeps,
    private readonly resolve: (handle: SocketHandle) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.limits = { maxCalleeData: options.maxCalleeData };
    this.handle = new FramedHandle(
      { socket, mode: options.mode, maxDisconnectData: options.maxDisconnectData, maxFramePayload: deps.maxFramePayload, tracker: deps.tracker },
      this,
    );
  }

  /** Made only for a connect with a signal. */
  private abortListener: (() => void) | null = null;

  get onAbort(): () => void {
    return (this.abortListener ??= (): void => this.fail(createAbortError(this.options.signal ?? undefined)));
  }

  private settle(): void {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.abortListener) this.options.signal?.removeEventListener('abort', this.abortListener);
  }

  /** Fails the connect; destroying the socket is how the acceptor learns the request was withdrawn. */
  fail(err: Error): void {
    if (this.settled) return;
    this.settle();
    // Whatever the socket still reports is nobody's business now.
    this.handle.handshake = IGNORE_EVENTS;
    this.socket.destroy();
    debug('framed: connect to %s:%d failed: %s', this.options.host, this.options.port, err.message);
    this.reject(err);
  }

  private feed(chunk: Buffer): PreambleStep<Verdict> {
    if (this.decoder) return this.decoder.feed(chunk);
    const step = verdictDecoder.restart(this.limits).feed(chunk);
    if (step.state !== 'more') return step;
    this.decoder = new VerdictDecoder(this.limits);
    return this.decoder.feed(chunk);
  }

  data(chunk: Buffer): void {
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
    this.settle();
    this.handle.open({
      callerData: null,
      calleeData: verdict.calleeData,
      qos: verdict.qos,
      leftover: step.end < chunk.length ? chunk.subarray(step.end) : null,
      // Connected to an IPv4 literal: that is the peer, as getpeername would give it, without the
      // syscall. (Not 0.x.x.x: Linux connects "this host" to a local address and getpeername says which.)
      ...(isIPv4(options.host) && !options.host.startsWith('0.') ? { remoteAddress: socketAddress(options.host, options.port) } : {}),
    });
    debug('framed: connected to %s:%d', options.host, options.port);
    this.resolve(this.handle);
  }

  // Before the verdict, a server that hangs up or resets has refused us: with
  // real conditional accept the caller never got past SYN_SENT and sees WSAECONNREFUSED.
  end(): void {
    this.fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { detail: `the acceptor closed the connection before its verdict (${this.decoder ? this.decoder.received : 0} bytes of it received)` }));
  }

  error(err: Error & { code?: string }): void {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      this.fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { cause: err, detail: `the acceptor reset the connection before its verdict: ${err.message}` }));
    } else {
      this.fail(WinsockError.fromNodeError(err, 'WSAConnect'));
    }
  }

  close(): void {
    this.fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { detail: 'the connection closed before the verdict' }));
  }
}
