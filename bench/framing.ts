/**
 * The bulk-throughput floor of per-write framing over node:net, without any
 * winsock2 code: 128 MiB one way in 64 KiB writes, each write sent
 *   plain  as is (the bulk case's net twin),
 *   cork   behind a 5-byte header, corked (one writev of two buffers: what the
 *          emulated provider does for a large write),
 *   copy   header and payload copied into one buffer, one write.
 * Prints the median process CPU time per run of each, over alternating rounds.
 *
 *   node out-bench/framing.js [rounds=30]
 */
import * as net from 'node:net';

type Mode = 'plain' | 'cork' | 'copy';
const TOTAL = 128 * 1024 * 1024;
const SIZE = 64 * 1024;
const HEADER = 5;

async function run(mode: Mode): Promise<number> {
  const writes = TOTAL / SIZE;
  const expect = TOTAL + (mode === 'plain' ? 0 : HEADER * writes);
  let got = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => { done = resolve; });
  const server = net.createServer((s) => s.on('data', (d: Buffer) => { got += d.length; if (got >= expect) done(); }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => c.once('connect', () => resolve()));
  const payload = Buffer.alloc(SIZE, 0x61);
  const header = Buffer.alloc(HEADER, 0x44);
  const before = process.cpuUsage();
  for (let i = 0; i < writes; i++) {
    let ok: boolean;
    if (mode === 'plain') {
      ok = c.write(payload);
    } else if (mode === 'cork') {
      c.cork();
      c.write(header);
      ok = c.write(payload);
      c.uncork();
    } else {
      const frame = Buffer.allocUnsafe(HEADER + SIZE);
      header.copy(frame, 0);
      payload.copy(frame, HEADER);
      ok = c.write(frame);
    }
    if (!ok) await new Promise<void>((resolve) => c.once('drain', () => resolve()));
  }
  await finished;
  const used = process.cpuUsage(before);
  c.destroy();
  server.close();
  return (used.user + used.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 30);
  const cpu: Record<Mode, number[]> = { plain: [], cork: [], copy: [] };
  for (let r = -2; r < rounds; r++) {
    const order: Mode[] = r % 2 === 0 ? ['plain', 'cork', 'copy'] : ['copy', 'cork', 'plain'];
    for (const mode of order) {
      const ms = await run(mode);
      if (r >= 0) cpu[mode].push(ms);
    }
  }
  const plain = median(cpu.plain);
  process.stdout.write(`framing floor: 128 MiB in 64 KiB writes over node:net, CPU ms per run (median of ${rounds}):\n`);
  for (const mode of ['plain', 'cork', 'copy'] as const) {
    process.stdout.write(`  ${mode.padEnd(6)} ${median(cpu[mode]).toFixed(0).padStart(5)} ms  x${(median(cpu[mode]) / plain).toFixed(2)}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
