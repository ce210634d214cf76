/**
 * Spawning a child for tests, retried when Wine's CreateProcess fails
 * transiently: under a loaded Wine, spawning node.exe now and then throws
 * `spawn UNKNOWN` before the child exists (seen in a CI run whose previous
 * run passed the same test). Only that error, only on win32, at most three
 * tries; any other failure is thrown at once.
 */
import type { ChildProcess } from 'node:child_process';

export function spawnChild<T extends ChildProcess>(start: () => T): T {
  for (let attempt = 1; ; attempt++) {
    try {
      return start();
    } catch (err) {
      const transient = process.platform === 'win32' && (err as { code?: string }).code === 'UNKNOWN' && attempt < 3;
      if (!transient) throw err;
      // A short synchronous pause: callers expect the child synchronously.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}
