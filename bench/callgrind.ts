/**
 * What the instruction meters (instructions.ts, gate-instructions.ts) share:
 * how a node script runs under Valgrind's callgrind, and where its count is.
 */

/** valgrind's arguments before the script: callgrind, no output file, node with V8 on one thread (no helper threads in the count). */
export function callgrindArgs(script: string, ...args: string[]): string[] {
  return ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', script, ...args];
}

/** The user-space instructions callgrind reports on stderr ("Collected : N"), or null when it did not. */
export function collectedInstructions(stderr: string): number | null {
  const m = /Collected : (\d+)/.exec(stderr);
  return m?.[1] ? Number(m[1]) : null;
}
