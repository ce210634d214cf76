/**
 * WinsockError and the one table of Winsock error codes that both providers
 * use. The native addon reports bare numbers (WSAGetLastError()); the emulated
 * provider maps Node's errno strings; both end up here, so the same situation
 * gives the same `code` whichever provider ran.
 *
 * Numbers and names: https://learn.microsoft.com/en-us/windows/win32/winsock/windows-sockets-error-codes-2
 */

/** Winsock error names and their numbers. */
export const WSA_ERRORS = {
  ERROR_NETNAME_DELETED: 64,
  WSA_OPERATION_ABORTED: 995,
  WSA_IO_PENDING: 997,
  WSAEINTR: 10004,
  WSAEBADF: 10009,
  WSAEACCES: 10013,
  WSAEFAULT: 10014,
  WSAEINVAL: 10022,
  WSAEMFILE: 10024,
  WSAEWOULDBLOCK: 10035,
  WSAEINPROGRESS: 10036,
  WSAEALREADY: 10037,
  WSAENOTSOCK: 10038,
  WSAEDESTADDRREQ: 10039,
  WSAEMSGSIZE: 10040,
  WSAEPROTOTYPE: 10041,
  WSAENOPROTOOPT: 10042,
  WSAEPROTONOSUPPORT: 10043,
  WSAESOCKTNOSUPPORT: 10044,
  WSAEOPNOTSUPP: 10045,
  WSAEPFNOSUPPORT: 10046,
  WSAEAFNOSUPPORT: 10047,
  WSAEADDRINUSE: 10048,
  WSAEADDRNOTAVAIL: 10049,
  WSAENETDOWN: 10050,
  WSAENETUNREACH: 10051,
  WSAENETRESET: 10052,
  WSAECONNABORTED: 10053,
  WSAECONNRESET: 10054,
  WSAENOBUFS: 10055,
  WSAEISCONN: 10056,
  WSAENOTCONN: 10057,
  WSAESHUTDOWN: 10058,
  WSAETOOMANYREFS: 10059,
  WSAETIMEDOUT: 10060,
  WSAECONNREFUSED: 10061,
  WSAELOOP: 10062,
  WSAENAMETOOLONG: 10063,
  WSAEHOSTDOWN: 10064,
  WSAEHOSTUNREACH: 10065,
  WSAEPROCLIM: 10067,
  WSASYSNOTREADY: 10091,
  WSAVERNOTSUPPORTED: 10092,
  WSANOTINITIALISED: 10093,
  WSAEDISCON: 10101,
  WSAHOST_NOT_FOUND: 11001,
  WSATRY_AGAIN: 11002,
  WSANO_RECOVERY: 11003,
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

export interface WinsockErrorOptions {
  /** The underlying error, kept for debugging (`error.cause`). */
  cause?: unknown;
  /** Extra detail appended to the message. */
  detail?: string;
}

/**
 * Every failure the package reports. `code` is the Winsock name
 * (`'WSAECONNREFUSED'`), `errno` its number (10061), `syscall` the Winsock
 * function that failed or would have failed (`'WSAConnect'`).
 */
export class WinsockError extends Error {
  readonly code: WinsockErrorCode;
  readonly errno: number;
  readonly syscall: string;

  constructor(code: WinsockErrorCode, syscall: string, options: WinsockErrorOptions = {}) {
    const base = `${syscall} failed: ${code} (${WSA_ERRORS[code]}): ${DESCRIPTIONS[code]}`;
    super(options.detail ? `${base}: ${options.detail}` : base, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WinsockError';
    this.code = code;
    this.errno = WSA_ERRORS[code];
    this.syscall = syscall;
  }

  /** Builds the error for a Winsock error number, as the native addon reports it. */
  static fromErrno(errno: number, syscall: string, detail?: string): WinsockError {
    const name = NAMES_BY_NUMBER.get(errno);
    if (name) return new WinsockError(name, syscall, detail === undefined ? {} : { detail });
    // An errno outside the table still must not lose information.
    const err = new WinsockError('WSAEINVAL', syscall, { detail: `unknown Winsock error ${errno}${detail ? `: ${detail}` : ''}` });
    return err;
  }

  /**
   * Wraps an error from node:net (or anything thrown) as the Winsock error
   * that means the same, keeping the original as `cause`.
   */
  static fromNodeError(err: unknown, syscall: string, fallback: WinsockErrorCode = 'WSAECONNABORTED'): WinsockError {
    if (err instanceof WinsockError) return err;
    const errno = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
    const code = FROM_NODE_ERRNO[errno] ?? fallback;
    const message = err instanceof Error ? err.message : String(err);
    return new WinsockError(code, syscall, { cause: err, detail: message });
  }
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
  const err = new Error('The operation was aborted', signal?.reason === undefined ? undefined : { cause: signal.reason });
  err.name = 'AbortError';
  (err as Error & { code: string }).code = 'ABORT_ERR';
  return err;
}
