/**
 * Helpers for the hostile-peer and fault tests: a raw node:net peer that
 * speaks (or abuses) the framed wire protocol byte by byte, a memory probe,
 * and the "the server still serves a good client" check.
 *
 * Nothing here asserts on timing. Where a test must give a broken server the
 * chance to misbehave (a stall that should last), it waits a little and then
 * asserts on state, so a loaded machine can only make a removed protection
 * harder to notice, never make a correct server fail.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as net from 'node:net';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { connect } from '../../lib/connect';
import {
  encodeDisconnect,
  encodeFrameHeader,
  encodeHello,
  FRAME_DATA,
  VerdictDecoder,
  type Hello,
  type Verdict,
} from '../../lib/framed/frames';
import type { WinsockServer } from '../../lib/server';
import type { WinsockSocket } from '../../lib/socket';
import type { ProviderName, SocketMode } from '../../lib/types';
import { carriesData, own, readAll } from './harness';

/** A full garbage collection (V8's gc, reached without --expose-gc on the command line). */
export const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

export interface MemoryProbe {
  /** Asserts RSS and Buffer memory did not grow beyond the bounds since the probe was made. */
  check(label?: string): void;
}

/**
 * Records RSS and ArrayBuffer memory after a full GC. `check` collects again
 * and compares: RSS within `rssMiB` (generous: allocator slack, JIT code,
 * socket buffers), Buffer memory within `buffersMiB` (tighter: it is what a
 * peer could make the process hold).
 */
export function memoryProbe(rssMiB = 96, buffersMiB = 32): MemoryProbe {
  collectGarbage();
  const before = process.memoryUsage();
  return {
    check(label = '') {
      collectGarbage();
      const after = process.memoryUsage();
      const rss = (after.rss - before.rss) / 2 ** 20;
      const buffers = (after.arrayBuffers - before.arrayBuffers) / 2 ** 20;
      assert.ok(rss < rssMiB, `${label} RSS grew by ${rss.toFixed(1)} MiB (bound ${rssMiB})`);
      assert.ok(buffers < buffersMiB, `${label} Buffer memory grew by ${buffers.toFixed(1)} MiB (bound ${buffersMiB})`);
    },
  };
}

/** Buffer (ArrayBuffer) memory held right now, in bytes, without collecting first. */
export function buffersHeld(): number {
  return process.memoryUsage().arrayBuffers;
}

const peers = new Set<RawPeer>();

/** Destroys every raw peer still open (call from afterEach). */
export function destroyPeers(): void {
  for (const p of peers) p.socket.destroy();
  peers.clear();
}

/**
 * A raw TCP peer. It records what it receives, whether the other side ended
 * or reset it, and it never throws from socket errors.
 */
export class RawPeer {
  readonly received: Buffer[] = [];
  ended = false;
  error: (Error & { code?: string }) | null = null;
  readonly closed: Promise<void>;
  private readonly decoder = new VerdictDecoder({ maxCalleeData: 1 << 20 });
  private verdictValue: Verdict | null = null;
  private afterVerdict: Buffer[] = [];

  private constructor(readonly socket: net.Socket) {
    peers.add(this);
    socket.on('data', (chunk: Buffer) => {
      this.received.push(chunk);
      if (this.verdictValue) {
        this.afterVerdict.push(chunk);
        return;
      }
      const step = this.decoder.feed(chunk);
      if (step.state === 'done') {
        this.verdictValue = step.value;
        if (step.end < chunk.length) this.afterVerdict.push(chunk.subarray(step.end));
      }
    });
    // Not half-open: when the server ends, so does this peer (as most clients do), so the socket closes.
    socket.on('end', () => {
      this.ended = true;
      if (!socket.writableEnded) socket.end();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        peers.delete(this);
        resolve();
      }),
    );
  }

  static async connect(port: number): Promise<RawPeer> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    const peer = new RawPeer(socket);
    await Promise.race([
      once(socket, 'connect'),
      peer.closed.then(() => {
        throw peer.error ?? new Error('closed before connecting');
      }),
    ]);
    return peer;
  }

  get isClosed(): boolean {
    return this.socket.closed;
  }

  send(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  hello(hello: Partial<Hello> = {}): Promise<void> {
    return this.send(encodeHello({ mode: 'stream', callerData: null, sqos: null, gqos: null, ...hello }));
  }

  /** Resolves the verdict, or null when the connection closed before a complete one arrived. */
  async verdict(): Promise<Verdict | null> {
    while (!this.verdictValue && !this.socket.closed && !this.ended) {
      await Promise.race([once(this.socket, 'data'), once(this.socket, 'end'), this.closed]);
    }
    return this.verdictValue;
  }

  /** Sends a hello and requires an accepting verdict. */
  async handshake(hello: Partial<Hello> = {}): Promise<void> {
    await this.hello(hello);
    const v = await this.verdict();
    assert.ok(v?.accept, `expected an accepting verdict, got ${JSON.stringify(v)}`);
  }

  /** One data frame around `payload`. */
  sendData(payload: Buffer | string): Promise<void> {
    const b = Buffer.from(payload);
    return this.send(Buffer.concat([encodeFrameHeader(FRAME_DATA, b.length), b]));
  }

  sendDisconnect(data: Buffer | null): Promise<void> {
    return this.send(encodeDisconnect(data));
  }

  /** Bytes received after the verdict (the frames the server sent). */
  get payload(): Buffer {
    return Buffer.concat(this.afterVerdict);
  }

  /** Abortive close: RST. */
  reset(): void {
    this.socket.resetAndDestroy();
  }
}

/** Set while `assertServes` runs, so a test's hostile condition lets the probe through. */
export const probe = { active: false };

/**
 * The server still serves a good client: a connect (with caller data where
 * the provider carries it), data one way, the seed teardown with disconnect
 * data, and the bytes and data arrive intact.
 */
export async function assertServes(
  provider: ProviderName,
  server: WinsockServer,
  port: number,
  mode: SocketMode = 'stream',
): Promise<void> {
  const carries = carriesData(provider);
  probe.active = true;
  try {
    const accepted = once(server, 'connection') as Promise<[WinsockSocket]>;
    const client = own(
      await connect({ provider, port, mode, timeout: 10_000, ...(carries ? { callerData: 'probe' } : {}) }),
    );
    const [peer] = await accepted;
    own(peer);
    // Message mode reports the graceful remote shutdown as WSAEDISCON after 'end' (SPEC); nothing else may fail.
    const unexpected: Error[] = [];
    for (const s of [client, peer])
      s.on('error', (e: Error & { code?: string }) => {
        if (!(mode === 'message' && e.code === 'WSAEDISCON')) unexpected.push(e);
      });
    if (carries) assert.equal(peer.callerData?.toString(), 'probe');
    const got = readAll(peer);
    client.write('ping');
    await client.sendDisconnect(carries ? 'count=1' : null);
    assert.equal((await got).toString(), 'ping');
    assert.equal((await peer.recvDisconnect())?.toString() ?? null, carries ? 'count=1' : null);
    client.destroy();
    peer.destroy();
    assert.deepEqual(unexpected, []);
  } finally {
    probe.active = false;
  }
}

/**
 * Writes `total` bytes to a socket in `chunk`-sized pieces, honouring
 * back-pressure; stops when a 'drain' does not come within `stallMs` (the
 * peer stopped reading). Resolves the bytes write() accepted.
 */
export async function writeUntilStalled(
  write: (chunk: Buffer) => boolean,
  drained: () => Promise<unknown>,
  total: number,
  chunk: Buffer,
  stallMs = 300,
): Promise<number> {
  let sent = 0;
  while (sent < total) {
    const ok = write(chunk);
    sent += chunk.length;
    if (!ok) {
      let timer: NodeJS.Timeout | undefined;
      const drainedInTime = await Promise.race([
        drained().then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), stallMs);
        }),
      ]);
      clearTimeout(timer);
      if (!drainedInTime) break;
    }
  }
  return sent;
}
