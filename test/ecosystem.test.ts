/**
 * winsock2 sockets where Node expects a socket (SPEC "Works where Node
 * expects a socket"; docs/ecosystem.md shows each pattern): conditional
 * accept in front of http.Server, https.Server, a ws WebSocketServer and an
 * http2 server (one line: `server.on('connection', (s) => target.emit('connection', s))`),
 * and on the client side http.Agent with keep-alive (createConnection),
 * undici's `connect`, the ws client's createConnection and tls.connect({ socket }).
 * Every pattern runs end to end on every provider under test (native under Wine).
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { connect } from '../lib/connect';
import type { ProviderName } from '../lib/types';
import type { WinsockServer } from '../lib/server';
import type { WinsockSocket } from '../lib/socket';
import { forEachProvider, listen, own, waitFor } from './helpers/harness';

const fixtures = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'tls');
/** A test-only self-signed certificate for localhost and 127.0.0.1 (never used outside tests). */
const key = fs.readFileSync(path.join(fixtures, 'key.pem'));
const cert = fs.readFileSync(path.join(fixtures, 'cert.pem'));

/** The pattern docs/ecosystem.md shows: every socket the condition admitted goes to `target`. */
function feed(server: WinsockServer, target: net.Server | http2.Http2Server): void {
  server.on('connection', (socket) => target.emit('connection', socket));
}

/** An http.Agent whose sockets are winsock2 connects (keep-alive works: the socket has setKeepAlive, ref/unref...). */
class WinsockAgent extends http.Agent {
  constructor(
    private readonly provider: ProviderName,
    options: http.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: WinsockSocket) => void,
  ): undefined {
    connect({ provider: this.provider, host: options.host ?? '127.0.0.1', port: Number(options.port) }).then(
      (socket) => callback?.(null, own(socket)),
      (err: Error) => callback?.(err, undefined as never),
    );
    return undefined;
  }
}

/** Reads a response body to the end. */
async function body(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** Every socket the winsock2 server admitted, for assertions. */
function admitted(server: WinsockServer): WinsockSocket[] {
  const list: WinsockSocket[] = [];
  server.on('connection', (s) => list.push(s));
  return list;
}

forEachProvider('ecosystem', (provider) => {
  let cleanups: (() => unknown)[] = [];
  afterEach(async function () {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A winsock2 server whose condition refuses callers that are not on loopback, feeding `target`. */
  async function front(
    target: net.Server | http2.Http2Server,
  ): Promise<{ server: WinsockServer; port: number; sockets: WinsockSocket[] }> {
    const { server, port } = await listen(provider, {
      condition: (req) => (req.callerId.address.startsWith('127.') ? 'accept' : 'reject'),
    });
    const sockets = admitted(server);
    feed(server, target);
    return { server, port, sockets };
  }

  it('http.Server behind conditional accept, and an http.Agent with keepAlive reusing one winsock2 socket', async function () {
    const httpServer = http.createServer((req, res) => res.end(`hello ${req.url}`));
    const { port, sockets } = await front(httpServer);
    const agent = new WinsockAgent(provider, { keepAlive: true, maxSockets: 1 });
    cleanups.push(
      () => agent.destroy(),
      () => httpServer.closeAllConnections(),
    );
    for (const url of ['/one', '/two']) {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: url, agent }, resolve).on('error', reject);
      });
      assert.equal(res.statusCode, 200);
      assert.equal(await body(res), `hello ${url}`);
    }
    assert.equal(sockets.length, 1, 'keep-alive: both requests went over one winsock2 connection');
  });

  it("an http server's keepAliveTimeout closes an idle winsock2 socket", async function () {
    const httpServer = http.createServer({ keepAliveTimeout: 100 } as http.ServerOptions, (_req, res) => res.end('ok'));
    httpServer.keepAliveTimeout = 100;
    const { port, sockets } = await front(httpServer);
    cleanups.push(() => httpServer.closeAllConnections());
    const client = own(await connect({ provider, port }));
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    let text = '';
    client.on('data', (c: Buffer) => {
      text += c.toString();
    });
    // The server answers, then its keep-alive timer ends the idle connection.
    await new Promise<void>((resolve) => {
      client.once('end', resolve);
      client.once('error', () => resolve());
    });
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /Keep-Alive: timeout=0?\.?1?/i);
    await waitFor(() => sockets[0]?.destroyed === true);
  });

  it("an http server's headersTimeout closes a winsock2 socket whose headers never finish (408)", async function () {
    const httpServer = http.createServer(
      { headersTimeout: 100, requestTimeout: 200, connectionsCheckingInterval: 20 },
      (_req, res) => res.end('never'),
    );
    const { port, sockets } = await front(httpServer);
    cleanups.push(
      () => httpServer.closeAllConnections(),
      () => new Promise((r) => httpServer.close(r)),
    );
    // (listen() is what starts the connections-checking timer; it binds nothing the test uses.)
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const client = own(await connect({ provider, port }));
    client.write('GET / HTTP/1.1\r\nHost: x\r\n');
    let text = '';
    client.on('data', (c: Buffer) => {
      text += c.toString();
    });
    await new Promise<void>((resolve) => {
      client.once('end', resolve);
      client.once('error', () => resolve());
    });
    assert.match(text, /^HTTP\/1\.1 408 Request Timeout/);
    await waitFor(() => sockets[0]?.destroyed === true);
  });

  it('https.Server behind conditional accept, with tls.connect({ socket }) on the client', async function () {
    const httpsServer = https.createServer({ key, cert }, (req, res) => res.end(`secure ${req.url}`));
    const { port } = await front(httpsServer);
    cleanups.push(() => httpsServer.closeAllConnections());
    const raw = own(await connect({ provider, port }));
    const secure = tls.connect({ socket: raw, ca: cert, servername: 'localhost' });
    cleanups.push(() => secure.destroy());
    await once(secure, 'secureConnect');
    assert.equal(secure.authorized, true);
    secure.write('GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const text = await body(secure);
    assert.match(text, /^HTTP\/1\.1 200 OK/);
    assert.match(text, /secure \/x$/);
  });

  it('a ws WebSocketServer behind conditional accept, with the ws client over createConnection', async function () {
    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer });
    wss.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(`echo ${data.toString()}`)));
    const { port } = await front(httpServer);
    cleanups.push(
      () => new Promise((r) => wss.close(r)),
      () => httpServer.closeAllConnections(),
    );
    const socket = own(await connect({ provider, port }));
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { createConnection: () => socket as unknown as net.Socket });
    cleanups.push(() => ws.terminate());
    await once(ws, 'open');
    ws.send('hi');
    const [reply] = (await once(ws, 'message')) as [Buffer];
    assert.equal(reply.toString(), 'echo hi');
    ws.close();
    await once(ws, 'close');
  });

  it('an http2 server behind conditional accept, with http2.connect over createConnection', async function () {
    const h2 = http2.createServer();
    h2.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(`h2 ${String(headers[':path'])}`);
    });
    const { port } = await front(h2);
    const socket = own(await connect({ provider, port }));
    const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => socket });
    cleanups.push(() => session.destroy());
    const req = session.request({ ':path': '/two' });
    const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(headers[':status'], 200);
    assert.equal(await body(req), 'h2 /two');
    await new Promise<void>((resolve) => session.close(resolve));
  });

  it("undici's connect option dials winsock2", async function () {
    const httpServer = http.createServer((req, res) => res.end(`undici ${req.url}`));
    const { port, sockets } = await front(httpServer);
    cleanups.push(() => httpServer.closeAllConnections());
    const dispatcher = new UndiciAgent({
      connect: (options, callback) => {
        connect({ provider, host: options.hostname, port: Number(options.port) })
          // undici's types ask for a net.Socket; a WinsockSocket is a Duplex with the members undici calls.
          .then(
            (socket) => callback(null, own(socket) as unknown as net.Socket),
            (err: Error) => callback(err, null),
          );
      },
    });
    cleanups.push(() => dispatcher.close());
    for (const url of ['/a', '/b']) {
      const res = await undiciRequest(`http://127.0.0.1:${port}${url}`, { dispatcher });
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), `undici ${url}`);
    }
    // (undici 7 may open a second connection for the second request even over plain net.connect: no reuse assertion here.)
    assert.ok(sockets.length >= 1, 'the requests went over winsock2 connections');
  });
});
