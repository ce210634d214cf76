/**
 * The native provider: the Provider interface (lib/provider.ts) over the
 * addon, i.e. the real ws2_32.dll. Policy (conditions, Promises, timeouts,
 * events) stays in the facade; this file maps calls and errors.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import type { ListenerCallbacks, Provider, ProviderConnectOptions, ProviderListenOptions, ProviderListener, SocketHandle } from '../provider';
import type { Capabilities, ProtocolInfo, SocketMode } from '../types';
import { WinsockError, createAbortError } from '../errors';
import { capabilitiesOf, decodeProtocol } from '../service-flags';
import type { NativeAddon } from './addon';
import { toWinsockError } from './errors';
import { NativeProviderListener } from './listener';
import { NativeSocketHandle } from './socket';

const AF_INET = 2;
const AF_INET6 = 23;
const SOCK_STREAM = 1;
const IPPROTO_TCP = 6;

/** A numeric address for `host` (the addon takes numeric hosts only). */
async function resolveHost(host: string, syscall: string): Promise<string> {
  if (host === '') return '0.0.0.0';
  if (net.isIP(host) !== 0) return host;
  try {
    const { address } = await dns.promises.lookup(host);
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

  constructor(readonly addon: NativeAddon) {}

  async listen(options: ProviderListenOptions, callbacks: ListenerCallbacks): Promise<ProviderListener> {
    checkMode(options.mode, 'WSASocketW');
    const host = await resolveHost(options.host, 'bind');
    let listener: NativeProviderListener;
    try {
      const native = this.addon.listen(host, options.port, options.backlog, options.conditional);
      listener = new NativeProviderListener(native, callbacks);
    } catch (err) {
      throw toWinsockError(err, 'listen');
    }
    listener.start();
    return listener;
  }

  async connect(options: ProviderConnectOptions): Promise<SocketHandle> {
    checkMode(options.mode, 'WSAConnect');
    const signal = options.signal;
    if (signal?.aborted) throw createAbortError(signal);
    const host = await resolveHost(options.host, 'WSAConnect');
    if (signal?.aborted) throw createAbortError(signal);
    return new Promise<SocketHandle>((resolve, reject) => {
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
        } else if (handle) {
          handle.captureAddresses();
          resolve(handle);
        }
      };
      const onAbort = (): void => finish(createAbortError(signal ?? undefined));
      try {
        handle = new NativeSocketHandle(
          (owner) => this.addon.connect(owner, host, options.port, options.callerData, options.sqos, options.maxCalleeData),
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

  capabilities(mode: SocketMode): Capabilities {
    void mode;
    const tcp = this.enumerateProtocols().find((p) => p.addressFamily === AF_INET && p.socketType === SOCK_STREAM && p.protocol === IPPROTO_TCP)
      ?? this.enumerateProtocols().find((p) => p.addressFamily === AF_INET6 && p.socketType === SOCK_STREAM);
    const info: ProtocolInfo = tcp ?? decodeProtocol({ name: 'TCP/IP', addressFamily: AF_INET, socketType: SOCK_STREAM, protocol: IPPROTO_TCP, serviceFlags: 0x20066 });
    // SO_CONDITIONAL_ACCEPT holds the handshake on real Windows; Wine ignores it.
    return capabilitiesOf('native', info, this.addon.wineVersion() === null);
  }

  handleCount(): number {
    return this.addon.handleCount();
  }

  /** ntdll's wine_get_version(), null on real Windows: for tests that assert platform differences. */
  wineVersion(): string | null {
    return this.addon.wineVersion();
  }
}
