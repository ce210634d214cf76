/**
 * The in-band framing of the soak scenario, used on every provider so the
 * same checks hold where there is no connect or disconnect data: the caller
 * sends a plan line ("<id> <up> <down>\n") first; each side then sends its
 * payload and a summary line ("S <sha256> <length>\n") before its FIN.
 */
import { Receiver } from './common';

const MAX_LINE = 256;

/** Splits what arrives into an optional first line, `length` payload bytes (checked), and the summary line. */
export class InBandReader {
  private head = '';
  private tail = '';
  private payload: Receiver | null = null;
  private length = 0;
  bad = false;

  constructor(
    private readonly wantLine: boolean,
    private readonly onLine: (line: string) => { receiver: Receiver; length: number } | null,
  ) {}

  /** For a reader without a first line: where the payload goes. */
  expect(receiver: Receiver, length: number): void {
    this.payload = receiver;
    this.length = length;
  }

  get received(): number {
    return this.payload?.offset ?? 0;
  }
  get mismatch(): boolean {
    return this.bad || (this.payload?.mismatch ?? false);
  }

  take(chunk: Buffer): void {
    let rest = chunk;
    if (this.wantLine && !this.payload) {
      const nl = rest.indexOf(10);
      const part = rest.subarray(0, nl < 0 ? rest.length : nl).toString('latin1');
      this.head += part;
      if (this.head.length > MAX_LINE) {
        this.bad = true;
        return;
      }
      if (nl < 0) return;
      const next = this.onLine(this.head);
      if (!next) {
        this.bad = true;
        return;
      }
      this.expect(next.receiver, next.length);
      rest = rest.subarray(nl + 1);
    }
    if (!this.payload) {
      this.bad = true;
      return;
    }
    const n = Math.min(rest.length, this.length - this.payload.offset);
    if (n > 0) this.payload.take(rest.subarray(0, n));
    rest = rest.subarray(n);
    if (rest.length > 0) {
      this.tail += rest.toString('latin1');
      if (this.tail.length > MAX_LINE) this.bad = true;
    }
  }

  /** True when the payload arrived whole and the summary line names its SHA-256 and length. */
  verify(): boolean {
    if (!this.payload || this.bad || this.payload.offset !== this.length) return false;
    const m = /^S ([0-9a-f]{64}) (\d+)\n$/.exec(this.tail);
    if (!m) return false;
    if (m[1] !== this.payload.digest() || Number(m[2]) !== this.length) {
      this.bad = true;
      return false;
    }
    return true;
  }
}

export function summaryLine(sha: string, length: number): string {
  return `S ${sha} ${length}\n`;
}

/** Writes `total` bytes of stream `key` in random chunk sizes, honouring back-pressure; resolves with their SHA-256 ('' if the socket died). */
export async function sendPayload(
  socket: import('node:stream').Writable,
  seed: number,
  key: number,
  total: number,
  rand: () => number,
): Promise<string> {
  const { createHash } = await import('node:crypto');
  const { expected } = await import('./common');
  const hash = createHash('sha256');
  let off = 0;
  // Bounded: every pass writes at least one byte.
  while (off < total) {
    if (socket.destroyed) return '';
    const n = Math.min(total - off, 1 + Math.floor(rand() * 64 * 1024));
    const chunk = expected(seed, key, off, n);
    hash.update(chunk);
    off += n;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  return socket.destroyed ? '' : hash.digest('hex');
}
