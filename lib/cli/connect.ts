/**
 * `winsock2 connect`: WSAConnect with caller data, send stdin (or --data),
 * WSASendDisconnect with disconnect data, then wait for the peer's teardown
 * and WSARecvDisconnect its data.
 *
 * Every step after the connect races the connection's own failure (see
 * `watchFailure`): a server that resets us while we are still reading
 * standard input or hanging up must end the command with that reset, never
 * leave it awaiting a step that cannot finish (the process would then run
 * out of work and exit 0).
 */
import { connect, WinsockError, type WinsockSocket } from '../index';
import {
  COMMON_OPTIONS,
  EXIT,
  EXIT_CODES_HELP,
  UsageError,
  autoPicks,
  endpoint,
  err,
  intOption,
  jsonData,
  nothingListening,
  out,
  parseCommandLine,
  providerOption,
  showData,
} from './common';
import { DEFAULT_PORT } from './serve-options';

const DEFAULT_TIMEOUT = 30_000;

const HELP = `usage: winsock2 connect [options] < data

Connects (WSAConnect) with caller data, sends standard input (or --data), hangs
up with disconnect data (WSASendDisconnect), waits for the peer's teardown and
prints the callee data, everything received and the peer's disconnect data
(WSARecvDisconnect).

options:
  --host ADDRESS          server address (default 127.0.0.1)
  --port N                server port (default ${DEFAULT_PORT})
  --caller-data TEXT      caller data sent with the connect request
  --disconnect-data TEXT  disconnect data sent with the hang-up
  --data TEXT             send TEXT instead of reading standard input
  --timeout MS            give up on the connect (a deferred decision included) and
                          on the peer's teardown after MS ms each (default ${DEFAULT_TIMEOUT}; 0: never)
  --provider auto|native|emulated|framed
  --json                  one JSON object with everything, instead of lines
  --help, -h              this help

Caller data and disconnect data need a provider that carries them
(capabilities.connectData / disconnectData); on one that cannot, they are
refused before anything is sent: WSAEPROTONOSUPPORT (caller data, at the
connect), WSAENOPROTOOPT (disconnect data, at the hang-up).

${EXIT_CODES_HELP}`;

/** The command line, checked. */
interface ConnectRequest {
  host: string;
  port: number;
  where: string;
  timeout: number;
  provider: ReturnType<typeof providerOption>;
  callerData: string | undefined;
  disconnectData: string | undefined;
  /** --data, or undefined to read standard input. */
  data: string | undefined;
  json: boolean;
}

export async function connectCommand(args: string[]): Promise<number> {
  const values = parseCommandLine(args, {
    ...COMMON_OPTIONS,
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    'caller-data': { type: 'string' },
    'disconnect-data': { type: 'string' },
    data: { type: 'string' },
    timeout: { type: 'string' },
  });
  if (values.help) {
    out(HELP);
    return EXIT.OK;
  }
  const port = intOption(values.port, 'port', 1, 65535) ?? DEFAULT_PORT;
  if (values.host.trim() === '') throw new UsageError('--host must not be empty');
  const request: ConnectRequest = {
    host: values.host,
    port,
    where: endpoint(values.host, port),
    timeout: intOption(values.timeout, 'timeout', 0, 2 ** 31 - 1) ?? DEFAULT_TIMEOUT,
    provider: providerOption(values.provider),
    callerData: values['caller-data'],
    disconnectData: values['disconnect-data'],
    data: values.data,
    json: values.json,
  };
  const started = Date.now();
  const socket = await open(request);
  try {
    const result = await exchange(socket, request);
    report(socket, request, result, Date.now() - started);
    return EXIT.OK;
  } finally {
    socket.destroy();
    // A failure may have come while standard input was still open: stop reading it.
    if (request.data === undefined) process.stdin.destroy();
  }
}

/** The connect itself, with a hint while it waits and the failures said in the user's words. */
async function open(request: ConnectRequest): Promise<WinsockSocket> {
  const { where, timeout, provider } = request;
  const effective = provider === undefined || provider === 'auto' ? autoPicks() : provider;
  const framed = effective === 'framed';
  const giveUp = timeout === 0 ? 'Waiting for good (--timeout 0).' : `Giving up after ${timeout} ms (--timeout).`;
  const hint = hintLater(
    framed
      ? `no verdict from ${where} after ${hintAfterMs() / 1000} s. The server may still be deciding (a deferred decision), or it ` +
          "may not speak winsock2's framed protocol: a plain TCP server waits for a request and never answers the hello " +
          `(connect without --provider framed to talk plain TCP). ${giveUp}`
      : `the TCP connect to ${where} has not completed after ${hintAfterMs() / 1000} s: the host does not answer ` +
          `(a firewall dropping packets?). ${giveUp}`,
  );
  try {
    return await connect({
      // connect reads the server's answer after its own hang-up (Winsock's half-open rule).
      allowHalfOpen: true,
      host: request.host,
      port: request.port,
      timeout,
      ...(provider === undefined ? {} : { provider }),
      ...(request.callerData === undefined ? {} : { callerData: request.callerData }),
    });
  } catch (e) {
    // native: the refusal may come from Node's own connect (libuv's ConnectEx on
    // the hand-off path), yet under SO_CONDITIONAL_ACCEPT a rejected SYN and a
    // closed port look alike there: never "nothing listening" (below: both).
    if (e instanceof WinsockError && effective !== 'native' && nothingListening(e)) {
      throw new WinsockError('WSAECONNREFUSED', 'WSAConnect', {
        cause: e.cause,
        detail: `nothing is listening at ${where} (the TCP connect itself was refused)`,
      });
    }
    if (e instanceof WinsockError && e.code === 'WSAECONNREFUSED') {
      // native on Windows: under SO_CONDITIONAL_ACCEPT a rejected SYN gets the reset a closed port gives; Winsock reports both alike.
      throw new WinsockError('WSAECONNREFUSED', 'WSAConnect', {
        cause: e,
        detail:
          effective === 'native'
            ? `refused by the server's condition at ${where}, or nothing is listening there (Winsock reports both alike)`
            : `refused by the server's condition at ${where}`,
      });
    }
    if (e instanceof WinsockError && framed && e.code === 'WSAECONNABORTED' && !/framed protocol/.test(e.message)) {
      // The answer to the hello was not a verdict: another protocol answered.
      throw new WinsockError('WSAECONNABORTED', 'WSAConnect', {
        cause: e,
        detail:
          `${e.message.replace(/^.*?\(\d+\): [^:]*: /, '')}; ${where} does not speak winsock2's framed protocol ` +
          '(a plain TCP server? connect without --provider framed)',
      });
    }
    throw e;
  } finally {
    clearTimeout(hint);
  }
}

interface Exchanged {
  sent: number;
  received: Buffer;
  peerDisconnectData: Buffer | null;
}

/** Sends the data, hangs up, waits for the peer's hang-up and reads its disconnect data. */
async function exchange(socket: WinsockSocket, request: ConnectRequest): Promise<Exchanged> {
  const received: Buffer[] = [];
  let receivedBytes = 0;
  socket.on('data', (chunk: Buffer) => {
    receivedBytes += chunk.length;
    received.push(chunk);
  });
  // Armed before anything is sent: the peer may hang up or reset us at any time.
  const failure = watchFailure(socket);
  const peerEnded = waitForEnd(socket);
  if (!request.json) {
    // A socket the server already reset no longer knows its addresses: the request's are the same.
    out(
      `connected to ${endpoint(socket.remoteAddress ?? request.host, socket.remotePort ?? request.port)} ` +
        `from ${endpoint(socket.localAddress ?? '?', socket.localPort ?? 0)} ` +
        `(provider ${socket.capabilities.provider}, ${socket.capabilities.protocol})`,
    );
    out(`callee data: ${showData(socket.calleeData)}`);
  }
  try {
    const sent = await send(socket, request.data, failure.failed);
    // WSASendDisconnect: every byte written so far goes first, then the hang-up with its data.
    await Promise.race([failure.failed, socket.sendDisconnect(request.disconnectData ?? null)]);
    const { where, timeout } = request;
    const hint = hintLater(
      `sent everything and hung up; ${where} has not hung up after ${hintAfterMs() / 1000} s ` +
        `(a server that waits for more, or speaks another protocol, may never do). ${timeout === 0 ? 'Waiting for good (--timeout 0).' : `Giving up after ${timeout} ms (--timeout).`}`,
    );
    try {
      await withTimeout(Promise.race([failure.failed, peerEnded]), timeout);
    } finally {
      clearTimeout(hint);
    }
    const peerDisconnectData = await socket.recvDisconnect();
    return { sent, received: Buffer.concat(received), peerDisconnectData };
  } catch (e) {
    // The connection's own failure explains a later step's (a send after a reset fails with WSAENOTSOCK).
    const error = failure.error() ?? e;
    // Where the kernel completes the handshake before the condition decides
    // (emulated; native under Wine), a refused caller is reset having
    // received nothing: that is this provider's WSAECONNREFUSED.
    if (
      error instanceof WinsockError &&
      error.code === 'WSAECONNRESET' &&
      !socket.capabilities.conditionalAccept &&
      receivedBytes === 0
    ) {
      throw new WinsockError('WSAECONNREFUSED', 'WSAConnect', {
        cause: error,
        detail:
          `refused by the server's condition: ${request.where} reset the connection having sent nothing ` +
          `(provider ${socket.capabilities.provider} completes the TCP handshake before the server's condition decides), ` +
          'or the server does not speak plain TCP (a framed winsock2 server: use --provider framed on both ends)',
      });
    }
    throw error;
  }
}

/** Writes --data, or standard input chunk by chunk with back-pressure; resolves the bytes sent. */
async function send(socket: WinsockSocket, data: string | undefined, failed: Promise<never>): Promise<number> {
  if (data !== undefined) {
    socket.write(data);
    return Buffer.byteLength(data);
  }
  let sent = 0;
  const chunks = (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    const next = await Promise.race([failed, chunks.next()]);
    if (next.done) return sent;
    sent += next.value.length;
    if (!socket.write(next.value))
      await Promise.race([failed, new Promise<void>((resolve) => socket.once('drain', resolve))]);
  }
}

/** Prints what came back, as lines or as one JSON object. */
function report(socket: WinsockSocket, request: ConnectRequest, result: Exchanged, durationMs: number): void {
  const { received, sent, peerDisconnectData } = result;
  if (request.json) {
    out(
      JSON.stringify(
        {
          remote: socket.remoteEndpoint(),
          local: socket.address(),
          capabilities: socket.capabilities,
          callerData: request.callerData ?? null,
          calleeData: jsonData(socket.calleeData),
          sentBytes: sent,
          disconnectData: request.disconnectData ?? null,
          received: jsonData(received),
          receivedBytes: received.length,
          peerDisconnectData: jsonData(peerDisconnectData),
          durationMs,
        },
        null,
        2,
      ),
    );
    return;
  }
  out(
    `sent: ${sent} bytes, then hung up with disconnect data ${request.disconnectData === undefined ? '-' : JSON.stringify(request.disconnectData)}`,
  );
  out(`received (${received.length} bytes): ${received.length === 0 ? '-' : showData(received)}`);
  out(`peer disconnect data: ${showData(peerDisconnectData)}`);
}

/** How long `connect` waits before it prints a hint (WINSOCK2_HINT_AFTER_MS, default 5000). */
function hintAfterMs(): number {
  const ms = Number(process.env['WINSOCK2_HINT_AFTER_MS']);
  return Number.isInteger(ms) && ms > 0 ? ms : 5000;
}

/** Prints `text` as a hint on stderr unless cleared first; never keeps the process alive. */
function hintLater(text: string): NodeJS.Timeout {
  return setTimeout(() => err(`winsock2 connect: hint: ${text}`), hintAfterMs()).unref();
}

/**
 * The connection's first failure: `failed` rejects with it (an 'error', or a
 * close before the peer's hang-up) and never resolves; `error()` is it, once
 * it happened.
 */
function watchFailure(socket: WinsockSocket): { failed: Promise<never>; error(): WinsockError | null } {
  let first: WinsockError | null = null;
  const failed = new Promise<never>((_resolve, reject) => {
    socket.on('error', (e: Error) => {
      first ??= e instanceof WinsockError ? e : WinsockError.fromNodeError(e, 'WSARecv');
      reject(first);
    });
    socket.once('close', () => {
      if (socket.readableEnded) return;
      first ??= new WinsockError('WSAECONNABORTED', 'WSARecv', {
        detail: 'the connection closed before the peer hung up',
      });
      reject(first);
    });
  });
  // Raced at every step; a failure after the last step is nobody's business.
  failed.catch(() => undefined);
  return { failed, error: () => first };
}

/** Resolves at the peer's graceful teardown (recv returned 0). */
function waitForEnd(socket: WinsockSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    if (socket.readableEnded) resolve();
    else socket.once('end', () => resolve());
  });
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  if (ms === 0) return promise;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new WinsockError('WSAETIMEDOUT', 'WSARecvDisconnect', {
            detail: `the peer did not hang up within ${ms} ms`,
          }),
        ),
      ms,
    );
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: Error) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
