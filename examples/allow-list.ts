/**
 * Conditional accept with an address allow-list: callers whose address is not
 * on the list are refused by the condition function *before* the connection
 * is accepted (WSAAccept + CF_REJECT; on Windows with the native provider the
 * caller never completes the TCP handshake). Refused callers see
 * WSAECONNREFUSED where the provider holds the handshake (framed; native on
 * Windows); where the kernel completes it first (emulated; native under
 * Wine) the caller's connect resolves and the connection is then reset
 * (WSAECONNRESET) having received nothing.
 *
 * The list is a net.BlockList used the other way round: "on the list" means
 * allowed. Swapping the list at run time takes effect at the next request.
 */
import { BlockList } from 'node:net';
import { connect, createServer, WinsockError, type DecisionEvent, type ProviderChoice } from 'winsock2';

function allowList(...subnets: [string, number][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of subnets) list.addSubnet(network, prefix, 'ipv4');
  return list;
}

export interface AllowListResult {
  first: { accepted: boolean; calleeData: string | null };
  second: { accepted: boolean; error: string | null };
  decisions: { caller: string; verdict: string; reason: string }[];
}

/** `provider` defaults to 'auto' (native on Windows, emulated elsewhere). */
export async function main(provider: ProviderChoice = 'auto'): Promise<AllowListResult> {
  let allowed = allowList(['127.0.0.0', 8], ['10.0.0.0', 8]); // loopback and the office network

  const server = createServer({
    provider,
    condition(req) {
      const family = req.callerId.family === 'IPv6' ? 'ipv6' : 'ipv4';
      if (!allowed.check(req.callerId.address, family)) return 'reject'; // CF_REJECT
      return { action: 'accept', calleeData: server.capabilities.connectData ? 'you are on the list' : null }; // CF_ACCEPT
    },
  });
  const decisions: AllowListResult['decisions'] = [];
  server.on('decision', (e: DecisionEvent) => {
    decisions.push({ caller: e.request.callerId.address, verdict: e.verdict, reason: e.reason });
  });
  // An accepted caller reads a greeting; a refused one reads nothing.
  server.on('connection', (socket) => {
    socket.on('error', () => undefined); // as with any net.Socket: a caller that leaves at once resets it
    socket.end('welcome\n');
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });

  // 1. 127.0.0.1 is on the list: accepted, with callee data where the provider carries it.
  const socket = await connect({ provider, host: '127.0.0.1', port });
  const first = { accepted: true, calleeData: socket.calleeData?.toString() ?? null };
  socket.destroy();

  // 2. The list is reloaded without loopback: the same caller is now refused.
  allowed = allowList(['10.0.0.0', 8]);
  let second: AllowListResult['second'];
  try {
    const again = await connect({ provider, host: '127.0.0.1', port });
    // Connected: the handshake was completed before the condition ran. An
    // accepted caller reads the greeting; a refused one is reset having
    // received nothing (Wine reads that reset as a plain end).
    let received = 0;
    const outcome = await new Promise<string | null>((resolve) => {
      again.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      again.once('end', () => resolve(null));
      again.once('error', (err: WinsockError) => resolve(err.code));
    });
    again.destroy();
    second = { accepted: received > 0, error: received > 0 ? null : (outcome ?? 'WSAECONNRESET') }; // 'WSAECONNRESET' (10054)
  } catch (err) {
    if (!(err instanceof WinsockError)) throw err;
    second = { accepted: false, error: err.code }; // 'WSAECONNREFUSED' (10061)
  }

  await server.close();
  return { first, second, decisions };
}

// Run when executed directly (`node allow-list.js`), as CommonJS or as an ES module
// alike (`require.main === module` exists only in CommonJS); importing the
// file runs nothing.
if (/[\\/]allow-list\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  main().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
