/**
 * The parity scenarios (issue 20, "How it is checked"): each is one script
 * that any net-like module runs; what it records is compared between
 * node:net and winsock2/net. A script records only what node:net makes
 * deterministic: the events of one object in order, callback calls and
 * their errors, return values, properties at points the script controls.
 */
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { Readable, Writable, finished, pipeline } from 'node:stream';
import { text } from 'node:stream/consumers';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import { errorName, seen, settle, until, within, type Ctx, type Scenario } from './harness';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'tls');

/** A server on 127.0.0.1 and a client connected to it; `peer` is the server's socket (actors named with `suffix`). */
async function pair(
  c: Ctx,
  serverOptions: net.ServerOpts = {},
  clientOptions: Partial<net.TcpNetConnectOpts> = {},
  suffix = '',
): Promise<{ server: net.Server; client: net.Socket; peer: net.Socket; port: number }> {
  const server = c.server(serverOptions, `server${suffix}`);
  const port = await c.listen(server);
  const accepted = c.accepted(server, `peer${suffix}`);
  const client = c.connect({ port, host: '127.0.0.1', ...clientOptions }, `client${suffix}`);
  const peer = await accepted;
  if (client.connecting) await once(client, 'connect');
  return { server, client, peer, port };
}

/** Everything `socket` delivers until 'end' (or 'close'), as text. */
function collect(socket: net.Socket): Promise<string> {
  let got = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    got += chunk;
  });
  return new Promise((resolve) => {
    socket.once('end', () => resolve(got));
    socket.once('close', () => resolve(got));
  });
}

const closed = (s: net.Socket | net.Server): Promise<boolean> => seen(s, 'close');

/** The callback's outcome: 'ok' or the error's code. */
const cbOutcome = (err: Error | null | undefined): string => (err ? errorName(err) : 'ok');

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'echo',
    async run(c) {
      const server = c.server({}, 'server', (s) => {
        s.pipe(s);
      });
      const port = await c.listen(server);
      const accepted = c.accepted(server);
      const client = c.connect({ port, host: '127.0.0.1' }, 'client', undefined, () => c.mark('client', 'cb:connect'));
      c.rec('client.connecting', client.connecting);
      c.rec('client.pending', client.pending);
      c.rec('client.readyState.before', client.readyState);
      await once(client, 'connect');
      c.rec('client.readyState.connected', client.readyState);
      c.rec('client.remoteAddress', client.remoteAddress);
      c.rec('client.remoteFamily', client.remoteFamily);
      c.rec('client.remotePortIsServer', client.remotePort === port);
      c.rec('client.localAddress', client.localAddress);
      c.rec('client.bufferSize', client.bufferSize);
      c.rec('typeof client.destroySoon', typeof client.destroySoon);
      const peer = await accepted;
      c.rec('peer.remoteAddress', peer.remoteAddress);
      c.rec('peer.localPortIsServer', peer.localPort === port);
      const received = collect(client);
      c.rec('client.write.returned', client.write('hello, '));
      c.rec('client.end.returnsSelf', client.end('world') === client);
      c.rec('client.readyState.ended', client.readyState);
      c.rec('client.received', await received);
      await closed(client);
      c.rec('client.bytesWritten', client.bytesWritten);
      c.rec('client.bytesRead', client.bytesRead);
      c.rec('client.destroyed', client.destroyed);
      c.rec('client.readyState.closed', client.readyState);
      await until(() => peer.destroyed);
      c.rec('peer.bytesRead', peer.bytesRead);
      c.rec('peer.bytesWritten', peer.bytesWritten);
    },
  },
  {
    name: 'half-close, allowHalfOpen false: the peer ends when the client ends',
    async run(c) {
      const { client, peer } = await pair(c);
      const received = collect(client);
      peer.on('end', () => c.rec('peer.writableAtEnd', peer.writable));
      peer.resume();
      client.end('bye');
      c.rec('client.received', await received);
      await closed(client);
      await until(() => peer.destroyed);
      c.rec('peer.allowHalfOpen', peer.allowHalfOpen);
    },
  },
  {
    name: 'half-close, allowHalfOpen true: the peer still writes after end',
    async run(c) {
      const { client, peer } = await pair(c, { allowHalfOpen: true }, { allowHalfOpen: true });
      const received = collect(client);
      peer.on('end', () => {
        c.rec('peer.writableAtEnd', peer.writable);
        peer.write('late ', () => c.mark('peer', 'cb:late write'));
        peer.end('reply');
      });
      peer.resume();
      client.end();
      c.rec('client.writableAfterEnd', client.writable);
      c.rec('client.received', await received);
      // allowHalfOpen: the client did not end again on its own; both sides ended, so both close.
      await closed(client);
      await until(() => peer.destroyed);
      c.rec('peer.allowHalfOpen', peer.allowHalfOpen);
      c.rec('client.allowHalfOpen', client.allowHalfOpen);
    },
  },
  {
    name: 'the server ends first',
    async run(c) {
      const { client, peer } = await pair(c);
      const received = collect(client);
      peer.resume();
      peer.end('server says bye');
      c.rec('client.received', await received);
      await closed(client);
      await until(() => peer.destroyed);
    },
  },
  {
    name: 'destroy() during a large write',
    async run(c) {
      const { client, peer } = await pair(c);
      peer.resume();
      const big = Buffer.alloc(16 * 1024 * 1024, 0x61);
      c.rec(
        'client.write.returned',
        client.write(big, (err) => c.mark('client', `cb:write ${cbOutcome(err)}`)),
      );
      c.rec('client.writableLengthPositive', client.writableLength > 0);
      client.destroy();
      c.rec('client.destroyed', client.destroyed);
      await closed(client);
      await settle();
      await until(() => peer.destroyed);
      c.rec('peer.destroyed', peer.destroyed);
    },
  },
  {
    name: 'destroy(err)',
    async run(c) {
      const { client, peer } = await pair(c);
      peer.resume();
      client.destroy(new Error('boom'));
      c.rec('client.destroyed', client.destroyed);
      c.rec('client.errored', errorName(client.errored));
      await closed(client);
      await until(() => peer.destroyed);
    },
  },
  {
    name: 'resetAndDestroy: the peer sees ECONNRESET',
    async run(c) {
      const { client, peer } = await pair(c);
      peer.resume();
      c.rec('client.resetAndDestroy.returnsSelf', client.resetAndDestroy() === client);
      await closed(client);
      // Either end may close first (under Wine net's peer does): only that it closes is compared.
      c.rec('peer.closed', peer.destroyed || (await closed(peer)));
    },
  },
  {
    name: 'write after end',
    async run(c) {
      const { client, peer } = await pair(c);
      peer.resume();
      client.end();
      c.rec(
        'client.write.returned',
        client.write('late', (err) => c.mark('client', `cb:write ${cbOutcome(err)}`)),
      );
      await closed(client);
      await until(() => peer.destroyed);
    },
  },
  {
    name: 'write after destroy',
    async run(c) {
      const { client, peer } = await pair(c);
      peer.resume();
      client.destroy();
      c.rec(
        'client.write.returned',
        client.write('late', (err) => c.mark('client', `cb:write ${cbOutcome(err)}`)),
      );
      await closed(client);
      await settle();
      await until(() => peer.destroyed);
    },
  },
  {
    name: 'pause/resume and read-ahead',
    async run(c) {
      const { client, peer } = await pair(c);
      client.pause();
      const payload = 'x'.repeat(1000);
      peer.end(payload);
      // net reads ahead while paused: the bytes wait in the readable buffer.
      c.rec('client.readAhead', await until(() => client.readableLength === payload.length));
      c.rec('client.readableLength.paused', client.readableLength);
      c.rec('client.bytesRead.paused', client.bytesRead);
      c.rec('client.isPaused', client.isPaused());
      const received = collect(client);
      client.resume();
      c.rec('client.received.length', (await received).length);
      await closed(client);
      c.rec('client.bytesRead', client.bytesRead);
      // The peer's end of it (the client's FIN), whenever it arrives.
      c.rec('peer.closed', peer.destroyed || (await closed(peer)));
    },
  },
  {
    name: 'setTimeout',
    async run(c) {
      const { client, peer } = await pair(c);
      peer.resume();
      c.rec('client.setTimeout.returnsSelf', client.setTimeout(50) === client);
      c.rec('client.timeout', client.timeout);
      c.rec('client.timedOut', await seen(client, 'timeout'));
      c.rec('client.destroyedAtTimeout', client.destroyed);
      client.setTimeout(0);
      c.rec('client.timeout.cleared', client.timeout);
      client.end();
      await closed(client);
    },
  },
  {
    name: 'for await over a socket',
    async run(c) {
      const { client, peer } = await pair(c);
      peer.resume();
      peer.write('one ');
      peer.end('two');
      let got = '';
      try {
        for await (const chunk of client) got += String(chunk);
        c.rec('loop', 'ended');
      } catch (err) {
        c.rec('loop', `threw ${errorName(err)}`);
      }
      c.rec('client.received', got);
      await closed(client);
    },
  },
  {
    name: 'stream/consumers text()',
    async run(c) {
      const { client, peer } = await pair(c);
      peer.resume();
      peer.end('all of it');
      c.rec('text', await text(client).catch((err: unknown) => `threw ${errorName(err)}`));
      await closed(client);
    },
  },
  {
    name: 'pipeline into the socket and out of it',
    async run(c) {
      const { client, peer } = await pair(c);
      const serverGot = collect(peer);
      const done = await promisify(pipeline)(Readable.from(['a', 'b', 'c']), client).then(
        () => 'ok',
        (err: unknown) => errorName(err),
      );
      c.rec('pipeline.in', done);
      c.rec('peer.received', await serverGot);
      await closed(client);
      // And out of a socket: the server sends and ends; pipeline resolves when the sink finished.
      const second = await pair(c, {}, {}, ' 2');
      let sunk = '';
      const sink = new Writable({
        write(chunk: Buffer, _e, cb) {
          sunk += chunk.toString();
          cb();
        },
      });
      second.peer.end('from the server');
      c.rec(
        'pipeline.out',
        await promisify(pipeline)(second.client, sink).then(
          () => 'ok',
          (err: unknown) => errorName(err),
        ),
      );
      c.rec('sink.received', sunk);
    },
  },
  {
    name: 'finished',
    async run(c) {
      const { client, peer } = await pair(c);
      peer.resume();
      const outcome = new Promise<string>((resolve) => finished(client, (err) => resolve(cbOutcome(err))));
      client.end('x');
      c.rec('finished', await outcome);
      await closed(client);
      const second = await pair(c, {}, {}, ' 2');
      const aborted = new Promise<string>((resolve) => finished(second.client, (err) => resolve(cbOutcome(err))));
      second.client.destroy();
      c.rec('finished.destroyed', await aborted);
      // The peer's side of it, whenever it arrives (later on a slower stack, e.g. framed under Wine).
      c.rec('peer 2.closed', second.peer.destroyed || (await closed(second.peer)));
    },
  },
  {
    name: 'server close with live connections',
    async run(c) {
      const { server, client } = await pair(c);
      server.close((err) => c.mark('server', `cb:close ${cbOutcome(err)}`));
      c.rec('server.listening.afterClose', server.listening);
      // net's close() waits for the live connection: nothing happens until it ends.
      await settle();
      c.mark('server', 'step:client.end()');
      client.end();
      await closed(server);
      await settle();
    },
  },
  {
    name: 'close twice',
    async run(c) {
      const server = c.server();
      await c.listen(server);
      server.close((err) => c.mark('server', `cb:close#1 ${cbOutcome(err)}`));
      server.close((err) => c.mark('server', `cb:close#2 ${cbOutcome(err)}`));
      await closed(server);
      await settle();
      const never = c.server({}, 'never');
      never.close((err) => c.mark('never', `cb:close ${cbOutcome(err)}`));
      await settle();
    },
  },
  {
    name: 'listen on a port in use',
    async run(c) {
      const first = c.server({}, 'first');
      const port = await c.listen(first);
      const second = c.server({}, 'second');
      const error = new Promise<NodeJS.ErrnoException>((resolve) => second.once('error', resolve));
      second.listen(port, '127.0.0.1');
      const err = await error;
      c.rec('error.code', err.code);
      c.rec('error.syscall', err.syscall);
      c.rec('error.address', (err as { address?: string }).address);
      c.rec('error.portIsTheOne', (err as { port?: number }).port === port);
      c.rec('second.listening', second.listening);
    },
  },
  {
    name: 'connect to a closed port',
    async run(c) {
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const client = c.connect({ port, host: '127.0.0.1' });
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => client.once('error', resolve));
      c.rec('error.code', err.code);
      c.rec('error.syscall', err.syscall);
      c.rec('error.address', (err as { address?: string }).address);
      c.rec('error.portIsTheOne', (err as { port?: number }).port === port);
      await closed(client);
      c.rec('client.destroyed', client.destroyed);
    },
  },
  {
    name: 'AbortSignal',
    async run(c) {
      const controller = new AbortController();
      const server = c.server();
      await new Promise<void>((resolve) =>
        server.listen({ port: 0, host: '127.0.0.1', signal: controller.signal }, resolve),
      );
      controller.abort();
      c.rec('server.closedOnAbort', await closed(server));
      c.rec('server.listening', server.listening);
      const target = c.server({}, 'target');
      const port = await c.listen(target);
      const client = c.connect({ port, host: '127.0.0.1', signal: AbortSignal.abort() });
      await closed(client);
      c.rec('client.destroyed', client.destroyed);
    },
  },
  {
    name: 'getConnections and maxConnections',
    async run(c) {
      const server = c.server();
      server.maxConnections = 2;
      const port = await c.listen(server);
      const count = (): Promise<string> =>
        new Promise((resolve) => server.getConnections((err, n) => resolve(err ? errorName(err) : String(n))));
      const first = c.accepted(server, 'peer1');
      const one = c.connect({ port, host: '127.0.0.1' }, 'client1');
      const peer1 = await first;
      const second = c.accepted(server, 'peer2');
      c.connect({ port, host: '127.0.0.1' }, 'client2');
      await second;
      c.rec('connections.two', await count());
      const dropped = new Promise<Record<string, unknown>>((resolve) => server.once('drop', resolve));
      const three = c.connect({ port, host: '127.0.0.1' }, 'client3');
      const drop = await within(dropped, 4000, { none: true });
      c.rec('drop.fields', Object.keys(drop).sort());
      await closed(three);
      c.rec('connections.afterDrop', await count());
      one.end();
      await closed(one);
      await until(() => peer1.destroyed);
      await settle();
      c.rec('connections.afterOneEnded', await count());
    },
  },
  {
    name: 'listen() without a host: :: dual-stack',
    async run(c) {
      const server = c.server({}, 'server', (s) => {
        s.end('hi');
      });
      await new Promise<void>((resolve) => server.listen(0, resolve));
      const address = server.address() as net.AddressInfo;
      c.rec('address.address', address.address);
      c.rec('address.family', address.family);
      for (const host of ['127.0.0.1', '::1']) {
        const client = c.connect({ port: address.port, host }, `client ${host}`);
        c.rec(`received from ${host}`, await collect(client));
        await closed(client);
      }
    },
  },
  {
    name: 'IPv6 ::1',
    async run(c) {
      const server = c.server({}, 'server', (s) => {
        s.pipe(s);
      });
      const port = await c.listen(server, '::1');
      c.rec('address', (server.address() as net.AddressInfo).address);
      const client = c.connect({ port, host: '::1' });
      await once(client, 'connect');
      c.rec('client.remoteAddress', client.remoteAddress);
      c.rec('client.remoteFamily', client.remoteFamily);
      c.rec('client.localAddress', client.localAddress);
      const received = collect(client);
      client.end('v6');
      c.rec('client.received', await received);
      await closed(client);
    },
  },
  {
    name: 'write callback forms',
    async run(c) {
      const { client, peer } = await pair(c);
      const got = collect(peer);
      const cb =
        (form: string) =>
        (err?: Error | null): void =>
          c.mark('client', `cb:${form} ${cbOutcome(err)}`);
      client.write(Buffer.from('1'), cb('write(b, cb)'));
      client.write(Buffer.from('2'), null as unknown as BufferEncoding, cb('write(b, null, cb)'));
      client.write(Buffer.from('3'), undefined, cb('write(b, undefined, cb)'));
      client.write('4', 'utf8', cb('write(s, utf8, cb)'));
      client.end(cb('end(cb)'));
      c.rec('peer.received', await got);
      await closed(client);
    },
  },
  {
    name: 'http res.write(buf, cb) behind the server',
    async run(c) {
      const target = http.createServer((_req, res) => {
        res.write(Buffer.from('first '), (err?: Error | null) => {
          c.mark('handler', `cb:res.write ${cbOutcome(err)}`);
          res.end('second');
        });
      });
      c.onCleanup(() => target.closeAllConnections());
      const gate = c.server({}, 'gate', (s) => target.emit('connection', s));
      const port = await c.listen(gate);
      // Both ends are the subject's (a framed gate needs a framed caller): http's client over an agent-less createConnection.
      const createConnection = (): net.Socket => c.connect({ port, host: '127.0.0.1' }, 'client');
      const body = new Promise<string>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, createConnection } as http.RequestOptions, (res) => {
            let data = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              data += d;
            });
            res.on('end', () => resolve(data));
          })
          .on('error', reject);
      });
      c.rec('body', await within(body, 4000, 'no complete response'));
    },
  },
  {
    name: 'http client req.write(buf, cb) over the socket',
    async run(c) {
      const target = http.createServer((req, res) => {
        let got = '';
        req.setEncoding('utf8');
        req.on('data', (d: string) => {
          got += d;
        });
        req.on('end', () => res.end(`got ${got}`));
      });
      c.onCleanup(() => target.closeAllConnections());
      // Both ends are the subject's (a framed caller needs a framed gate): the http server behind the subject's server.
      const gate = c.server({}, 'gate', (s) => target.emit('connection', s));
      const port = await c.listen(gate);
      // The request's connection is the subject's: an agent-less createConnection, as http.request documents.
      const createConnection = (): net.Socket => c.connect({ port, host: '127.0.0.1' }, 'client');
      const body = new Promise<string>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port, method: 'POST', createConnection } as http.RequestOptions,
          (res) => {
            let data = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              data += d;
            });
            res.on('end', () => resolve(data));
          },
        );
        req.on('error', reject);
        req.write(Buffer.from('part one'), (err?: Error | null) => {
          c.mark('request', `cb:req.write ${cbOutcome(err)}`);
          req.end(', part two');
        });
      });
      c.rec('body', await within(body, 4000, 'no complete response'));
    },
  },
  {
    name: 'listen forms, address() at once',
    async run(c) {
      const a = c.server({}, 'a');
      c.rec('a.listen.returnsSelf', a.listen(0, '127.0.0.1') === a);
      // With a host, net looks it up first (even an IP literal): address() is null until then.
      const addr = a.address() as net.AddressInfo | null;
      c.rec('a.address.sync', addr && { address: addr.address, family: addr.family, port: typeof addr.port });
      c.rec('a.listening.sync', a.listening);
      await seen(a, 'listening');
      // Without a host there is no lookup: net binds in listen() itself.
      const h = c.server({}, 'h');
      h.listen(0);
      const hAddr = h.address() as net.AddressInfo | null;
      c.rec('h.address.sync', hAddr && { address: hAddr.address, family: hAddr.family, port: typeof hAddr.port });
      c.rec('h.listening.sync', h.listening);
      await seen(h, 'listening');
      const b = c.server({}, 'b');
      await new Promise<void>((resolve) =>
        b.listen({ port: 0, host: '127.0.0.1', backlog: 7 }, () => {
          c.mark('b', 'cb:listen');
          resolve();
        }),
      );
      const d = c.server({}, 'd');
      await new Promise<void>((resolve) =>
        d.listen(0, '127.0.0.1', 5, () => {
          c.mark('d', 'cb:listen');
          resolve();
        }),
      );
      c.rec('d.address', (d.address() as net.AddressInfo).address);
      const e = c.server({}, 'e');
      await new Promise<void>((resolve) =>
        e.listen(() => {
          c.mark('e', 'cb:listen');
          resolve();
        }),
      );
      c.rec('e.address', (e.address() as net.AddressInfo).address);
    },
  },
  {
    name: 'TLS with the server ending first',
    async run(c) {
      const key = fs.readFileSync(path.join(fixtures, 'key.pem'));
      const cert = fs.readFileSync(path.join(fixtures, 'cert.pem'));
      const tlsServer = tls.createServer({ key, cert }, (s) => {
        c.watch('tls peer', s, ['secure', 'end', 'finish', 'error', 'close']);
        s.end('tls bye');
      });
      const gate = c.server({}, 'gate', (s) => tlsServer.emit('connection', s));
      const port = await c.listen(gate);
      const raw = c.connect({ port, host: '127.0.0.1' }, 'raw client');
      const client = tls.connect({ socket: raw, rejectUnauthorized: false });
      c.watch('tls client', client, ['secureConnect', 'end', 'finish', 'error', 'close']);
      c.rec('tls.received', await within(collect(client as unknown as net.Socket), 4000, 'no end'));
      c.rec('tls.closed', await closed(client));
      c.rec('raw.closed', raw.destroyed || (await closed(raw)));
    },
  },
  {
    name: 'instanceof net.Socket',
    async run(c) {
      const { server, client, peer } = await pair(c);
      c.rec('client instanceof net.Socket', client instanceof net.Socket);
      c.rec('peer instanceof net.Socket', peer instanceof net.Socket);
      c.rec('server instanceof net.Server', server instanceof net.Server);
      c.rec('client._handle is a TCP handle', (client as unknown as { _handle?: object })._handle?.constructor.name);
      c.rec('peer._handle is a TCP handle', (peer as unknown as { _handle?: object })._handle?.constructor.name);
    },
  },
];
