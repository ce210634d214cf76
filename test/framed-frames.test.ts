/**
 * The framed wire protocol's codec and incremental decoders (docs/protocol.md),
 * without sockets: every message is fed whole, byte by byte, and split at
 * every position, and hostile inputs must be refused at the right byte with
 * the right WSAE* code.
 */
import { strict as assert } from 'node:assert';
import { WinsockError } from '../lib/errors';
import {
  encodeDisconnect,
  encodeFrameHeader,
  encodeHello,
  encodeVerdict,
  FRAME_DATA,
  FRAME_DISCONNECT,
  FrameDecoder,
  type FrameSink,
  type Hello,
  HelloDecoder,
  MAX_FRAME_PAYLOAD,
  PREAMBLE_SIZE,
  type PreambleStep,
  type Verdict,
  VerdictDecoder,
} from '../lib/framed/frames';
import { decodeQos, encodeQos, MAX_QOS_BYTES } from '../lib/framed/qos';
import type { Qos } from '../lib/types';
import { seededRandom } from '../lib/demo/random';

const QOS: Qos = {
  sending: {
    tokenRate: 1000,
    tokenBucketSize: 2000,
    peakBandwidth: 0xffff_ffff,
    latency: 0,
    delayVariation: 7,
    serviceType: 1,
    maxSduSize: 1500,
    minimumPolicedSize: 64,
  },
  receiving: null,
  providerSpecific: Buffer.from([1, 2, 3]),
};

/** Feeds `bytes` in pieces cut at `cuts`; returns the last step. */
function feedSplit<T>(
  decoder: { feed(chunk: Buffer, start?: number): PreambleStep<T> },
  bytes: Buffer,
  cuts: number[],
): PreambleStep<T> {
  let step: PreambleStep<T> = { state: 'more' };
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut <= prev && cut !== bytes.length) continue;
    step = decoder.feed(bytes.subarray(prev, cut));
    prev = cut;
    if (step.state !== 'more') return step;
  }
  return step;
}

function done<T>(step: PreambleStep<T>): T {
  if (step.state !== 'done') assert.fail(`expected a decoded value, got ${JSON.stringify(step)}`);
  return step.value;
}

function violation<T>(step: PreambleStep<T>): { code: string; detail: string } {
  if (step.state !== 'error') assert.fail(`expected a violation, got ${step.state}`);
  return step.violation;
}

/** Collects what a FrameDecoder delivers. */
class Collector implements FrameSink {
  data: Buffer[] = [];
  disconnects: (Buffer | null)[] = [];
  /** Return false from onFrameData after this many calls (back-pressure tests). */
  stopAfter = Infinity;
  onFrameData(payload: Buffer): boolean {
    this.data.push(Buffer.from(payload));
    return this.data.length < this.stopAfter;
  }
  onFrameDisconnect(data: Buffer | null): void {
    this.disconnects.push(data);
  }
}

function dataFrame(payload: Buffer): Buffer {
  return Buffer.concat([encodeFrameHeader(FRAME_DATA, payload.length), payload]);
}

/** Decodes `wire` cut into pieces at `cuts`, resuming after every stop. */
function decodeAll(decoder: FrameDecoder, sink: FrameSink, wire: Buffer, cuts: number[]): void {
  let prev = 0;
  for (const cut of [...cuts, wire.length]) {
    if (cut < prev) continue;
    let piece = wire.subarray(prev, cut);
    prev = cut;
    for (;;) {
      const stop = decoder.decode(piece, 0, sink);
      if (decoder.violation || stop === piece.length) break;
      piece = piece.subarray(stop);
    }
    if (decoder.violation) return;
  }
}

/** A small deterministic PRNG, so a failure reproduces. */
const prng = seededRandom;

describe('framed wire protocol: QOS', () => {
  it('round-trips flow specs and provider-specific bytes', () => {
    assert.deepEqual(decodeQos(encodeQos(QOS, 'WSAConnect')), QOS);
    const empty: Qos = { sending: null, receiving: null, providerSpecific: null };
    assert.deepEqual(decodeQos(encodeQos(empty, 'WSAConnect')), empty);
    const both: Qos = { sending: QOS.sending, receiving: QOS.sending, providerSpecific: Buffer.alloc(0) };
    assert.deepEqual(decodeQos(encodeQos(both, 'WSAConnect')), both);
  });

  it('refuses values a FLOWSPEC ULONG cannot hold, before encoding', () => {
    const bad = { ...QOS, sending: { ...(QOS.sending as NonNullable<Qos['sending']>), latency: -1 } };
    assert.throws(
      () => encodeQos(bad, 'WSAConnect'),
      (e: unknown) => e instanceof WinsockError && e.code === 'WSAEINVAL' && e.syscall === 'WSAConnect',
    );
    const big = { ...QOS, providerSpecific: Buffer.alloc(MAX_QOS_BYTES) };
    assert.throws(
      () => encodeQos(big, 'WSAConnect'),
      (e: unknown) => e instanceof WinsockError && e.code === 'WSAEMSGSIZE',
    );
  });

  it('reports malformed bodies as a reason, never throws', () => {
    assert.equal(typeof decodeQos(Buffer.alloc(0)), 'string');
    assert.equal(typeof decodeQos(Buffer.from([0x80])), 'string');
    assert.equal(typeof decodeQos(Buffer.from([0x01, 0, 0])), 'string');
    assert.equal(typeof decodeQos(Buffer.from([0x00, 9])), 'string');
  });
});

describe('framed wire protocol: hello', () => {
  const hellos: Hello[] = [
    { mode: 'stream', callerData: null, sqos: null, gqos: null },
    { mode: 'stream', callerData: Buffer.alloc(0), sqos: null, gqos: null },
    {
      mode: 'message',
      callerData: Buffer.from('transactions=17'),
      sqos: QOS,
      gqos: { sending: null, receiving: null, providerSpecific: null },
    },
  ];

  it('decodes whole, byte by byte, and split at every position', () => {
    for (const hello of hellos) {
      const wire = encodeHello(hello);
      assert.deepEqual(done(new HelloDecoder({ maxCallerData: 100 }).feed(wire)), hello);
      const bytewise = Array.from({ length: wire.length }, (_, i) => i);
      assert.deepEqual(done(feedSplit(new HelloDecoder({ maxCallerData: 100 }), wire, bytewise)), hello);
      for (let cut = 1; cut < wire.length; cut++) {
        assert.deepEqual(
          done(feedSplit(new HelloDecoder({ maxCallerData: 100 }), wire, [cut])),
          hello,
          `split at ${cut}`,
        );
      }
    }
  });

  it('says where the hello ended inside a chunk', () => {
    const wire = encodeHello(hellos[2] as Hello);
    const step = new HelloDecoder({ maxCallerData: 100 }).feed(Buffer.concat([wire, Buffer.from('extra')]));
    assert.equal(step.state, 'done');
    assert.equal(step.state === 'done' && step.end, wire.length);
  });

  it('drops garbage at its first wrong byte', () => {
    const d = new HelloDecoder({ maxCallerData: 100 });
    const v = violation(d.feed(Buffer.from('G')));
    assert.equal(v.code, 'WSAECONNABORTED');
    assert.equal(d.received, 0);
    // One right byte, then a wrong one: refused at the second.
    const d2 = new HelloDecoder({ maxCallerData: 100 });
    assert.equal(d2.feed(Buffer.from('W')).state, 'more');
    assert.equal(violation(d2.feed(Buffer.from('X'))).code, 'WSAECONNABORTED');
    // A verdict where a hello belongs is not a hello.
    assert.equal(
      violation(
        new HelloDecoder({ maxCallerData: 100 }).feed(
          encodeVerdict({ accept: true, errno: 0, calleeData: null, qos: null }),
        ),
      ).code,
      'WSAECONNABORTED',
    );
  });

  it('refuses another protocol version as WSAVERNOTSUPPORTED at the version byte', () => {
    const wire = encodeHello(hellos[0] as Hello);
    wire[4] = 2;
    const d = new HelloDecoder({ maxCallerData: 100 });
    assert.equal(d.feed(wire.subarray(0, 4)).state, 'more');
    assert.equal(violation(d.feed(wire.subarray(4, 5))).code, 'WSAVERNOTSUPPORTED');
  });

  it('refuses caller data over the limit from the header alone, before buffering it', () => {
    const wire = encodeHello({ mode: 'stream', callerData: Buffer.alloc(101), sqos: null, gqos: null });
    const v = violation(new HelloDecoder({ maxCallerData: 100 }).feed(wire.subarray(0, PREAMBLE_SIZE)));
    assert.equal(v.code, 'WSAEMSGSIZE');
    assert.match(v.detail, /101/);
    assert.equal(done(new HelloDecoder({ maxCallerData: 101 }).feed(wire)).callerData?.length, 101);
  });

  it('refuses absurd length fields as WSAEMSGSIZE', () => {
    for (const off of [8, 12, 16]) {
      const wire = encodeHello({ mode: 'stream', callerData: Buffer.alloc(0), sqos: QOS, gqos: QOS });
      wire.writeUInt32BE(0xffff_ffff, off);
      assert.equal(
        violation(new HelloDecoder({ maxCallerData: 65536 }).feed(wire)).code,
        'WSAEMSGSIZE',
        `length at ${off}`,
      );
    }
  });

  it('refuses unknown modes, unknown flags and lengths without their flag', () => {
    const base = encodeHello(hellos[0] as Hello);
    const mutate = (f: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(base);
      f(b);
      return b;
    };
    for (const wire of [
      mutate((b) => (b[6] = 2)),
      mutate((b) => (b[7] = 0x08)),
      mutate((b) => b.writeUInt32BE(1, 8)), // caller data length, flag clear
    ]) {
      assert.equal(violation(new HelloDecoder({ maxCallerData: 100 }).feed(wire)).code, 'WSAECONNABORTED');
    }
    // A QOS body that is not a QOS.
    const badQos = encodeHello({ mode: 'stream', callerData: null, sqos: QOS, gqos: null });
    badQos[PREAMBLE_SIZE] = 0xff;
    assert.equal(violation(new HelloDecoder({ maxCallerData: 100 }).feed(badQos)).code, 'WSAECONNABORTED');
  });
});

describe('framed wire protocol: verdict', () => {
  const verdicts: Verdict[] = [
    { accept: true, errno: 0, calleeData: null, qos: null },
    { accept: true, errno: 0, calleeData: Buffer.from('welcome'), qos: QOS },
    { accept: false, errno: 10061, calleeData: null, qos: null },
    { accept: false, errno: 10040, calleeData: null, qos: null },
  ];

  it('decodes at every split', () => {
    for (const v of verdicts) {
      const wire = encodeVerdict(v);
      for (let cut = 0; cut <= wire.length; cut++) {
        assert.deepEqual(
          done(feedSplit(new VerdictDecoder({ maxCalleeData: 100 }), wire, [cut])),
          v,
          `split at ${cut}`,
        );
      }
    }
  });

  it('never puts callee data or QOS in a rejection', () => {
    const wire = encodeVerdict({ accept: false, errno: 10061, calleeData: Buffer.from('x'), qos: QOS });
    assert.equal(wire.length, PREAMBLE_SIZE);
  });

  it('refuses callee data over the client limit, and inconsistent verdicts', () => {
    const big = encodeVerdict({ accept: true, errno: 0, calleeData: Buffer.alloc(11), qos: null });
    assert.equal(
      violation(new VerdictDecoder({ maxCalleeData: 10 }).feed(big.subarray(0, PREAMBLE_SIZE))).code,
      'WSAEMSGSIZE',
    );
    const rejectWithData = Buffer.from(encodeVerdict({ accept: false, errno: 10061, calleeData: null, qos: null }));
    rejectWithData[7] = 0x01;
    rejectWithData.writeUInt32BE(1, 12);
    assert.equal(violation(new VerdictDecoder({ maxCalleeData: 10 }).feed(rejectWithData)).code, 'WSAECONNABORTED');
    const rejectNoErrno = Buffer.from(encodeVerdict({ accept: false, errno: 10061, calleeData: null, qos: null }));
    rejectNoErrno.writeUInt32BE(0, 8);
    assert.equal(violation(new VerdictDecoder({ maxCalleeData: 10 }).feed(rejectNoErrno)).code, 'WSAECONNABORTED');
    const acceptWithErrno = Buffer.from(encodeVerdict({ accept: true, errno: 0, calleeData: null, qos: null }));
    acceptWithErrno.writeUInt32BE(10061, 8);
    assert.equal(violation(new VerdictDecoder({ maxCalleeData: 10 }).feed(acceptWithErrno)).code, 'WSAECONNABORTED');
    // A hello where a verdict belongs.
    assert.equal(
      violation(
        new VerdictDecoder({ maxCalleeData: 10 }).feed(
          encodeHello({ mode: 'stream', callerData: null, sqos: null, gqos: null }),
        ),
      ).code,
      'WSAECONNABORTED',
    );
  });
});

describe('framed wire protocol: frames', () => {
  const payloads = [Buffer.from('hello '), Buffer.alloc(0), Buffer.from('world'), Buffer.alloc(300, 0xab)];
  const wire = Buffer.concat([...payloads.map(dataFrame), encodeDisconnect(Buffer.from('total=42'))]);

  it('stream mode: the bytes arrive in order at every split, as views of the input', () => {
    for (let a = 0; a <= wire.length; a += 3) {
      for (let b = a; b <= wire.length; b += 7) {
        const sink = new Collector();
        const d = new FrameDecoder({ mode: 'stream', maxDisconnectData: 100 });
        decodeAll(d, sink, wire, [a, b]);
        assert.equal(d.violation, null);
        assert.equal(
          Buffer.concat(sink.data).toString('latin1'),
          Buffer.concat(payloads).toString('latin1'),
          `cuts ${a},${b}`,
        );
        assert.deepEqual(sink.disconnects, [Buffer.from('total=42')]);
        assert.equal(d.disconnected, true);
        assert.equal(d.atBoundary, true);
      }
    }
    // Zero copy: a payload inside one chunk is delivered as a view of that chunk.
    const views: Buffer[] = [];
    const chunk = dataFrame(Buffer.from('abc'));
    new FrameDecoder({ mode: 'stream', maxDisconnectData: 0 }).decode(chunk, 0, {
      onFrameData: (p) => (views.push(p), true),
      onFrameDisconnect: () => {},
    });
    assert.equal(views[0]?.buffer, chunk.buffer);
  });

  it('message mode: boundaries (and empty messages) are kept at every split', () => {
    for (let a = 0; a <= wire.length; a++) {
      const sink = new Collector();
      const d = new FrameDecoder({ mode: 'message', maxDisconnectData: 100 });
      decodeAll(d, sink, wire, [a]);
      assert.deepEqual(sink.data, payloads, `cut at ${a}`);
      assert.deepEqual(sink.disconnects, [Buffer.from('total=42')]);
    }
  });

  it('an empty disconnect frame means no disconnect data (null)', () => {
    const sink = new Collector();
    const d = new FrameDecoder({ mode: 'stream', maxDisconnectData: 100 });
    d.decode(encodeDisconnect(null), 0, sink);
    d.decode(Buffer.alloc(0), 0, sink);
    assert.deepEqual(sink.disconnects, [null]);
    assert.deepEqual(encodeDisconnect(Buffer.alloc(0)), encodeDisconnect(null));
  });

  it('stops where the sink says it is full and resumes there', () => {
    const sink = new Collector();
    sink.stopAfter = 1;
    const d = new FrameDecoder({ mode: 'message', maxDisconnectData: 100 });
    const stop = d.decode(wire, 0, sink);
    assert.equal(stop, 5 + 6);
    assert.equal(sink.data.length, 1);
    sink.stopAfter = Infinity;
    assert.equal(d.decode(wire, stop, sink), wire.length);
    assert.deepEqual(sink.data, payloads);
  });

  it('knows when the peer would truncate a frame', () => {
    const d = new FrameDecoder({ mode: 'stream', maxDisconnectData: 100 });
    const sink = new Collector();
    assert.equal(d.atBoundary, true);
    d.decode(wire.subarray(0, 3), 0, sink);
    assert.equal(d.atBoundary, false);
    d.decode(wire.subarray(3, 8), 0, sink);
    assert.equal(d.atBoundary, false);
    d.decode(wire.subarray(8, 11), 0, sink);
    assert.equal(d.atBoundary, true);
  });

  it('refuses bytes after the disconnect frame', () => {
    const d = new FrameDecoder({ mode: 'stream', maxDisconnectData: 100 });
    const sink = new Collector();
    d.decode(Buffer.concat([encodeDisconnect(Buffer.from('bye')), Buffer.from([FRAME_DATA])]), 0, sink);
    assert.equal(d.violation?.code, 'WSAECONNABORTED');
    assert.deepEqual(sink.disconnects, [Buffer.from('bye')]);
  });

  it('refuses oversized and unknown frames from the header alone', () => {
    const cases: [Buffer, string, FrameDecoder][] = [
      [
        encodeFrameHeader(FRAME_DISCONNECT, 101),
        'WSAEMSGSIZE',
        new FrameDecoder({ mode: 'stream', maxDisconnectData: 100 }),
      ],
      [
        encodeFrameHeader(FRAME_DATA, MAX_FRAME_PAYLOAD + 1),
        'WSAEMSGSIZE',
        new FrameDecoder({ mode: 'message', maxDisconnectData: 100 }),
      ],
      [
        encodeFrameHeader(FRAME_DATA, 0xffff_ffff),
        'WSAEMSGSIZE',
        new FrameDecoder({ mode: 'stream', maxDisconnectData: 100 }),
      ],
      [
        encodeFrameHeader(FRAME_DATA, 11),
        'WSAEMSGSIZE',
        new FrameDecoder({ mode: 'stream', maxDisconnectData: 100, maxFramePayload: 10 }),
      ],
      [encodeFrameHeader(0x00, 1), 'WSAECONNABORTED', new FrameDecoder({ mode: 'stream', maxDisconnectData: 100 })],
    ];
    for (const [bytes, code, d] of cases) {
      const sink = new Collector();
      assert.equal(d.decode(bytes, 0, sink), bytes.length);
      assert.equal(d.violation?.code, code);
      assert.deepEqual(sink.data, []);
      // Nothing more is decoded once a violation happened.
      d.decode(dataFrame(Buffer.from('x')), 0, sink);
      assert.deepEqual(sink.data, []);
    }
    // The exact maximum is fine.
    const ok = new FrameDecoder({ mode: 'stream', maxDisconnectData: 100, maxFramePayload: 10 });
    ok.decode(dataFrame(Buffer.alloc(10)), 0, new Collector());
    assert.equal(ok.violation, null);
  });

  it('survives random bytes and mutated frames without throwing (deterministic seed)', () => {
    const rand = prng(0x5eed);
    for (let round = 0; round < 1000; round++) {
      const useWire = rand() < 0.5;
      const input = useWire ? Buffer.from(wire) : Buffer.alloc(1 + Math.floor(rand() * 64));
      if (useWire) {
        for (let m = 0; m < 3; m++) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256);
      } else {
        for (let i = 0; i < input.length; i++) input[i] = Math.floor(rand() * 256);
      }
      const cuts = [Math.floor(rand() * input.length), Math.floor(rand() * input.length)].sort((x, y) => x - y);
      const mode = rand() < 0.5 ? 'stream' : 'message';
      decodeAll(new FrameDecoder({ mode, maxDisconnectData: 100 }), new Collector(), input, cuts);
      feedSplit(new HelloDecoder({ maxCallerData: 100 }), input, cuts);
      feedSplit(new VerdictDecoder({ maxCalleeData: 100 }), input, cuts);
      const hello = encodeHello({ mode, callerData: Buffer.from('x'), sqos: QOS, gqos: null });
      hello[Math.floor(rand() * hello.length)] ^= 1 + Math.floor(rand() * 255);
      // A mutated length may ask for more bytes; what matters is no throw and no unbounded wait for memory.
      feedSplit(new HelloDecoder({ maxCallerData: 100 }), hello, cuts);
    }
  });
});
