/**
 * The `winsock2` command. Each subcommand lives in its own file; this one
 * dispatches and turns errors into a line with the Winsock name and an exit code.
 */
import { WinsockError } from '../errors';
import { demoCommand } from './demo';

export type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  demo: { run: demoCommand, summary: 'run the seed scenario and print who sent what and what came back' },
};

function usage(): string {
  return [
    'usage: winsock2 <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
    '',
    'Run `winsock2 <command> --help` for a command\'s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`winsock2: unknown command ${JSON.stringify(name)}\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof WinsockError) {
      process.stderr.write(`winsock2 ${name}: ${err.code} (${err.errno}) in ${err.syscall}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`winsock2 ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
