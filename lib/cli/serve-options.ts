/** `winsock2 serve`, part one: its help and its command line, checked into a ServeConfig. */
import { BlockList } from 'node:net';
import { DEFAULTS, type ProviderChoice } from '../index';
import {
  COMMON_OPTIONS,
  EXIT_CODES_HELP,
  UsageError,
  intOption,
  parseAddressRule,
  parseCommandLine,
  providerOption,
  ruleMatches,
  type AddressRule,
} from './common';

/** The classic port of the Winsock sample programs. */
export const DEFAULT_PORT = 5150;

export const SERVE_HELP = `usage: winsock2 serve [options]

Listens and runs every connection request through a condition function built
from the rules below (WSAAccept), printing one line per decision:

  <ISO time> <verdict> <caller address:port> caller-data=<data> reason=<why> rule=<rule> duration=<ms>

Each accepted connection is read to its end; the peer's disconnect data is
printed and answered with --disconnect-reply. Runs until --count requests are
done (exit 0) or until SIGINT/SIGTERM: then it stops listening, refuses what is
still queued, hangs up the open connections, prints "stopped" and exits
128 + the signal (130 for SIGINT, 143 for SIGTERM, as a shell and npx report
it). A second signal exits at once, with the same code and no "stopped" line.

options:
  --port N                 port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDRESS           address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)
  --allow RULE             accept only callers matching a rule (repeatable); a rule is an
                           address (10.1.2.3, ::1), a CIDR (10.0.0.0/8) or a range (a-b)
  --deny RULE              refuse callers matching a rule (repeatable; checked first,
                           through the server's net.BlockList)
  --defer MS               decide each request MS ms later (a Promise: CF_DEFER underneath)
  --decision-timeout MS    reject a decision still pending after MS ms (default
                           ${DEFAULTS.decisionTimeout}, or twice --defer when larger)
  --callee-data TEXT       callee data sent back with every accept
  --disconnect-reply TEXT  disconnect data answering each caller's teardown
  --echo                   send every byte received back to the caller
  --max-connections N      refuse callers beyond N open connections
  --count N                exit after N requests are done (refused, withdrawn, or
                           accepted and closed); --once is --count 1
  --provider auto|native|emulated|framed
  --json                   one JSON object per line (events: listening, decision,
                           closed, conditionError, withdrawn, clientError, stopped)
  --help, -h               this help

Callee data and disconnect replies need a provider that carries them
(capabilities.connectData / disconnectData); asking for them on one that
cannot fails before listening: WSAEOPNOTSUPP (callee data), WSAENOPROTOOPT
(disconnect data).

${EXIT_CODES_HELP}`;

/** The --allow and --deny rules. */
export interface Rules {
  allow: AddressRule[];
  deny: AddressRule[];
}

/** Everything `serve` was asked for, checked. */
export interface ServeConfig {
  provider: ProviderChoice | undefined;
  port: number;
  host: string;
  rules: Rules;
  /** The --deny rules as the server's blockList (null without --deny). */
  blockList: BlockList | null;
  deferMs: number | undefined;
  decisionTimeout: number;
  maxConnections: number | undefined;
  count: number | undefined;
  calleeData: string | undefined;
  disconnectReply: string | undefined;
  echo: boolean;
  json: boolean;
}

/** Parses `serve`'s arguments; null for --help. Mistakes are UsageErrors. */
export function parseServe(args: string[]): ServeConfig | null {
  const values = parseCommandLine(args, {
    ...COMMON_OPTIONS,
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    allow: { type: 'string', multiple: true, default: [] },
    deny: { type: 'string', multiple: true, default: [] },
    defer: { type: 'string' },
    'decision-timeout': { type: 'string' },
    'callee-data': { type: 'string' },
    'disconnect-reply': { type: 'string' },
    echo: { type: 'boolean', default: false },
    'max-connections': { type: 'string' },
    count: { type: 'string' },
    once: { type: 'boolean', default: false },
  });
  if (values.help) return null;
  const provider = providerOption(values.provider);
  const port = intOption(values.port, 'port', 0, 65535) ?? DEFAULT_PORT;
  if (values.host.trim() === '') throw new UsageError('--host must not be empty');
  const deferMs = intOption(values.defer, 'defer', 0, 2 ** 31 - 1);
  const decisionTimeout =
    intOption(values['decision-timeout'], 'decision-timeout', 0, 2 ** 31 - 1) ??
    Math.max(DEFAULTS.decisionTimeout, 2 * (deferMs ?? 0));
  if (values.once && values.count !== undefined) throw new UsageError('--once and --count cannot be combined');
  const rules: Rules = {
    allow: values.allow.map((r) => parseAddressRule(r, 'allow')),
    deny: values.deny.map((r) => parseAddressRule(r, 'deny')),
  };
  let blockList: BlockList | null = null;
  if (rules.deny.length > 0) {
    blockList = new BlockList();
    for (const rule of rules.deny) rule.addTo(blockList);
  }
  return {
    provider,
    port,
    host: values.host,
    rules,
    blockList,
    deferMs,
    decisionTimeout,
    maxConnections: intOption(values['max-connections'], 'max-connections', 0, 2 ** 31 - 1),
    count: values.once ? 1 : intOption(values.count, 'count', 1, 2 ** 31 - 1),
    calleeData: values['callee-data'],
    disconnectReply: values['disconnect-reply'],
    echo: values.echo,
    json: values.json,
  };
}

/** Why the rules accepted or refused a caller, for the decision line. */
export function ruleFor(rules: Rules, address: string): { accept: boolean; rule: string } {
  if (rules.allow.length === 0) return { accept: true, rule: 'default' };
  const match = rules.allow.find((r) => ruleMatches(r, address));
  return match ? { accept: true, rule: `allow ${match.text}` } : { accept: false, rule: 'not in --allow' };
}
