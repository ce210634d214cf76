/**
 * The connection-rate floor of any conditional-accept protocol over TCP:
 * plain node:net doing what the emulated provider's handshake does on the
 * wire — the caller sends a 20-byte hello after connecting, the acceptor
 * answers with a 20-byte verdict, only then is the connection "accepted" —
 * against plain node:net connecting and closing (the conn-seq net twin).
 * No winsock2 code runs here: the ratio is what the extra round trip costs
 * by itself (two writes, two reads, two event-loop turns per connection).
 *
 *   node out-bench/floor.js [pairs=15]
 */
import * as net from 'node:net';

const noop = (): void => undefined;
const HELLO = Buffer.alloc(20, 0x48);
const VERDICT = Buffer.alloc(20, 0x56);

/** `n` connections, `width` at a time (1 = sequential), each: connect → (hello → verdict) → accepted → close. */
async function run(handshake: boolean, n: number, width: number): Promise<number> {
  let accepted = 0;
  let closed = 0;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    s.on('error', noop);
    s.once('close', () => { closed++; });
    s.on('end', () => s.destroy());
    if (handshake) {
      s.once('data', () => { accepted++; s.write(VERDICT); s.resume(); });
    } else {
      accepted++;
      s.resume();
    }
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 2048 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const one = async (): Promise<void> => {
    const c = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
      s.once('error', reject);
      if (handshake) {
        s.write(HELLO);
        s.once('data', () => resolve(s));
      } else {
        s.once('connect', () => resolve(s));
      }
    });
    c.on('error', noop);
    c.destroy();
  };
  const t0 = performance.now();
  for (let done = 0; done < n; done += width) {
    const wave: Promise<void>[] = [];
    for (let i = 0; i < width; i++) wave.push(one());
    await Promise.all(wave);
    // A cycle ends when the server side has accepted it too (as in the conn-seq case).
    while (accepted < done + width) await new Promise((r) => setImmediate(r));
  }
  while (closed < n) await new Promise((r) => setImmediate(r));
  const ms = performance.now() - t0;
  server.close();
  return n / (ms / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function compare(title: string, pairs: number, n: number, width: number): Promise<void> {
  const plain: number[] = [];
  const rt: number[] = [];
  for (let p = -2; p < pairs; p++) {
    const order = p % 2 === 0 ? [false, true] : [true, false];
    const got: number[] = [];
    for (const handshake of order) got[handshake ? 1 : 0] = await run(handshake, n, width);
    if (p < 0) continue;
    plain.push(got[0] as number);
    rt.push(got[1] as number);
  }
  const ratios = rt.map((r, i) => r / (plain[i] as number));
  process.stdout.write(`${title}, ${pairs} pairs:\n`);
  process.stdout.write(`  plain net connect/close:              ${median(plain).toFixed(0)} conn/s\n`);
  process.stdout.write(`  net + 20-byte hello/verdict exchange: ${median(rt).toFixed(0)} conn/s\n`);
  process.stdout.write(`  ratio ${(median(rt) / median(plain)).toFixed(3)} (pair ratios ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})\n`);
}

async function main(): Promise<void> {
  const pairs = Number(process.argv[2] ?? 15);
  await compare('conn-seq floor: 2000 sequential connections', pairs, 2000, 1);
  await compare('conn-conc floor: 5 waves of 200 concurrent connections', pairs, 1000, 200);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
