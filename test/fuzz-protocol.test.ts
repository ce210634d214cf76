/**
 * The wire protocol's property-based tests, short and deterministic (fixed
 * seeds): the same properties `npm run fuzz` runs for millions of frames
 * (test/fuzz/main.ts). A failure prints fast-check's counterexample and the
 * seed/path to replay it.
 */
import {
  everyBoundary,
  frameMaxLengths,
  framesGarbage,
  framesRoundTrip,
  handleGarbage,
  handleRoundTrip,
  handleWrites,
  helloRoundTrip,
  newStats,
  preambleGarbage,
  preambleMaxLengths,
  verdictRoundTrip,
} from './fuzz/protocol-properties';
import { listenerStateMachine } from './fuzz/listener-properties';

describe('wire protocol fuzz (framed, deterministic seed)', function () {
  const stats = newStats();
  const seed = 0x5eed;

  it('hello: any split decodes what was encoded and stops exactly at its end', function () {
    helloRoundTrip({ numRuns: 300, seed }, stats);
  });
  it('verdict: any split decodes what was encoded', function () {
    verdictRoundTrip({ numRuns: 300, seed }, stats);
  });
  it('hello: garbage and mutations never throw, fail at the first wrong byte, split-invariant', function () {
    preambleGarbage({ numRuns: 500, seed }, stats);
  });
  it('hello/verdict: length fields at their maximum are refused on the header, nothing allocated', function () {
    preambleMaxLengths();
  });
  it('frames: any split and back-pressure deliver every byte once, in order, boundaries and disconnect data kept', function () {
    framesRoundTrip({ numRuns: 400, seed }, stats);
  });
  it('frames: mutated and random streams never throw, same result in any split, bounded buffering', function () {
    framesGarbage({ numRuns: 400, seed }, stats);
  });
  it('frames: length fields at their maximum are refused at once; exactly at the limit is fine', function () {
    frameMaxLengths();
  });
  it('every split point of fixed hello and frame streams gives the same result', function () {
    everyBoundary(stats);
  });
  it('handle: valid streams reach the receiver exactly, under back-pressure, then onEnd with the disconnect data', async function () {
    await handleRoundTrip({ numRuns: 60, seed }, stats);
  });
  it('handle: garbage, truncation and vanishing peers end in exactly one WSAE* error, nothing after it', async function () {
    await handleGarbage({ numRuns: 80, seed }, stats);
  });
  it('handle: writes and sendDisconnect frame what was written', async function () {
    await handleWrites({ numRuns: 40, seed }, stats);
  });
  it('listener: any interleaving of hellos, garbage, FIN, resets, retries and close keeps the head-of-backlog rule, the bounds, one verdict per caller, and leaks nothing', async function () {
    await listenerStateMachine({ numRuns: 300, seed }, stats);
  });
});
