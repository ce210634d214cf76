/**
 * Splits one write into native writes of at most `max` bytes each, by
 * viewing (not copying) the Buffers. The addon refuses a larger write: a
 * WSABUF's length is a 32-bit ULONG, so a Buffer of 4 GiB or more would be
 * truncated silently (native/common.h, kMaxWrite).
 */
export const MAX_NATIVE_WRITE = 1 << 30;

export function splitWrite(chunks: readonly Buffer[], max: number = MAX_NATIVE_WRITE): Buffer[][] {
  if (!(max >= 1)) throw new RangeError(`splitWrite: max must be >= 1 (got ${max})`);
  const writes: Buffer[][] = [];
  let current: Buffer[] = [];
  let size = 0;
  for (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(chunk.length - offset, max - size);
      current.push(offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take));
      offset += take;
      size += take;
      if (size === max) {
        writes.push(current);
        current = [];
        size = 0;
      }
    }
  }
  if (current.length > 0 || writes.length === 0) writes.push(current);
  return writes;
}
