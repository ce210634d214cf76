/** Debug output: `NODE_DEBUG=winsock2`. */
import { debuglog } from 'node:util';

const logger = debuglog('winsock2');

/**
 * Node reads NODE_DEBUG once, at startup, so whether `winsock2` is enabled
 * cannot change later. When it is not, `debug` is a plain no-op: node's own
 * disabled logger still costs a rest-array and a call per message, which
 * showed up in the connection-rate profile (several messages per connection).
 */
export const debug: (format: string, ...args: unknown[]) => void = logger.enabled ? logger : () => undefined;

/** Whether `debug` prints: for messages whose arguments cost something to build. */
export const debugEnabled: boolean = logger.enabled;
