/**
 * What every `winsock2` subcommand shares: option parsing that turns mistakes
 * into usage errors (exit 2), the exit codes, the one-line error format, and
 * how connect/disconnect data is shown.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BlockList, isIP } from 'node:net';
import {
  WinsockError,
  availableProviders,
  describeWinsockError,
  type ProviderChoice,
  type ProviderName,
} from '../index';

/**
 * Exit codes scripts can rely on (documented in `winsock2 --help` and docs/cli.md).
 */
export const EXIT = {
  /** Everything worked. */
  OK: 0,
  /** A runtime or Winsock failure (the error line names it). */
  FAILURE: 1,
  /** The command line was wrong: unknown option, missing or bad value. */
  USAGE: 2,
  /** The acceptor refused the connection request (WSAECONNREFUSED). */
  REFUSED: 3,
  /** A connect or a teardown did not complete in time (WSAETIMEDOUT). */
  TIMEDOUT: 4,
  /** Nothing listens at the address: the TCP connect itself was refused (WSAECONNREFUSED from the kernel). */
  NOT_LISTENING: 5,
} as const;

export const EXIT_CODES_HELP = `exit codes:
  0  success
  1  runtime or Winsock failure (one line on stderr: name, number, sentence)
  2  usage error (bad option or value)
  3  refused by the acceptor (WSAECONNREFUSED from its decision)
  4  timed out (WSAETIMEDOUT)
  5  nothing listening there (WSAECONNREFUSED from the TCP connect)
  130, 143  serve stopped by SIGINT, SIGTERM (128 + the signal, as a shell reports it)`;

/** A mistake on the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs gives for a command's options. */
type ParsedValues<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>['values'];

/** The options every command takes. */
export const COMMON_OPTIONS = {
  provider: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

/**
 * Runs a parseArgs call (strict, as parseArgs is by default); its errors
 * (unknown option, missing value, stray positional) become UsageErrors.
 */
export function parseOptions<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    const first = (e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e)).replace(/\.+$/, '');
    // parseArgs' own advice for a value that starts with '-' is on its second line.
    const option = /^Option '(--[\w-]+)' argument is ambiguous/.exec(first)?.[1];
    throw new UsageError(option ? `${first}: to give a value that starts with '-', write ${option}=VALUE` : first);
  }
}

/**
 * parseArgs reads `--port -1` as the option `--port` followed by the option
 * `-1` and calls it ambiguous; `--port=-1` is what the user meant. Joins an
 * option that takes a value with a following negative number, so the value's
 * own check says what is wrong with it ("--port must be ... not "-1"").
 */
export function negativeValues(args: readonly string[], takesValue: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = args[i + 1];
    if (takesValue.has(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** The `--name` of every option of a parseArgs config that takes a value. */
export function valueOptions(options: Options): Set<string> {
  return new Set(
    Object.entries(options)
      .filter(([, o]) => o.type === 'string')
      .map(([name]) => `--${name}`),
  );
}

/**
 * Parses a command's arguments against its options (strict: unknown options
 * and stray positionals are usage errors); negative numbers given as values
 * are taken as values (negativeValues).
 */
export function parseCommandLine<O extends Options>(args: readonly string[], options: O): ParsedValues<O> {
  return parseOptions(
    () =>
      parseArgs({ args: negativeValues(args, valueOptions(options)), options, strict: true, allowPositionals: false })
        .values,
  );
}

/**
 * The provider `auto` picks in this process (WINSOCK2_PROVIDER included),
 * from the package's public answer; null when WINSOCK2_PROVIDER is invalid
 * (the connect or listen then says why).
 */
export function autoPicks(): ProviderName | null {
  return availableProviders().find((p) => p.auto)?.name ?? null;
}

/**
 * Where the provider in use came from, in the user's words: `--provider`,
 * `WINSOCK2_PROVIDER`, or `auto`'s own pick and why it picked that one.
 */
export function providerSource(choice: ProviderChoice | undefined, picked: ProviderName): string {
  if (choice !== undefined && choice !== 'auto') return 'chosen by --provider';
  const env = process.env['WINSOCK2_PROVIDER'];
  if (env !== undefined && env !== '' && env !== 'auto') return 'chosen by WINSOCK2_PROVIDER';
  if (picked === 'native') return 'picked by auto: the native addon loaded';
  return process.platform === 'win32'
    ? 'picked by auto: the native addon did not load'
    : 'picked by auto: emulated off Windows';
}

/**
 * A usage error as one line, the same for every command: `winsock2 serve:
 * unknown option '--frob'. Try `winsock2 serve --help`.` (a lower-case
 * start, whether the words are ours or parseArgs').
 */
export function usageLine(command: string | null, message: string): string {
  const text = message.replace(/\.+$/, '');
  const lower = /^[A-Z][a-z]/.test(text) ? `${text.charAt(0).toLowerCase()}${text.slice(1)}` : text;
  return command === null
    ? `winsock2: ${lower}. Try \`winsock2 --help\`.`
    : `winsock2 ${command}: ${lower}. Try \`winsock2 ${command} --help\`.`;
}

/** A provider choice from --provider (undefined: the default, `auto` / WINSOCK2_PROVIDER). */
export function providerOption(value: string | undefined): ProviderChoice | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto' || value === 'native' || value === 'emulated' || value === 'framed') return value;
  throw new UsageError(`--provider must be auto, native, emulated or framed, not ${JSON.stringify(value)}`);
}

/** An integer option within [min, max]. */
export function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return n;
}

/** One --allow/--deny rule: an address, a CIDR subnet, or a range `a-b`. */
export interface AddressRule {
  readonly text: string;
  /** A list holding only this rule (to tell which rule matched). */
  readonly list: BlockList;
  /** Adds this rule to another list (the server's blockList). */
  addTo(list: BlockList): void;
}

function familyOf(address: string, rule: string): 'ipv4' | 'ipv6' {
  const v = isIP(address);
  if (v === 4) return 'ipv4';
  if (v === 6) return 'ipv6';
  throw new UsageError(`${rule}: ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
}

/** Parses `10.0.0.0/8`, `192.168.1.7`, `::1`, `fd00::/8` or `10.0.0.1-10.0.0.9` into a BlockList of its own. */
export function parseAddressRule(text: string, option: string): AddressRule {
  const what = `--${option} ${text}`;
  const slash = text.indexOf('/');
  const dash = text.indexOf('-');
  let addTo: (list: BlockList) => void;
  if (isIP(text) !== 0) {
    const family = familyOf(text, what);
    addTo = (list) => list.addAddress(text, family);
  } else if (slash >= 0 && isIP(text.slice(0, slash)) !== 0) {
    const net = text.slice(0, slash);
    const family = familyOf(net, what);
    const prefix = Number(text.slice(slash + 1));
    const max = family === 'ipv4' ? 32 : 128;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || text.slice(slash + 1).trim() === '') {
      throw new UsageError(`${what}: the prefix length must be an integer from 0 to ${max}`);
    }
    addTo = (list) => list.addSubnet(net, prefix, family);
  } else if (dash >= 0 && isIP(text.slice(0, dash)) !== 0 && isIP(text.slice(dash + 1)) !== 0) {
    const start = text.slice(0, dash);
    const end = text.slice(dash + 1);
    const family = familyOf(start, what);
    if (familyOf(end, what) !== family) throw new UsageError(`${what}: both ends of a range must be the same family`);
    addTo = (list) => list.addRange(start, end, family);
  } else {
    throw new UsageError(
      `${what}: not an IPv4/IPv6 address, a CIDR subnet (10.0.0.0/8) or a range (10.0.0.1-10.0.0.9)`,
    );
  }
  const list = new BlockList();
  try {
    addTo(list);
  } catch (e) {
    throw new UsageError(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { text, list, addTo };
}

/**
 * True when `address` matches the rule; IPv4-mapped IPv6 callers
 * (`::ffff:10.1.2.3`, from a dual-stack listener) match IPv4 rules too.
 */
export function ruleMatches(rule: AddressRule, address: string): boolean {
  const v = isIP(address);
  if (v === 0) return false;
  if (rule.list.check(address, v === 4 ? 'ipv4' : 'ipv6')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped !== null && rule.list.check(mapped[1], 'ipv4');
}

/** Connect or disconnect data for humans: a JSON string when it is printable UTF-8, else hex. */
export function showData(data: Buffer | null): string {
  if (data === null) return '-';
  const text = textOf(data);
  return text === null ? `0x${data.toString('hex')}` : JSON.stringify(text);
}

/** The data as text when it is valid UTF-8 without control characters other than tab/newline; else null. */
export function textOf(data: Buffer): string | null {
  const text = data.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(data)) return null;
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? null : text;
}

/** Data for JSON output: the text when it is text, else `base64:...`; null stays null. */
export function jsonData(data: Buffer | null): string | null {
  if (data === null) return null;
  const text = textOf(data);
  return text === null ? `base64:${data.toString('base64')}` : text;
}

/** `host:port`, with brackets for IPv6. */
export function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The exit code a failure maps to. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof WinsockError) {
    if (err.code === 'WSAECONNREFUSED') return nothingListening(err) ? EXIT.NOT_LISTENING : EXIT.REFUSED;
    if (err.code === 'WSAETIMEDOUT') return EXIT.TIMEDOUT;
  }
  return EXIT.FAILURE;
}

/**
 * True when a WSAECONNREFUSED came from the TCP connect itself (the kernel
 * answered the SYN with a reset: nothing listens there), not from an
 * acceptor's decision. node:net reports that as ECONNREFUSED, which the
 * emulated and framed providers keep as the error's cause. The native
 * provider cannot tell: on Windows a condition's CF_REJECT under
 * SO_CONDITIONAL_ACCEPT is that same reset to the SYN, so WSAConnect
 * reports both alike (exit 3).
 */
export function nothingListening(err: WinsockError): boolean {
  return err.code === 'WSAECONNREFUSED' && (err.cause as { code?: unknown } | undefined)?.code === 'ECONNREFUSED';
}

/**
 * The one-line form of a WinsockError:
 * `WSAECONNREFUSED (10061) from WSAConnect: Connection refused. <detail>`.
 */
export function describeError(err: WinsockError): string {
  const description = describeWinsockError(err.code);
  const base = `${err.syscall} failed: ${err.code} (${err.errno}): ${description}`;
  // The detail's first line only: Node's own messages append stacks (e.g. "Require stack:").
  let detail =
    (err.message.startsWith(base) ? err.message.slice(base.length).replace(/^:\s*/, '') : err.message).split('\n')[0] ??
    '';
  detail = detail.trim();
  if (detail !== '') detail = `${detail.charAt(0).toUpperCase()}${detail.slice(1)}${/[.!?]$/.test(detail) ? '' : '.'}`;
  return oneLine(`${err.code} (${err.errno}) from ${err.syscall}: ${description}.${detail ? ` ${detail}` : ''}`);
}

/** Collapses whitespace runs with newlines so an error stays one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** The error as JSON, for `--json` output. */
export function errorJson(err: unknown): Record<string, unknown> {
  if (err instanceof WinsockError) {
    return {
      code: err.code,
      errno: err.errno,
      syscall: err.syscall,
      message: describeError(err),
      exitCode: exitCodeFor(err),
    };
  }
  if (err instanceof UsageError) return { code: 'USAGE', message: err.message, exitCode: EXIT.USAGE };
  return { code: 'ERROR', message: oneLine(err instanceof Error ? err.message : String(err)), exitCode: EXIT.FAILURE };
}

/** Writes one line to stdout. */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Writes one line to stderr. */
export function err(line: string): void {
  process.stderr.write(`${line}\n`);
}
