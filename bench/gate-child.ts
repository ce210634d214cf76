/**
 * One side of a gate case (gate.ts) in a process of its own, forked with an
 * IPC channel:
 *
 *   gate-child.js <net|winsock> <http|https> <provider>
 *
 * `net`: the plain http(s).Server listening alone; `winsock`: the same
 * server fed by a winsock2 gate on `provider` that admits callers with the
 * bench condition (docs/ecosystem.md's pattern). Each side has the process
 * to itself, as a user's server does: two servers in one process share
 * V8's inline and stub caches and its heap, and each then runs at a speed
 * set partly by the other (docs/performance.md, "Behind the gate").
 *
 * Sends { type: 'ready', port }, then answers 'cpu' with { type: 'cpu',
 * micros } (process.cpuUsage(), user + system); exits on SIGTERM.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as path from 'node:path';
import { makeImpl } from './impls';
import { HOST, isProvider, type ProviderName } from './loopback';

const [implName, proto, provider] = process.argv.slice(2);

/** A test-only self-signed certificate for 127.0.0.1 (test/fixtures/tls; never used outside tests and benches). */
const TLS_DIR = path.join(__dirname, '..', 'test', 'fixtures', 'tls');
const BODY = 'hello from behind the gate\n';

const handler = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.setHeader('content-type', 'text/plain');
  res.end(BODY);
};

function send(message: object): void {
  process.send?.(message);
}

async function listenPlain(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: HOST, backlog: 2048 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as net.AddressInfo).port;
}

async function main(): Promise<void> {
  if (
    (implName !== 'net' && implName !== 'winsock') ||
    (proto !== 'http' && proto !== 'https') ||
    !isProvider(provider ?? '')
  ) {
    throw new Error('usage: gate-child.js <net|winsock> <http|https> <provider>');
  }
  const secure = proto === 'https';
  const target: http.Server = secure
    ? https.createServer(
        { key: fs.readFileSync(path.join(TLS_DIR, 'key.pem')), cert: fs.readFileSync(path.join(TLS_DIR, 'cert.pem')) },
        handler,
      )
    : http.createServer(handler);
  let port: number;
  if (implName === 'net') {
    port = await listenPlain(target);
  } else {
    const impl = makeImpl(implName, provider as ProviderName);
    // The gate's allowHalfOpen is its target's own (http.Server: true, https.Server: false), as docs/ecosystem.md says.
    const gate = await impl.listen({
      condition: true,
      count: false,
      allowHalfOpen: !secure,
      onConnection: (s) => target.emit('connection', s),
    });
    port = gate.port;
  }
  process.on('message', (m: unknown) => {
    if (m !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    send({ type: 'cpu', micros: user + system });
  });
  process.on('SIGTERM', () => process.exit(0));
  send({ type: 'ready', port });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
