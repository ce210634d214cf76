/**
 * net's errors for Winsock failures, in winsock2/net: what a program written
 * for node:net matches on (`code`, `errno`, `syscall`, `address`, `port`),
 * with the Winsock code beside it (`winsockCode`, `winsockErrno`).
 */
import { constants as osConstants } from 'node:os';
import { WinsockError, WSA_ERRORS, nodeCodeOfWinsockCode } from './errors';
import type { NetErrorWithWinsockCode } from './socket';

/**
 * net's error for a Winsock failure: the Node error underneath when there is
 * one (emulated, framed), else one built as net builds it; `winsockCode` and
 * `winsockErrno` beside, `address`/`port` where known.
 */
export function toNetError(err: unknown, syscall: string, address?: string, port?: number): NetErrorWithWinsockCode {
  if (!(err instanceof WinsockError)) return err as NetErrorWithWinsockCode;
  const cause = err.cause;
  let out: NetErrorWithWinsockCode & {
    code?: string;
    errno?: number;
    syscall?: string;
    address?: string;
    port?: number;
  };
  if (
    cause instanceof Error &&
    typeof (cause as { code?: unknown }).code === 'string' &&
    !(cause instanceof WinsockError)
  ) {
    out = cause;
  } else {
    const code = nodeCodeOfWinsockCode(err.code) ?? err.code;
    const where = address === undefined ? '' : port === undefined ? ` ${address}` : ` ${address}:${port}`;
    out = new Error(`${syscall} ${code}${where}`, { cause: err });
    out.code = code;
    const errno = (osConstants.errno as Record<string, number | undefined>)[code];
    if (errno !== undefined) out.errno = -errno;
    out.syscall = syscall;
    if (address !== undefined) out.address = address;
    if (port !== undefined) out.port = port;
  }
  out.winsockCode = err.code;
  out.winsockErrno = WSA_ERRORS[err.code];
  return out;
}

/** The libuv syscall net names for a Winsock call (WSARecv fails a `read`, as net's errors say). */
const NET_SYSCALLS: Readonly<Record<string, string>> = {
  WSARecv: 'read',
  WSARecvDisconnect: 'read',
  WSASend: 'write',
  WSASendDisconnect: 'shutdown',
  WSAConnect: 'connect',
  connect: 'connect',
  WSAAccept: 'accept',
  closesocket: 'close',
};

/** A WinsockError a socket failed with, as net's error for the same failure. */
export function toNetSocketError(err: WinsockError): NetErrorWithWinsockCode {
  return toNetError(err, NET_SYSCALLS[err.syscall] ?? err.syscall);
}
