/**
 * `winsock2 connect` exits as documented on every input path: --data, stdin
 * from a pipe, stdin from a file, each with and without --json; refused is 3,
 * nothing listening is 5, on every provider under test. The server is this
 * process's own (the library), refusing every caller through its condition.
 */
import { strict as assert } from 'node:assert';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type WinsockServer } from '../lib/index';
import { freePort, run, runWithStdin, type Result } from './helpers/cli';
import { platform, providersUnderTest } from './helpers/harness';

type InputPath = 'data' | 'pipe' | 'file';
const PATHS: InputPath[] = ['data', 'pipe', 'file'];
const PAYLOAD = 'hello\n';

let dir = '';
before(function () {
  dir = mkdtempSync(join(tmpdir(), 'winsock2-cli-'));
  writeFileSync(join(dir, 'request.txt'), PAYLOAD);
});
after(function () {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `winsock2 connect` with its data from `path`. */
async function connectVia(path: InputPath, args: string[]): Promise<Result> {
  if (path === 'data') return run(['connect', ...args, '--data', PAYLOAD]);
  if (path === 'pipe') return run(['connect', ...args], PAYLOAD);
  const fd = openSync(join(dir, 'request.txt'), 'r');
  try {
    return await runWithStdin(['connect', ...args], fd);
  } finally {
    closeSync(fd);
  }
}

/** The error line on stderr, and with --json the error object on stdout, both for `exitCode`. */
function assertFailure(r: Result, json: boolean, exitCode: number, message: RegExp): void {
  assert.equal(r.code, exitCode, `exit ${r.code}\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, message);
  if (json) {
    const error = (JSON.parse(r.stdout) as { error: Record<string, unknown> }).error;
    assert.equal(error['code'], 'WSAECONNREFUSED');
    assert.equal(error['exitCode'], exitCode);
  }
}

for (const provider of providersUnderTest()) {
  describe(`CLI: connect exit codes on every input path [${provider}]`, function () {
    let server: WinsockServer;
    let port = 0;
    before(async function () {
      server = createServer({ provider, condition: () => 'reject' });
      server.on('error', () => undefined);
      port = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
    });
    after(async function () {
      await server.close();
    });

    for (const path of PATHS) {
      for (const json of [false, true]) {
        const flags = (p: number): string[] => [
          '--provider',
          provider,
          '--port',
          String(p),
          ...(json ? ['--json'] : []),
        ];
        const title = `${path === 'data' ? '--data' : `stdin from a ${path}`}${json ? ', --json' : ''}`;

        it(`refused by the condition: exit 3 (${title})`, async function () {
          const r = await connectVia(path, flags(port));
          if (platform === 'wine' && provider !== 'framed' && r.code === 0) {
            // Wine's ws2_32 may report the acceptor's reset as the peer's hang-up
            // (recv returns 0): nothing then tells it from a server that accepted
            // and hung up at once, and connect reports what it saw.
            assert.match(r.stdout, json ? /"receivedBytes": 0/ : /^received \(0 bytes\): -$/m);
            return;
          }
          assertFailure(
            r,
            json,
            3,
            /^winsock2 connect: WSAECONNREFUSED \(10061\) from WSAConnect: Connection refused\. Refused by the server's condition/m,
          );
        });

        it(`nothing listening: exit ${provider === 'native' ? 3 : 5} (${title})`, async function () {
          const free = await freePort();
          const r = await connectVia(path, flags(free));
          if (provider === 'native') {
            // Under SO_CONDITIONAL_ACCEPT a rejected SYN gets the reset a closed
            // port gives, and WSAConnect reports both alike: native cannot tell
            // them apart, so both are 3 (docs/cli.md, "Exit codes").
            assertFailure(r, json, 3, /or nothing is listening there \(Winsock reports both alike\)/);
          } else {
            assertFailure(r, json, 5, new RegExp(`Nothing is listening at 127\\.0\\.0\\.1:${free} `));
          }
        });
      }
    }
  });
}
