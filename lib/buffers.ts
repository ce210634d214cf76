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

/** The limit check lives with the other argument checks. */
export { checkLimit } from './validation';
