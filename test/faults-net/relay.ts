/**
 * A userspace relay for what nftables cannot do on this kernel (no netem
 * qdisc): one-way delay with jitter, re-segmenting (every chunk cut at random
 * boundaries, so the receiver's framing meets every split), the first bytes
 * of each direction one byte per write, stalls, and a half-close forwarded
 * late. Order within a direction is kept: it is a TCP stream, and loss and
 * real packet reordering are TCP's to repair (nftables makes those).
 *
 * A reset on one side becomes a reset on the other (resetAndDestroy), a FIN
 * a FIN after the data before it, so both ends see what a real path shows.
 * Every timer belongs to a connection and dies with it.
 */
import * as net from 'node:net';
import { prng, type RelayConfig } from './common';

/** Bytes queued in one direction before the relay stops reading that side. */
const HIGH_WATER = 1 << 20;

class Direction {
  private readonly queue: { at: number; data: Buffer | null }[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastAt = 0;
  private byteBudget: number;
  private ended = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly config: RelayConfig,
    private readonly rand: () => number,
  ) {
    this.byteBudget = config.byteAtATime;
    from.on('data', (chunk: Buffer) => this.onData(chunk));
    from.on('end', () => this.onEnd());
  }

  private delay(): number {
    const c = this.config;
    return Math.max(0, c.delayMs + (c.jitterMs > 0 ? (this.rand() * 2 - 1) * c.jitterMs : 0));
  }

  private push(data: Buffer | null, extra = 0): void {
    // Jitter never reorders bytes of one stream: a segment leaves no earlier than the one before it.
    const at = Math.max(this.lastAt, Date.now() + this.delay() + extra);
    this.lastAt = at;
    this.queue.push({ at, data });
    if (data) this.queued += data.length;
    if (this.queued > HIGH_WATER) this.from.pause();
    this.schedule();
  }

  private onData(chunk: Buffer): void {
    const c = this.config;
    const stall = c.stallRate > 0 && this.rand() < c.stallRate ? c.stallMs : 0;
    let rest = chunk;
    let first = true;
    for (let guard = 0; rest.length > 0 && guard < chunk.length + 1; guard++) {
      let n = rest.length;
      if (this.byteBudget > 0) {
        n = 1;
        this.byteBudget--;
      } else if (c.resegment) n = 1 + Math.floor(this.rand() * rest.length);
      this.push(rest.subarray(0, n), first ? stall : 0);
      first = false;
      rest = rest.subarray(n);
    }
  }

  private onEnd(): void {
    this.push(null, this.config.lateHalfCloseMs);
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0].at - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = Date.now();
    // Bounded: at most what is queued now.
    for (let n = this.queue.length; n > 0 && this.queue.length > 0 && this.queue[0].at <= now; n--) {
      const { data } = this.queue.shift()!;
      if (this.to.destroyed) {
        this.queue.length = 0;
        break;
      }
      if (data === null) {
        this.ended = true;
        this.to.end();
        continue;
      }
      this.queued -= data.length;
      this.to.write(data);
    }
    if (this.queued <= HIGH_WATER / 2 && this.from.isPaused() && !this.from.destroyed) this.from.resume();
    this.schedule();
  }

  get done(): boolean {
    return this.ended && this.queue.length === 0;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

/** Starts the relay; resolves with its listening port. */
export async function startRelay(config: RelayConfig, seed: number): Promise<{ port: number; close(): void }> {
  const rand = prng(seed);
  const pairs = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    pairs.add(client);
    const upstream = net.connect({
      host: config.targetHost,
      port: config.targetPort,
      allowHalfOpen: true,
      noDelay: true,
    });
    pairs.add(upstream);
    client.pause();
    const up = new Direction(client, upstream, config, rand);
    const down = new Direction(upstream, client, config, rand);
    upstream.once('connect', () => client.resume());
    // A reset (or any error) on one side resets the other: the relay is the path, not an endpoint.
    const fail = (other: net.Socket) => (): void => {
      up.stop();
      down.stop();
      if (!other.destroyed) other.resetAndDestroy();
    };
    client.on('error', fail(upstream));
    upstream.on('error', fail(client));
    const closeBoth = (): void => {
      if (up.done && down.done) {
        client.destroy();
        upstream.destroy();
      }
    };
    client.on('finish', closeBoth);
    upstream.on('finish', closeBoth);
    const forget = (s: net.Socket) => (): void => {
      pairs.delete(s);
      // A side closed without an error after both FINs: nothing more to relay.
      if (!client.destroyed && client.readableEnded && client.writableFinished) client.destroy();
      if (!upstream.destroyed && upstream.readableEnded && upstream.writableFinished) upstream.destroy();
    };
    client.on('close', forget(client));
    upstream.on('close', forget(upstream));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, config.listenHost, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close(): void {
      server.close();
      for (const s of pairs) s.destroy();
    },
  };
}
