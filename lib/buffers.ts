/** Conversion of user-supplied data (caller, callee, disconnect data) to Buffers. */
import { WinsockError } from './errors';

/**
 * Accepts a Buffer, any Uint8Array or a string (UTF-8); null/undefined mean
 * "no data". Anything else is WSAEFAULT (Winsock's "bad buffer").
 */
export function toBufferOrNull(value: unknown, what: string, syscall = 'WSAAccept'): Buffer | null {
  if (value === undefined || value === null) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new WinsockError('WSAEFAULT', syscall, {
    detail: `${what} must be a Buffer, Uint8Array, string or null, not ${typeof value}`,
  });
}

/** Checks a limit option: a non-negative safe integer. */
export function checkLimit(value: unknown, name: string, fallback: number, syscall: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new WinsockError('WSAEINVAL', syscall, { detail: `${name} must be a non-negative integer, not ${String(value)}` });
  }
  return value;
}
