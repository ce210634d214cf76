/** `winsock2 demo`: the seed scenario with a table. */
import { parseArgs } from 'node:util';
import { runSeedScenario } from '../demo/seed';
import type { ProviderChoice } from '../types';
import { formatTable } from './table';

const HELP = `usage: winsock2 demo [--clients N] [--transactions N] [--provider auto|native|emulated] [--json]

Runs the seed scenario: N clients connect with their name as caller data, send
transactions, and hang up with their transaction count as disconnect data; the
server answers each hang-up with the running grand total as its disconnect data.`;

export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      clients: { type: 'string', default: '5' },
      transactions: { type: 'string', default: '10' },
      provider: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const clients = Number(values.clients);
  const transactions = Number(values.transactions);
  if (!Number.isInteger(clients) || clients < 1 || !Number.isInteger(transactions) || transactions < 0) {
    process.stderr.write('winsock2 demo: --clients must be ≥ 1 and --transactions ≥ 0 (integers)\n');
    return 2;
  }
  const result = await runSeedScenario({ clients, transactionsPerClient: transactions, provider: values.provider as ProviderChoice | undefined });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const caps = result.capabilities;
  process.stdout.write(`provider: ${caps.provider} (${caps.protocol}); connect data ${caps.connectData ? 'carried' : 'NOT carried'}, ` +
    `disconnect data ${caps.disconnectData ? 'carried' : 'NOT carried'}\n\n`);
  process.stdout.write(`${formatTable(
    ['client', 'caller data', 'callee data', 'transactions', 'amount sent', 'hung up with', 'server answered'],
    result.clients.map((c) => [c.client, c.callerData, c.calleeData, c.transactions, c.amountSent, c.disconnectSent, c.disconnectReceived]),
  )}\n\n`);
  const sum = result.clients.reduce((s, c) => s + c.amountSent, 0);
  process.stdout.write(`grand total: ${result.grandTotal} (clients sent ${sum}); transactions counted by disconnect data: ` +
    `${result.serverCountTotal}; ${result.durationMs} ms\n`);
  return result.grandTotal === sum ? 0 : 1;
}
