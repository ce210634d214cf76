/**
 * Running the real `winsock2` binary (bin/winsock2.js over dist/, which
 * `npm test` builds first) in a child process, as users run it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { spawnChild } from './spawn';

export const BIN = join(__dirname, '..', '..', '..', 'bin', 'winsock2.js');

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment without WINSOCK2_PROVIDER, so `auto` means auto. */
export function cliEnv(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e['WINSOCK2_PROVIDER'];
  delete e['NODE_DEBUG'];
  return e;
}

export function collect(child: ChildProcess): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `winsock2 ...args` to completion, with `input` on stdin (a pipe). */
export function run(args: string[], input = '', extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
  const child = spawnChild(() =>
    spawn(process.execPath, [BIN, ...args], { env: { ...cliEnv(), ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  const done = collect(child);
  child.stdin?.end(input);
  return done;
}

/** Runs `winsock2 ...args` to completion with stdin given as `stdin` (a file descriptor, 'ignore', ...). */
export function runWithStdin(args: string[], stdin: 'ignore' | 'pipe' | number): Promise<Result> {
  const child = spawnChild(() =>
    spawn(process.execPath, [BIN, ...args], { env: cliEnv(), stdio: [stdin, 'pipe', 'pipe'] }),
  );
  return collect(child);
}

/** A port nothing listens on (one the kernel just handed out and took back). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
