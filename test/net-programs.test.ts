/**
 * Existing net programs, unchanged, on winsock2/net (issue 20): an echo
 * server, an http server behind the program's own net server with an agent
 * that connects through net, and a ws server and client (ws itself calls
 * require('net').connect). Each program in test/fixtures/net-programs runs
 * once on node:net and once with a --require hook that resolves 'net' to the
 * package's "winsock2/net" export, on each provider under test
 * (WINSOCK2_PROVIDER); its output must be the same, and the hook must
 * really have redirected net (it says so on stderr).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pendingBecause, providersUnderTest } from './helpers/harness';
import { spawnChild } from './helpers/spawn';

const root = path.resolve(__dirname, '..', '..');
const programs = path.join(root, 'test', 'fixtures', 'net-programs');
const hook = path.join(programs, 'use-winsock2-net.js');
const PROGRAMS = ['echo-server.js', 'http-server.js', 'ws-server.js'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with node; stdio goes to files (Wine's node.exe needs files, not pipes). */
async function run(program: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock2-net-programs-'));
  try {
    const out = fs.openSync(path.join(dir, 'stdout'), 'w');
    const err = fs.openSync(path.join(dir, 'stderr'), 'w');
    const child = spawnChild(() =>
      spawn(process.execPath, [...args, path.join(programs, program)], {
        cwd: root,
        env: { ...process.env, ...env },
        stdio: ['ignore', out, err],
      }),
    );
    fs.closeSync(out);
    fs.closeSync(err);
    // A hang guard: the program is killed, and its output so far shows where it stopped.
    const timer = setTimeout(() => child.kill(), 30_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    return {
      code,
      stdout: fs.readFileSync(path.join(dir, 'stdout'), 'utf8'),
      stderr: fs.readFileSync(path.join(dir, 'stderr'), 'utf8'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The package's net entry as the hook resolves it, or null where package.json has no "./net" export yet. */
function winsockNetEntry(): string | null {
  try {
    return require.resolve('winsock2/net', { paths: [root] });
  } catch {
    return null;
  }
}

describe('net programs run unchanged on winsock2/net', function () {
  this.timeout(90_000);
  const baselines = new Map<string, Promise<Run>>();
  const onNet = (program: string): Promise<Run> => {
    let r = baselines.get(program);
    if (!r) {
      r = run(program, [], {});
      baselines.set(program, r);
    }
    return r;
  };

  describe('the hook', function () {
    for (const program of PROGRAMS) {
      it(`${program}: the program's net (and its libraries') is the module the hook names; output unchanged`, async function () {
        const base = await onNet(program);
        assert.equal(base.code, 0, base.stderr);
        const shim = path.join(programs, 'tagging-net.js');
        const tagged = await run(program, ['--require', hook], { WINSOCK2_NET_ENTRY: shim });
        assert.equal(tagged.code, 0, tagged.stderr);
        assert.equal(tagged.stdout, base.stdout);
        assert.match(
          tagged.stderr,
          new RegExp(`use-winsock2-net: net -> ${shim.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}`),
        );
        const made = /tagging-net: (\{.*\})/.exec(tagged.stderr);
        assert.ok(made, tagged.stderr);
        // Every program makes its server and at least one client connection through the redirected net.
        const counts = JSON.parse(made[1]) as { createServer: number; connect: number };
        assert.equal(counts.createServer, 1);
        assert.ok(counts.connect >= 1, made[1]);
      });
    }
  });

  for (const provider of providersUnderTest()) {
    describe(`[${provider}]`, function () {
      let entry: string | null = null;
      before(function () {
        entry = winsockNetEntry();
        if (!entry)
          pendingBecause(
            this,
            'package.json has no "./net" export yet (winsock2/net, issue 20\'s facade, has not landed)',
          );
      });
      for (const program of PROGRAMS) {
        it(`${program}: same output on winsock2/net as on node:net`, async function () {
          const base = await onNet(program);
          assert.equal(base.code, 0, base.stderr);
          const ours = await run(program, ['--require', hook], { WINSOCK2_PROVIDER: provider });
          assert.match(ours.stderr, /use-winsock2-net: net -> /, 'the hook did not redirect net');
          assert.ok(ours.stderr.includes(entry as string), ours.stderr);
          assert.deepEqual({ code: ours.code, stdout: ours.stdout }, { code: 0, stdout: base.stdout }, ours.stderr);
        });
      }
    });
  }
});
