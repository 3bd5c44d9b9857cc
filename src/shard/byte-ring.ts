/**
 * A single-producer, single-consumer ring of bytes in shared memory, for payloads that
 * travel with mesh descriptors (rpc.ts): the producer copies a payload in and names it in
 * a descriptor (where it starts, how long); the consumer copies it out, in the order the
 * descriptors come, and hands the space back by moving its head. A payload never wraps:
 * one that does not fit before the end starts again at 0 (the consumer sees the jump).
 *
 * Positions are unsigned 32-bit counters (head and tail), the ring's size a power of two
 * of at most 2^30, so `tail - head` is the bytes in use. Only the head is shared (the
 * reader stores it, the writer loads it); the bytes are published by the descriptor (the
 * mesh's ring publishes with a sequentially consistent store after they are written).
 */

/** The head's Int32 index, on a cache line of its own (the writer keeps its tail to itself). */
const HEAD = 0;
const CONTROL_WORDS = 16;

/** Memory of one byte ring of `size` bytes (a power of two, 64 bytes to 1 GiB). */
export interface ByteRingMemory {
  readonly control: SharedArrayBuffer;
  readonly bytes: SharedArrayBuffer;
}

export function byteRingMemory(size: number): ByteRingMemory {
  if (!Number.isInteger(size) || size < 64 || size > 1 << 30 || (size & (size - 1)) !== 0) throw new RangeError(`a byte ring's size is a power of two from 64 to 2^30, not ${size}`);
  return { control: new SharedArrayBuffer(4 * CONTROL_WORDS), bytes: new SharedArrayBuffer(size) };
}

export class ByteRingWriter {
  private readonly control: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly mask: number;
  private tail = 0;

  constructor(memory: ByteRingMemory) {
    this.control = new Int32Array(memory.control);
    this.bytes = new Uint8Array(memory.bytes);
    this.mask = this.bytes.length - 1;
  }

  /** The largest payload the ring can ever take (half of it: a payload that must start again at 0 may need that much). */
  get maxPayload(): number {
    return this.bytes.length >>> 1;
  }

  /**
   * Copies `n` bytes (what `fill(dst, at)` writes at `dst[at..at+n)`) into the ring; the
   * offset it went to, or -1 when the ring has no room now (nothing written).
   */
  write(n: number, fill: (dst: Uint8Array, at: number) => void): number {
    const size = this.bytes.length;
    if (n > this.maxPayload) throw new RangeError(`a payload of ${n} bytes is more than this ring takes (${this.maxPayload})`);
    const head = Atomics.load(this.control, HEAD) >>> 0;
    let tail = this.tail;
    let at = tail & this.mask;
    // It does not fit before the end: skip to 0.
    const skip = at + n > size ? size - at : 0;
    if (((tail - head) >>> 0) + skip + n > size) return -1;
    tail = (tail + skip) >>> 0;
    at = tail & this.mask;
    fill(this.bytes, at);
    this.tail = (tail + n) >>> 0;
    return at;
  }
}

export class ByteRingReader {
  private readonly control: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly mask: number;
  private head = 0;

  constructor(memory: ByteRingMemory) {
    this.control = new Int32Array(memory.control);
    this.bytes = new Uint8Array(memory.bytes);
    this.mask = this.bytes.length - 1;
  }

  /** A copy of the payload at `at` of `n` bytes (the next one, in order); its space goes back to the writer. */
  read(at: number, n: number): Uint8Array {
    let head = this.head;
    // The writer started this payload again at 0: the bytes up to the end were skipped.
    if ((head & this.mask) !== at) head = (head + (this.bytes.length - (head & this.mask))) >>> 0;
    if ((head & this.mask) !== at || at + n > this.bytes.length) throw new RangeError(`a payload at ${at} (${n} bytes) is not the next one in the ring (head ${head & this.mask})`);
    const out = this.bytes.slice(at, at + n);
    this.head = (head + n) >>> 0;
    Atomics.store(this.control, HEAD, this.head | 0);
    return out;
  }
}
