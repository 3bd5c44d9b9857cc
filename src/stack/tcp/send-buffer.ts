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
/**
 * What each block counts against the send-buffer limit beyond its bytes (as Linux
 * counts an skb's truesize): many small entries (a copy after every zero-copy send)
 * cannot hold memory far past the limit.
 */
export const BLOCK_OVERHEAD = 256;

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
  /** Bytes used in each block (a full block: its length; the last one: `tail`). */
  private used: number[] = [];
  /** The last block is the caller's (writeOwned): nothing is copied after its bytes. */
  private lastOwned = false;
  /** Offset of the first byte in blocks[0]. */
  private head = 0;
  /** Bytes used in the last block. */
  private tail = 0;
  /** Bytes held (unacknowledged, sent or not). */
  length = 0;

  constructor(private readonly pool: BlockPool) {}

  /** What the buffer counts against its limit: its bytes and an overhead per block. */
  get charge(): number {
    return this.length + this.blocks.length * BLOCK_OVERHEAD;
  }

  /** Copies `len` bytes of `src` from `off` in. The caller checks the limit (`charge`). */
  write(src: Uint8Array, off: number, len: number): void {
    while (len > 0) {
      const last = this.arrays.length - 1;
      let n = last < 0 || this.lastOwned ? 0 : this.arrays[last]!.length - this.tail;
      if (n === 0) {
        // A small write gets a small block (an empty buffer, or after a zero-copy entry).
        const size = len <= SMALL_BLOCK && (this.blocks.length === 0 || this.lastOwned) ? SMALL_BLOCK : LARGE_BLOCK;
        const bytes = this.pool.take(size);
        this.push(bytes, Packet.wrap(bytes, 0, bytes.length, new BlockOwner(this.pool, bytes)), 0, false);
        n = size;
      }
      if (n > len) n = len;
      const dst = this.arrays[this.arrays.length - 1]!;
      // Small writes (requests, responses) byte by byte: a subarray view costs more.
      if (n <= 64) for (let k = 0; k < n; k++) dst[this.tail + k] = src[off + k]!;
      else dst.set(src.subarray(off, off + n), this.tail);
      this.tail += n;
      this.used[this.used.length - 1] = this.tail;
      off += n;
      len -= n;
      this.length += n;
    }
  }

  /**
   * Takes `bytes` as they are (zero-copy send): they are sent from where they lie and
   * must not change until `owner` is released, which happens once they are
   * acknowledged and no segment holds them.
   */
  writeOwned(bytes: Uint8Array, owner: Owner): void {
    this.push(bytes, Packet.wrap(bytes, 0, bytes.length, owner), bytes.length, true);
    this.length += bytes.length;
  }

  private push(bytes: Uint8Array, block: Packet, used: number, owned: boolean): void {
    this.arrays.push(bytes);
    this.blocks.push(block);
    this.used.push(used);
    this.tail = used;
    this.lastOwned = owned;
  }

  /** A view of `len` bytes from `offset` (relative to the first held byte), appended to `p`. */
  appendTo(p: Packet, offset: number, len: number): void {
    let i = 0;
    let at = this.head + offset;
    while (at >= this.used[i]!) {
      at -= this.used[i]!;
      i++;
    }
    while (len > 0) {
      const room = this.used[i]! - at;
      const n = room < len ? room : len;
      p.appendShared(this.blocks[i]!, at, n);
      len -= n;
      at = 0;
      i++;
    }
  }

  /**
   * Drops `n` acknowledged bytes from the front. A small block of ours with room left
   * is kept when the buffer empties: later writes go after what it held (bytes a
   * segment view may still see are never overwritten), so request/response traffic
   * reuses one block.
   */
  consume(n: number): void {
    if (n > this.length) n = this.length;
    this.length -= n;
    this.head += n;
    while (this.blocks.length > 0) {
      const size = this.used[0]!;
      if (this.blocks.length > 1) {
        if (this.head < size) break;
        this.head -= size;
      } else {
        if (this.length > 0) break;
        if (!this.lastOwned && this.arrays[0]!.length === SMALL_BLOCK && this.tail < SMALL_BLOCK) break; // keep it (head === tail)
        this.head = 0;
        this.tail = 0;
        this.lastOwned = false;
      }
      this.blocks.shift()!.release();
      this.arrays.shift();
      this.used.shift();
    }
  }

  /** Releases everything (the connection is gone). */
  clear(): void {
    for (const b of this.blocks) b.release();
    this.blocks = [];
    this.arrays = [];
    this.used = [];
    this.head = this.tail = this.length = 0;
    this.lastOwned = false;
  }
}
