/**
 * WinsockError and the one table of Winsock error codes that every provider
 * uses. The native addon reports bare numbers (WSAGetLastError()); the
 * emulated and framed providers map Node's errno strings; all end up here, so
 * the same situation gives the same `code` whichever provider ran.
 *
 * Numbers and names: https://learn.microsoft.com/en-us/windows/win32/winsock/windows-sockets-error-codes-2
 */

/** Winsock error names and their numbers. */
export const WSA_ERRORS = {
  /** The specified network name is no longer available. */
  ERROR_NETNAME_DELETED: 64,
  /** The overlapped operation was aborted. */
  WSA_OPERATION_ABORTED: 995,
  /** Overlapped I/O is in progress. */
  WSA_IO_PENDING: 997,
  /** Interrupted function call. */
  WSAEINTR: 10004,
  /** File handle is not valid. */
  WSAEBADF: 10009,
  /** Permission denied. */
  WSAEACCES: 10013,
  /** Bad address. */
  WSAEFAULT: 10014,
  /** Invalid argument. */
  WSAEINVAL: 10022,
  /** Too many open sockets. */
  WSAEMFILE: 10024,
  /** Resource temporarily unavailable. */
  WSAEWOULDBLOCK: 10035,
  /** Operation now in progress. */
  WSAEINPROGRESS: 10036,
  /** Operation already in progress. */
  WSAEALREADY: 10037,
  /** Socket operation on nonsocket. */
  WSAENOTSOCK: 10038,
  /** Destination address required. */
  WSAEDESTADDRREQ: 10039,
  /** Message too long. */
  WSAEMSGSIZE: 10040,
  /** Protocol wrong type for socket. */
  WSAEPROTOTYPE: 10041,
  /** Bad protocol option. */
  WSAENOPROTOOPT: 10042,
  /** Protocol not supported. */
  WSAEPROTONOSUPPORT: 10043,
  /** Socket type not supported. */
  WSAESOCKTNOSUPPORT: 10044,
  /** Operation not supported. */
  WSAEOPNOTSUPP: 10045,
  /** Protocol family not supported. */
  WSAEPFNOSUPPORT: 10046,
  /** Address family not supported by protocol family. */
  WSAEAFNOSUPPORT: 10047,
  /** Address already in use. */
  WSAEADDRINUSE: 10048,
  /** Cannot assign requested address. */
  WSAEADDRNOTAVAIL: 10049,
  /** Network is down. */
  WSAENETDOWN: 10050,
  /** Network is unreachable. */
  WSAENETUNREACH: 10051,
  /** Network dropped connection on reset. */
  WSAENETRESET: 10052,
  /** Software caused connection abort. */
  WSAECONNABORTED: 10053,
  /** Connection reset by peer. */
  WSAECONNRESET: 10054,
  /** No buffer space available. */
  WSAENOBUFS: 10055,
  /** Socket is already connected. */
  WSAEISCONN: 10056,
  /** Socket is not connected. */
  WSAENOTCONN: 10057,
  /** Cannot send after socket shutdown. */
  WSAESHUTDOWN: 10058,
  /** Too many references. */
  WSAETOOMANYREFS: 10059,
  /** Connection timed out. */
  WSAETIMEDOUT: 10060,
  /** Connection refused. */
  WSAECONNREFUSED: 10061,
  /** Cannot translate name. */
  WSAELOOP: 10062,
  /** Name too long. */
  WSAENAMETOOLONG: 10063,
  /** Host is down. */
  WSAEHOSTDOWN: 10064,
  /** No route to host. */
  WSAEHOSTUNREACH: 10065,
  /** Too many processes. */
  WSAEPROCLIM: 10067,
  /** Network subsystem is unavailable. */
  WSASYSNOTREADY: 10091,
  /** Winsock.dll version out of range. */
  WSAVERNOTSUPPORTED: 10092,
  /** Successful WSAStartup not yet performed. */
  WSANOTINITIALISED: 10093,
  /** Graceful shutdown in progress. */
  WSAEDISCON: 10101,
  /** Host not found. */
  WSAHOST_NOT_FOUND: 11001,
  /** Nonauthoritative host not found. */
  WSATRY_AGAIN: 11002,
  /** This is a nonrecoverable error. */
  WSANO_RECOVERY: 11003,
  /** Valid name, no data record of requested type. */
  WSANO_DATA: 11004,
} as const;

/** A Winsock error name such as `'WSAECONNREFUSED'`. */
export type WinsockErrorCode = keyof typeof WSA_ERRORS;

/** Short English descriptions, after Microsoft's error-code page. */
const DESCRIPTIONS: { readonly [K in WinsockErrorCode]: string } = {
  ERROR_NETNAME_DELETED: 'The specified network name is no longer available',
  WSA_OPERATION_ABORTED: 'The overlapped operation was aborted',
  WSA_IO_PENDING: 'Overlapped I/O is in progress',
  WSAEINTR: 'Interrupted function call',
  WSAEBADF: 'File handle is not valid',
  WSAEACCES: 'Permission denied',
  WSAEFAULT: 'Bad address',
  WSAEINVAL: 'Invalid argument',
  WSAEMFILE: 'Too many open sockets',
  WSAEWOULDBLOCK: 'Resource temporarily unavailable',
  WSAEINPROGRESS: 'Operation now in progress',
  WSAEALREADY: 'Operation already in progress',
  WSAENOTSOCK: 'Socket operation on nonsocket',
  WSAEDESTADDRREQ: 'Destination address required',
  WSAEMSGSIZE: 'Message too long',
  WSAEPROTOTYPE: 'Protocol wrong type for socket',
  WSAENOPROTOOPT: 'Bad protocol option',
  WSAEPROTONOSUPPORT: 'Protocol not supported',
  WSAESOCKTNOSUPPORT: 'Socket type not supported',
  WSAEOPNOTSUPP: 'Operation not supported',
  WSAEPFNOSUPPORT: 'Protocol family not supported',
  WSAEAFNOSUPPORT: 'Address family not supported by protocol family',
  WSAEADDRINUSE: 'Address already in use',
  WSAEADDRNOTAVAIL: 'Cannot assign requested address',
  WSAENETDOWN: 'Network is down',
  WSAENETUNREACH: 'Network is unreachable',
  WSAENETRESET: 'Network dropped connection on reset',
  WSAECONNABORTED: 'Software caused connection abort',
  WSAECONNRESET: 'Connection reset by peer',
  WSAENOBUFS: 'No buffer space available',
  WSAEISCONN: 'Socket is already connected',
  WSAENOTCONN: 'Socket is not connected',
  WSAESHUTDOWN: 'Cannot send after socket shutdown',
  WSAETOOMANYREFS: 'Too many references',
  WSAETIMEDOUT: 'Connection timed out',
  WSAECONNREFUSED: 'Connection refused',
  WSAELOOP: 'Cannot translate name',
  WSAENAMETOOLONG: 'Name too long',
  WSAEHOSTDOWN: 'Host is down',
  WSAEHOSTUNREACH: 'No route to host',
  WSAEPROCLIM: 'Too many processes',
  WSASYSNOTREADY: 'Network subsystem is unavailable',
  WSAVERNOTSUPPORTED: 'Winsock.dll version out of range',
  WSANOTINITIALISED: 'Successful WSAStartup not yet performed',
  WSAEDISCON: 'Graceful shutdown in progress',
  WSAHOST_NOT_FOUND: 'Host not found',
  WSATRY_AGAIN: 'Nonauthoritative host not found',
  WSANO_RECOVERY: 'This is a nonrecoverable error',
  WSANO_DATA: 'Valid name, no data record of requested type',
};

const NAMES_BY_NUMBER = new Map<number, WinsockErrorCode>(
  (Object.keys(WSA_ERRORS) as WinsockErrorCode[]).map((name) => [WSA_ERRORS[name], name]),
);

/** Node/libuv errno strings and the Winsock error that means the same thing. */
const FROM_NODE_ERRNO: { readonly [errno: string]: WinsockErrorCode } = {
  ECONNREFUSED: 'WSAECONNREFUSED',
  ECONNRESET: 'WSAECONNRESET',
  ECONNABORTED: 'WSAECONNABORTED',
  EPIPE: 'WSAECONNRESET',
  ETIMEDOUT: 'WSAETIMEDOUT',
  EADDRINUSE: 'WSAEADDRINUSE',
  EADDRNOTAVAIL: 'WSAEADDRNOTAVAIL',
  EACCES: 'WSAEACCES',
  EPERM: 'WSAEACCES',
  EAFNOSUPPORT: 'WSAEAFNOSUPPORT',
  EHOSTUNREACH: 'WSAEHOSTUNREACH',
  EHOSTDOWN: 'WSAEHOSTDOWN',
  ENETUNREACH: 'WSAENETUNREACH',
  ENETDOWN: 'WSAENETDOWN',
  ENETRESET: 'WSAENETRESET',
  EMFILE: 'WSAEMFILE',
  ENFILE: 'WSAEMFILE',
  ENOBUFS: 'WSAENOBUFS',
  ENOTCONN: 'WSAENOTCONN',
  ENOTSOCK: 'WSAENOTSOCK',
  EINVAL: 'WSAEINVAL',
  EMSGSIZE: 'WSAEMSGSIZE',
  EISCONN: 'WSAEISCONN',
  EALREADY: 'WSAEALREADY',
  ENOTFOUND: 'WSAHOST_NOT_FOUND',
  EAI_AGAIN: 'WSATRY_AGAIN',
  EAI_FAIL: 'WSANO_RECOVERY',
  EAI_NODATA: 'WSANO_DATA',
  ERR_SOCKET_CLOSED: 'WSAENOTSOCK',
  ERR_STREAM_DESTROYED: 'WSAENOTSOCK',
  ERR_STREAM_WRITE_AFTER_END: 'WSAESHUTDOWN',
};

/** The first node:net errno string for each Winsock name above (EPIPE and EPERM are aliases). */
const TO_NODE_ERRNO: ReadonlyMap<WinsockErrorCode, string> = (() => {
  const map = new Map<WinsockErrorCode, string>();
  for (const [errno, code] of Object.entries(FROM_NODE_ERRNO)) {
    if (!map.has(code) && !errno.startsWith('ERR_')) map.set(code, errno);
  }
  return map;
})();

/** Options of the {@link WinsockError} constructor. */
export interface WinsockErrorOptions {
  /** The underlying error, kept for debugging (`error.cause`). */
  cause?: unknown;
  /** Extra detail appended to the message. */
  detail?: string;
  /** The address the failed call was about (as net's errors carry it). */
  address?: string;
  /** The port the failed call was about (as net's errors carry it). */
  port?: number;
}

/**
 * Every failure the package reports. `code` is the Winsock name
 * (`'WSAECONNREFUSED'`), `errno` its number (10061), `syscall` the Winsock
 * function that failed or would have failed (`'WSAConnect'`).
 */
export class WinsockError extends Error {
  /** The Winsock error name, e.g. `'WSAECONNREFUSED'` (what WSAGetLastError() names). */
  readonly code: WinsockErrorCode;
  /** The Winsock error number, e.g. 10061 (what WSAGetLastError() returns). */
  readonly errno: number;
  /** The Winsock function that failed or would have failed, e.g. `'WSAConnect'`. */
  readonly syscall: string;
  /** The address the failed call was about, where net's error has one (connect, bind). */
  address?: string;
  /** The port the failed call was about, where net's error has one. */
  port?: number;

  constructor(code: WinsockErrorCode, syscall: string, options: WinsockErrorOptions = {}) {
    const base = `${syscall} failed: ${code} (${WSA_ERRORS[code]}): ${DESCRIPTIONS[code]}`;
    super(
      options.detail ? `${base}: ${options.detail}` : base,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'WinsockError';
    this.code = code;
    this.errno = WSA_ERRORS[code];
    this.syscall = syscall;
    const { address, port } = { ...endpointOf(options.cause), ...definedOnly(options) };
    if (typeof address === 'string') this.address = address;
    if (typeof port === 'number') this.port = port;
  }

  /** Builds the error for a Winsock error number, as the native addon reports it. */
  static fromErrno(errno: number, syscall: string, detail?: string): WinsockError {
    const name = NAMES_BY_NUMBER.get(errno);
    if (name) return new WinsockError(name, syscall, detail === undefined ? {} : { detail });
    // An errno outside the table still must not lose information.
    const err = new WinsockError('WSAEINVAL', syscall, {
      detail: `unknown Winsock error ${errno}${detail ? `: ${detail}` : ''}`,
    });
    return err;
  }

  /**
   * Wraps an error from node:net (or anything thrown) as the Winsock error
   * that means the same, keeping the original as `cause`.
   */
  static fromNodeError(err: unknown, syscall: string, fallback: WinsockErrorCode = 'WSAECONNABORTED'): WinsockError {
    if (err instanceof WinsockError) return err;
    const errno =
      typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
    const code = FROM_NODE_ERRNO[errno] ?? fallback;
    const message = err instanceof Error ? err.message : String(err);
    return new WinsockError(code, syscall, { cause: err, detail: message });
  }
}

/** `address`/`port` of a node:net error underneath; anything else (even one whose getters throw) gives none. */
function endpointOf(cause: unknown): { address?: unknown; port?: unknown } {
  if (!(cause instanceof Error)) return {};
  try {
    const { address, port } = cause as { address?: unknown; port?: unknown };
    return { address, port };
  } catch {
    return {};
  }
}

function definedOnly(options: WinsockErrorOptions): { address?: unknown; port?: unknown } {
  const out: { address?: unknown; port?: unknown } = {};
  if (options.address !== undefined) out.address = options.address;
  if (options.port !== undefined) out.port = options.port;
  return out;
}

/** The Winsock name for an error from node:net (its errno string), or undefined when none means the same. */
export function winsockCodeOfNodeError(err: unknown): WinsockErrorCode | undefined {
  if (err instanceof WinsockError) return err.code;
  const errno = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  return FROM_NODE_ERRNO[errno];
}

/** node:net's errno string for a Winsock error name (winsock2/net raises net's errors), or undefined. */
export function nodeCodeOfWinsockCode(code: WinsockErrorCode): string | undefined {
  return TO_NODE_ERRNO.get(code);
}

/** The description of a Winsock error name, for CLIs and logs. */
export function describeWinsockError(code: WinsockErrorCode): string {
  return DESCRIPTIONS[code];
}

/** The name for a number, or undefined when the table does not know it. */
export function winsockErrorName(errno: number): WinsockErrorCode | undefined {
  return NAMES_BY_NUMBER.get(errno);
}

/** True for the AbortError that `connect({ signal })` rejects with. */
export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

/** The standard AbortError, as Node's own APIs reject with on an aborted signal. */
export function createAbortError(signal?: AbortSignal): Error {
  const err = new Error(
    'The operation was aborted',
    signal?.reason === undefined ? undefined : { cause: signal.reason },
  );
  err.name = 'AbortError';
  (err as Error & { code: string }).code = 'ABORT_ERR';
  return err;
}
