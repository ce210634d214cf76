/**
 * An HTTP + WebSocket server whose callers pass a blockList and a condition
 * before HTTP sees them: winsock2 listens, and only the sockets it admitted
 * are handed to the http.Server (and through its upgrades to ws). On Windows
 * (native provider, SO_CONDITIONAL_ACCEPT) a refused caller never completes
 * the TCP handshake; elsewhere (emulated) it is reset having received
 * nothing. Either way no byte of a refused caller reaches HTTP.
 *
 * Callers are ordinary HTTP and WebSocket clients (browsers, curl, fetch):
 * the native and emulated providers put plain TCP on the wire.
 *
 * Run: `npm run build && npm run build:test && node out/examples/http-gate.js`.
 */
import * as http from 'node:http';
import { BlockList } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { createServer, type ConnectionRequest, type ProviderChoice, type WinsockServer } from 'winsock2';

export interface HttpGateOptions {
  /** Callers on this list are refused before the condition runs. */
  blockList?: BlockList;
  /** At most this many open connections per caller address (the condition's rule). */
  maxPerAddress?: number;
  port?: number;
  host?: string;
  /** Default 'auto': native on Windows, emulated elsewhere (plain TCP either way). */
  provider?: ProviderChoice;
}

export interface HttpGate {
  readonly gate: WinsockServer;
  readonly http: http.Server;
  readonly wss: WebSocketServer;
  readonly port: number;
  /** Stops admitting, ends the HTTP and WebSocket connections, resolves when all is closed. */
  close(): Promise<void>;
}

/** Starts the gate: winsock2 decides, http.Server and ws serve what it admitted. */
export async function startHttpGate(options: HttpGateOptions = {}): Promise<HttpGate> {
  const httpServer = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello ${req.socket.remoteAddress ?? '?'} at ${req.url ?? '/'}\n`);
  });
  const wss = new WebSocketServer({ server: httpServer });
  wss.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(`echo ${data.toString()}`)));

  const perAddress = new Map<string, number>();
  const maxPerAddress = options.maxPerAddress ?? 16;
  const gate = createServer({
    allowHalfOpen: true, // as http.Server's own listener (docs/ecosystem.md)
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    ...(options.blockList === undefined ? {} : { blockList: options.blockList }),
    // WSAAccept's condition: runs before the connection is accepted.
    condition: (req: ConnectionRequest) =>
      (perAddress.get(req.callerId.address) ?? 0) < maxPerAddress ? 'accept' : 'reject',
  });
  // The pattern (docs/ecosystem.md): every admitted socket goes to the HTTP server.
  gate.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left === 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
    httpServer.emit('connection', socket);
  });
  const { port } = await gate.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  return {
    gate,
    http: httpServer,
    wss,
    port,
    async close(): Promise<void> {
      await gate.close();
      for (const client of wss.clients) client.terminate();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export interface HttpGateResult {
  provider: string;
  http: string;
  websocket: string;
  /** What the blocked caller saw: never an HTTP response. */
  blocked: string;
  /** HTTP requests the server handled: the blocked caller's is not among them. */
  requestsSeenByHttp: number;
  decisions: { verdict: string; reason: string }[];
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // agent: false, so no keep-alive pool holds the process open.
    http
      .get({ host: '127.0.0.1', port, path: '/status', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => {
          body += s;
        });
        res.on('end', () => resolve(`${res.statusCode} ${body.trim()}`));
      })
      .on('error', reject);
  });
}

/** Plain HTTP, a WebSocket, then the same caller once the blockList names it. */
export async function main(provider: ProviderChoice = 'auto'): Promise<HttpGateResult> {
  const blockList = new BlockList();
  const server = await startHttpGate({ blockList, provider });
  const decisions: { verdict: string; reason: string }[] = [];
  server.gate.on('decision', (d) => decisions.push({ verdict: d.verdict, reason: d.reason }));
  let requestsSeenByHttp = 0;
  server.http.on('request', () => {
    requestsSeenByHttp++;
  });
  try {
    const httpAnswer = await get(server.port);

    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/chat`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('hi');
    const websocket = await new Promise<string>((resolve) =>
      ws.once('message', (data: Buffer) => resolve(data.toString())),
    );
    ws.close();

    blockList.addAddress('127.0.0.1');
    const blocked = await get(server.port).then(
      (answer) => `answered: ${answer}`,
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    return { provider: server.gate.providerName, http: httpAnswer, websocket, blocked, requestsSeenByHttp, decisions };
  } finally {
    await server.close();
  }
}

// Run when executed directly (`node http-gate.js`), as CommonJS or as an ES module
// alike (`require.main === module` exists only in CommonJS); importing the
// file runs nothing.
if (/[\\/]http-gate\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  main().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
