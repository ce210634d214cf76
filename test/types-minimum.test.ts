/**
 * The package's declarations compile, with skipLibCheck off, for a strict
 * consumer against the oldest @types/node the package declares it supports
 * (package.json peerDependencies; issue 13): typed socket and server events,
 * the Decision union, the net members. The consumer file also holds the
 * mistakes that must NOT compile (`@ts-expect-error`, which fails when the
 * line compiles after all).
 *
 * That @types/node is installed from the npm registry into a temporary
 * project; the package itself is dist/ (what `npm pack` ships) beside its
 * package.json.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pendingBecause, platform } from './helpers/harness';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  peerDependencies?: Record<string, string>;
};

const CONSUMER = `
import { createServer, connect, availableProviders, WinsockError } from 'winsock2';
import type { Decision, ConnectionRequest, WinsockSocket, ProviderAvailability } from 'winsock2';
import type { AddressInfo, Socket } from 'node:net';
import { Duplex } from 'node:stream';

export async function main(): Promise<void> {
  const server = createServer({
    provider: 'framed',
    handshakeTimeout: 0,
    condition: (req: ConnectionRequest): Decision => (req.callerData ? { action: 'accept', calleeData: 'hi' } : { action: 'reject' }),
  });
  server.on('withdrawn', (error, request) => { const c: string = error.code; const id: number = request.id; void c; void id; });
  server.on('conditionError', (error, request) => { const c: string = error.code; const id: number = request.id; void c; void id; });
  server.on('connection', (socket) => { socket.on('error', (e) => { const c: string = e.code; void c; }); });
  const { port } = await server.listen({ port: 0 });
  const listening: boolean = server.listening;
  const max: number | undefined = server.maxConnections;
  const info: AddressInfo | null = server.address();
  server.getConnections((err, n) => { void err; const k: number = n; void k; });
  const sock: WinsockSocket = await connect({ port, provider: 'framed' });
  sock.on('error', (e) => { const errno: number = e.errno; void errno; });
  sock.on('close', (hadError) => { const b: boolean = hadError; void b; });
  sock.on('data', (chunk) => { const n: number = chunk.length; void n; });
  sock.setNoDelay(true).setKeepAlive(true, 1000).setTimeout(1000, () => sock.destroy());
  const counts: number = sock.bytesRead + sock.bytesWritten;
  const state: 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' = sock.readyState;
  const duplex: Duplex = sock;
  const netSocket: Socket = sock;  // Node's own socket class (framed: with no libuv handle)
  const qos = sock.qos?.sending?.tokenRate;
  const providers: ProviderAvailability[] = availableProviders();
  // @ts-expect-error: only an accept carries callee data
  const wrong: Decision = { action: 'reject', calleeData: 'x' };
  // @ts-expect-error: the error comes first
  server.on('withdrawn', (request: ConnectionRequest) => request.id);
  // @ts-expect-error: socket errors are WinsockErrors, with no 'nope'
  sock.on('error', (e) => e.nope);
  await server[Symbol.asyncDispose]();
  void [listening, max, info, counts, state, duplex, netSocket, qos, providers, wrong, WinsockError];
}
`;

describe('types: a strict consumer compiles against the minimum @types/node', function () {
  this.timeout(180_000);
  let tmp = '';

  after(function () {
    try {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    } catch {
      /* left in the temp dir */
    }
  });

  it('package.json declares the minimum @types/node (an optional peer dependency)', function () {
    assert.match(pkg.peerDependencies?.['@types/node'] ?? '', /^>=\d+\.\d+\.\d+$/);
  });

  it('compiles (skipLibCheck off) with exactly that @types/node', function () {
    if (platform === 'wine') pendingBecause(this, 'no npm under Wine; the same declarations are checked on the host');
    const minimum = (pkg.peerDependencies?.['@types/node'] ?? '').replace(/^>=/, '');
    assert.ok(
      fs.existsSync(path.join(root, 'dist', 'index.d.ts')),
      'dist/ is missing: run `npm run build` first (npm test does)',
    );
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock2-types-'));
    fs.writeFileSync(
      path.join(tmp, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    const npmCli = process.env['npm_execpath'];
    const npmArgs = [
      'install',
      `@types/node@${minimum}`,
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--prefer-offline',
    ];
    const env = { ...process.env };
    for (const k of Object.keys(env))
      if (/^npm_(config_(local_prefix|prefix|global)|package_|lifecycle_)/i.test(k)) delete env[k];
    const install =
      npmCli && /npm-cli\.c?js$/.test(npmCli)
        ? spawnSync(process.execPath, [npmCli, ...npmArgs], { cwd: tmp, encoding: 'utf8', env, timeout: 120_000 })
        : spawnSync('npm', npmArgs, {
            cwd: tmp,
            encoding: 'utf8',
            env,
            timeout: 120_000,
            shell: process.platform === 'win32',
          });
    assert.equal(install.status, 0, `npm install @types/node@${minimum} failed:\n${install.stdout}\n${install.stderr}`);
    const installed = JSON.parse(
      fs.readFileSync(path.join(tmp, 'node_modules', '@types', 'node', 'package.json'), 'utf8'),
    ) as { version: string };
    assert.equal(installed.version, minimum);
    // The package as it ships: dist/ and package.json.
    const pkgDir = path.join(tmp, 'node_modules', 'winsock2');
    fs.mkdirSync(pkgDir, { recursive: true });
    fs.cpSync(path.join(root, 'dist'), path.join(pkgDir, 'dist'), {
      recursive: true,
      filter: (f) => !f.endsWith('.map'),
    });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(pkgDir, 'package.json'));
    fs.writeFileSync(path.join(tmp, 'consumer.ts'), CONSUMER);
    fs.writeFileSync(
      path.join(tmp, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'commonjs',
          moduleResolution: 'node10',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `tsc failed against @types/node ${minimum}:\n${r.stdout}\n${r.stderr}`);
  });
});
