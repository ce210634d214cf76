/**
 * The native provider: the Provider interface (lib/provider.ts) over the
 * addon, i.e. the real ws2_32.dll. Policy (conditions, Promises, timeouts,
 * events) stays in the facade; this file maps calls and errors.
 */
import { promises as dnsPromises } from 'node:dns';
import { isIP, type Socket } from 'node:net';
import type { Connection, ListenerCallbacks, NetConnection, Provider, ProviderConnectOptions, ProviderListenOptions, ProviderListener } from '../provider';
import type { Capabilities, ProtocolInfo, SocketMode } from '../types';
import { WinsockError, createAbortError } from '../errors';
import { capabilitiesOf, decodeProtocol } from '../service-flags';
import type { NativeAddon } from './addon';
import { toWinsockError } from './errors';
import { NativeProviderListener, type HandOff } from './listener';
import { NativeSocketHandle } from './socket';
import { HandleTracker } from '../tcp/tracker';
import { connectOver, handOver, sendDisconnectFor, type DataPathChoice } from './handoff';
import { connectEmulated, type EmulatedConnectDeps } from '../emulated/connect';

const AF_INET = 2;
const AF_INET6 = 23;
const SOCK_STREAM = 1;
const IPPROTO_TCP = 6;

/** A numeric address for `host` (the addon takes numeric hosts only). */
async function resolveHost(host: string, syscall: string): Promise<string> {
  if (host === '') return '0.0.0.0';
  if (isIP(host) !== 0) return host;
  try {
    const { address } = await dnsPromises.lookup(host);
    return address;
  } catch (err) {
    throw WinsockError.fromNodeError(err, syscall, 'WSAHOST_NOT_FOUND');
  }
}

function checkMode(mode: SocketMode, syscall: string): void {
  // The TCP/IP provider is not message-oriented (no XP1_MESSAGE_ORIENTED).
  if (mode === 'message') {
    throw new WinsockError('WSAESOCKTNOSUPPORT', syscall, { detail: 'the native TCP/IP provider is stream-oriented; use the framed provider for mode "message"' });
  }
}

export class NativeProvider implements Provider {
  readonly name = 'native' as const;
  /** SOCKETs handed to Node's TCP handle, from the accept (or detach) to their Socket's 'close'. */
  private readonly tracker = new HandleTracker();
  /** The one 'close' listener of every handed-over socket. */
  private readonly untrack = (): void => this.tracker.remove();

  /** `dataPath`: where sockets' bytes go (lib/native/handoff.ts chooseDataPath decides at load). */
  /** WSASendDisconnect for every handed-over socket of this provider (one function: their Winsock state is shared). */
  private readonly shutdownSend: (socket: Socket) => void;

  /** Connects on the 'libuv' data path: net's own connect over a SOCKET of ours (connectOver), settled as emulated's. */
  private readonly libuvConnect: EmulatedConnectDeps;

  constructor(readonly addon: NativeAddon, readonly dataPath: DataPathChoice = { path: 'addon', reason: 'chosen by the caller' }) {
    this.shutdownSend = sendDisconnectFor(addon);
    this.libuvConnect = {
      name: 'native',
      connect: (options) => connectOver(addon, options),
      tracker: this.tracker,
      connection: (socket) => ({
        kind: 'net',
        socket,
        capabilities: this.capabilities('stream'),
        callerData: null,
        calleeData: null,
        qos: null,
        sendDisconnect: this.shutdownSend,
      }),
    };
  }

  /** A SOCKET the addon gave away, as the contract's NetConnection (capabilities: the listener's, or the connecting socket's). */
  private netConnection(socket: number, capabilities: Capabilities | null, callerData: Buffer | null, calleeData: Buffer | null): NetConnection {
    const adopted = handOver(this.addon, socket, this.tracker, this.untrack);
    return {
      kind: 'net',
      socket: adopted,
      capabilities: capabilities ?? this.capabilities('stream'),
      callerData,
      calleeData,
      qos: null,
      sendDisconnect: this.shutdownSend,
    };
  }

  async listen(options: ProviderListenOptions, callbacks: ListenerCallbacks): Promise<ProviderListener> {
    checkMode(options.mode, 'WSASocketW');
    // No host: bound before the first await, as net binds in listen() itself
    // (winsock2/net's address() answers right after listen()). A host, even
    // an IP literal, is looked up first, as net looks it up.
    const listener =
      options.host === ''
        ? this.bind('', options, callbacks)
        : this.bind(await resolveHost(options.host, 'bind'), options, callbacks);
    options.onBound?.(listener.address);
    listener.start();
    return listener;
  }

  /** WSASocketW, bind and listen; no host is `::` dual-stack, or 0.0.0.0 where the OS has no IPv6 (as net's). */
  private bind(host: string, options: ProviderListenOptions, callbacks: ListenerCallbacks): NativeProviderListener {
    let listener: NativeProviderListener;
    const open = (address: string): NativeProviderListener => {
      const native = this.addon.listen(address, options.port, options.backlog, options.conditional);
      listener = new NativeProviderListener(native, callbacks, undefined, this.dataPath.path === 'libuv' ? this.handOffFor(() => listener) : null);
      return listener;
    };
    try {
      if (host !== '') return open(host);
      try {
        return open('::');
      } catch (err) {
        // net's fallback (setupListenHandle): no IPv6 stack, then the IPv4 any-address.
        const code = toWinsockError(err, 'listen').code;
        if (code !== 'WSAEAFNOSUPPORT' && code !== 'WSAEADDRNOTAVAIL' && code !== 'WSAEPROTONOSUPPORT') throw err;
        return open('0.0.0.0');
      }
    } catch (err) {
      throw toWinsockError(err, 'listen');
    }
  }

  /** A listener's hand-off: accepted SOCKETs with its (shared, frozen) capabilities. */
  private handOffFor(listener: () => NativeProviderListener): HandOff {
    return {
      adopt: (socket, callerData) => this.netConnection(socket, listener().capabilities, callerData, null),
      discard: (socket) => {
        try {
          this.addon.closeSocket(socket, true);
        } catch {
          // already gone: nothing else holds it
        }
      },
    };
  }

  /** Connects: a NetConnection on the 'libuv' data path, a SocketHandle on the addon's. */
  async connect(options: ProviderConnectOptions): Promise<Connection> {
    checkMode(options.mode, 'WSAConnect');
    const handOff = this.dataPath.path === 'libuv';
    const signal = options.signal;
    if (signal?.aborted) throw createAbortError(signal);
    const host = await resolveHost(options.host, 'WSAConnect');
    if (signal?.aborted) throw createAbortError(signal);
    // Nothing for WSAConnect to carry (TCP/IP carries no connect data and
    // no QOS): libuv connects our SOCKET itself (ConnectEx), no thread of
    // ours waits. With caller data or QOS, WSAConnect (and its refusal).
    const plain = (options.callerData === null || options.callerData.length === 0) && options.sqos === null && options.gqos === null;
    if (handOff && plain) return connectEmulated({ ...options, host }, this.libuvConnect);
    return new Promise<Connection>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      let handle: NativeSocketHandle | null = null;
      let settled = false;
      const finish = (error: Error | null): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error) {
          handle?.close();  // withdraws the request
          reject(error);
        } else if (handle && handOff) {
          // Connected, never on our completion port: the SOCKET goes to
          // Node's TCP handle. A failure closes it once and rejects.
          try {
            const calleeData = handle.native.calleeData();
            resolve(this.netConnection(handle.native.detach(), handle.capabilities, null, calleeData));
          } catch (err) {
            handle.close();  // a no-op once detached
            reject(toWinsockError(err, 'uv_tcp_open'));
          }
        } else if (handle) {
          handle.captureAddresses();
          resolve(handle);
        }
      };
      const onAbort = (): void => finish(createAbortError(signal ?? undefined));
      try {
        handle = new NativeSocketHandle(
          (owner) => this.addon.connect(owner, host, options.port, options.callerData, options.sqos, options.maxCalleeData, handOff),
          null, false);
      } catch (err) {
        finish(toWinsockError(err, 'WSAConnect'));
        return;
      }
      handle.onConnected((errno) => finish(errno === 0 ? null : WinsockError.fromErrno(errno, 'WSAConnect')));
      if (options.timeout > 0) timer = setTimeout(() => finish(new WinsockError('WSAETIMEDOUT', 'WSAConnect')), options.timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  enumerateProtocols(): ProtocolInfo[] {
    try {
      return this.addon.enumerateProtocols().map(decodeProtocol);
    } catch (err) {
      throw toWinsockError(err, 'WSAEnumProtocolsW');
    }
  }

  /** TCP/IP's capabilities, read once: the catalog is the same for every connect (and under Wine each read is two WSAEnumProtocolsW calls). */
  private tcpCapabilities: Capabilities | null = null;

  capabilities(mode: SocketMode): Capabilities {
    void mode;
    if (this.tcpCapabilities !== null) return this.tcpCapabilities;
    const tcp = this.enumerateProtocols().find((p) => p.addressFamily === AF_INET && p.socketType === SOCK_STREAM && p.protocol === IPPROTO_TCP)
      ?? this.enumerateProtocols().find((p) => p.addressFamily === AF_INET6 && p.socketType === SOCK_STREAM);
    const info: ProtocolInfo = tcp ?? decodeProtocol({ name: 'TCP/IP', addressFamily: AF_INET, socketType: SOCK_STREAM, protocol: IPPROTO_TCP, serviceFlags: 0x20066 });
    // SO_CONDITIONAL_ACCEPT holds the handshake on real Windows; Wine ignores it.
    this.tcpCapabilities = Object.freeze(capabilitiesOf('native', info, this.addon.wineVersion() === null));
    return this.tcpCapabilities;
  }

  /** The addon's open SOCKETs plus those handed to Node's TCP handle and not yet closed. */
  handleCount(): number {
    return this.addon.handleCount() + this.tracker.size;
  }

  /** ntdll's wine_get_version(), null on real Windows: for tests that assert platform differences. */
  wineVersion(): string | null {
    return this.addon.wineVersion();
  }
}
