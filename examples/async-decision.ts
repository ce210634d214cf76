/**
 * An asynchronous decision: the condition function looks the caller up in a
 * slow directory (a database, an HTTP service...) before answering.
 *
 * Two equivalent ways, both CF_DEFER underneath:
 *  - return a Promise of the decision ('promise' below);
 *  - return 'defer' and call `req.decide(...)` (or `server.decide(req, ...)`)
 *    later ('defer' below).
 * Winsock's rule holds either way: a deferred request stays at the head of
 * the backlog and no later request is offered to the condition function until
 * it is decided, so lookups never overlap. `decisionTimeout` bounds a lookup
 * that never answers (the caller is then refused, WSAETIMEDOUT on the server).
 */
import {
  connect,
  createServer,
  WinsockError,
  type ConnectionRequest,
  type Decision,
  type ProviderChoice,
} from 'winsock2';

/** The slow directory: who may connect, and with which plan. */
const DIRECTORY: Record<string, string | undefined> = { alice: 'gold', bob: 'silver' };

function lookup(name: string): Promise<string | undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(DIRECTORY[name]), 20));
}

export interface AsyncDecisionResult {
  style: 'promise' | 'defer';
  /** What each caller got: its callee data, or the error code. */
  outcomes: Record<string, string>;
  /** 'start x' / 'end x' for each lookup, in order: they never overlap. */
  log: string[];
  /** How often each decided request was deferred (≥ 1 for an async decision). */
  deferrals: number[];
}

export async function main(
  style: 'promise' | 'defer' = 'promise',
  provider: ProviderChoice = 'framed',
): Promise<AsyncDecisionResult> {
  const log: string[] = [];

  async function decideFor(req: ConnectionRequest): Promise<Decision> {
    const name = req.callerData?.toString() ?? '';
    log.push(`start ${name}`);
    const plan = await lookup(name);
    log.push(`end ${name}`);
    return plan ? { action: 'accept', calleeData: `hello ${name}, plan ${plan}` } : 'reject';
  }

  const server = createServer({
    provider, // caller and callee data need a provider that carries them: 'framed' (the default here)
    decisionTimeout: 5_000,
    condition:
      style === 'promise'
        ? (req) => decideFor(req) // a Promise: CF_DEFER until it settles
        : (req) => {
            decideFor(req)
              .then((decision) => req.decide(decision)) // settle later...
              .catch(() => undefined); // (throws if the caller left meanwhile)
            return 'defer'; // ...CF_DEFER now
          },
  });
  const deferrals: number[] = [];
  server.on('decision', (e) => deferrals.push(e.deferrals));
  server.on('connection', (socket) => socket.destroy());
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });

  // Three callers at once; the server decides them one after another.
  const names = ['alice', 'mallory', 'bob'];
  const settled = await Promise.allSettled(names.map((name) => connect({ provider, port, callerData: name })));
  const outcomes: Record<string, string> = {};
  settled.forEach((s, i) => {
    const name = names[i] as string;
    if (s.status === 'fulfilled') {
      outcomes[name] = s.value.calleeData?.toString() ?? '';
      s.value.destroy();
    } else {
      outcomes[name] = s.reason instanceof WinsockError ? s.reason.code : String(s.reason);
    }
  });
  await server.close();
  return { style, outcomes, log, deferrals };
}

// Run when executed directly (`node async-decision.js`), as CommonJS or as an ES module
// alike (`require.main === module` exists only in CommonJS); importing the
// file runs nothing.
if (/[\\/]async-decision\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  main(process.argv[2] === 'defer' ? 'defer' : 'promise').then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
