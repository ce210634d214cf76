/**
 * The `winsock2` command line, run as users run it: the real bin/winsock2.js
 * in a child process (over dist/, which `npm test` builds first). Nothing here
 * waits for time to pass: servers are awaited by their "listening" line and
 * their exit after --count requests.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { spawnChild } from './helpers/spawn';
import { BIN, cliEnv as env, collect, freePort, run, type Result } from './helpers/cli';
import { pendingBecause, platform } from './helpers/harness';

interface Serving {
  port: number;
  child: ChildProcess;
  /** The first stdout line (text) or JSON object (--json). */
  listening: string;
  done: Promise<Result>;
}

/** Starts `winsock2 serve --port 0 ...args` and resolves once it prints where it listens. */
function serve(args: string[]): Promise<Serving> {
  const child = spawnChild(() =>
    spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const done = collect(child);
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const nl = seen.indexOf('\n');
      if (nl < 0) return;
      child.stdout?.off('data', onData);
      const line = seen.slice(0, nl);
      const port = line.startsWith('{')
        ? (JSON.parse(line) as { port: number }).port
        : Number(/listening on \S+:(\d+) /.exec(line)?.[1]);
      if (!Number.isInteger(port) || port <= 0) reject(new Error(`no port in the first line: ${line}`));
      else resolve({ port, child, listening: line, done });
    };
    child.stdout?.on('data', onData);
    void done.then((r) => reject(new Error(`serve exited (${r.code}) before listening: ${r.stderr}${r.stdout}`)));
  });
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

function jsonLines(text: string): Record<string, unknown>[] {
  return lines(text).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
const ERROR_LINE = /^winsock2 \w+: (WSA\w+|ERROR_\w+) \(\d+\) from \w+: [^\n]+\.\n$/;

describe('CLI: winsock2 (the real binary)', function () {
  describe('help and usage errors', function () {
    it('prints the commands and exit codes for --help (exit 0)', async function () {
      const r = await run(['--help']);
      assert.equal(r.code, 0, r.stderr);
      for (const name of ['demo', 'serve', 'connect', 'protocols'])
        assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'));
      assert.match(r.stdout, /^ {2}3 {2}refused by the acceptor/m);
      assert.match(r.stdout, /^ {2}5 {2}nothing listening/m);
    });

    for (const name of ['demo', 'serve', 'connect', 'protocols']) {
      it(`prints ${name} --help (exit 0)`, async function () {
        const r = await run([name, '--help']);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(r.stdout.startsWith(`usage: winsock2 ${name}`), r.stdout);
        assert.match(r.stdout, /--provider auto\|native\|emulated\|framed/);
        assert.match(r.stdout, /--json/);
        assert.match(r.stdout, /exit codes:/);
        assert.equal(r.stderr, '');
      });
    }

    const usageErrors: [string, string[], RegExp][] = [
      [
        'no command',
        [],
        /^winsock2: no command given \(commands: demo, serve, connect, protocols\)\. Try `winsock2 --help`\.$/m,
      ],
      [
        'an unknown command',
        ['frobnicate'],
        /^winsock2: unknown command "frobnicate" \(commands: .*\)\. Try `winsock2 --help`\.$/m,
      ],
      [
        'an unknown option',
        ['serve', '--frob'],
        /^winsock2 serve: unknown option '--frob'\. Try `winsock2 serve --help`\.$/m,
      ],
      ['a stray argument', ['protocols', 'extra'], /positional argument/],
      ['a bad port', ['connect', '--port', 'http'], /--port must be an integer from 1 to 65535/],
      [
        'a bad provider',
        ['protocols', '--provider', 'winsock1'],
        /--provider must be auto, native, emulated or framed/,
      ],
      [
        'a bad --allow rule',
        ['serve', '--allow', 'not-an-address'],
        /--allow not-an-address: not an IPv4\/IPv6 address, a CIDR subnet/,
      ],
      ['a bad CIDR prefix', ['serve', '--deny', '10.0.0.0/33'], /prefix length must be an integer from 0 to 32/],
      ['a missing option value', ['connect', '--caller-data'], /argument missing|requires a value|--caller-data/],
      ['a bad count', ['serve', '--count', '0'], /--count must be an integer from 1/],
      ['a negative port', ['serve', '--port', '-1'], /--port must be an integer from 0 to 65535, not "-1"/],
      ['a negative timeout', ['connect', '--timeout', '-5'], /--timeout must be an integer from 0 to \d+, not "-5"/],
      ['a negative count', ['serve', '--count', '-3'], /--count must be an integer from 1 to \d+, not "-3"/],
      [
        'a value that starts with a dash',
        ['connect', '--caller-data', '-x'],
        /to give a value that starts with '-', write --caller-data=VALUE/,
      ],
      ['a bad --clients', ['demo', '--clients', '0'], /--clients must be an integer/],
    ];
    for (const [what, args, message] of usageErrors) {
      it(`exits 2 for ${what}`, async function () {
        const r = await run(args);
        assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
        assert.match(r.stderr, message);
        assert.equal(r.stdout, '');
      });
    }
  });

  describe('demo', function () {
    it('prints the seed scenario table whose last answer is the grand total', async function () {
      const r = await run(['demo', '--clients', '3', '--transactions', '4', '--provider', 'framed']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^provider: framed \(.+\); connect data carried, disconnect data carried$/m);
      const table = lines(r.stdout).filter((l) => /^\s+\d+\s+client-\d/.test(l));
      assert.equal(table.length, 3, r.stdout);
      const total = /^grand total: (\d+) \(clients sent (\d+)\); transactions counted by disconnect data: 12;/m.exec(
        r.stdout,
      );
      assert.ok(total, r.stdout);
      assert.equal(total[1], total[2]);
      for (const [i, row] of table.entries()) {
        assert.match(
          row,
          new RegExp(`client-${i + 1}\\s+welcome client-${i + 1}\\s+4\\s+\\d+\\s+count=4\\s+total=\\d+$`),
        );
      }
      assert.ok(table[2].endsWith(`total=${total[1]}`), 'the last client hears the grand total');
    });

    it('--json gives the totals', async function () {
      const r = await run(['demo', '--clients', '2', '--transactions', '3', '--json', '--provider', 'framed']);
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout) as {
        capabilities: { provider: string; disconnectData: boolean };
        clients: { callerData: string; amountSent: number; disconnectSent: string; disconnectReceived: string }[];
        grandTotal: number;
        serverCountTotal: number;
      };
      assert.equal(result.capabilities.provider, 'framed');
      assert.equal(result.clients.length, 2);
      assert.equal(
        result.grandTotal,
        result.clients.reduce((s, c) => s + c.amountSent, 0),
      );
      assert.equal(result.serverCountTotal, 6);
      assert.deepEqual(
        result.clients.map((c) => c.disconnectSent),
        ['count=3', 'count=3'],
      );
      assert.equal(result.clients[1]?.disconnectReceived, `total=${result.grandTotal}`);
      assert.equal(result.clients[0]?.disconnectReceived, `total=${result.clients[0]?.amountSent}`);
    });

    it('accepts global options before the command name', async function () {
      const r = await run(['--json', '--provider', 'framed', 'demo', '--clients', '1', '--transactions', '1']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { clients: unknown[] }).clients.length, 1);
    });
  });

  describe('protocols', function () {
    it('prints the framed entries as a table', async function () {
      const r = await run(['protocols', '--provider', 'framed']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^provider: framed \(chosen by --provider\)$/m);
      assert.match(
        r.stdout,
        /^name\s+AF\s+type\s+protocol\s+flags\s+connectData\s+disconnectData\s+qos\s+graceful\s+message$/m,
      );
      assert.match(
        r.stdout,
        /^winsock2-framed\S* v\d+\s+AF_INET\s+SOCK_STREAM\s+IPPROTO_TCP\s+0x[0-9a-f]{8}\s+yes\s+yes\s+yes\s+yes\s+no$/m,
      );
      assert.match(r.stdout, /SOCK_SEQPACKET\s+IPPROTO_TCP\s+0x[0-9a-f]{8}\s+yes\s+yes\s+yes\s+yes\s+yes$/m);
    });

    it('--json gives the protocols with decoded flags', async function () {
      const r = await run(['protocols', '--provider', 'framed', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        provider: string;
        protocols: { serviceFlags: number; connectData: boolean; disconnectData: boolean }[];
      };
      assert.equal(out.provider, 'framed');
      assert.ok(out.protocols.length >= 1);
      for (const p of out.protocols) {
        assert.equal(p.connectData, (p.serviceFlags & 0x80) !== 0);
        assert.equal(p.disconnectData, (p.serviceFlags & 0x100) !== 0);
        assert.equal(p.connectData, true);
      }
    });

    it('with provider auto says why native is unavailable (off Windows)', async function () {
      const r = await run(['protocols', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        provider: string;
        nativeUnavailable: string | null;
        providers: { name: string; available: boolean; reason: string | null; auto: boolean }[];
      };
      // The package's availableProviders(), as an application reads it.
      assert.deepEqual(
        out.providers.map((p) => p.name),
        ['native', 'emulated', 'framed'],
      );
      assert.equal(out.providers.find((p) => p.auto)?.name, out.provider);
      assert.equal(out.providers[0]?.reason, out.nativeUnavailable);
      const text = await run(['protocols']);
      assert.equal(text.code, 0, text.stderr);
      if (out.provider === 'native') {
        assert.equal(out.nativeUnavailable, null);
        assert.doesNotMatch(text.stdout, /native: unavailable/);
      } else {
        assert.equal(typeof out.nativeUnavailable, 'string');
        assert.match(
          text.stdout,
          /^provider: emulated \(picked by auto: (emulated off Windows|the native addon did not load)\)$/m,
        );
        assert.match(text.stdout, /^native: unavailable: .+$/m);
        assert.match(text.stdout, /MSAFD Tcpip \[TCP\/IP\]  +AF_INET  +SOCK_STREAM  +IPPROTO_TCP  +0x00020066/);
      }
    });

    it('names WINSOCK2_PROVIDER as the source when it chose the provider', async function () {
      const r = await run(['protocols'], '', { WINSOCK2_PROVIDER: 'framed' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^provider: framed \(chosen by WINSOCK2_PROVIDER\)$/m);
    });

    it('fails with the Winsock error line when native cannot load (exit 1)', async function () {
      if (process.platform === 'win32') pendingBecause(this, 'on Windows the native provider may load');
      const r = await run(['protocols', '--provider', 'native']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, ERROR_LINE);
      assert.match(r.stderr, /^winsock2 protocols: WSASYSNOTREADY \(10091\) from WSAStartup: /);
    });
  });

  describe('serve and connect', function () {
    it('accept with callee data, data both ways, disconnect data each way (text output)', async function () {
      const server = await serve([
        '--provider',
        'framed',
        '--count',
        '1',
        '--deny',
        '10.0.0.0/8',
        '--callee-data',
        'welcome alice',
        '--disconnect-reply',
        'total=42',
        '--echo',
      ]);
      assert.match(
        server.listening,
        new RegExp(
          `${ISO.source}listening on 127\\.0\\.0\\.1:${server.port} \\(provider framed, .+; ` +
            'callers wait for the decision; connect data carried, disconnect data carried\\)$',
        ),
      );
      const client = await run(
        [
          'connect',
          '--provider',
          'framed',
          '--port',
          String(server.port),
          '--caller-data',
          'alice',
          '--disconnect-data',
          'count=2',
        ],
        'tx:1\ntx:2\n',
      );
      assert.equal(client.code, 0, client.stderr);
      assert.equal(client.stderr, '');
      const c = lines(client.stdout);
      assert.match(
        c[0] ?? '',
        new RegExp(`^connected to 127\\.0\\.0\\.1:${server.port} from 127\\.0\\.0\\.1:\\d+ \\(provider framed, `),
      );
      assert.deepEqual(c.slice(1), [
        'callee data: "welcome alice"',
        'sent: 10 bytes, then hung up with disconnect data "count=2"',
        'received (10 bytes): "tx:1\\ntx:2\\n"',
        'peer disconnect data: "total=42"',
      ]);

      const s = await server.done;
      assert.equal(s.code, 0, s.stderr);
      const out = lines(s.stdout);
      assert.equal(out.length, 4, s.stdout);
      for (const l of out) assert.match(l, ISO);
      assert.match(
        out[1] ?? '',
        / accept 127\.0\.0\.1:\d+ caller-data="alice" reason=condition rule="default" duration=\d+\.\d{3}ms deferrals=0$/,
      );
      assert.match(out[2] ?? '', / closed 127\.0\.0\.1:\d+ received=10B disconnect-data="count=2" reply="total=42"$/);
      assert.match(out[3] ?? '', / stopped after 1 request$/);
    });

    it('--json on both sides', async function () {
      const server = await serve([
        '--provider',
        'framed',
        '--json',
        '--once',
        '--defer',
        '1',
        '--callee-data',
        'hi',
        '--disconnect-reply',
        'bye',
        '--allow',
        '127.0.0.0/8',
        '--deny',
        '192.168.0.0/16',
      ]);
      const listening = JSON.parse(server.listening) as {
        event: string;
        capabilities: { provider: string; connectData: boolean };
      };
      assert.equal(listening.event, 'listening');
      assert.equal(listening.capabilities.connectData, true);
      const client = await run([
        'connect',
        '--json',
        '--provider',
        'framed',
        '--port',
        String(server.port),
        '--caller-data',
        'bob',
        '--disconnect-data',
        'n=0',
        '--data',
        'payload',
      ]);
      assert.equal(client.code, 0, client.stderr);
      const c = JSON.parse(client.stdout) as Record<string, unknown>;
      assert.equal(c['calleeData'], 'hi');
      assert.equal(c['callerData'], 'bob');
      assert.equal(c['sentBytes'], 7);
      assert.equal(c['received'], '', 'the server does not echo without --echo');
      assert.equal(c['peerDisconnectData'], 'bye');

      const s = await server.done;
      assert.equal(s.code, 0, s.stderr);
      const events = jsonLines(s.stdout);
      assert.deepEqual(
        events.map((e) => e['event']),
        ['listening', 'decision', 'closed', 'stopped'],
      );
      const decision = events[1];
      assert.equal(decision['verdict'], 'accept');
      assert.equal(decision['reason'], 'condition');
      assert.equal(decision['rule'], 'allow 127.0.0.0/8');
      assert.equal(decision['callerData'], 'bob');
      assert.equal(decision['deferrals'], 1, '--defer decides through a Promise (CF_DEFER underneath)');
      assert.equal(typeof decision['durationMs'], 'number');
      assert.equal(typeof decision['time'], 'string');
      const closed = events[2];
      assert.equal(closed['disconnectData'], 'n=0');
      assert.equal(closed['receivedBytes'], 7);
      assert.equal(closed['reply'], 'bye');
    });

    it('a caller the deny list refuses: connect exits 3 with the WSAECONNREFUSED line', async function () {
      const server = await serve(['--provider', 'framed', '--count', '1', '--deny', '127.0.0.1']);
      const client = await run([
        'connect',
        '--provider',
        'framed',
        '--port',
        String(server.port),
        '--caller-data',
        'eve',
        '--data',
        'x',
      ]);
      assert.equal(client.code, 3, client.stdout + client.stderr);
      assert.equal(client.stdout, '');
      assert.match(client.stderr, ERROR_LINE);
      assert.match(client.stderr, /^winsock2 connect: WSAECONNREFUSED \(10061\) from WSAConnect: Connection refused\./);
      const s = await server.done;
      assert.equal(s.code, 0, s.stderr);
      const out = lines(s.stdout);
      assert.match(
        out[1] ?? '',
        / reject 127\.0\.0\.1:\d+ caller-data="eve" reason=blockList rule="deny 127\.0\.0\.1" /,
      );
      assert.match(out[2] ?? '', / stopped after 1 request$/);
    });

    it('a caller outside the allow list is refused by the condition (JSON error with --json)', async function () {
      const server = await serve(['--provider', 'framed', '--count', '1', '--allow', '10.0.0.0/8', '--json']);
      const client = await run([
        'connect',
        '--json',
        '--provider',
        'framed',
        '--port',
        String(server.port),
        '--data',
        '',
      ]);
      assert.equal(client.code, 3);
      const error = (JSON.parse(client.stdout) as { error: Record<string, unknown> }).error;
      assert.equal(error['code'], 'WSAECONNREFUSED');
      assert.equal(error['errno'], 10061);
      assert.equal(error['exitCode'], 3);
      const s = await server.done;
      const decision = jsonLines(s.stdout)[1];
      assert.equal(decision['verdict'], 'reject');
      assert.equal(decision['reason'], 'condition');
      assert.equal(decision['rule'], 'not in --allow');
    });

    it('--max-connections 0 refuses through the same path', async function () {
      const server = await serve(['--provider', 'framed', '--count', '1', '--max-connections', '0', '--json']);
      const client = await run(['connect', '--provider', 'framed', '--port', String(server.port), '--data', '']);
      assert.equal(client.code, 3);
      const decision = jsonLines((await server.done).stdout)[1];
      assert.equal(decision['reason'], 'maxConnections');
      assert.equal(decision['rule'], 'max-connections 0');
    });

    it('a connect that outlives --timeout exits 4; the server reports the request withdrawn', async function () {
      // The decision is deferred far beyond the client's timeout: no race between the two.
      const server = await serve(['--provider', 'framed', '--count', '1', '--defer', '600000']);
      const client = await run([
        'connect',
        '--provider',
        'framed',
        '--port',
        String(server.port),
        '--timeout',
        '100',
        '--data',
        'x',
      ]);
      assert.equal(client.code, 4, client.stderr);
      assert.match(client.stderr, ERROR_LINE);
      assert.match(client.stderr, /^winsock2 connect: WSAETIMEDOUT \(10060\) from WSAConnect: /);
      const s = await server.done;
      assert.equal(s.code, 0, s.stderr);
      const out = lines(s.stdout);
      assert.match(out[1] ?? '', / withdrawn 127\.0\.0\.1:\d+ (WSAECONNRESET|WSAEACCES)$/);
      assert.match(out[2] ?? '', / stopped after 1 request$/);
    });

    it('stops cleanly on SIGTERM (exit 143, 128 + SIGTERM)', async function () {
      if (process.platform === 'win32') pendingBecause(this, 'Windows has no catchable SIGTERM for child processes');
      const server = await serve(['--provider', 'framed', '--json']);
      server.child.kill('SIGTERM');
      const s = await server.done;
      assert.equal(s.code, 143, s.stderr);
      const last = jsonLines(s.stdout).at(-1) as Record<string, unknown>;
      assert.equal(last['event'], 'stopped');
      assert.equal(last['signal'], 'SIGTERM');
    });

    for (const provider of ['emulated', 'framed']) {
      it(`a connect to a port nobody listens on exits 5, not 3 (${provider})`, async function () {
        const port = await freePort();
        const client = await run(['connect', '--provider', provider, '--port', String(port), '--data', '']);
        assert.equal(client.code, 5, client.stderr);
        assert.match(client.stderr, ERROR_LINE);
        assert.match(
          client.stderr,
          new RegExp(`WSAECONNREFUSED \\(10061\\) from WSAConnect: .*Nothing is listening at 127\\.0\\.0\\.1:${port} `),
        );
      });
    }

    it('emulated: a caller refused after the handshake exits 3 (reset having received nothing)', async function () {
      const server = await serve(['--provider', 'emulated', '--count', '1', '--deny', '127.0.0.1']);
      const client = await run(['connect', '--provider', 'emulated', '--port', String(server.port), '--data', 'x']);
      if (platform === 'wine' && client.code === 0) {
        // Wine's ws2_32 may report the acceptor's reset as the peer's hang-up
        // (recv returns 0): then nothing tells it from a server that accepted
        // and hung up at once, and connect reports what it saw.
        assert.match(client.stdout, /^received \(0 bytes\): -$/m);
      } else {
        assert.equal(client.code, 3, client.stdout + client.stderr);
        assert.match(client.stderr, /^winsock2 connect: WSAECONNREFUSED \(10061\) from WSAConnect: /);
      }
      const s = await server.done;
      assert.equal(s.code, 0, s.stderr);
      assert.match(
        lines(s.stdout)[1] ?? '',
        / reject 127\.0\.0\.1:\d+ caller-data=- reason=blockList rule="deny 127\.0\.0\.1" /,
      );
    });

    for (const json of [false, true]) {
      it(`stopping with a connection open: a shutdown "closed" line, "stopped" last, exit 143 (${json ? '--json' : 'text'})`, async function () {
        if (process.platform === 'win32') pendingBecause(this, 'Windows has no catchable SIGTERM for child processes');
        const server = await serve(['--provider', 'framed', ...(json ? ['--json'] : [])]);
        // A caller that stays connected (it never hangs up by itself).
        const caller = spawnChild(() =>
          spawn(process.execPath, [BIN, 'connect', '--provider', 'framed', '--port', String(server.port)], {
            env: env(),
            stdio: ['pipe', 'pipe', 'pipe'],
          }),
        );
        const callerDone = collect(caller);
        await new Promise<void>((resolve) => {
          let seen = '';
          server.child.stdout?.on('data', (chunk: Buffer) => {
            seen += chunk.toString('utf8');
            if (/accept/.test(seen)) resolve();
          });
        });
        server.child.kill('SIGTERM');
        const s = await server.done;
        caller.stdin?.end();
        await callerDone;
        assert.equal(s.code, 143, s.stderr);
        assert.equal(s.stderr, '');
        if (json) {
          const events = jsonLines(s.stdout);
          assert.deepEqual(
            events.map((e) => e['event']),
            ['listening', 'decision', 'closed', 'stopped'],
          );
          assert.equal(events[2]?.['closedBy'], 'shutdown');
          assert.equal(events[2]?.['error'], undefined);
        } else {
          const out = lines(s.stdout);
          assert.equal(out.length, 4, s.stdout);
          assert.match(out[2] ?? '', / closed 127\.0\.0\.1:\d+ received=0B by=shutdown$/);
          assert.match(out[3] ?? '', / stopped after 1 request \(SIGTERM\)$/);
          assert.doesNotMatch(s.stdout, /error=/);
        }
      });
    }

    it('stops cleanly on SIGINT (exit 130, 128 + SIGINT)', async function () {
      if (process.platform === 'win32') pendingBecause(this, 'Windows has no catchable SIGINT for child processes');
      const server = await serve(['--provider', 'emulated']);
      server.child.kill('SIGINT');
      const s = await server.done;
      assert.equal(s.code, 130, s.stderr);
      assert.match(lines(s.stdout).at(-1) ?? '', / stopped after 0 requests \(SIGINT\)$/);
    });
  });

  describe('connect: hints while it waits', function () {
    /** A plain TCP server that accepts, reads, and never answers nor hangs up. */
    async function silentServer(): Promise<{ port: number; close(): void }> {
      const sockets = new Set<Socket>();
      const server = createNetServer({ allowHalfOpen: true }, (socket) => {
        sockets.add(socket);
        socket.resume();
        socket.on('error', () => undefined);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return {
        port: (server.address() as AddressInfo).port,
        close(): void {
          for (const s of sockets) s.destroy();
          server.close();
        },
      };
    }

    /** Runs connect until its stderr has a hint, then stops it; resolves that stderr. */
    async function hintOf(args: string[]): Promise<string> {
      const child = spawnChild(() =>
        spawn(process.execPath, [BIN, 'connect', ...args, '--timeout', '0', '--data', 'GET / HTTP/1.0\r\n'], {
          env: { ...env(), WINSOCK2_HINT_AFTER_MS: '50' },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      const done = collect(child);
      let stderr = '';
      await new Promise<void>((resolve) => {
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString('utf8');
          if (stderr.includes('\n')) resolve();
        });
        void done.then(() => resolve());
      });
      child.kill();
      await done;
      return stderr;
    }

    it('framed, to a server that speaks plain TCP: says so instead of waiting silently', async function () {
      const server = await silentServer();
      try {
        const stderr = await hintOf(['--provider', 'framed', '--port', String(server.port)]);
        assert.match(
          stderr,
          /^winsock2 connect: hint: no verdict from 127\.0\.0\.1:\d+ after 0\.05 s\. .*may not speak winsock2's framed protocol.*Waiting for good \(--timeout 0\)\.\n$/,
        );
      } finally {
        server.close();
      }
    });

    it('framed, to an HTTP server that answers the hello: the error says the peer speaks another protocol', async function () {
      const server = createHttpServer((_req, res) => res.end('hello'));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const client = await run([
          'connect',
          '--provider',
          'framed',
          '--port',
          String((server.address() as AddressInfo).port),
          '--data',
          'x',
        ]);
        assert.equal(client.code, 1, client.stderr);
        assert.match(client.stderr, ERROR_LINE);
        assert.match(
          client.stderr,
          /WSAECONNABORTED \(10053\) from WSAConnect: .* does not speak winsock2's framed protocol \(a plain TCP server\? connect without --provider framed\)\.\n$/,
        );
      } finally {
        server.close();
      }
    });

    it('plain TCP, to a server that never hangs up: says what it waits for', async function () {
      const server = await silentServer();
      try {
        const stderr = await hintOf(['--provider', 'emulated', '--port', String(server.port)]);
        assert.match(
          stderr,
          /^winsock2 connect: hint: sent everything and hung up; 127\.0\.0\.1:\d+ has not hung up after 0\.05 s /,
        );
      } finally {
        server.close();
      }
    });
  });
});
