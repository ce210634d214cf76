/**
 * One end of a cross-OS interop run (see wine-interop.ts): a winsock2
 * server or client on the provider it is given, run by Linux node or by
 * node.exe under Wine. It writes one JSON line to `out` and exits, so
 * nothing depends on stdout (a pipe under Wine is EBADF).
 *
 *   node peer.js server <provider> <out>           listens, writes {port} to <out>.port, serves one caller
 *   node peer.js client <provider> <port> <out>    connects, exchanges, writes the result
 */
import { writeFileSync } from 'node:fs';
import { connect, createServer } from '../../lib/index';
import type { ProviderName } from '../../lib/types';
import { exchangeAsClient, serveOne } from './exchange';

async function main(): Promise<void> {
  const [role, provider, ...rest] = process.argv.slice(2) as [string, ProviderName, ...string[]];
  const out = rest[rest.length - 1] as string;
  // A hang guard, not a timing assertion: the driver waits for this file.
  const guard = setTimeout(() => {
    writeFileSync(out, `${JSON.stringify({ ok: false, error: 'timed out after 60 s' })}\n`);
    process.exit(3);
  }, 60_000);
  guard.unref();
  try {
    if (role === 'server') {
      const server = createServer({ provider, allowHalfOpen: true }); // the exchange answers the peer's hang-up
      const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
      writeFileSync(`${out}.port`, String(port));
      const result = await serveOne(server);
      await server.close();
      writeFileSync(out, `${JSON.stringify({ ok: true, ...result })}\n`);
    } else {
      const port = Number(rest[0]);
      const socket = await connect({
        provider,
        port,
        host: '127.0.0.1',
        allowHalfOpen: true,
        ...(provider === 'framed' ? { callerData: Buffer.from(`caller ${process.platform}`) } : {}),
      });
      const result = await exchangeAsClient(socket);
      writeFileSync(out, `${JSON.stringify({ ok: true, ...result })}\n`);
    }
  } catch (err) {
    writeFileSync(out, `${JSON.stringify({ ok: false, error: String(err) })}\n`);
    process.exitCode = 1;
  }
}

void main();
