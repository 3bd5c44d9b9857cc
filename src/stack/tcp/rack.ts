/**
 * RACK (RFC 8985 §6): loss detection by time, not by counting duplicate ACKs. A segment
 * is lost when one sent after it has been delivered and it has been out for longer
 * than the round trip of that one plus a reordering window. It finds losses that
 * DupThresh cannot: a frame lost when too little follows it to make three duplicate
 * ACKs, and holes on a path that reorders (where DupThresh has had to grow).
 *
 * Kept here for first transmissions only: each frame of new data sent is one record
 * (its end and send time, in a ring), so send order is sequence order and "sent
 * before" is "below". What was retransmitted is left to SACK recovery's NextSeg and to
 * the RTO (Linux also times retransmissions; not done here).
 *
 * The ring grows with the flight (one record per frame, equal send times merged) and
 * is emptied as SND.UNA passes; nothing is allocated once it has its size. It is kept in
 * plain number arrays, not typed arrays: most connections are short and never grow
 * past the first few records, and a typed array costs an ArrayBuffer each (measured on
 * a connection churn: 6% of the time went to making this ring's two typed arrays).
 */
import { seqGt, seqLeq, seqLt } from '../../wire/seq.js';

const FIRST_CAPACITY = 8;
/** More records than this are not kept (the newest frames then have no RACK timing). */
const MAX_RECORDS = 1 << 16;
/** RFC 8985 §6.2 step 4: the reordering window's multiplier is reset after this many recoveries. */
const REO_WND_PERSIST = 16;

export class Rack {
  /** Records [head, head + count) of a ring whose size is a power of two (or 0). */
  private ends: number[] = [];
  private sent: number[] = [];
  private head = 0;
  private count = 0;
  /** Where the oldest record begins. */
  private firstStart = 0;

  /**
   * RACK.xmit_ts / RACK.end_seq: the newest first transmission known delivered (-1:
   * none), and where that delivered range starts: bytes sent at the same time but below
   * it count as sent before it (RFC 8985 RACK_sent_after orders equal times by sequence).
   */
  private xmitTs = -1;
  private endSeq = 0;
  private xmitStart = 0;
  /** RACK.rtt: the round trip of that delivery (ms). */
  rtt = 0;
  /** RFC 8985 RACK.reordering_seen, RACK.reo_wnd_mult, RACK.reo_wnd_persist. */
  reorderingSeen = false;
  reoWndMult = 1;
  private reoWndPersist = REO_WND_PERSIST;
  /** After `detect`: when the next record becomes lost if nothing changes (ms), or -1. */
  deadline = -1;

  /** A frame of new data [start, end) left at `now` (frames come in sequence order, each starting where the last ended). */
  record(start: number, end: number, now: number): void {
    const n = this.count;
    if (n === 0) this.firstStart = start;
    else {
      const last = (this.head + n - 1) & (this.ends.length - 1);
      if (this.sent[last] === now) {
        this.ends[last] = end;
        return;
      }
    }
    if (n === this.ends.length && !this.grow()) {
      this.ends[(this.head + n - 1) & (this.ends.length - 1)] = end; // full: the last record takes it (keeps the ring contiguous)
      return;
    }
    const at = (this.head + n) & (this.ends.length - 1);
    this.ends[at] = end;
    this.sent[at] = now;
    this.count = n + 1;
  }

  /** SND.UNA is now `una`: records wholly below it go. */
  acked(una: number): void {
    const mask = this.ends.length - 1;
    while (this.count > 0 && seqLeq(this.ends[this.head]!, una)) {
      this.firstStart = this.ends[this.head]!;
      this.head = (this.head + 1) & mask;
      this.count--;
    }
  }

  /** After a timeout everything may go again: the records no longer tell what arrives. */
  reset(): void {
    this.count = 0;
    this.head = 0;
    this.xmitTs = -1;
  }

  /**
   * [start, end) was newly delivered (cumulatively or SACKed), and not retransmitted:
   * RACK.xmit_ts and RACK.rtt move to the record holding its end, when that is newer
   * (RFC 8985 §6.2 step 2).
   */
  delivered(start: number, end: number, now: number): void {
    const i = this.find((end - 1) >>> 0);
    if (i < 0) return;
    const t = this.sent[i]!;
    if (t > this.xmitTs || (t === this.xmitTs && seqGt(end, this.endSeq))) {
      this.xmitTs = t;
      this.endSeq = end;
      this.xmitStart = start;
      this.rtt = now - t;
    }
  }

  /**
   * RFC 8985 §6.2 step 5 for first transmissions: the sequence below which every byte
   * not delivered is lost (at least `una`), and `deadline` for the next check.
   */
  detect(una: number, now: number, reoWnd: number): number {
    this.deadline = -1;
    let lost = una;
    if (this.xmitTs < 0) return lost;
    const mask = this.ends.length - 1;
    const wait = this.rtt + reoWnd;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & mask;
      const t = this.sent[i]!;
      // Only what was sent before the delivered range: earlier records, and in its own
      // record (one send time) what lies below it.
      if (t > this.xmitTs) break;
      const own = t === this.xmitTs;
      let end = this.ends[i]!;
      if (own && seqLt(this.xmitStart, end)) end = this.xmitStart;
      if (seqGt(end, lost)) {
        const due = t + wait;
        if (due > now) {
          this.deadline = due;
          break;
        }
        lost = end;
      }
      if (own) break;
    }
    return seqGt(lost, una) ? lost : una;
  }

  /**
   * RFC 8985 §6.2 step 4: the reordering window. None once a loss is plain (in recovery,
   * or DupThresh segments SACKed) unless the path was seen to reorder; then a quarter of
   * the minimum RTT, times the multiplier, at most SRTT. `minRtt` and SRTT are floored at
   * 1 ms, the grain of the timestamps the RTT is measured with.
   */
  reoWnd(minRtt: number, srtt: number, plainLoss: boolean): number {
    if (!this.reorderingSeen && plainLoss) return 0;
    const w = ((minRtt > 1 ? minRtt : 1) / 4) * this.reoWndMult;
    const cap = srtt > 1 ? srtt : 1;
    return w < cap ? w : cap;
  }

  /** A recovery was spurious (the path reorders, RFC 8985 §6.2 step 4's DSACK rule). */
  spurious(): void {
    this.reorderingSeen = true;
    if (this.reoWndMult < 255) this.reoWndMult++;
    this.reoWndPersist = REO_WND_PERSIST;
  }

  /** A recovery ended; after REO_WND_PERSIST of them without reordering the window shrinks back. */
  recoveryEnded(): void {
    if (--this.reoWndPersist <= 0) {
      this.reoWndMult = 1;
      this.reoWndPersist = REO_WND_PERSIST;
    }
  }

  /** Is `seq` in a recorded first transmission? */
  holds(seq: number): boolean {
    return this.find(seq) >= 0;
  }

  /** The index of the record holding `seq`, or -1. */
  private find(seq: number): number {
    const mask = this.ends.length - 1;
    let lo = 0;
    let hi = this.count;
    // The first record whose end is above seq.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqGt(this.ends[(this.head + mid) & mask]!, seq)) hi = mid;
      else lo = mid + 1;
    }
    if (lo === this.count) return -1;
    // Below the first record: sent before recording began (before a reset).
    if (lo === 0 && seqLt(seq, this.firstStart)) return -1;
    return (this.head + lo) & mask;
  }

  private grow(): boolean {
    const cap = this.ends.length;
    if (cap >= MAX_RECORDS) return false;
    const next = cap === 0 ? FIRST_CAPACITY : cap * 2;
    const ends = new Array<number>(next).fill(0);
    const sent = new Array<number>(next).fill(0);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & (cap - 1);
      ends[k] = this.ends[i]!;
      sent[k] = this.sent[i]!;
    }
    this.ends = ends;
    this.sent = sent;
    this.head = 0;
    return true;
  }
}
