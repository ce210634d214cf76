/** `winsock2 demo`: the seed scenario with a table. */
import { runSeedScenario, SEED_PROVIDER_WHY } from '../demo/seed';
import { availableProviders } from '../index';
import { COMMON_OPTIONS, EXIT, EXIT_CODES_HELP, intOption, out, parseCommandLine, providerOption } from './common';
import { formatTable } from './table';

const HELP = `usage: winsock2 demo [--clients N] [--transactions N] [--provider auto|native|emulated|framed] [--json]

Runs the seed scenario: N clients connect with their name as caller data, send
transactions, and hang up with their transaction count as disconnect data; the
server answers each hang-up with the running grand total as its disconnect data.
It runs on the framed provider unless --provider names another: disconnect data
is what the scenario is about, and only framed carries it (Windows' TCP/IP
provider, so native and emulated, cannot: they fail with WSAEOPNOTSUPP).

options:
  --clients N        clients, one after another (default 5)
  --transactions N   transactions per client (default 10)
  --provider auto|native|emulated|framed
  --json             the whole result as one JSON object (clients, grandTotal, ...)
  --help, -h         this help

${EXIT_CODES_HELP}`;

export async function demoCommand(args: string[]): Promise<number> {
  const values = parseCommandLine(args, {
    ...COMMON_OPTIONS,
    clients: { type: 'string' },
    transactions: { type: 'string' },
  });
  if (values.help) {
    out(HELP);
    return EXIT.OK;
  }
  const clients = intOption(values.clients, 'clients', 1, 10_000) ?? 5;
  const transactions = intOption(values.transactions, 'transactions', 0, 1_000_000) ?? 10;
  const provider = providerOption(values.provider);
  const result = await runSeedScenario({
    clients,
    transactionsPerClient: transactions,
    ...(provider === undefined ? {} : { provider }),
  });
  const sum = result.clients.reduce((s, c) => s + c.amountSent, 0);
  const consistent = result.grandTotal === sum;
  if (values.json) {
    out(JSON.stringify(result, null, 2));
    return consistent ? EXIT.OK : EXIT.FAILURE;
  }
  const caps = result.capabilities;
  out(
    `provider: ${caps.provider} (${caps.protocol}); connect data ${caps.connectData ? 'carried' : 'NOT carried'}, ` +
      `disconnect data ${caps.disconnectData ? 'carried' : 'NOT carried'}`,
  );
  if (provider === undefined || provider === 'auto') out(`why framed: ${SEED_PROVIDER_WHY}`);
  // What else this process could run on, from the package's public answer.
  for (const p of availableProviders()) {
    if (!p.available) out(`${p.name}: unavailable: ${(p.reason ?? '').split('\n')[0] ?? ''}`);
  }
  out('');
  out(
    `${formatTable(
      ['client', 'caller data', 'callee data', 'transactions', 'amount sent', 'hung up with', 'server answered'],
      result.clients.map((c) => [
        c.client,
        c.callerData,
        c.calleeData,
        c.transactions,
        c.amountSent,
        c.disconnectSent,
        c.disconnectReceived,
      ]),
    )}\n`,
  );
  out(
    `grand total: ${result.grandTotal} (clients sent ${sum}); transactions counted by disconnect data: ` +
      `${result.serverCountTotal}; ${result.durationMs} ms`,
  );
  return consistent ? EXIT.OK : EXIT.FAILURE;
}
