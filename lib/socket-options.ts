/**
 * Argument checks of the net.Socket options WinsockSocket carries, with
 * net's rules and Winsock's error: a WinsockError WSAEINVAL where net throws
 * ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE.
 */
import { WinsockError } from './errors';
import { describe } from './decision';

/** The largest timer duration Node accepts (2^31 - 1 ms); above it Node warns and uses 1 ms. */
const TIMEOUT_MAX = 2 ** 31 - 1;

/** `setTimeout(ms)`'s duration as net's getTimerDuration reads it: a number >= 0; over TIMEOUT_MAX warns and becomes 1. */
export function checkTimeout(ms: unknown): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new WinsockError('WSAEINVAL', 'setsockopt', {
      detail: `the timeout must be a number of milliseconds >= 0, not ${describe(ms)}`,
    });
  }
  if (ms > TIMEOUT_MAX) {
    process.emitWarning(
      `${ms} does not fit into a 32-bit signed integer.\nTimer duration was truncated to 1.`,
      'TimeoutOverflowWarning',
    );
    return 1;
  }
  return ms;
}
