/**
 * The Internet checksum (RFC 1071): the one's-complement of the one's-complement
 * sum of 16-bit big-endian words, with incremental update (RFC 1624).
 *
 * `sum16` returns a *partial sum* folded to 16 bits (0..0xffff), never complemented,
 * so sums of separate pieces can be added with `addSums`. `ChecksumAccumulator`
 * adds pieces of odd length in a row, carrying the odd byte as RFC 1071 §2(B)
 * allows: a piece that starts at an odd position has its sum byte-swapped.
 *
 * Speed: bodies of 32 bytes or more are summed as little-endian 32-bit words through
 * a Uint32Array over the whole underlying buffer (cached, so no view is made per
 * call; the cache keeps at most four buffers alive); the folded result is byte-swapped back (RFC 1071 §2(B), byte-order
 * independence). Measured in bench/: several GB/s against ~1 GB/s bytewise.
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * 32-bit views over the last few buffers seen: frames come from a few pools (a
 * sender's and a receiver's, normal and large), so a handful of entries means a view is
 * made only when a new buffer shows up, not each time the checksummed buffer changes.
 */
const VIEW_CACHE = 4;
const viewBuffers: (ArrayBufferLike | null)[] = new Array<ArrayBufferLike | null>(VIEW_CACHE).fill(null);
const views: Uint32Array<ArrayBufferLike>[] = Array.from({ length: VIEW_CACHE }, () => new Uint32Array(0));
let nextView = 0;

function wordsOf(buffer: ArrayBufferLike): Uint32Array<ArrayBufferLike> {
  for (let i = 0; i < VIEW_CACHE; i++) if (viewBuffers[i] === buffer) return views[i]!;
  const i = nextView;
  nextView = (nextView + 1) % VIEW_CACHE;
  viewBuffers[i] = buffer;
  return (views[i] = new Uint32Array(buffer, 0, buffer.byteLength >>> 2));
}

/** Folds a non-negative sum (below 2^53) to 16 bits with end-around carry. */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/** Adds two folded partial sums. */
export function addSums(a: number, b: number): number {
  const s = a + b;
  return s > 0xffff ? s - 0xffff : s;
}

/** Bytes summed in one go: two accumulators of 2^21 words stay exact in a double. */
const MAX_RUN = 1 << 23;

/** The plain sum of 32-bit words [w, stop): a small function of its own, so V8 optimises the loop well. */
function sumWords(u32: Uint32Array<ArrayBufferLike>, w: number, stop: number): number {
  let s0 = 0;
  let s1 = 0;
  for (; w + 3 < stop; w += 4) {
    s0 += u32[w]! + u32[w + 2]!;
    s1 += u32[w + 1]! + u32[w + 3]!;
  }
  for (; w < stop; w++) s0 += u32[w]!;
  return s0 + s1;
}

/** The folded partial sum of `len` bytes of `b` from `off`, `off` counting as an even position. */
export function sum16(b: Uint8Array, off: number, len: number): number {
  if (len > MAX_RUN) {
    // MAX_RUN is even, so the second piece starts at an even position too.
    return addSums(sum16(b, off, MAX_RUN), sum16(b, off + MAX_RUN, len - MAX_RUN));
  }
  const end = off + len;
  let sum = 0;
  let i = off;
  if (len < 32 || !LITTLE_ENDIAN) {
    for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    if (i < end) sum += b[i]! << 8;
    return fold(sum);
  }
  // Leading bytes up to a 4-byte boundary of the underlying buffer.
  const lead = (4 - ((b.byteOffset + i) & 3)) & 3;
  for (let k = 0; k < lead; k++, i++) sum += (i - off) & 1 ? b[i]! : b[i]! << 8;
  // The aligned body, as little-endian 32-bit words, unrolled by four.
  const n = (end - i) >>> 2;
  const w = (b.byteOffset + i) >>> 2;
  const body = fold(sumWords(wordsOf(b.buffer), w, w + n));
  // A little-endian sum is the byte-swap of the big-endian one when the body starts at
  // an even position of the data; at an odd position the swaps cancel.
  sum += (i - off) & 1 ? body : swap16(body);
  i += n << 2;
  for (; i < end; i++) sum += (i - off) & 1 ? b[i]! : b[i]! << 8;
  return fold(sum);
}

/** The final checksum field value for a folded partial sum. */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/** The checksum of one contiguous block. */
export function checksum(b: Uint8Array, off = 0, len = b.length - off, initial = 0): number {
  return finish(addSums(initial, sum16(b, off, len)));
}

/** Partial sum of the IPv4 pseudo-header (RFC 9293 §3.1, RFC 768). */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return fold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length);
}

/**
 * Incremental update (RFC 1624 eqn. 3): HC' = ~(~HC + ~m + m'), for a 16-bit field
 * that changes from `oldValue` to `newValue` under checksum `hc`.
 */
export function updateChecksum16(hc: number, oldValue: number, newValue: number): number {
  return ~fold((~hc & 0xffff) + (~oldValue & 0xffff) + (newValue & 0xffff)) & 0xffff;
}

/** The same for a 32-bit field (an address), as two 16-bit words. */
export function updateChecksum32(hc: number, oldValue: number, newValue: number): number {
  return updateChecksum16(updateChecksum16(hc, oldValue >>> 16, newValue >>> 16), oldValue & 0xffff, newValue & 0xffff);
}

/** Sums data that arrives in pieces of any length (fragments of a packet). */
export class ChecksumAccumulator {
  private sum = 0;
  private odd = false;

  constructor(initial = 0) {
    this.sum = initial;
  }

  add(b: Uint8Array, off = 0, len = b.length - off): this {
    if (len <= 0) return this;
    const s = sum16(b, off, len);
    this.sum = addSums(this.sum, this.odd ? swap16(s) : s);
    if (len & 1) this.odd = !this.odd;
    return this;
  }

  /** Adds a folded partial sum as if its bytes stood at the current position (a pseudo-header goes first). */
  addSum(s: number): this {
    this.sum = addSums(this.sum, this.odd ? swap16(s) : s);
    return this;
  }

  partial(): number {
    return this.sum;
  }

  checksum(): number {
    return finish(this.sum);
  }
}
