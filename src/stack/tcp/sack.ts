/**
 * The sender's SACK scoreboard (RFC 2018, RFC 6675): the ranges of sequence space above
 * SND.UNA the peer reported holding, sorted and merged, bounded (beyond the bound the
 * highest ranges are forgotten, which is safe: a forgotten range only looks unSACKed).
 * Its arrays are made at the first SACK block (most connections never see one), and
 * nothing is allocated after that.
 *
 * Loss (RFC 6675 §4 IsLost): an unSACKed byte is lost when more than (DupThresh − 1)·SMSS
 * bytes, or DupThresh discontiguous ranges, above it are SACKed. DupThresh starts at 3
 * and the connection raises it when it finds the path reorders (undo.ts).
 * That property only grows going down, so one "lost boundary" splits the holes: every
 * unSACKed byte below it is lost, none above it (the boundary is always a range start).
 */
import { seqGeq, seqGt, seqLeq, seqLt, seqSub } from '../../wire/seq.js';

export const DUP_THRESH = 3;
export const SACK_MAX_RANGES = 64;
const NONE = new Uint32Array(0);

/** What `add` made of one block. */
export const SACK_BLOCK_OK = 0;
/** Entirely at or below SND.UNA (a D-SACK or an old report): ignored, not an error. */
export const SACK_BLOCK_OLD = 1;
/** Empty, inverted, or beyond SND.MAX: ignored and counted by the caller. */
export const SACK_BLOCK_BAD = 2;

export class SackScoreboard {
  private lo: Uint32Array = NONE;
  private hi: Uint32Array = NONE;
  /** Ranges held. */
  count = 0;
  /** Bytes in the ranges. */
  bytes = 0;
  /** RFC 6675 DupThresh, in segments. */
  dupThresh = DUP_THRESH;
  /** When `lostByTime`: every unSACKed byte below `timeLost` is lost too, found by time (RACK, rack.ts). */
  private timeLost = 0;
  private lostByTime = false;

  constructor(private readonly cap = SACK_MAX_RANGES) {}

  /** The end of the highest SACKed range (only meaningful when count > 0). */
  get highSacked(): number {
    return this.hi[this.count - 1]!;
  }

  clear(): void {
    this.count = 0;
    this.bytes = 0;
    this.lostByTime = false;
  }

  /** RACK found every unSACKed byte below `seq` lost (nothing when `seq` is at or below `una`). */
  setTimeLost(seq: number, una: number): void {
    this.lostByTime = seqGt(seq, una);
    this.timeLost = seq;
  }

  /** Adds the block [l, r) reported by the peer, validated against [una, max). */
  add(l: number, r: number, una: number, max: number): number {
    if (!seqLt(l, r) || seqGt(r, max) || seqSub(r, l) > 0x3fffffff) return SACK_BLOCK_BAD;
    if (seqLeq(r, una)) return SACK_BLOCK_OLD;
    if (seqLt(l, una)) l = una;
    if (this.lo === NONE) {
      this.lo = new Uint32Array(this.cap);
      this.hi = new Uint32Array(this.cap);
    }
    const lo = this.lo;
    const hi = this.hi;
    let n = this.count;
    // First range that ends at or after l (it may touch or overlap).
    let i = 0;
    while (i < n && seqLt(hi[i]!, l)) i++;
    // Ranges from i that start at or before r merge with [l, r).
    let j = i;
    let nl = l;
    let nr = r;
    let removed = 0;
    while (j < n && seqLeq(lo[j]!, r)) {
      if (seqLt(lo[j]!, nl)) nl = lo[j]!;
      if (seqGt(hi[j]!, nr)) nr = hi[j]!;
      removed += seqSub(hi[j]!, lo[j]!);
      j++;
    }
    const merged = j - i;
    if (merged === 0) {
      if (n === this.cap) {
        if (i === n) return SACK_BLOCK_OK; // above everything and no room: forget it
        // Forget the highest range to make room.
        n--;
        this.bytes -= seqSub(hi[n]!, lo[n]!);
        this.count = n;
      }
      for (let k = n; k > i; k--) {
        lo[k] = lo[k - 1]!;
        hi[k] = hi[k - 1]!;
      }
      lo[i] = nl;
      hi[i] = nr;
      this.count = n + 1;
    } else {
      lo[i] = nl;
      hi[i] = nr;
      if (merged > 1) {
        const shift = merged - 1;
        for (let k = i + 1; k + shift < n; k++) {
          lo[k] = lo[k + shift]!;
          hi[k] = hi[k + shift]!;
        }
        this.count = n - shift;
      }
    }
    this.bytes += seqSub(nr, nl) - removed;
    return SACK_BLOCK_OK;
  }

  /** SND.UNA moved to `una`: what lies below it goes. */
  advance(una: number): void {
    if (this.lostByTime && seqLeq(this.timeLost, una)) this.lostByTime = false;
    const lo = this.lo;
    const hi = this.hi;
    const n = this.count;
    let k = 0;
    while (k < n && seqLeq(hi[k]!, una)) {
      this.bytes -= seqSub(hi[k]!, lo[k]!);
      k++;
    }
    if (k > 0) {
      for (let m = k; m < n; m++) {
        lo[m - k] = lo[m]!;
        hi[m - k] = hi[m]!;
      }
      this.count = n - k;
    }
    if (this.count > 0 && seqLt(lo[0]!, una)) {
      this.bytes -= seqSub(una, lo[0]!);
      lo[0] = una;
    }
  }

  /** Is `seq` inside a SACKed range? Then `rangeEnd` is that range's end. */
  isSacked(seq: number): boolean {
    const lo = this.lo;
    const hi = this.hi;
    for (let k = 0; k < this.count; k++) {
      if (seqLt(seq, lo[k]!)) return false;
      if (seqLt(seq, hi[k]!)) {
        this.rangeEnd = hi[k]!;
        return true;
      }
    }
    return false;
  }

  rangeEnd = 0;

  /** The start of the first SACKed range at or above `seq`, or `limit` when none is below it. */
  nextSackedFrom(seq: number, limit: number): number {
    const lo = this.lo;
    for (let k = 0; k < this.count; k++) {
      if (seqGeq(lo[k]!, seq)) return seqLt(lo[k]!, limit) ? lo[k]! : limit;
    }
    return limit;
  }

  /** Every unSACKed byte below this is lost (RFC 6675 IsLost); `una` when none is. */
  lostBoundary(una: number, mss: number): number {
    const lo = this.lo;
    const hi = this.hi;
    let above = 0;
    const thresh = this.dupThresh;
    const need = (thresh - 1) * mss;
    const byTime = this.lostByTime && seqGt(this.timeLost, una) ? this.timeLost : una;
    for (let k = this.count - 1; k >= 0; k--) {
      above += seqSub(hi[k]!, lo[k]!);
      if (above > need || this.count - k >= thresh) return seqGt(byTime, lo[k]!) ? byTime : lo[k]!;
    }
    return byTime;
  }

  /** SACKed bytes below `x`. */
  sackedBelow(x: number): number {
    const lo = this.lo;
    const hi = this.hi;
    let n = 0;
    for (let k = 0; k < this.count; k++) {
      if (seqGeq(lo[k]!, x)) break;
      n += seqSub(seqLt(hi[k]!, x) ? hi[k]! : x, lo[k]!);
    }
    return n;
  }

  /**
   * RFC 6675 §4 SetPipe: bytes in flight, counting each unSACKed byte not lost once and
   * each retransmitted one (below `highRxt`) once more.
   */
  pipe(una: number, max: number, highRxt: number, mss: number): number {
    const outstanding = seqSub(max, una);
    if (outstanding <= 0) return 0;
    const unsacked = outstanding - this.bytes;
    const lb = this.lostBoundary(una, mss);
    const lost = seqSub(lb, una) - this.sackedBelow(lb);
    let rxt = 0;
    if (seqGt(highRxt, una)) {
      const h = seqLt(highRxt, max) ? highRxt : max;
      rxt = seqSub(h, una) - this.sackedBelow(h);
    }
    const p = unsacked - lost + rxt;
    return p > 0 ? p : 0;
  }

  /**
   * RFC 6675 NextSeg rule 1: the first unSACKed, lost byte at or above `from` (set
   * `holeEnd` to where its hole ends), or -1.
   */
  nextLost(from: number, una: number, mss: number): number {
    const lb = this.lostBoundary(una, mss);
    let s = seqLt(from, una) ? una : from;
    const lo = this.lo;
    const hi = this.hi;
    for (let k = 0; k < this.count; k++) {
      if (seqGeq(s, lb)) return -1;
      if (seqLt(s, lo[k]!)) {
        this.holeEnd = lo[k]!;
        return s;
      }
      if (seqLt(s, hi[k]!)) s = hi[k]!;
    }
    return -1;
  }

  holeEnd = 0;
}
