/**
 * `winsock2 connect`: WSAConnect with caller data, send stdin (or --data),
 * WSASendDisconnect with disconnect data, then wait for the peer's teardown
 * and WSARecvDisconnect its data.
 */
import { parseArgs } from 'node:util';
import { connect } from '../connect';
import { WinsockError } from '../errors';
import type { WinsockSocket } from '../socket';
import {
  COMMON_OPTIONS, EXIT, EXIT_CODES_HELP, UsageError, endpoint, intOption, jsonData, out, parseOptions, providerOption, showData,
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
  const values = parseOptions(() => parseArgs({
    args,
    options: {
      ...COMMON_OPTIONS,
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      'caller-data': { type: 'string' },
      'disconnect-data': { type: 'string' },
      data: { type: 'string' },
      timeout: { type: 'string' },
    },
  }).values);
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

  const socket = await connect({
    host: values.host,
    port,
    timeout,
    ...(provider === undefined ? {} : { provider }),
    ...(callerData === undefined ? {} : { callerData }),
  });
  try {
    const received: Buffer[] = [];
    // Failures surface through the awaits below; this keeps a late one from being unhandled.
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // Armed before anything is sent: the peer may hang up at any time.
    const peerEnded = waitForEnd(socket);
    peerEnded.catch(() => undefined);
    if (!values.json) {
      out(`connected to ${endpoint(socket.remoteAddress, socket.remotePort)} from ${endpoint(socket.localAddress, socket.localPort)} ` +
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
    await withTimeout(peerEnded, timeout);
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
  } finally {
    socket.destroy();
  }
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
