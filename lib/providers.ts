/**
 * Picks the provider for a server or a connect: `'auto'` is native on win32
 * when the addon loads, else emulated (the same plain TCP wire, so nothing
 * breaks where the addon is missing); WINSOCK2_PROVIDER overrides the
 * default; asking for `native` where it cannot load is an error that says
 * why — never a silent fallback.
 */
import type { Provider } from './provider';
import type { ProviderChoice, ProviderName } from './types';
import { WinsockError } from './errors';
import { emulatedProvider } from './emulated/index';
import { framedProvider } from './framed/index';
import { debug } from './debug';

interface NativeModule {
  loadNativeProvider(): Provider;
}

let nativeCache: { provider: Provider } | { error: Error } | undefined;

function loadNative(): { provider: Provider } | { error: Error } {
  if (nativeCache) return nativeCache;
  try {
    // Required lazily: off Windows the native module is never even parsed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('./native/index') as NativeModule;
    nativeCache = { provider: mod.loadNativeProvider() };
  } catch (err) {
    nativeCache = { error: err instanceof Error ? err : new Error(String(err)) };
    debug('native provider unavailable: %s', nativeCache.error.message);
  }
  return nativeCache;
}

/** The provider names, in the order the docs list them. */
export const PROVIDER_NAMES: readonly ProviderName[] = ['native', 'emulated', 'framed'];

function isProviderName(value: unknown): value is ProviderName {
  return value === 'native' || value === 'emulated' || value === 'framed';
}

function fromEnvironment(): ProviderName | undefined {
  const value = process.env['WINSOCK2_PROVIDER'];
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (isProviderName(value)) return value;
  throw new WinsockError('WSAEINVAL', 'WSAStartup', {
    detail: `WINSOCK2_PROVIDER must be "native", "emulated", "framed" or "auto", not ${JSON.stringify(value)}`,
  });
}

/** Resolves a provider choice to a loaded provider, or throws a WinsockError saying why not. */
export function resolveProvider(choice: ProviderChoice | undefined): Provider {
  if (choice !== undefined && choice !== 'auto' && !isProviderName(choice)) {
    throw new WinsockError('WSAEINVAL', 'WSAStartup', {
      detail: `provider must be "auto", "native", "emulated" or "framed", not ${JSON.stringify(choice)}`,
    });
  }
  const wanted: ProviderChoice = choice === undefined || choice === 'auto' ? (fromEnvironment() ?? 'auto') : choice;
  if (wanted === 'emulated') return emulatedProvider;
  if (wanted === 'framed') return framedProvider;
  if (wanted === 'native') {
    const native = loadNative();
    if ('provider' in native) return native.provider;
    throw new WinsockError('WSASYSNOTREADY', 'WSAStartup', {
      detail: `the native provider cannot load: ${native.error.message}`,
      cause: native.error,
    });
  }
  if (process.platform === 'win32') {
    const native = loadNative();
    if ('provider' in native) return native.provider;
  }
  return emulatedProvider;
}

/** Why `native` is unavailable here, or null when it loads (for the CLI and tests). */
export function nativeUnavailableReason(): string | null {
  const native = loadNative();
  return 'error' in native ? native.error.message : null;
}

/** Whether this process can use a provider, and why not when it cannot. */
export interface ProviderAvailability {
  /** The provider. */
  name: ProviderName;
  /** True when `createServer({ provider: name })` and `connect({ provider: name })` work here. */
  available: boolean;
  /** Why it is unavailable (e.g. the native addon's load error); null when available. */
  reason: string | null;
  /** True for the provider `'auto'` picks in this process (WINSOCK2_PROVIDER included). */
  auto: boolean;
  /**
   * native only, when available: where its sockets' bytes go. 'libuv': the
   * SOCKET is handed to Node's own TCP handle (a real net.Socket); 'addon':
   * the addon's overlapped I/O. WINSOCK2_NATIVE_DATA forces either.
   */
  dataPath?: 'libuv' | 'addon';
  /** Why that data path (the self-test's result, or the variable). */
  dataPathReason?: string;
}

/**
 * Which providers this process can use, and why one cannot: e.g. an Electron
 * app asking whether the native addon loaded, and if not, why. Loads the
 * native addon on first call (on every OS: off Windows it says why not).
 */
export function availableProviders(): ProviderAvailability[] {
  let autoName: ProviderName | null = null;
  try {
    autoName = resolveProvider('auto').name;
  } catch {
    // A bad WINSOCK2_PROVIDER: 'auto' picks nothing; each provider is still reported.
  }
  return PROVIDER_NAMES.map((name) => {
    let reason: string | null = null;
    if (name === 'native') reason = nativeUnavailableReason();
    const entry: ProviderAvailability = { name, available: reason === null, reason, auto: name === autoName };
    const native =
      name === 'native' && nativeCache !== undefined && 'provider' in nativeCache
        ? (nativeCache.provider as Provider & { dataPath?: { path: 'libuv' | 'addon'; reason: string } })
        : null;
    if (native?.dataPath) {
      entry.dataPath = native.dataPath.path;
      entry.dataPathReason = native.dataPath.reason;
    }
    return entry;
  });
}
