/**
 * The replay layer: lib/native driven by a scripted stand-in for the addon
 * (test/replay/stand-in-ws2.ts), playing documented Windows sequences that
 * neither Linux nor Wine can produce (test/probe/replay/*.json). It runs on
 * every platform, so the TypeScript side of every Windows-only path of the
 * native listener runs on every commit.
 */
import { strict as assert } from 'node:assert';
import { loadScripts, play, probeDisagreements } from './replay/script';
import { RejectionMemory } from '../lib/native/rejections';

describe('replay: documented Windows sequences through lib/native (stand-in addon)', function () {
  const scripts = loadScripts();

  it('has the scripts issue 22 lists (held SYN, SYN retries, WSATRY_AGAIN, gone after a deferral x3, option after listen)', function () {
    const files = scripts.map((s) => s.file);
    for (const name of [
      'syn-held-until-decision',
      'reject-then-syn-retries',
      'try-again-holds-the-head',
      'gone-after-defer-wsaeconnreset',
      'gone-after-defer-wsaeacces',
      'gone-after-defer-wine-wsaenotconn',
      'option-after-listen-einval',
    ]) {
      assert.ok(files.includes(`${name}.json`), `test/probe/replay/${name}.json is missing`);
    }
  });

  for (const { file, script } of scripts) {
    describe(file, function () {
      it(`agrees with test/probe/expected-${script.platform}.json`, function () {
        assert.deepEqual(probeDisagreements(script), []);
      });
      it(script.title, async function () {
        await play(script);
      });
    });
  }
});

describe("RejectionMemory (native: a rejected caller's SYN retries)", function () {
  const caller = { address: '127.0.0.1', port: 50123, family: 'IPv4' as const };

  it('remembers a rejection for the window after the last attempt, and forgets it after', function () {
    let now = 0;
    const memory = new RejectionMemory(() => now, 3000, 16);
    assert.equal(memory.isRetry(caller), false);
    memory.remember(caller);
    now = 2999;
    assert.equal(memory.isRetry(caller), true, 'a retry within the window');
    now = 2999 + 2999;
    assert.equal(memory.isRetry(caller), true, 'each retry refreshes the window');
    now = 2999 + 2999 + 3000;
    assert.equal(memory.isRetry(caller), false, 'forgotten after a quiet window');
    assert.equal(memory.size, 0);
  });

  it('tells callers apart by address and port, never remembers an unknown caller, and holds at most its capacity', function () {
    const memory = new RejectionMemory(() => 0, 3000, 4);
    memory.remember(caller);
    assert.equal(memory.isRetry({ ...caller, port: 50124 }), false, 'another port is another connect()');
    assert.equal(memory.isRetry({ ...caller, address: '127.0.0.2' }), false);
    memory.remember({ address: '', port: 0, family: 'IPv4' });
    assert.equal(memory.size, 1);
    for (let p = 1; p <= 10; p++) memory.remember({ ...caller, port: p });
    assert.equal(memory.size, 4, 'the oldest are forgotten first');
    assert.equal(memory.isRetry(caller), false);
    assert.equal(memory.isRetry({ ...caller, port: 10 }), true);
  });
});
