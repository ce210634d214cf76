/** `winsock2 protocols`: WSAEnumProtocols for a provider, as a table or JSON. */
import { availableProviders, enumerateProtocols, type ProtocolInfo } from '../index';
import { COMMON_OPTIONS, EXIT, EXIT_CODES_HELP, out, parseCommandLine, providerOption, providerSource } from './common';
import { formatTable } from './table';

const HELP = `usage: winsock2 protocols [--provider auto|native|emulated|framed] [--json]

Lists the protocols the provider offers (WSAEnumProtocolsW for native; Windows'
TCP/IP entries for emulated; its own entries for framed) with their XP1_* flags and
what each can carry: connect data (XP1_CONNECT_DATA), disconnect data
(XP1_DISCONNECT_DATA), QOS, graceful close, message orientation.

With --provider auto (the default) it lists the provider auto picks, and says
why native is unavailable when it is.

options:
  --provider auto|native|emulated|framed   default auto (or WINSOCK2_PROVIDER)
  --json                            one JSON object: provider, nativeUnavailable, providers, protocols
  --help, -h                        this help

${EXIT_CODES_HELP}`;

const AF: Record<number, string> = {
  2: 'AF_INET',
  23: 'AF_INET6',
  6: 'AF_IPX',
  32: 'AF_BTH',
  1: 'AF_UNIX',
  26: 'AF_IRDA',
};
const TYPE: Record<number, string> = {
  1: 'SOCK_STREAM',
  2: 'SOCK_DGRAM',
  3: 'SOCK_RAW',
  4: 'SOCK_RDM',
  5: 'SOCK_SEQPACKET',
};
const PROTO: Record<number, string> = {
  0: '0',
  1: 'IPPROTO_ICMP',
  6: 'IPPROTO_TCP',
  17: 'IPPROTO_UDP',
  58: 'IPPROTO_ICMPV6',
  255: 'IPPROTO_RAW',
  132: 'IPPROTO_SCTP',
};

const named = (table: Record<number, string>, n: number): string => table[n] ?? String(n);
const yes = (b: boolean): string => (b ? 'yes' : 'no');

export function protocolsCommand(args: string[]): Promise<number> {
  // Synchronous work behind the asynchronous Command signature (a throw becomes the rejection).
  return new Promise<number>((resolve) => resolve(listProtocols(args)));
}

function listProtocols(args: string[]): number {
  const values = parseCommandLine(args, { ...COMMON_OPTIONS });
  if (values.help) {
    out(HELP);
    return EXIT.OK;
  }
  const choice = providerOption(values.provider) ?? 'auto';
  // The public answer (the same one an application gets from the package).
  const providers = availableProviders();
  const protocols: ProtocolInfo[] = enumerateProtocols({ provider: choice });
  const name = choice === 'auto' ? (providers.find((p) => p.auto)?.name ?? 'emulated') : choice;
  const native = providers.find((p) => p.name === 'native');
  const nativeReason = name === 'native' ? null : (native?.reason ?? null);
  if (values.json) {
    out(
      JSON.stringify(
        { provider: name, requested: choice, nativeUnavailable: nativeReason, providers, protocols },
        null,
        2,
      ),
    );
    return EXIT.OK;
  }
  out(`provider: ${name} (${providerSource(choice, name)})`);
  if (nativeReason !== null) {
    out(`native: unavailable: ${nativeReason.split('\n')[0] ?? nativeReason}`);
  } else if (native?.dataPath) {
    out(`native data path: ${native.dataPath} (${native.dataPathReason ?? ''})`);
  }
  out('');
  out(
    formatTable(
      ['name', 'AF', 'type', 'protocol', 'flags', 'connectData', 'disconnectData', 'qos', 'graceful', 'message'],
      protocols.map((p) => [
        p.name,
        named(AF, p.addressFamily),
        named(TYPE, p.socketType),
        named(PROTO, p.protocol),
        `0x${(p.serviceFlags >>> 0).toString(16).padStart(8, '0')}`,
        yes(p.connectData),
        yes(p.disconnectData),
        yes(p.qos),
        yes(p.gracefulClose),
        yes(p.messageOriented),
      ]),
    ),
  );
  return EXIT.OK;
}
