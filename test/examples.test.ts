/**
 * Every example in examples/ runs here and its result is checked. The
 * examples import from 'winsock2' (tsconfig.test.json maps it to lib/ for the
 * types; at run time Node resolves the package's own name to dist/, which
 * `npm test` builds first), exactly as an application would.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { spawnChild } from './helpers/spawn';
import { join } from 'node:path';
import { main as seedScenario } from '../examples/seed-scenario';
import { main as allowList } from '../examples/allow-list';
import { main as asyncDecision } from '../examples/async-decision';
import { FakeElectronApp, main as electronMain, startWinsockServer } from '../examples/electron-main';
import { main as httpGate } from '../examples/http-gate';
import { providersUnderTest } from './helpers/harness';

const EXAMPLES = join(__dirname, '..', 'examples');

function runScript(
  file: string,
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnChild(() =>
    spawn(process.execPath, [join(EXAMPLES, file), ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples', function () {
  it('seed-scenario: each hang-up is answered with the running grand total', async function () {
    const r = await seedScenario(3, 4);
    assert.equal(r.provider, 'framed');
    assert.equal(r.clients.length, 3);
    let running = 0;
    for (const c of r.clients) {
      assert.equal(c.hungUpWith, '4');
      running += c.amountSent;
      assert.equal(c.serverAnswered, String(running));
    }
    assert.equal(r.grandTotal, running);
    assert.equal(r.transactionsCounted, 12);
  });

  it('allow-list: a listed caller is accepted, the same caller is refused once the list drops it', async function () {
    const r = await allowList('framed');
    assert.deepEqual(r.first, { accepted: true, calleeData: 'you are on the list' });
    assert.deepEqual(r.second, { accepted: false, error: 'WSAECONNREFUSED' });
    // Plain TCP: connected first, then reset having received nothing; no callee data on TCP/IP.
    const plain = await allowList('emulated');
    assert.deepEqual(plain.first, { accepted: true, calleeData: null });
    assert.equal(plain.second.accepted, false);
    assert.ok(
      plain.second.error === 'WSAECONNRESET' || plain.second.error === 'WSAECONNREFUSED',
      String(plain.second.error),
    );
    assert.deepEqual(r.decisions, [
      { caller: '127.0.0.1', verdict: 'accept', reason: 'condition' },
      { caller: '127.0.0.1', verdict: 'reject', reason: 'condition' },
    ]);
  });

  for (const style of ['promise', 'defer'] as const) {
    it(`async-decision (${style}): lookups decide one at a time, known callers get their plan`, async function () {
      const r = await asyncDecision(style);
      assert.deepEqual(r.outcomes, {
        alice: 'hello alice, plan gold',
        mallory: 'WSAECONNREFUSED',
        bob: 'hello bob, plan silver',
      });
      // Head of the backlog: each lookup ends before the next one starts (whatever the arrival order).
      assert.equal(r.log.length, 6);
      for (let i = 0; i < r.log.length; i += 2) {
        const name = (r.log[i] as string).replace(/^start /, '');
        assert.equal(r.log[i], `start ${name}`);
        assert.equal(r.log[i + 1], `end ${name}`);
      }
      assert.deepEqual(r.deferrals, [1, 1, 1], 'every decision went through CF_DEFER once');
    });
  }

  for (const provider of providersUnderTest().filter((p) => p !== 'framed')) {
    it(`http-gate [${provider}]: HTTP and WebSocket callers pass the condition; a blocked caller never reaches HTTP`, async function () {
      const r = await httpGate(provider);
      assert.equal(r.provider, provider);
      assert.match(r.http, /^200 hello 127\.0\.0\.1 at \/status$/);
      assert.equal(r.websocket, 'echo hi');
      // Refused at the handshake (Windows) or reset having received nothing (emulated; native under Wine).
      assert.ok(['ECONNREFUSED', 'ECONNRESET'].includes(r.blocked), r.blocked);
      assert.equal(r.requestsSeenByHttp, 1, 'the blocked request never reached the HTTP server');
      assert.deepEqual(
        r.decisions.map((d) => `${d.verdict}:${d.reason}`),
        ['accept:condition', 'accept:condition', 'reject:blockList'],
        'HTTP, the WebSocket, then the blocked caller',
      );
    });
  }

  it('electron-main: the server starts in whenReady and closes on will-quit (plain Node, stand-in app)', async function () {
    const r = await electronMain();
    assert.ok(r.listeningPort > 0);
    assert.equal(r.native?.available, r.native?.reason === null);
    if (process.platform !== 'win32')
      assert.match(r.native?.reason ?? '', /\S/, 'off Windows it says why native is unavailable');
    assert.equal(r.greeting, 'hello from the main process\n');
    assert.equal(r.closedOnQuit, true);
    assert.equal(r.quitted, true);
  });

  it('electron-main: the quit waits for server.close()', async function () {
    const app = new FakeElectronApp();
    const server = await startWinsockServer(app);
    assert.notEqual(server.address(), null);
    let closedBeforeQuit = false;
    server.once('close', () => {
      closedBeforeQuit = !app.quitted;
    });
    const quit = new Promise<void>((resolve) => app.once('quit', resolve));
    app.quit();
    assert.equal(app.quitted, false, 'the first will-quit is held');
    await quit;
    assert.equal(closedBeforeQuit, true);
    assert.equal(server.address(), null);
  });

  for (const [file, args, expected] of [
    ['seed-scenario.js', [], /client-3/],
    // Under Wine the native provider's refused caller completes its TCP handshake first
    // (Wine ignores SO_CONDITIONAL_ACCEPT, see docs/windows.md): the refusal shows in the decisions.
    ['allow-list.js', [], /"accepted": false,\s+"error": "WSAECONN(REFUSED|RESET)"[\s\S]*"verdict": "reject"/],
    ['async-decision.js', ['defer'], /"style": "defer"/],
    ['electron-main.js', [], /closedOnQuit: true/],
    ['http-gate.js', [], /"websocket": "echo hi"/],
  ] as const) {
    it(`${file} runs as a script`, async function () {
      const r = await runScript(file, [...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, expected);
    });
  }
});
