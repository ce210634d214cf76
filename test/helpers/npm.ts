/**
 * Running npm and other commands as a user would, from tests (package.test.ts,
 * install-doc.test.ts): synchronously, with the output kept for the failure
 * message, and without the npm_* variables of the `npm test` that runs us.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment for a child npm: without the npm_* variables of the `npm test`
 * that runs us (npm_config_local_prefix and friends would point the child at
 * this repository instead of the temporary project).
 */
export function childEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry', 'npm_config_nodedir']);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !keep.has(k.toLowerCase())) continue;
    env[k] = v;
  }
  env['NO_UPDATE_NOTIFIER'] = '1';
  return env;
}

export function run(file: string, args: string[], cwd: string, timeout: number, shell = false): Run {
  const r = spawnSync(file, args, { cwd, env: childEnv(), encoding: 'utf8', timeout, shell, windowsHide: true });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs npm: through the npm-cli.js that runs this test when there is one (no .cmd shims on Windows). */
export function npm(args: string[], cwd: string, timeout = 120_000): Run {
  const cli = process.env['npm_execpath'];
  if (cli && /npm-cli\.c?js$/.test(cli)) return run(process.execPath, [cli, ...args], cwd, timeout);
  if (process.platform === 'win32') return run('npm.cmd', args, cwd, timeout, true);
  return run('npm', args, cwd, timeout);
}

export function ok(r: Run, what: string): string {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}
