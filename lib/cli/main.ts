/**
 * The `winsock2` command. Each subcommand lives in its own file; this one
 * dispatches and turns errors into one line with the Winsock name, number and
 * a sentence, and into an exit code scripts can use (see EXIT in ./common).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WinsockError } from '../index';
import {
  EXIT,
  EXIT_CODES_HELP,
  UsageError,
  describeError,
  err,
  errorJson,
  exitCodeFor,
  oneLine,
  out,
  usageLine,
} from './common';
import { connectCommand } from './connect';
import { demoCommand } from './demo';
import { protocolsCommand } from './protocols';
import { serveCommand } from './serve';

/** A subcommand: gets its arguments, resolves its exit code. */
export type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  demo: { run: demoCommand, summary: 'run the seed scenario and print who sent what and what came back' },
  serve: {
    run: serveCommand,
    summary: 'listen with accept rules (allow/deny, defer, callee data) and print each decision',
  },
  connect: { run: connectCommand, summary: 'connect with caller data, send stdin, hang up with disconnect data' },
  protocols: { run: protocolsCommand, summary: "list the providers' protocols and what each can carry" },
};

/** Global options that may come before the command name; they are passed on to it. */
const GLOBAL_WITH_VALUE = new Set(['--provider']);
const GLOBAL_FLAGS = new Set(['--json']);

function usage(): string {
  return [
    'usage: winsock2 <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
    '',
    'global options (accepted before or after the command):',
    '  --provider auto|native|emulated|framed   the provider (default auto, or WINSOCK2_PROVIDER)',
    '  --json                            machine-readable output',
    '  --help, -h                        help (also `winsock2 <command> --help`)',
    '  --version                         the package version',
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

/** Runs the command line `argv` (without `node` and the script); resolves the exit code. */
export async function main(argv: string[]): Promise<number> {
  // `winsock2 protocols | head`: a reader that went away is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
      throw e;
    });
  }
  // Global options before the command name move behind it.
  const globals: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (GLOBAL_FLAGS.has(a)) globals.push(a);
    else if (GLOBAL_WITH_VALUE.has(a) && i + 1 < argv.length) globals.push(a, argv[++i]);
    else if (a.startsWith('--provider=')) globals.push(a);
    else break;
  }
  const name = argv[i];
  const rest = [...argv.slice(i + 1), ...globals];
  if (name === '--help' || name === '-h' || name === 'help') {
    out(usage());
    return EXIT.OK;
  }
  if (name === '--version' || name === '-v') {
    out(version());
    return EXIT.OK;
  }
  if (name === undefined) {
    err(usageLine(null, `no command given (commands: ${Object.keys(COMMANDS).join(', ')})`));
    return EXIT.USAGE;
  }
  const command = COMMANDS[name];
  if (!command) {
    err(usageLine(null, `unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})`));
    return EXIT.USAGE;
  }
  const json = rest.includes('--json');
  // A command whose every pending step lost its event source would let the
  // process run out of work and exit 0 with nothing said: never a success.
  const stalled = (): void => {
    err(
      `winsock2 ${name}: stopped before finishing (a step waited for an event that can no longer come); this is a bug`,
    );
    process.exitCode = EXIT.FAILURE;
  };
  process.once('beforeExit', stalled);
  try {
    return await command.run(rest);
  } catch (e) {
    const code = exitCodeFor(e);
    if (e instanceof UsageError) {
      err(usageLine(name, e.message));
    } else if (e instanceof WinsockError) {
      err(`winsock2 ${name}: ${describeError(e)}`);
    } else {
      err(`winsock2 ${name}: ${oneLine(e instanceof Error ? e.message : String(e))}`);
    }
    if (json) out(JSON.stringify({ error: errorJson(e) }));
    return code;
  } finally {
    process.off('beforeExit', stalled);
  }
}
