/**
 * The stand-ins of the harness, with no winsock2 code: `floor` and
 * `passthrough`, as a subject (`npm run bench -- --subject floor`) or as a
 * baseline (`--provider framed --baseline floor`, where the framed provider's
 * targets are set). They split the distance from node:net to the framed
 * provider into steps:
 *
 *   net → passthrough   a second stream layer: a Duplex over net.Socket that
 *                       passes bytes through (no handshake, no framing);
 *   → floor             the least any implementation of the framed design
 *                       can do (below): what a user would write by hand to
 *                       get conditional accept with caller data over TCP;
 *   → winsock2 framed   our code on top of the design (framed / floor is
 *                       what our own code costs).
 *
 * The framed design:
 * - pure TypeScript over node:net, and the user gets a stream.Duplex;
 * - a caller sends a hello and nothing else until the acceptor's verdict,
 *   and connect() resolves only on an accepting verdict (conditional accept);
 * - after that, every write travels as a frame with a 5-byte header (type,
 *   length), so disconnect data and message boundaries can share the stream.
 *
 * `FramedDuplex` does exactly that much and no more: no message mode, no
 * disconnect-data frames, no stash for a paused receiver beyond the chunk in
 * hand, no Winsock error mapping, no timeouts or abort signals. Small writes
 * are copied behind their header and complete at once; large ones go out as a
 * corked header + payload pair and complete when the kernel took them (as
 * winsock2's framed handle does). Received frames are pushed as views of
 * the chunk. Anything winsock2 does beyond this is a cost the floor does not
 * pay.
 */
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { admitted, HOST, listenLoopback, openSockets, type Impl } from './loopback';

/** The framed provider's hello and accepting verdict are 20 bytes each when they carry no data. */
const HANDSHAKE_SIZE = 20;
const HELLO = Buffer.alloc(HANDSHAKE_SIZE, 0x48);
const VERDICT = Buffer.alloc(HANDSHAKE_SIZE, 0x56);
const HEADER_SIZE = 5;
const FRAME_DATA = 1;
/** As the framed handle: payloads up to this size are copied behind their header. */
const SMALL_WRITE = 2048;

function header(out: Buffer, length: number): void {
  // Byte stores, as the framed handle (writeUInt32BE's checks cost more).
  out[0] = FRAME_DATA;
  out[1] = length >>> 24;
  out[2] = (length >>> 16) & 0xff;
  out[3] = (length >>> 8) & 0xff;
  out[4] = length & 0xff;
}

/**
 * The `passthrough` subject: a Duplex that hands bytes to and from a
 * connected net.Socket unchanged. What a second stream layer costs by itself.
 */
export class SocketDuplex extends Duplex {
  protected readonly socket: net.Socket;

  constructor(socket: net.Socket) {
    super({ allowHalfOpen: true });
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) callback();
    else this.socket.once('drain', () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }

  protected receive(chunk: Buffer): void {
    if (!this.push(chunk)) this.socket.pause();
  }
}

/** The `floor` subject's stream: every write a frame (see the file comment for what it leaves out). */
export class FramedDuplex extends SocketDuplex {
  private readonly partialHeader = Buffer.alloc(HEADER_SIZE);
  private partialLength = 0;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;

  constructor(socket: net.Socket, leftover: Buffer | null) {
    super(socket);
    if (leftover) this.receive(leftover);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const n = chunk.length;
    if (n <= SMALL_WRITE) {
      const frame = Buffer.allocUnsafe(HEADER_SIZE + n);
      header(frame, n);
      chunk.copy(frame, HEADER_SIZE);
      this.socket.write(frame);
      callback();
      return;
    }
    const head = Buffer.allocUnsafe(HEADER_SIZE);
    header(head, n);
    this.socket.cork();
    this.socket.write(head);
    const took = this.socket.write(chunk);
    this.socket.uncork();
    if (took) callback();
    else this.socket.once('drain', () => callback());
  }

  protected override receive(chunk: Buffer): void {
    let at = 0;
    const n = chunk.length;
    while (at < n) {
      if (this.remaining === 0) {
        while (this.partialLength < HEADER_SIZE && at < n)
          this.partialHeader[this.partialLength++] = chunk[at++] as number;
        if (this.partialLength < HEADER_SIZE) return;
        this.partialLength = 0;
        if (this.partialHeader[0] !== FRAME_DATA) {
          this.destroy(new Error(`floor: unexpected frame type ${this.partialHeader[0] ?? -1}`));
          return;
        }
        this.remaining = this.partialHeader.readUInt32BE(1);
        continue;
      }
      const take = Math.min(this.remaining, n - at);
      this.remaining -= take;
      const view = chunk.subarray(at, at + take);
      at += take;
      // Full: stop reading from the kernel; the rest of this chunk is pushed anyway (bounded by the chunk).
      if (!this.push(view)) this.socket.pause();
    }
  }
}

/**
 * Reads exactly HANDSHAKE_SIZE bytes, then hands over the socket (paused)
 * and whatever came after them.
 */
function readHandshake(socket: net.Socket, done: (leftover: Buffer | null) => void, fail: (err: Error) => void): void {
  const parts: Buffer[] = [];
  let got = 0;
  const onData = (chunk: Buffer): void => {
    parts.push(chunk);
    got += chunk.length;
    if (got < HANDSHAKE_SIZE) return;
    socket.pause();
    off();
    const all = parts.length === 1 ? chunk : Buffer.concat(parts, got);
    done(got > HANDSHAKE_SIZE ? all.subarray(HANDSHAKE_SIZE) : null);
  };
  const onEnd = (): void => {
    off();
    fail(new Error('floor: closed before the handshake'));
  };
  const onError = (err: Error): void => {
    off();
    fail(err);
  };
  const off = (): void => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onError);
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
}

/**
 * `floor`: hello/verdict round trip, then FramedDuplex. `passthrough`: no
 * handshake (the connection counts at accept, as with net), then SocketDuplex.
 */
export function floorImpl(kind: 'floor' | 'passthrough'): Impl {
  const { track, count } = openSockets();
  const noop = (): void => undefined;
  return {
    name: kind,
    listen(spec) {
      return listenLoopback(
        net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
          if (spec.count !== false) track(s);
          if (kind === 'passthrough') {
            if (admitted(spec.condition, s)) spec.onConnection(new SocketDuplex(s));
            return;
          }
          readHandshake(
            s,
            (leftover) => {
              if (!admitted(spec.condition, s)) return;
              s.write(VERDICT);
              spec.onConnection(new FramedDuplex(s, leftover));
            },
            () => {
              s.on('error', noop);
              s.destroy();
            },
          );
        }),
      );
    },
    connect(port) {
      return new Promise<Duplex>((resolve, reject) => {
        // Constructed bare, then connected, as the providers' callers are (lib/tcp/sockets.ts
        // connectSocket): net.connect(options) pays net's copy of the options, a hidden class of
        // its own per socket under Node 20, which a floor must not and framed no longer does.
        const s = new net.Socket();
        s.allowHalfOpen = true;
        s.setNoDelay(true);
        s.connect({ port, host: HOST });
        track(s);
        const failed = (err: Error): void => {
          s.on('error', noop);
          s.destroy();
          reject(err);
        };
        if (kind === 'passthrough') {
          s.once('error', failed);
          s.once('connect', () => {
            s.off('error', failed);
            resolve(new SocketDuplex(s));
          });
          return;
        }
        readHandshake(s, (leftover) => resolve(new FramedDuplex(s, leftover)), failed);
        s.write(HELLO);
      });
    },
    callerData: () => null,
    calleeData: () => null,
    sendDisconnect: () => Promise.reject(new Error(`the ${kind} subject has no disconnect data`)),
    recvDisconnect: () => Promise.reject(new Error(`the ${kind} subject has no disconnect data`)),
    handleCount: count,
  };
}
