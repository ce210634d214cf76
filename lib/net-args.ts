/**
 * winsock2/net's argument forms and their errors, as node:net reads them
 * (lib/net.js: normalizeArgs, Server.prototype.listen, validatePort,
 * createServer): the same forms accepted, the same codes, classes and
 * messages thrown, so that code and tests written against node:net see
 * what they expect. Paths, handles and fds are net's too but not TCP:
 * winsock2/net refuses them (docs/net.md).
 */
import { inspect } from 'node:util';

type NetErrorClass = typeof Error | typeof TypeError | typeof RangeError;

/** An error of node:net's kind (`internal/errors`): its class (Error, TypeError, RangeError) and `code`. */
export function netError(code: string, message: string, Class: NetErrorClass = Error): Error & { code: string } {
  const err = new Class(message) as Error & { code: string };
  err.code = code;
  return err;
}

/** How node:net's ERR_INVALID_ARG_TYPE names what it received (internal/errors' determineSpecificType). */
function received(value: unknown): string {
  if (value === null || value === undefined) return `Received ${String(value)}`;
  if (typeof value === 'function' && value.name) return `Received function ${value.name}`;
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return `Received ${name ? `an instance of ${name}` : inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `Received type ${typeof value} (${shown})`;
}

function invalidArgType(what: string, expected: string, value: unknown): Error {
  return netError('ERR_INVALID_ARG_TYPE', `The ${what} must be ${expected}. ${received(value)}`, TypeError);
}

function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): Error {
  return netError('ERR_INVALID_ARG_VALUE', `The argument '${name}' ${reason}. Received ${inspect(value)}`, TypeError);
}

/** net's `toNumber`: a numeric string or number as a number, else false (isPipeName is its negation for strings). */
function toNumber(value: unknown): number | false {
  return (value = Number(value)) >= 0 ? (value as number) : false;
}

function isPipeName(value: unknown): value is string {
  return typeof value === 'string' && toNumber(value) === false;
}

/** net's validatePort: an integer 0-65535, as a number or a numeric string (not blank). */
export function checkNetPort(port: unknown, name: string): number {
  const ok =
    (typeof port === 'number' || (typeof port === 'string' && port.trim().length !== 0)) &&
    +port === +port >>> 0 &&
    +port <= 0xffff;
  if (!ok) {
    const received =
      typeof port === 'number' || typeof port === 'string'
        ? `type ${typeof port} (${typeof port === 'string' ? `'${port}'` : String(port)})`
        : inspect(port);
    throw netError('ERR_SOCKET_BAD_PORT', `${name} should be >= 0 and < 65536. Received ${received}.`, RangeError);
  }
  return +port;
}

function checkAbortSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (signal === null || typeof signal !== 'object' || !('aborted' in signal)) {
    throw invalidArgType('"options.signal" property', 'an instance of AbortSignal', signal);
  }
  return signal as AbortSignal;
}

function notTcp(): Error {
  return netError('ERR_INVALID_ARG_VALUE', 'winsock2/net listens on TCP ports only (no path, handle or fd)', TypeError);
}

export interface ListenArgs {
  readonly port: number;
  readonly host: string | undefined;
  readonly callback: (() => void) | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * net.Server.listen's forms: `()`, `(cb)`, `(port[, host][, backlog][, cb])`,
 * `(options[, cb])`; a port given (number or numeric string) wins over a
 * path, as in net; `port: undefined | null` or no port argument binds an
 * ephemeral port.
 */
export function parseListenArgs(args: readonly unknown[]): ListenArgs {
  const last = args[args.length - 1];
  const callback = typeof last === 'function' ? (last as () => void) : undefined;
  const first = args[0];
  let options: Record<string, unknown>;
  if (args.length === 0 || typeof first === 'function') options = {};
  else if (first !== null && typeof first === 'object') options = first as Record<string, unknown>;
  else if (isPipeName(first)) options = { path: first };
  else options = { port: first, ...(args.length > 1 && typeof args[1] === 'string' ? { host: args[1] } : {}) };
  if (options['_handle'] !== undefined || options['handle'] !== undefined) throw notTcp();
  const signal = checkAbortSignal(options['signal']);
  if (typeof options['fd'] === 'number' && options['fd'] >= 0) throw notTcp();
  let port = options['port'];
  if (args.length === 0 || typeof first === 'function' || port === null || (port === undefined && 'port' in options))
    port = 0;
  if (typeof port === 'number' || typeof port === 'string') {
    if (options['ipv6Only'] === true) {
      // Not carried to the providers yet: refused rather than bound dual-stack (which would let IPv4 in).
      throw netError('ERR_INVALID_ARG_VALUE', 'winsock2/net cannot listen with ipv6Only yet', TypeError);
    }
    const host = options['host'];
    if (host !== undefined && host !== null && typeof host !== 'string') {
      // net hands the host to dns.lookup, whose check this is.
      throw invalidArgType('"hostname" argument', 'of type string', host);
    }
    return {
      port: checkNetPort(port, 'options.port'),
      host: host === null || host === '' ? undefined : host,
      callback,
      signal,
    };
  }
  if (isPipeName(options['path'])) throw notTcp();
  if (!('port' in options || 'path' in options)) {
    throw invalidArgValue('options', options, 'must have the property "port" or "path"');
  }
  throw invalidArgValue('options', options);
}

/**
 * net.connect's forms, `(options[, cb])`, `(port[, host][, cb])`,
 * `(path[, cb])`, as net's normalizeArgs reads them: the options and the
 * listener. Validation is the connecting socket's (net.Socket#connect, or
 * {@link checkConnectTarget} for a connect net does not make).
 */
export function parseConnectArgs(args: readonly unknown[]): {
  options: Record<string, unknown>;
  listener: (() => void) | undefined;
} {
  const last = args[args.length - 1];
  const listener = typeof last === 'function' ? (last as () => void) : undefined;
  const first = args[0];
  if (args.length === 0 || typeof first === 'function') return { options: {}, listener };
  if (first !== null && typeof first === 'object') return { options: first as Record<string, unknown>, listener };
  if (isPipeName(first)) return { options: { path: first }, listener };
  return {
    options: { port: first, ...(args.length > 1 && typeof args[1] === 'string' ? { host: args[1] } : {}) },
    listener,
  };
}

/** What net.Socket#connect refuses before it connects: no port and no path, a bad port, a path (not TCP here). */
export function checkConnectTarget(options: Record<string, unknown>): number {
  if (options['port'] === undefined && options['path'] === undefined) {
    throw netError('ERR_MISSING_ARGS', 'The "options" or "port" or "path" argument must be specified', TypeError);
  }
  if (options['path'] !== undefined) {
    throw netError('ERR_INVALID_ARG_VALUE', 'winsock2/net connects over TCP only (no path)', TypeError);
  }
  const port = options['port'];
  if (typeof port !== 'number' && typeof port !== 'string') {
    throw invalidArgType('"options.port" property', 'one of type number or string', port);
  }
  return checkNetPort(port, 'Port');
}

/** net.createServer's first argument: options (an object), the listener, or nothing. */
export function checkServerOptions(options: unknown): void {
  if (options === undefined || options === null || typeof options === 'function' || typeof options === 'object') return;
  throw invalidArgType('"options" argument', 'of type object', options);
}
