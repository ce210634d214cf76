/**
 * The line between a faults-net peer and the orchestrator. A Linux peer
 * uses the IPC channel Node passes through `ip netns exec`; node.exe under
 * Wine cannot (no IPC across Wine, and its stdout/stderr must be files), so
 * a peer started with FAULTS_REPORT=host:port connects there over TCP and
 * speaks newline-delimited JSON both ways. Either way a peer whose
 * orchestrator went away exits: no strays.
 */
import * as net from 'node:net';

type Handler = (message: { type?: string }) => void;

let channel: net.Socket | null = null;
const handlers: Handler[] = [];

/** Calls `onMessage` with each newline-delimited JSON message `socket` brings (both ends of the line). */
export function readLines<T>(socket: net.Socket, onMessage: (message: T) => void): void {
  socket.setEncoding('utf8');
  let buffered = '';
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line) onMessage(JSON.parse(line) as T);
    }
  });
}

/** Connects the TCP channel when FAULTS_REPORT names one; otherwise IPC is used. */
export async function openChannel(): Promise<void> {
  const to = process.env['FAULTS_REPORT'];
  if (!to) {
    process.on('disconnect', () => process.exit(0));
    return;
  }
  const [host, port] = to.split(':');
  const socket = net.connect({ host: host, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  readLines(socket, (message: { type?: string }) => {
    for (const h of handlers) h(message);
  });
  // The orchestrator went away (or closed the line): this peer ends too.
  socket.on('close', () => process.exit(0));
  socket.on('error', () => undefined);
  channel = socket;
}

/** TCP sockets of this process that are the line itself (not the run's connections). */
export function lineSockets(): number {
  return channel !== null && !channel.destroyed ? 1 : 0;
}

/** Sends a message to the orchestrator. */
export function send(message: object): void {
  if (channel !== null) channel.write(`${JSON.stringify(message)}\n`);
  else process.send?.(message);
}

/** Messages from the orchestrator ('report'). */
export function onOrder(handler: Handler): void {
  handlers.push(handler);
  process.on('message', handler);
}

/** This peer is done: the line is closed once what was sent has gone (the orchestrator sees the exit). */
export function closeChannel(): void {
  if (channel !== null) {
    channel.removeAllListeners('close');
    channel.end(() => process.exit(0));
  } else process.disconnect?.();
}
