/** Native errors (a Winsock number + function) to WinsockError, via the one shared table. */
import { WinsockError } from '../errors';

function isNativeError(err: unknown): err is { errno: number; syscall: string } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { errno?: unknown; syscall?: unknown };
  return typeof e.errno === 'number' && typeof e.syscall === 'string';
}

/** Whatever a native call threw, as a WinsockError. */
export function toWinsockError(err: unknown, syscall: string): WinsockError {
  if (err instanceof WinsockError) return err;
  if (isNativeError(err)) return WinsockError.fromErrno(err.errno, err.syscall);
  return WinsockError.fromNodeError(err, syscall, 'WSAEINVAL');
}
