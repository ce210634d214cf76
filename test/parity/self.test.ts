/**
 * The parity harness checks itself: node:net against node:net records the
 * same trace in every scenario (so a difference found against winsock2 is the
 * subject's, not scheduling noise), and a subject broken on purpose — the
 * defects issue 20 found, injected into node:net — is caught, in the
 * scenario that covers each defect, under the key that shows it.
 */
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { compare, formatDifference, NODE_NET, runScenario, type Subject } from './harness';
import { SCENARIOS } from './scenarios';

/** node:net with one defect: `mutate` runs on every socket the subject hands out. */
function broken(name: string, options: { serverOptions?: net.ServerOpts; mutate?: (s: net.Socket) => void }): Subject {
  const mutate = options.mutate ?? ((): void => undefined);
  return {
    name,
    net: {
      createServer: (serverOptions, listener) => {
        const server = net.createServer({ ...serverOptions, ...options.serverOptions });
        server.on('connection', (s: net.Socket) => {
          mutate(s);
          listener?.(s);
        });
        return server;
      },
      connect: (connectOptions, listener) => {
        const s = net.connect(connectOptions, listener);
        mutate(s);
        return s;
      },
    },
  };
}

/** The write of today's WinsockSocket: the callback is dropped when the encoding is not a string. */
function dropsCallbackWithoutEncoding(s: net.Socket): void {
  const write = s.write.bind(s) as (...args: unknown[]) => boolean;
  (s as unknown as { write: (...args: unknown[]) => boolean }).write = (
    chunk: unknown,
    encoding?: unknown,
    cb?: unknown,
  ): boolean => {
    if (typeof encoding === 'function') return write(chunk, encoding);
    return typeof encoding === 'string' ? write(chunk, encoding, cb) : write(chunk);
  };
}

function scenario(name: string): (typeof SCENARIOS)[number] {
  const found = SCENARIOS.find((s) => s.name === name);
  assert.ok(found, `no scenario ${name}`);
  return found;
}

describe('parity harness self-test', function () {
  this.timeout(60_000);

  it('node:net against node:net: every scenario completes and records the same trace', async function () {
    const noisy: string[] = [];
    for (const s of SCENARIOS) {
      const a = await runScenario(s, NODE_NET);
      const b = await runScenario(s, NODE_NET);
      assert.equal(a.get('outcome'), 'completed', `${s.name}: ${String(a.get('outcome'))}`);
      noisy.push(...compare(a, b).map((d) => `${s.name}: ${formatDifference(d)}`));
    }
    assert.deepEqual(noisy, []);
  });

  it('catches a write that drops its callback in write(b, null, cb) and write(b, undefined, cb)', async function () {
    const s = scenario('write callback forms');
    const differences = compare(
      await runScenario(s, NODE_NET),
      await runScenario(s, broken('drops callbacks', { mutate: dropsCallbackWithoutEncoding })),
    );
    assert.deepEqual(
      differences.map((d) => d.key),
      ['client.events'],
    );
    const actual = differences[0]?.actual as string[];
    assert.ok(
      !actual.includes('cb:write(b, null, cb) ok') && !actual.includes('cb:write(b, undefined, cb) ok'),
      formatDifference(differences[0]),
    );
  });

  it('catches sockets that are always half-open', async function () {
    const s = scenario('half-close, allowHalfOpen false: the peer ends when the client ends');
    const differences = compare(
      await runScenario(s, NODE_NET),
      await runScenario(s, broken('always half-open', { serverOptions: { allowHalfOpen: true } }), 5000),
    );
    const keys = differences.map((d) => d.key);
    assert.ok(keys.includes('peer.events') && keys.includes('peer.allowHalfOpen'), keys.join(', '));
  });

  it('catches a socket that is not a net.Socket', async function () {
    const s = scenario('instanceof net.Socket');
    const notNet: Subject = {
      name: 'not a net.Socket',
      net: {
        createServer: (o, l) => net.createServer(o, l),
        connect: (o, l) => {
          const socket = net.connect(o, l);
          // net.Socket's own methods on a prototype that is not net.Socket.prototype: a Duplex that acts like one.
          const lookalike = Object.create(Object.getPrototypeOf(net.Socket.prototype) as object) as object;
          for (const k of Object.getOwnPropertyNames(net.Socket.prototype)) {
            Object.defineProperty(
              lookalike,
              k,
              Object.getOwnPropertyDescriptor(net.Socket.prototype, k) as PropertyDescriptor,
            );
          }
          Object.setPrototypeOf(socket, lookalike);
          return socket;
        },
      },
    };
    const keys = compare(await runScenario(s, NODE_NET), await runScenario(s, notNet)).map((d) => d.key);
    assert.ok(keys.includes('client instanceof net.Socket'), keys.join(', '));
  });
});
