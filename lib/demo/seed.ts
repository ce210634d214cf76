/**
 * The seed scenario (after Microsoft's "Graceful shutdown, linger options and
 * socket closure" sequence): clients send transactions and hang up with their
 * transaction count as disconnect data; the server answers each hang-up with
 * the running grand total as its own disconnect data.
 */
import { once } from 'node:events';
import { connect } from '../connect';
import { createServer } from '../server';
import type { WinsockSocket } from '../socket';
import { onLines } from './lines';
import { seededRandom } from './random';
import type { Capabilities, ProviderChoice } from '../types';

export interface SeedOptions {
  clients?: number;
  transactionsPerClient?: number;
  provider?: ProviderChoice;
  /** Seed for the transaction amounts, so runs are reproducible. */
  seed?: number;
}

export interface SeedClientResult {
  client: number;
  callerData: string;
  calleeData: string | null;
  transactions: number;
  amountSent: number;
  /** What the client said when hanging up (its count). */
  disconnectSent: string;
  /** What the server answered (the grand total when this client hung up). */
  disconnectReceived: string | null;
}

export interface SeedResult {
  capabilities: Capabilities;
  clients: SeedClientResult[];
  grandTotal: number;
  serverCountTotal: number;
  durationMs: number;
}

/**
 * The seed scenario hangs up with disconnect data, which only the framed
 * provider carries (Windows' TCP/IP has no XP1_DISCONNECT_DATA): framed on
 * every OS unless another provider is asked for explicitly.
 */
export function seedProvider(choice: ProviderChoice | undefined): ProviderChoice {
  if (choice && choice !== 'auto') return choice;
  return 'framed';
}

/** Why the demo runs on the provider it runs on, in one line. */
export const SEED_PROVIDER_WHY =
  "the seed scenario hangs up with disconnect data, which only the framed provider carries (Windows' TCP/IP provider, and so native and emulated, cannot)";

export async function runSeedScenario(options: SeedOptions = {}): Promise<SeedResult> {
  const clients = options.clients ?? 5;
  const perClient = options.transactionsPerClient ?? 10;
  const provider = seedProvider(options.provider);
  const rand = seededRandom(options.seed ?? 42);
  const started = Date.now();

  let grandTotal = 0;
  let serverCountTotal = 0;
  const server = createServer({
    provider,
    // The server answers the client's hang-up with its own disconnect data: it keeps its side open (Winsock's half-open rule).
    allowHalfOpen: true,
    condition: (req) => ({ action: 'accept', calleeData: `welcome ${req.callerData?.toString() ?? 'stranger'}` }),
  });
  server.on('connection', (socket) => void serve(socket));

  async function serve(socket: WinsockSocket): Promise<void> {
    onLines(socket, (line) => {
      const amount = Number(line.replace(/^tx:/, ''));
      if (Number.isFinite(amount)) grandTotal += amount;
    });
    await once(socket, 'end');
    const count = await socket.recvDisconnect();
    serverCountTotal += Number(count?.toString().replace(/^count=/, '') ?? 0);
    await socket.sendDisconnect(`total=${grandTotal}`);
    socket.destroy();
  }

  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const capabilities = server.capabilities;
  const results: SeedClientResult[] = [];
  try {
    // Clients run one after another so the running total each one sees is readable.
    for (let i = 1; i <= clients; i++) {
      const name = `client-${i}`;
      const socket = await connect({ provider, port, host: '127.0.0.1', callerData: name, allowHalfOpen: true });
      let amountSent = 0;
      for (let t = 0; t < perClient; t++) {
        const amount = 1 + Math.floor(rand() * 100);
        amountSent += amount;
        socket.write(`tx:${amount}\n`);
      }
      const disconnectSent = `count=${perClient}`;
      socket.resume();
      const ended = once(socket, 'end');
      await socket.sendDisconnect(disconnectSent);
      await ended;
      const answer = await socket.recvDisconnect();
      socket.destroy();
      results.push({
        client: i,
        callerData: name,
        calleeData: socket.calleeData?.toString() ?? null,
        transactions: perClient,
        amountSent,
        disconnectSent,
        disconnectReceived: answer?.toString() ?? null,
      });
    }
  } finally {
    await server.close();
  }
  return { capabilities, clients: results, grandTotal, serverCountTotal, durationMs: Date.now() - started };
}
