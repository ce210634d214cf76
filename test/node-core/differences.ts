/**
 * Node's own net tests that pass on node:net and fail on winsock2/net, each
 * with the reason we keep the difference (run.ts fails on any other, and on
 * a test listed here that passes). docs/net.md lists the same differences
 * for users.
 */
const TCP_ONLY =
  "winsock2/net's servers are TCP: listen() on a path (Unix socket, Windows pipe), a handle or an fd throws ERR_INVALID_ARG_VALUE";
const REFUSED_CALLER_RESET =
  "a caller over maxConnections is refused as Winsock refuses one (reset having received nothing, often before its connect completes on emulated); net accepts it and closes it after, so net's callers always see 'connect'";
const NET_INTERNALS = "reaches into net's internals, which a gate server does not have";

export const DIFFERENCES: Readonly<Record<string, string>> = {
  'test-net-better-error-messages-listen-path': TCP_ONLY,
  'test-net-connect-options-fd': TCP_ONLY,
  'test-net-connect-options-path': TCP_ONLY,
  'test-net-listen-fd0': TCP_ONLY,
  'test-net-perf_hooks': `${TCP_ONLY} (its server listens on a pipe)`,
  'test-net-pingpong': `${TCP_ONLY} (half of it runs over a pipe)`,
  'test-net-server-listen-handle': TCP_ONLY,
  'test-net-server-listen-path': TCP_ONLY,
  'test-net-listen-ipv6only':
    'listen({ ipv6Only: true }) is refused (ERR_INVALID_ARG_VALUE): the providers do not take it yet, and binding dual-stack instead would accept IPv4 callers the program meant to keep out',
  'test-net-listen-exclusive-random-ports':
    "listen({ exclusive }) is not passed to the provider's listener: cluster workers share the port through the primary, as net's default",
  'test-net-server-drop-connections': REFUSED_CALLER_RESET,
  'test-net-server-max-connections': REFUSED_CALLER_RESET,
  'test-net-server-max-connections-close-makes-more-available': REFUSED_CALLER_RESET,
  'test-net-listen-invalid-port': `${NET_INTERNALS} (server._connectionKey)`,
  'test-net-server-keepalive': `${NET_INTERNALS} (server._handle.onconnection: the listening handle is the provider's)`,
  'test-net-server-nodelay': `${NET_INTERNALS} (server._handle.onconnection: the listening handle is the provider's)`,
  'test-net-persistent-nodelay':
    "counts TCPWrap#setNoDelay calls process-wide: the emulated provider turns Nagle off on every socket it accepts (every provider starts with TCP_NODELAY), one call more than net's",
};
