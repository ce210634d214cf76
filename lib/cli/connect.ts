/**
 * `winsock2 connect`: WSAConnect with caller data, send stdin (or --data),
 * WSASendDisconnect with disconnect data, then wait for the peer's teardown
 * and WSARecvDisconnect its data.
 */
import { connect } from '../connect';
import { WinsockError } from '../errors';
import { resolveProvider } from '../providers';
import type { WinsockSocket } from '../socket';
import {
  COMMON_OPTIONS, EXIT, EXIT_CODES_HELP, UsageError, endpoint, err, intOption, jsonData, nothingListening, out, parseCommandLine,
  providerOption, showData,
} from './common';
import { DEFAULT_PORT } from './serve';

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
(capabilities.connectData / disconnectData); on one that cannot, connect fails
with WSAEOPNOTSUPP before anything is sent.

${EXIT_CODES_HELP}`;

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
  const provider = providerOption(values.provider);
  const port = intOption(values.port, 'port', 1, 65535) ?? DEFAULT_PORT;
  if (values.host.trim() === '') throw new UsageError('--host must not be empty');
  const timeout = intOption(values.timeout, 'timeout', 0, 2 ** 31 - 1) ?? DEFAULT_TIMEOUT;
  const callerData = values['caller-data'];
  const disconnectData = values['disconnect-data'];
  const started = Date.now();

  const where = endpoint(values.host, port);
  const framed = resolveProvider(provider).name === 'framed';
  const giveUp = timeout === 0 ? 'Waiting for good (--timeout 0).' : `Giving up after ${timeout} ms (--timeout).`;
  let socket: WinsockSocket;
  const connectHint = hintLater(framed
    ? `no verdict from ${where} after ${hintAfterMs() / 1000} s. The server may still be deciding (a deferred decision), or it ` +
      "may not speak winsock2's framed protocol: a plain TCP server waits for a request and never answers the hello " +
      `(connect without --provider framed to talk plain TCP). ${giveUp}`
    : `the TCP connect to ${where} has not completed after ${hintAfterMs() / 1000} s: the host does not answer ` +
      `(a firewall dropping packets?). ${giveUp}`);
  try {
    socket = await connect({
      // connect reads the server's answer after its own hang-up (Winsock's half-open rule).
      allowHalfOpen: true,
      host: values.host,
      port,
      timeout,
      ...(provider === undefined ? {} : { provider }),
      ...(callerData === undefined ? {} : { callerData }),
    });
  } catch (e) {
    if (e instanceof WinsockError && nothingListening(e)) {
      throw new WinsockError('WSAECONNREFUSED', 'WSAConnect', { cause: e.cause, detail: `nothing is listening at ${where} (the TCP connect itself was refused)` });
    }
    if (e instanceof WinsockError && framed && e.code === 'WSAECONNABORTED') {
      // The answer to the hello was not a verdict: another protocol answered.
      throw new WinsockError('WSAECONNABORTED', 'WSAConnect', {
        cause: e,
        detail: `${e.message.replace(/^.*?\(\d+\): [^:]*: /, '')}; ${where} does not speak winsock2's framed protocol ` +
          '(a plain TCP server? connect without --provider framed)',
      });
    }
    throw e;
  } finally {
    clearTimeout(connectHint);
  }
  let receivedBytes = 0;
  try {
    const received: Buffer[] = [];
    // Failures surface through the awaits below; this keeps a late one from being unhandled.
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      receivedBytes += chunk.length;
      received.push(chunk);
    });
    // Armed before anything is sent: the peer may hang up at any time.
    const peerEnded = waitForEnd(socket);
    peerEnded.catch(() => undefined);
    if (!values.json) {
      out(`connected to ${endpoint(socket.remoteAddress ?? '', socket.remotePort ?? 0)} from ${endpoint(socket.localAddress ?? '', socket.localPort ?? 0)} ` +
        `(provider ${socket.capabilities.provider}, ${socket.capabilities.protocol})`);
      out(`callee data: ${showData(socket.calleeData)}`);
    }
    let sent = 0;
    if (values.data !== undefined) {
      sent = Buffer.byteLength(values.data);
      socket.write(values.data);
    } else {
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        sent += chunk.length;
        if (!socket.write(chunk)) await new Promise<void>((resolve) => socket.once('drain', resolve));
      }
    }
    // WSASendDisconnect: every byte written so far goes first, then the hang-up with its data.
    await socket.sendDisconnect(disconnectData ?? null);
    const hangUpHint = hintLater(`sent everything and hung up; ${where} has not hung up after ${hintAfterMs() / 1000} s ` +
      `(a server that waits for more, or speaks another protocol, may never do). ${giveUp}`);
    try {
      await withTimeout(peerEnded, timeout);
    } finally {
      clearTimeout(hangUpHint);
    }
    const peerDisconnectData = await socket.recvDisconnect();
    const data = Buffer.concat(received);
    if (values.json) {
      out(JSON.stringify({
        remote: socket.remoteEndpoint(),
        local: socket.address(),
        capabilities: socket.capabilities,
        callerData: callerData ?? null,
        calleeData: jsonData(socket.calleeData),
        sentBytes: sent,
        disconnectData: disconnectData ?? null,
        received: jsonData(data),
        receivedBytes: data.length,
        peerDisconnectData: jsonData(peerDisconnectData),
        durationMs: Date.now() - started,
      }, null, 2));
    } else {
      out(`sent: ${sent} bytes, then hung up with disconnect data ${disconnectData === undefined ? '-' : JSON.stringify(disconnectData)}`);
      out(`received (${data.length} bytes): ${data.length === 0 ? '-' : showData(data)}`);
      out(`peer disconnect data: ${showData(peerDisconnectData)}`);
    }
    return EXIT.OK;
  } catch (e) {
    // Where the kernel completes the handshake before the condition decides
    // (emulated; native under Wine), a refused caller is reset having
    // received nothing: that is this provider's WSAECONNREFUSED.
    if (e instanceof WinsockError && e.code === 'WSAECONNRESET' && !socket.capabilities.conditionalAccept && receivedBytes === 0) {
      throw new WinsockError('WSAECONNREFUSED', 'WSAConnect', {
        cause: e,
        detail: `${where} reset the connection having sent nothing: the acceptor refused it after the TCP handshake ` +
          `(provider ${socket.capabilities.provider} completes the handshake before the condition decides), or it does not speak plain TCP ` +
          "(a framed winsock2 server: use --provider framed on both ends)",
      });
    }
    throw e;
  } finally {
    socket.destroy();
  }
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

/** Resolves at the peer's graceful teardown; rejects on an error or a close without one. */
function waitForEnd(socket: WinsockSocket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('end', () => resolve());
    socket.once('error', (e: Error) => reject(e instanceof WinsockError ? e : WinsockError.fromNodeError(e, 'WSARecv')));
    socket.once('close', () => reject(new WinsockError('WSAECONNABORTED', 'WSARecv', { detail: 'the connection closed before the peer hung up' })));
  });
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  if (ms === 0) return promise;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new WinsockError('WSAETIMEDOUT', 'WSARecvDisconnect', {
      detail: `the peer did not hang up within ${ms} ms`,
    })), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}
