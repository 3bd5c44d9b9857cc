/**
 * The send buffer: bytes the application wrote, from the oldest unacknowledged one on.
 * `write` copies into blocks (the one copy of the socket API); a segment's payload is
 * a shared view of the blocks (no copy at transmit); acknowledged bytes are dropped
 * from the front and a block goes back to its free list once no segment view holds it.
 *
 * Blocks come in two sizes so that 10,000 idle connections with a few bytes each do not
 * pin 64 KB apiece: a write into an empty buffer that fits a small block gets one.
 */
import { Packet } from '../../packet/packet.js';
import type { Owner } from '../../packet/owner.js';

export const SMALL_BLOCK = 4096;
export const LARGE_BLOCK = 65536;

/** Free blocks shared by the connections of one Tcp instance (bounded). */
export class BlockPool {
  private readonly small: Uint8Array[] = [];
  private readonly large: Uint8Array[] = [];
  /** Blocks handed out and not yet back (for leak checks). */
  outstanding = 0;

  constructor(
    private readonly maxSmall = 1024,
    private readonly maxLarge = 128,
  ) {}

  take(size: number): Uint8Array {
    this.outstanding++;
    if (size === SMALL_BLOCK) return this.small.pop() ?? new Uint8Array(SMALL_BLOCK);
    return this.large.pop() ?? new Uint8Array(LARGE_BLOCK);
  }

  put(b: Uint8Array): void {
    this.outstanding--;
    if (b.length === SMALL_BLOCK) {
      if (this.small.length < this.maxSmall) this.small.push(b);
    } else if (this.large.length < this.maxLarge) this.large.push(b);
  }
}

class BlockOwner implements Owner {
  constructor(
    private readonly pool: BlockPool,
    private readonly bytes: Uint8Array,
  ) {}

  release(): void {
    this.pool.put(this.bytes);
  }
}

export class SendBuffer {
  private blocks: Packet[] = [];
  private arrays: Uint8Array[] = [];
  /** Offset of the first byte in blocks[0]. */
  private head = 0;
  /** Bytes used in the last block. */
  private tail = 0;
  /** Bytes held (unacknowledged, sent or not). */
  length = 0;

  constructor(private readonly pool: BlockPool) {}

  /** Copies `len` bytes of `src` from `off` in. The caller checks the limit. */
  write(src: Uint8Array, off: number, len: number): void {
    while (len > 0) {
      let n = this.blocks.length === 0 ? 0 : this.arrays[this.arrays.length - 1]!.length - this.tail;
      if (n === 0) {
        const size = this.blocks.length === 0 && len <= SMALL_BLOCK ? SMALL_BLOCK : LARGE_BLOCK;
        const bytes = this.pool.take(size);
        this.arrays.push(bytes);
        this.blocks.push(Packet.wrap(bytes, 0, bytes.length, new BlockOwner(this.pool, bytes)));
        this.tail = 0;
        n = size;
      }
      if (n > len) n = len;
      const dst = this.arrays[this.arrays.length - 1]!;
      // Small writes (requests, responses) byte by byte: a subarray view costs more.
      if (n <= 64) for (let k = 0; k < n; k++) dst[this.tail + k] = src[off + k]!;
      else dst.set(src.subarray(off, off + n), this.tail);
      this.tail += n;
      off += n;
      len -= n;
      this.length += n;
    }
  }

  /** A view of `len` bytes from `offset` (relative to the first held byte), appended to `p`. */
  appendTo(p: Packet, offset: number, len: number): void {
    let i = 0;
    let at = this.head + offset;
    while (at >= this.arrays[i]!.length) {
      at -= this.arrays[i]!.length;
      i++;
    }
    while (len > 0) {
      const room = this.arrays[i]!.length - at;
      const n = room < len ? room : len;
      p.appendShared(this.blocks[i]!, at, n);
      len -= n;
      at = 0;
      i++;
    }
  }

  /**
   * Drops `n` acknowledged bytes from the front. A small block with room left is kept
   * when the buffer empties: later writes go after what it held (bytes a segment view
   * may still see are never overwritten), so request/response traffic reuses one block.
   */
  consume(n: number): void {
    if (n > this.length) n = this.length;
    this.length -= n;
    this.head += n;
    while (this.blocks.length > 0) {
      const size = this.arrays[0]!.length;
      if (this.blocks.length > 1) {
        if (this.head < size) break;
        this.head -= size;
      } else {
        if (this.length > 0) break;
        if (size === SMALL_BLOCK && this.tail < size) break; // keep it (head === tail)
        this.head = 0;
        this.tail = 0;
      }
      this.blocks.shift()!.release();
      this.arrays.shift();
    }
  }

  /** Releases everything (the connection is gone). */
  clear(): void {
    for (const b of this.blocks) b.release();
    this.blocks = [];
    this.arrays = [];
    this.head = this.tail = this.length = 0;
  }
}
