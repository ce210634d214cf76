/**
 * lib/native/write-split.ts: writes above one WSASend's limit (WSABUF
 * lengths are 32-bit) become several native writes of views, in order.
 * Pure: runs on every platform. (A real 4 GiB write is not run here.)
 */
import { strict as assert } from 'node:assert';
import { MAX_NATIVE_WRITE, splitWrite } from '../lib/native/write-split';

describe('native write splitting (WSABUF lengths are 32-bit)', function () {
  it('keeps a write within the limit as it is (the same Buffers)', function () {
    const a = Buffer.from('abc');
    const b = Buffer.from('de');
    const writes = splitWrite([a, b], 5);
    assert.equal(writes.length, 1);
    assert.equal(writes[0][0], a);
    assert.equal(writes[0][1], b);
  });

  it('splits at the limit across and inside Buffers, without copying, in order', function () {
    const a = Buffer.from('abcdefg');
    const b = Buffer.from('hij');
    const writes = splitWrite([a, b], 4);
    assert.deepEqual(
      writes.map((w) => Buffer.concat(w).toString()),
      ['abcd', 'efgh', 'ij'],
    );
    for (const w of writes) assert.ok(w.reduce((n, c) => n + c.length, 0) <= 4);
    assert.equal(writes[0][0].buffer, a.buffer, "a view of the caller's memory");
  });

  it('keeps an empty write one (empty) write and refuses a nonsense limit', function () {
    assert.deepEqual(splitWrite([]), [[]]);
    assert.deepEqual(splitWrite([Buffer.alloc(0)]), [[]]);
    assert.throws(() => splitWrite([Buffer.from('x')], 0), RangeError);
  });

  it('limits one native write to 1 GiB, below the 32-bit WSABUF length', function () {
    assert.equal(MAX_NATIVE_WRITE, 2 ** 30);
  });
});
