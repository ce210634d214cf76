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
import { encodeHello, VerdictDecoder, violationError, type Verdict } from './frames';
import { FramedHandle } from './handle';
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

export function connectFramed(options: ProviderConnectOptions, deps: ConnectDeps): Promise<SocketHandle> {
  return new Promise<SocketHandle>((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(createAbortError(signal));
      return;
    }
    let hello: Buffer;
    try {
      hello = encodeHello({ mode: options.mode, callerData: options.callerData, sqos: options.sqos, gqos: options.gqos }, 'WSAConnect');
    } catch (err) {
      reject(err);
      return;
    }

    const socket = deps.connect({ host: options.host, port: options.port, allowHalfOpen: true, noDelay: true });
    deps.tracker.socket(socket);
    const decoder = new VerdictDecoder({ maxCalleeData: options.maxCalleeData });
    let settled = false;
    let timer: NodeJS.Timeout | null = null;

    const cleanup = (): void => {
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    };
    /** Fails the connect; destroying the socket is how the acceptor learns the request was withdrawn. */
    const fail = (err: Error): void => {
      if (settled) return;
      cleanup();
      socket.on('error', () => {});
      socket.destroy();
      debug('framed: connect to %s:%d failed: %s', options.host, options.port, err.message);
      reject(err);
    };
    const onAbort = (): void => fail(createAbortError(signal ?? undefined));
    const onData = (chunk: Buffer): void => {
      const step = decoder.feed(chunk);
      if (step.state === 'more') return;
      if (step.state === 'error') {
        fail(violationError(step.violation, 'WSAConnect'));
        return;
      }
      const verdict: Verdict = step.value;
      if (!verdict.accept) {
        fail(WinsockError.fromErrno(verdict.errno, 'WSAConnect', rejectDetail(verdict.errno, options.mode)));
        return;
      }
      // Paused before our listener goes, so nothing after the verdict is lost before the handle's readStart().
      socket.pause();
      cleanup();
      const handle = new FramedHandle({
        socket,
        mode: options.mode,
        callerData: null,
        calleeData: verdict.calleeData,
        qos: verdict.qos,
        maxDisconnectData: options.maxDisconnectData,
        maxFramePayload: deps.maxFramePayload,
        leftover: step.end < chunk.length ? chunk.subarray(step.end) : null,
        // Connected to an IPv4 literal: that is the peer, as getpeername would give it, without the
        // syscall. (Not 0.x.x.x: Linux connects "this host" to a local address and getpeername says which.)
        ...(isIPv4(options.host) && !options.host.startsWith('0.') ? { remoteAddress: socketAddress(options.host, options.port) } : {}),
      });
      debug('framed: connected to %s:%d', options.host, options.port);
      resolve(handle);
    };
    // Before the verdict, a server that hangs up or resets has refused us: with
    // real conditional accept the caller never got past SYN_SENT and sees WSAECONNREFUSED.
    const onEnd = (): void =>
      fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { detail: `the acceptor closed the connection before its verdict (${decoder.received} bytes of it received)` }));
    const onError = (err: Error & { code?: string }): void => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { cause: err, detail: `the acceptor reset the connection before its verdict: ${err.message}` }));
      } else {
        fail(WinsockError.fromNodeError(err, 'WSAConnect'));
      }
    };
    const onClose = (): void => fail(new WinsockError('WSAECONNREFUSED', 'WSAConnect', { detail: 'the connection closed before the verdict' }));

    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeout > 0) {
      timer = setTimeout(
        () => fail(new WinsockError('WSAETIMEDOUT', 'WSAConnect', { detail: `no verdict within ${options.timeout} ms` })),
        options.timeout,
      );
    }
    // node:net queues this until the TCP connect completes.
    socket.write(hello);
  });
}
