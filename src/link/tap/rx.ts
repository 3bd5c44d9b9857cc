/**
 * The receive side of a TAP queue, as a NIC's RX ring: buffers are posted ahead (frames
 * of the queue's pools, their offsets in the receive control array), the addon reads
 * frames into them, and `collect` turns its records into packets, posting new buffers
 * for the ones taken.
 *
 * Each frame is read into a small buffer (MTU-sized) that continues, when the frame is
 * longer, into a large one (64 KB): the kernel hands over GSO frames of up to 64 KB
 * (TUN_F_TSO4), which arrive as one packet of two fragments and are marked reassembled
 * (LRO). A frame that finds no posted buffer is read and dropped, as a NIC drops when
 * its ring is empty: the fd never stays readable for want of memory.
 */

import { Packet } from '../../packet/packet.js';
import type { FramePool } from '../../packet/pool.js';
import type { QueueStats } from '../device.js';
import {
  RX_ERRNO, RX_HEADER_WORDS, RX_LARGE, RX_LARGE_USED, RX_NO_BUFFER, RX_REC_CSUM_OFFSET, RX_REC_CSUM_START, RX_REC_FLAGS,
  RX_REC_GSO_SIZE, RX_REC_GSO_TYPE, RX_REC_LEN, RX_REC_STATUS, RX_REC_WORDS, RX_SMALL, rxCtrlWords,
} from './layout.js';
import { applyRxHeader, VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM } from './vnet-header.js';

/** Room in front of a received frame: the vnet header (VNET_HDR_LEN) is read into its last 12 bytes. */
export const TAP_RX_HEADROOM = 64;

/** What a TAP queue's receive side counts beyond QueueStats. */
export interface TapRxCounters {
  /** GSO frames (the kernel's TSO super-frames, up to 64 KB) received whole. */
  rxGsoFrames: number;
  /** Frames with a partial checksum (NEEDS_CSUM) / a checksum the kernel verified (DATA_VALID). */
  rxCsumPartial: number;
  rxCsumValid: number;
  /** Frames dropped: no buffer was posted (the pool was empty) / longer than the buffers. */
  rxNoBuffer: number;
  rxTruncated: number;
  /** The last read error (errno), 0 for none. */
  rxErrno: number;
}

export function newTapRxCounters(): TapRxCounters {
  return { rxGsoFrames: 0, rxCsumPartial: 0, rxCsumValid: 0, rxNoBuffer: 0, rxTruncated: 0, rxErrno: 0 };
}

export class TapReceiver {
  readonly ctrl: Int32Array;
  /** Bytes of a frame that go into its small buffer / at most into its large one. */
  readonly smallCap: number;
  readonly largeCap: number;
  private readonly small: (Packet | null)[];
  private readonly large: (Packet | null)[];
  /** A small buffer could not be posted (the pool was empty): the next post looks at every slot. */
  private smallMissing = false;
  private largeMissing = false;

  constructor(
    readonly burst: number,
    readonly pool: FramePool,
    readonly largePool: FramePool | null,
    private readonly stats: QueueStats,
    readonly counters: TapRxCounters,
  ) {
    this.ctrl = new Int32Array(rxCtrlWords(burst));
    this.smallCap = pool.slotSize - TAP_RX_HEADROOM;
    this.largeCap = largePool?.slotSize ?? 0;
    this.small = new Array<Packet | null>(burst).fill(null);
    this.large = new Array<Packet | null>(burst).fill(null);
    this.post();
  }

  /**
   * Posts a buffer wherever one was taken (-1 where the pool is empty). Small buffers are
   * taken from the first: only [0, upTo) can be empty, and large ones only when some were
   * taken, unless a pool ran dry before.
   */
  post(upTo = this.burst, largeTaken = true): void {
    const ctrl = this.ctrl;
    const burst = this.burst;
    const small = this.smallMissing ? burst : upTo;
    this.smallMissing = false;
    for (let i = 0; i < small; i++) {
      if (this.small[i] === null) {
        const p = Packet.alloc(this.pool, TAP_RX_HEADROOM);
        this.small[i] = p;
        if (p === null) this.smallMissing = true;
        ctrl[RX_HEADER_WORDS + i] = p === null ? -1 : p.offs[0]!;
      }
    }
    const lp = this.largePool;
    if (lp === null) {
      for (let i = 0; i < burst; i++) ctrl[RX_HEADER_WORDS + burst + i] = -1;
      return;
    }
    if (!largeTaken && !this.largeMissing) return;
    this.largeMissing = false;
    for (let i = 0; i < burst; i++) {
      if (this.large[i] === null) {
        const p = Packet.alloc(lp, 0);
        this.large[i] = p;
        if (p === null) this.largeMissing = true;
        ctrl[RX_HEADER_WORDS + burst + i] = p === null ? -1 : p.offs[0]!;
      }
    }
  }

  /**
   * Before a read: posts buffers again where a pool had none (frames came back since).
   * Without it, a ring left with no buffer at all would only ever drop: collect() posts
   * after frames it took, and it takes none then.
   */
  refill(): void {
    if (this.smallMissing || this.largeMissing) this.post(0, false);
  }

  /** The errno of a read that failed in the last call (not EAGAIN), counted; 0 when none did. */
  readError(): number {
    const err = this.ctrl[RX_ERRNO]!;
    if (err !== 0) this.counters.rxErrno = err;
    return err;
  }

  /**
   * Turns the `n` records of the last read into packets in `out` (from index 0) and
   * posts new buffers; returns how many packets. Dropped frames are counted.
   */
  collect(n: number, out: Packet[]): number {
    const ctrl = this.ctrl;
    const c = this.counters;
    const s = this.stats;
    const recs = RX_HEADER_WORDS + 2 * this.burst;
    let large = 0;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const r = recs + i * RX_REC_WORDS;
      const status = ctrl[r + RX_REC_STATUS]!;
      const len = ctrl[r + RX_REC_LEN]!;
      if (status !== RX_SMALL && status !== RX_LARGE) {
        if (status === RX_NO_BUFFER) c.rxNoBuffer++;
        else c.rxTruncated++;
        s.rxDrops++;
        continue;
      }
      const p = this.small[i]!;
      this.small[i] = null;
      if (status === RX_SMALL) {
        p.append(len);
      } else {
        const rest = this.large[large]!;
        this.large[large++] = null;
        p.append(this.smallCap);
        rest.append(len - this.smallCap);
        p.appendPacket(rest);
      }
      const flags = ctrl[r + RX_REC_FLAGS]!;
      applyRxHeader(p, flags, ctrl[r + RX_REC_GSO_TYPE]!, ctrl[r + RX_REC_GSO_SIZE]!, ctrl[r + RX_REC_CSUM_START]!, ctrl[r + RX_REC_CSUM_OFFSET]!);
      if (p.gsoSize > 0) c.rxGsoFrames++;
      if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) c.rxCsumPartial++;
      else if ((flags & VIRTIO_NET_HDR_F_DATA_VALID) !== 0) c.rxCsumValid++;
      s.rxFrames++;
      s.rxBytes += len;
      out[k++] = p;
    }
    if (large !== ctrl[RX_LARGE_USED]) throw new Error(`TAP receive: ${ctrl[RX_LARGE_USED]} large buffers filled, ${large} in the records`);
    // The large buffers are taken in order from the first: move the rest up front.
    if (large > 0) {
      const l = this.large;
      let j = 0;
      for (let i = large; i < this.burst; i++) l[j++] = l[i]!;
      for (; j < this.burst; j++) l[j] = null;
      const base = RX_HEADER_WORDS + this.burst;
      for (let i = 0; i < this.burst; i++) ctrl[base + i] = l[i] === null ? -1 : l[i]!.offs[0]!;
    }
    if (k > 0 || large > 0) this.post(n, large > 0);
    return k;
  }

  /** Releases the posted buffers (the queue is closing). */
  clear(): void {
    for (let i = 0; i < this.burst; i++) {
      this.small[i]?.release();
      this.large[i]?.release();
      this.small[i] = null;
      this.large[i] = null;
    }
  }
}
