/**
 * The native provider's entry point. lib/providers.ts requires this lazily
 * and wraps a failure as WinsockError WSASYSNOTREADY.
 */
import type { Provider } from '../provider';
import { loadAddon } from './load';
import { chooseDataPath, DATA_PATH_VARIABLE } from './handoff';
import { NativeProvider } from './provider';

export { NativeProvider } from './provider';
export { chooseDataPath, type DataPathChoice, type NativeDataPath } from './handoff';
export { findPackageRoot } from './load';
export type { NativeAddon } from './addon';

let cached: NativeProvider | null = null;

/**
 * The native provider, loaded once. Throws a plain Error whose message says
 * why it cannot load (not win32, addon missing, load failure).
 */
export function loadNativeProvider(): Provider {
  if (cached === null) {
    const addon = loadAddon();
    // Throws (the provider does not load, and says why) for a bad
    // WINSOCK2_NATIVE_DATA or a forced libuv path that cannot work here.
    cached = new NativeProvider(addon, chooseDataPath(addon, process.env[DATA_PATH_VARIABLE]));
  }
  return cached;
}
