/**
 * Cross-OS interop, run by `npm run test:wine` (scripts/test-wine.sh): Linux
 * node and node.exe under Wine, two processes on two OS stacks' views of one
 * loopback, each on its own provider:
 *
 *   1. Linux, default provider (emulated)  ->  node.exe, native (Wine's ws2_32)
 *   2. node.exe, native                    ->  Linux, default provider
 *   3. Linux, framed                       ->  node.exe, framed
 *   4. node.exe, framed                    ->  Linux, framed (caller data, disconnect data)
 *
 * Each run moves 1 MiB one way and its SHA-256 back. Exits non-zero when any
 * run fails. Needs NODE_EXE and the Wine environment of scripts/wine-env.sh.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer } from '../../lib/index';
import type { ProviderChoice, ProviderName } from '../../lib/types';
import { EXPECTED_DIGEST, exchangeAsClient, serveOne, type ExchangeResult } from './exchange';

const nodeExe = process.env['NODE_EXE'];
const dir = join(process.cwd(), '.cache', 'wine-interop');
const peerJs = join(__dirname, 'peer.js');

/** Runs peer.js under Wine; stdout/stderr go to files (a pipe is EBADF for node.exe). */
function wine(args: string[], tag: string): Promise<number | null> {
  const stdout = openSync(join(dir, `${tag}.stdout.txt`), 'w');
  const stderr = openSync(join(dir, `${tag}.stderr.txt`), 'w');
  const child = spawn('wine', [nodeExe as string, peerJs, ...args], {
    stdio: ['ignore', stdout, stderr],
    env: { ...process.env, PREBUILDS_ONLY: '1' },
  });
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

async function waitForFile(file: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 50));
  return readFileSync(file, 'utf8').trim();
}

function check(tag: string, client: ExchangeResult, server: ExchangeResult, framed: boolean): string[] {
  const problems: string[] = [];
  if (client.received !== EXPECTED_DIGEST) problems.push(`client got ${client.received}, expected ${EXPECTED_DIGEST}`);
  if (server.received !== EXPECTED_DIGEST) problems.push(`server got ${server.received}`);
  if (framed) {
    if (!server.callerData?.startsWith('caller ')) problems.push(`caller data ${String(server.callerData)}`);
    if (!server.disconnectData?.startsWith('client '))
      problems.push(`client disconnect data ${String(server.disconnectData)}`);
    if (client.disconnectData !== `server saw ${1 << 20}`)
      problems.push(`server disconnect data ${String(client.disconnectData)}`);
  }
  console.log(
    `wine-interop: ${tag}: ${problems.length === 0 ? 'ok' : `FAILED: ${problems.join('; ')}`} ` +
      `(client ${client.platform}/${client.provider}, server ${server.platform}/${server.provider})`,
  );
  return problems;
}

/** Linux client against a node.exe server. */
async function linuxToWine(tag: string, linuxProvider: ProviderChoice, wineProvider: ProviderName): Promise<string[]> {
  const out = join(dir, `${tag}.json`);
  const exited = wine(['server', wineProvider, out], tag);
  const port = Number(await waitForFile(`${out}.port`, 60_000));
  const socket = await connect({
    provider: linuxProvider,
    port,
    host: '127.0.0.1',
    allowHalfOpen: true,
    ...(wineProvider === 'framed' ? { callerData: 'caller linux' } : {}),
  });
  const client = await exchangeAsClient(socket);
  const server = JSON.parse(await waitForFile(out, 60_000)) as ExchangeResult & { ok: boolean; error?: string };
  await exited;
  if (!server.ok) return [`node.exe server: ${server.error ?? '?'}`];
  return check(tag, client, server, wineProvider === 'framed');
}

/** node.exe client against a Linux server. */
async function wineToLinux(tag: string, linuxProvider: ProviderChoice, wineProvider: ProviderName): Promise<string[]> {
  const out = join(dir, `${tag}.json`);
  const server = createServer({ provider: linuxProvider, allowHalfOpen: true }); // the exchange answers the peer's hang-up
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const served = serveOne(server);
  served.catch(() => undefined);
  const exited = wine(['client', wineProvider, String(port), out], tag);
  const client = JSON.parse(await waitForFile(out, 90_000)) as ExchangeResult & { ok: boolean; error?: string };
  await exited;
  if (!client.ok) {
    await server.close();
    return [`node.exe client: ${client.error ?? '?'}`];
  }
  const result = await served;
  await server.close();
  return check(tag, client, result, wineProvider === 'framed');
}

async function main(): Promise<void> {
  if (!nodeExe) throw new Error('NODE_EXE is not set (run through npm run test:wine)');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const problems = [
    ...(await linuxToWine('linux-auto-to-wine-native', 'auto', 'native')),
    ...(await wineToLinux('wine-native-to-linux-auto', 'auto', 'native')),
    ...(await linuxToWine('linux-framed-to-wine-framed', 'framed', 'framed')),
    ...(await wineToLinux('wine-framed-to-linux-framed', 'framed', 'framed')),
  ];
  if (problems.length > 0) {
    console.error(`wine-interop: ${problems.length} problem(s); logs in ${dir}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(`wine-interop: ${String(err)}`);
  process.exitCode = 1;
});
