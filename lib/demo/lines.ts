import type { Readable } from 'node:stream';

/**
 * Splits a text stream into lines: the seed scenario's transactions are
 * newline-terminated text, in the demo and in the benchmark that replays it.
 */
export function onLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine(line);
    }
  });
}
