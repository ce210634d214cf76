/**
 * The native provider's entry point. lib/providers.ts requires this lazily
 * and wraps a failure as WinsockError WSASYSNOTREADY.
 */
import type { Provider } from '../provider';
import { loadAddon } from './load';
import { NativeProvider } from './provider';

export { NativeProvider } from './provider';
export { findPackageRoot } from './load';
export type { NativeAddon } from './addon';

let cached: NativeProvider | null = null;

/**
 * The native provider, loaded once. Throws a plain Error whose message says
 * why it cannot load (not win32, addon missing, load failure).
 */
export function loadNativeProvider(): Provider {
  if (cached === null) cached = new NativeProvider(loadAddon());
  return cached;
}
