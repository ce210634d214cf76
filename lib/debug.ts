/** Debug output: `NODE_DEBUG=winsock2`. */
import { debuglog } from 'node:util';

export const debug = debuglog('winsock2');
