/**
 * A bench script in a process of its own, spoken to over IPC one message at
 * a time: the side processes of run.ts (side.ts) and the gate cases'
 * servers (gate-child.ts). Every answer is an object with a `type`; one of
 * type 'error' (or the child's exit) fails whatever waits.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';

export interface ChildAnswer {
  readonly type: string;
  readonly message?: string;
  readonly [field: string]: unknown;
}

export interface BenchChild {
  /** The next answer, which must be of `type` (sending `message` first when given). */
  next(type: string, message?: unknown): Promise<ChildAnswer>;
  /** Stops the child and waits for its exit. */
  stop(): Promise<void>;
}

export function forkChild(
  script: string,
  args: string[],
  label: string,
  env: NodeJS.ProcessEnv = process.env,
): BenchChild {
  const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  const waiting: ((m: ChildAnswer) => void)[] = [];
  let exited: string | null = null;
  child.on('message', (m: ChildAnswer) => waiting.shift()?.(m));
  child.on('exit', (code, signal) => {
    exited = `${label} exited (${code ?? signal})`;
    for (const w of waiting.splice(0)) w({ type: 'error', message: exited });
  });
  return {
    next: (type, message) =>
      new Promise((resolve, reject) => {
        if (exited) {
          reject(new Error(exited));
          return;
        }
        waiting.push((m) => {
          if (m.type === type) resolve(m);
          else reject(new Error(`${label}: ${m.message ?? m.type}`));
        });
        if (message !== undefined) child.send(message as object);
      }),
    stop: async () => {
      if (exited) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    },
  };
}
