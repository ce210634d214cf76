/**
 * The seed scenario, standalone: clients send transactions and hang up with
 * their transaction count as disconnect data (WSASendDisconnect); the server
 * reads everything, takes the count (WSARecvDisconnect) and answers the
 * hang-up with the running grand total as its own disconnect data.
 *
 * Run: `npm run build && npm run build:test && node out/examples/seed-scenario.js`.
 */
import { once } from 'node:events';
import { connect, createServer, type WinsockSocket } from 'winsock2';

export interface SeedScenarioResult {
  provider: string;
  clients: { name: string; amountSent: number; hungUpWith: string; serverAnswered: string | null }[];
  grandTotal: number;
  transactionsCounted: number;
}

export async function main(clients = 3, transactionsPerClient = 5): Promise<SeedScenarioResult> {
  let grandTotal = 0;
  let transactionsCounted = 0;

  // Disconnect data needs a provider that carries it: Windows' own TCP/IP
  // provider does not (so neither 'native' nor 'emulated', the defaults), so
  // ask for 'framed' explicitly, on both ends.
  const server = createServer({
    provider: 'framed',
    // The server answers the client's hang-up with the grand total: it keeps
    // its sending side open after the client's end (Winsock's half-open rule;
    // net's default, false, would end it at once).
    allowHalfOpen: true,
    condition: (req) => ({ action: 'accept', calleeData: `welcome ${req.callerData?.toString() ?? 'stranger'}` }),
  });

  server.on('connection', (socket: WinsockSocket) => {
    socket.setEncoding('utf8');
    let pending = '';
    socket.on('data', (text: string) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) grandTotal += Number(line);
    });
    socket.on('end', async () => {
      // recv() returned 0: the client hung up
      const count = await socket.recvDisconnect(); // WSARecvDisconnect
      transactionsCounted += Number(count?.toString() ?? 0);
      await socket.sendDisconnect(String(grandTotal)); // WSASendDisconnect with the grand total
      socket.destroy(); // closesocket
    });
  });

  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const results: SeedScenarioResult['clients'] = [];
  for (let i = 1; i <= clients; i++) {
    const name = `client-${i}`;
    const socket = await connect({
      provider: 'framed',
      host: '127.0.0.1',
      port,
      callerData: name,
      allowHalfOpen: true,
    });
    let amountSent = 0;
    for (let t = 1; t <= transactionsPerClient; t++) {
      const amount = i * 100 + t;
      amountSent += amount;
      socket.write(`${amount}\n`);
    }
    socket.resume();
    const ended = once(socket, 'end');
    const hungUpWith = String(transactionsPerClient);
    await socket.sendDisconnect(hungUpWith); // flushes the writes, then hangs up with the count
    await ended; // the server's hang-up
    const answer = await socket.recvDisconnect();
    socket.destroy();
    results.push({ name, amountSent, hungUpWith, serverAnswered: answer?.toString() ?? null });
  }
  const provider = server.capabilities.provider;
  await server.close();
  return { provider, clients: results, grandTotal, transactionsCounted };
}

// Run when executed directly (`node seed-scenario.js`), as CommonJS or as an ES module
// alike (`require.main === module` exists only in CommonJS); importing the
// file runs nothing.
if (/[\\/]seed-scenario\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  main().then(
    (result) => console.table(result.clients),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
