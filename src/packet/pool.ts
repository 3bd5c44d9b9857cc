/**
 * The frame pool: one large buffer cut into fixed slots, with a free list in a typed
 * array, so that frames cost no ArrayBuffer allocation on the hot path (DESIGN.md,
 * Memory). Allocation and release are O(1). A SharedArrayBuffer backs the pool when it
 * must be seen by other shards; a frame always returns to the shard that owns its pool.
 *
 * The pool counts what a test or an operator needs to see leaks and misuse: frames in
 * use, allocations refused because the pool was empty, and releases of a slot that was
 * not in use (a double release), which are refused rather than corrupting the list.
 *
 * A receive pool keeps a `reserve`: the frames its device needs to refill its ring. When
 * no more than that are free the pool is `low`, and the stack stops keeping its frames
 * (it copies what it must hold and lets the frames go), so the ring never starves.
 */

export interface FramePoolOptions {
  /** Bytes per slot: a whole frame plus headroom (default 2048, for 1500-byte MTU frames). */
  slotSize?: number;
  /** Number of slots (default 4096). */
  slots?: number;
  /** Back the pool with a SharedArrayBuffer (default false). */
  shared?: boolean;
}

export interface FramePoolCounters {
  slots: number;
  inUse: number;
  allocs: number;
  releases: number;
  exhausted: number;
  doubleReleases: number;
}

export class FramePool {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** The whole pool; slot `s` is `bytes[s * slotSize, (s + 1) * slotSize)`. */
  readonly bytes: Uint8Array;
  readonly slotSize: number;
  readonly slotCount: number;
  /** Frames kept for the device's ring refill: below them, `low` (set by the device that owns the pool). */
  reserve = 0;
  private readonly freeList: Int32Array;
  private readonly used: Uint8Array;
  private top: number;
  private allocs = 0;
  private releases = 0;
  private exhausted = 0;
  private doubleReleases = 0;

  constructor(options: FramePoolOptions = {}) {
    const slotSize = options.slotSize ?? 2048;
    const slots = options.slots ?? 4096;
    if (!Number.isInteger(slotSize) || slotSize < 64 || slotSize % 8 !== 0) {
      throw new RangeError(`slotSize must be a multiple of 8 and at least 64, got ${slotSize}`);
    }
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
    const size = slotSize * slots;
    this.buffer = options.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
    this.bytes = new Uint8Array(this.buffer);
    this.slotSize = slotSize;
    this.slotCount = slots;
    this.freeList = new Int32Array(slots);
    this.used = new Uint8Array(slots);
    // Hand out low slots first: they are the ones most likely to be in cache.
    for (let i = 0; i < slots; i++) this.freeList[i] = slots - 1 - i;
    this.top = slots;
  }

  /** Takes a free slot; -1 when the pool is empty (counted in `exhausted`). */
  alloc(): number {
    if (this.top === 0) {
      this.exhausted++;
      return -1;
    }
    const slot = this.freeList[--this.top]!;
    this.used[slot] = 1;
    this.allocs++;
    return slot;
  }

  /** Returns a slot; false (and counted) when it was not in use. */
  release(slot: number): boolean {
    if (!(slot >= 0 && slot < this.slotCount) || this.used[slot] === 0) {
      this.doubleReleases++;
      return false;
    }
    this.used[slot] = 0;
    this.freeList[this.top++] = slot;
    this.releases++;
    return true;
  }

  /** Byte offset of a slot within `bytes`. */
  offsetOf(slot: number): number {
    return slot * this.slotSize;
  }

  get inUse(): number {
    return this.slotCount - this.top;
  }

  get available(): number {
    return this.top;
  }

  /** No more than `reserve` frames are free: whoever holds frames of this pool should let them go. */
  get low(): boolean {
    return this.top <= this.reserve;
  }

  counters(): FramePoolCounters {
    return {
      slots: this.slotCount,
      inUse: this.inUse,
      allocs: this.allocs,
      releases: this.releases,
      exhausted: this.exhausted,
      doubleReleases: this.doubleReleases,
    };
  }
}
