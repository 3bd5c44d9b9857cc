/**
 * A single-producer, single-consumer ring of fixed-size descriptors in shared memory:
 * how one shard hands frames (named by pool and slot) or other small records to
 * another. One thread writes, one reads; neither ever waits on a lock.
 *
 * - The producer writes descriptors at its private tail and publishes them once per
 *   bundle (`publish`: one atomic store of the tail), so the consumer sees a whole bundle
 *   at a time and the cache line holding the tail moves once per bundle, not per frame.
 * - The consumer reads from its head up to the published tail and hands the slots back
 *   once per batch (`release`: one atomic store of the head).
 * - Head and tail sit on cache lines of their own (64 bytes apart), so the two threads
 *   do not write to the same line.
 * - Full is full: `push` returns false and the producer decides (keep it queued, or drop
 *   and count). Nothing here grows.
 *
 * Waking a consumer that sleeps is the doorbell's job (doorbell.ts), not the ring's.
 * JavaScript's Atomics are sequentially consistent, which the publish/sleep handshake
 * relies on.
 */

/** Int32 indices of the header words, each on its own 64-byte line. */
const HEAD = 0;
const TAIL = 16;
const HEADER_WORDS = 32;

export interface RingLayout {
  /** Descriptors the ring holds (a power of two). */
  readonly capacity: number;
  /** Int32 words per descriptor. */
  readonly words: number;
}

/** A new ring's memory (a SharedArrayBuffer to cross threads, an ArrayBuffer for one thread). */
export function ringMemory(layout: RingLayout, shared = true): ArrayBuffer | SharedArrayBuffer {
  checkLayout(layout);
  const n = 4 * (HEADER_WORDS + layout.capacity * layout.words);
  return shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n);
}

function checkLayout(l: RingLayout): void {
  if (!Number.isInteger(l.capacity) || l.capacity < 2 || (l.capacity & (l.capacity - 1)) !== 0 || l.capacity > 1 << 24) {
    throw new RangeError(`ring capacity must be a power of two from 2 to 2^24, not ${l.capacity}`);
  }
  if (!Number.isInteger(l.words) || l.words < 1 || l.words > 16) throw new RangeError(`descriptor words must be 1 to 16, not ${l.words}`);
}

/** What both ends see of a ring's memory: the header words and the descriptor slots. */
abstract class RingEnd {
  protected readonly hdr: Int32Array;
  /** The descriptor words, after the header. */
  readonly slots: Int32Array;
  protected readonly mask: number;
  protected readonly words: number;

  constructor(
    memory: ArrayBuffer | SharedArrayBuffer,
    readonly layout: RingLayout,
  ) {
    checkLayout(layout);
    this.hdr = new Int32Array(memory, 0, HEADER_WORDS);
    this.slots = new Int32Array(memory, 4 * HEADER_WORDS, layout.capacity * layout.words);
    this.mask = layout.capacity - 1;
    this.words = layout.words;
  }
}

/** The producer's end. */
export class RingProducer extends RingEnd {
  /** Where the next descriptor goes (published or not). */
  private tail: number;
  /** The consumer's head as last read (refreshed only when the ring looks full). */
  private head: number;

  constructor(memory: ArrayBuffer | SharedArrayBuffer, layout: RingLayout) {
    super(memory, layout);
    this.tail = Atomics.load(this.hdr, TAIL);
    this.head = Atomics.load(this.hdr, HEAD);
  }

  /** Room for `n` more descriptors now. */
  hasRoom(n = 1): boolean {
    if (this.free() >= n) return true;
    this.head = Atomics.load(this.hdr, HEAD);
    return this.free() >= n;
  }

  private free(): number {
    return this.layout.capacity - ((this.tail - this.head) | 0);
  }

  /**
   * The word offset in `slots` of the next descriptor, to write in place, or -1 when the
   * ring is full. `commit()` then counts it; nothing is visible to the consumer before
   * `publish()`.
   */
  reserve(): number {
    if (!this.hasRoom(1)) return -1;
    return (this.tail & this.mask) * this.words;
  }

  /** Counts the descriptor written at the offset `reserve` gave. */
  commit(): void {
    this.tail = (this.tail + 1) | 0;
  }

  /** A descriptor of up to four words; false (nothing written) when the ring is full. */
  push(a: number, b = 0, c = 0, d = 0): boolean {
    const at = this.reserve();
    if (at < 0) return false;
    const s = this.slots;
    const w = this.words;
    s[at] = a;
    if (w > 1) s[at + 1] = b;
    if (w > 2) s[at + 2] = c;
    if (w > 3) s[at + 3] = d;
    this.tail = (this.tail + 1) | 0;
    return true;
  }

  /** Descriptors written and not yet published. */
  get unpublished(): number {
    return (this.tail - Atomics.load(this.hdr, TAIL)) | 0;
  }

  /** Makes everything written so far visible to the consumer (one atomic store). */
  publish(): void {
    Atomics.store(this.hdr, TAIL, this.tail);
  }
}

/** The consumer's end. */
export class RingConsumer extends RingEnd {
  /** The next descriptor to read. */
  private head: number;

  constructor(memory: ArrayBuffer | SharedArrayBuffer, layout: RingLayout) {
    super(memory, layout);
    this.head = Atomics.load(this.hdr, HEAD);
  }

  /** Descriptors published and not yet read. */
  get available(): number {
    return (Atomics.load(this.hdr, TAIL) - this.head) | 0;
  }

  /**
   * Reads up to `max` published descriptors: `fn` gets each one's word offset in `slots`
   * (valid only during the call), and `tag` as it was given (so one function can serve
   * many rings without a closure per call). The slots go back to the producer once, at
   * the end. Returns how many were read.
   */
  poll(max: number, fn: (slots: Int32Array, at: number, tag: number) => void, tag = 0): number {
    const tail = Atomics.load(this.hdr, TAIL);
    let n = (tail - this.head) | 0;
    if (n <= 0) return 0;
    if (n > max) n = max;
    const s = this.slots;
    const w = this.words;
    const mask = this.mask;
    const start = this.head;
    try {
      for (let i = 0; i < n; i++) {
        const h = this.head;
        // Past it before the call: a handler that throws does not get it again.
        this.head = (h + 1) | 0;
        fn(s, (h & mask) * w, tag);
      }
    } finally {
      if (this.head !== start) Atomics.store(this.hdr, HEAD, this.head);
    }
    return n;
  }
}
