/**
 * The SACK blocks a receiver reports (RFC 2018 §4): the block holding the segment that
 * arrived last comes first, then the older ones, a block the new one covers goes; before
 * each ACK the blocks at or below RCV.NXT are trimmed away. And one D-SACK block (RFC 2883
 * §4): a duplicate segment, reported first in the next ACK, once.
 *
 * The arrays are made at the first out-of-order segment (most connections never see
 * one); nothing is allocated after that. At most 4 blocks are kept: no more fit in the 40
 * bytes of options (3 with timestamps).
 */
import { writeU32 } from '../../wire/addr.js';
import { seqGt, seqLt } from '../../wire/seq.js';

const MAX_BLOCKS = 4;
const NONE = new Uint32Array(0);

export class SackReport {
  private left: Uint32Array = NONE;
  private right: Uint32Array = NONE;
  /** Blocks held, most recent first. */
  count = 0;
  /** A D-SACK block waits for the next ACK. */
  dsackPending = false;
  private dsackLeft = 0;
  private dsackRight = 0;

  /** Nothing to report. */
  get empty(): boolean {
    return this.count === 0 && !this.dsackPending;
  }

  /** [l, r) is the out-of-order range holding the segment that just arrived: it goes first. */
  noteBlock(l: number, r: number): void {
    if (this.left === NONE) {
      this.left = new Uint32Array(MAX_BLOCKS);
      this.right = new Uint32Array(MAX_BLOCKS);
    }
    const L = this.left;
    const R = this.right;
    // Keep the blocks [l, r) does not touch, in their order.
    let m = 0;
    for (let k = 0; k < this.count; k++) {
      if (seqLt(R[k]!, l) || seqGt(L[k]!, r)) {
        L[m] = L[k]!;
        R[m] = R[k]!;
        m++;
      }
    }
    if (m > MAX_BLOCKS - 1) m = MAX_BLOCKS - 1;
    for (let k = m; k > 0; k--) {
      L[k] = L[k - 1]!;
      R[k] = R[k - 1]!;
    }
    L[0] = l;
    R[0] = r;
    this.count = m + 1;
  }

  /** Forgets every block (out-of-order data was pruned: reporting it would be wrong; Linux's tcp_sack_reset). */
  forgetBlocks(): void {
    this.count = 0;
  }

  /** [l, r) arrived again: the next ACK says so in a D-SACK block (a later duplicate replaces it). */
  noteDuplicate(l: number, r: number): void {
    this.dsackLeft = l;
    this.dsackRight = r;
    this.dsackPending = true;
  }

  /**
   * Drops what RCV.NXT has passed (`outOfOrderEmpty`: nothing is held above it, so every
   * block goes) and trims a block it cuts; returns the blocks left.
   */
  prune(rcvNxt: number, outOfOrderEmpty: boolean): number {
    if (this.count === 0) return 0;
    if (outOfOrderEmpty) {
      this.count = 0;
      return 0;
    }
    const L = this.left;
    const R = this.right;
    let m = 0;
    for (let k = 0; k < this.count; k++) {
      if (seqGt(R[k]!, rcvNxt)) {
        L[m] = seqLt(L[k]!, rcvNxt) ? rcvNxt : L[k]!;
        R[m] = R[k]!;
        m++;
      }
    }
    this.count = m;
    return m;
  }

  /**
   * Writes the SACK option at `o` in `b` — NOP, NOP, kind 5, length, then the D-SACK
   * block when `dsack`, then the first `blocks` blocks — and returns the offset after it.
   * A D-SACK block written is reported: it will not be sent again.
   */
  write(b: Uint8Array, o: number, blocks: number, dsack: boolean): number {
    const n = blocks + (dsack ? 1 : 0);
    b[o] = 1;
    b[o + 1] = 1;
    b[o + 2] = 5;
    b[o + 3] = 2 + 8 * n;
    o += 4;
    if (dsack) {
      writeU32(b, o, this.dsackLeft);
      writeU32(b, o + 4, this.dsackRight);
      o += 8;
      this.dsackPending = false;
    }
    for (let k = 0; k < blocks; k++, o += 8) {
      writeU32(b, o, this.left[k]!);
      writeU32(b, o + 4, this.right[k]!);
    }
    return o;
  }
}
