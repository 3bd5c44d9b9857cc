/**
 * Received data. In order: a queue of payload packets (received frames trimmed to their
 * payload, held without copying) that `read` copies out of (the one copy of the socket
 * API) and releases. Out of order: a sorted, bounded list of segments waiting for the
 * gap before them (RFC 9293 §3.10.7.4: "segments with higher beginning sequence numbers
 * may be held"); overlaps keep the bytes already held.
 *
 * Both charge what they hold by its truesize (`charge`, and the stack's ReceiveMemory),
 * and can `collapse`: copy runs of packets that waste their frames into compact memory
 * and let the frames go (Linux's tcp_collapse, tcp_collapse_ofo_queue). The out-of-order
 * queue can also be pruned from its far end (tcp_prune_ofo_queue).
 */
import { compactJoin, isWasteful, shrinksAlone } from '../../packet/compact.js';
import type { Packet } from '../../packet/packet.js';
import { seqGeq, seqGt, seqLeq, seqLt, seqSub } from '../../wire/seq.js';
import type { ReceiveMemory } from '../receive-memory.js';

/** The most one collapse copies into one compact packet (Linux collapses into page-sized pieces; bigger is fine here). */
const COLLAPSE_CHUNK = 64 * 1024;

export class InOrderQueue {
  /** Packets in q[headIdx, tailIdx); both go back to 0 whenever it empties, so a request/response flow reuses one slot. */
  private q: (Packet | null)[] = [];
  private headIdx = 0;
  private tailIdx = 0;
  /** Bytes held. */
  length = 0;
  /** Truesize of what is held. */
  charge = 0;

  constructor(private readonly mem: ReceiveMemory) {}

  /** Packets held. */
  get count(): number {
    return this.tailIdx - this.headIdx;
  }

  push(p: Packet): void {
    this.q[this.tailIdx++] = p;
    this.length += p.length;
    this.charge += p.truesize;
    this.mem.charged += p.truesize;
  }

  /** Takes the oldest packet out whole (zero-copy receive: the caller releases it), or null. */
  take(): Packet | null {
    if (this.headIdx === this.tailIdx) return null;
    const p = this.q[this.headIdx]!;
    this.q[this.headIdx++] = null;
    this.length -= p.length;
    this.charge -= p.truesize;
    this.mem.charged -= p.truesize;
    if (this.headIdx === this.tailIdx) this.headIdx = this.tailIdx = 0;
    return p;
  }

  /**
   * Copies each run of packets that waste their frames into one compact packet (up to
   * COLLAPSE_CHUNK bytes each); returns how many packets were collapsed.
   */
  collapse(): number {
    const q = this.q;
    const tail = this.tailIdx;
    let w = this.headIdx;
    let collapsed = 0;
    let freed = 0;
    for (let i = this.headIdx; i < tail; ) {
      const p = q[i]!;
      if (!isWasteful(p)) {
        q[w++] = p;
        i++;
        continue;
      }
      let j = i;
      let len = 0;
      let truesize = 0;
      do {
        len += q[j]!.length;
        truesize += q[j]!.truesize;
        j++;
      } while (j < tail && isWasteful(q[j]!) && len + q[j]!.length <= COLLAPSE_CHUNK);
      if (j === i + 1 && !shrinksAlone(p)) {
        q[w++] = p; // already compact: a copy alone would gain nothing
        i = j;
        continue;
      }
      const c = compactJoin(q as Packet[], i, j, len);
      freed += truesize - c.truesize;
      q[w++] = c;
      collapsed += j - i;
      i = j;
    }
    for (let k = w; k < tail; k++) q[k] = null;
    this.tailIdx = w;
    this.charge -= freed;
    this.mem.charged -= freed;
    return collapsed;
  }

  /** Copies up to `max` bytes out (consuming them), or null when empty. */
  read(max: number): Uint8Array | null {
    if (this.length === 0) return null;
    const n = max < this.length ? max : this.length;
    const out = new Uint8Array(n);
    this.readInto(out, 0, n);
    return out;
  }

  /** Copies up to `max` bytes into `out` at `off` (consuming them); returns how many. */
  readInto(out: Uint8Array, off: number, max: number): number {
    const n = max < this.length ? max : this.length;
    if (n <= 0) return 0;
    let at = 0;
    while (at < n) {
      const p = this.q[this.headIdx]!;
      const take = Math.min(p.length, n - at);
      p.copyTo(out, off + at, 0, take);
      at += take;
      if (take === p.length) {
        this.charge -= p.truesize;
        this.mem.charged -= p.truesize;
        p.release();
        this.q[this.headIdx++] = null;
      } else {
        p.trimFront(take);
      }
    }
    this.length -= n;
    if (this.headIdx === this.tailIdx) {
      this.headIdx = this.tailIdx = 0;
    } else if (this.headIdx > 64 && this.headIdx * 2 > this.tailIdx) {
      // A long backlog read from the front: move what is left down.
      this.q.copyWithin(0, this.headIdx, this.tailIdx);
      this.q.fill(null, this.tailIdx - this.headIdx, this.tailIdx);
      this.tailIdx -= this.headIdx;
      this.headIdx = 0;
    }
    return n;
  }

  clear(): void {
    for (let i = this.headIdx; i < this.tailIdx; i++) this.q[i]?.release();
    this.q = [];
    this.headIdx = this.tailIdx = 0;
    this.length = 0;
    this.mem.charged -= this.charge;
    this.charge = 0;
  }
}

interface OooSegment {
  seq: number;
  end: number;
  p: Packet;
}

export const OOO_OK = 0;
export const OOO_FULL = 1;
export const OOO_DUPLICATE = 2;

export class OutOfOrderQueue {
  private segs: OooSegment[] = [];
  bytes = 0;
  /** Truesize of what is held. */
  charge = 0;
  /** The sequence number just after a FIN seen out of order, or -1. */
  finEnd = -1;

  constructor(
    private readonly maxSegments: number,
    private readonly maxBytes: number,
    private readonly mem: ReceiveMemory,
  ) {}

  get count(): number {
    return this.segs.length;
  }

  get empty(): boolean {
    return this.segs.length === 0;
  }

  /** Takes `p` (payload of [seq, seq+len)) or releases it; returns OOO_*. */
  insert(seq: number, p: Packet): number {
    let end = (seq + p.length) >>> 0;
    const segs = this.segs;
    // Skip segments that end before this one starts.
    let i = 0;
    while (i < segs.length && seqLeq(segs[i]!.end, seq)) i++;
    // Trim the front against the segment that overlaps it.
    if (i < segs.length && seqLeq(segs[i]!.seq, seq)) {
      const cut = seqSub(segs[i]!.end, seq);
      if (cut >= p.length) {
        p.release();
        return OOO_DUPLICATE;
      }
      p.trimFront(cut);
      seq = segs[i]!.end;
      i++;
    }
    // Drop held segments this one covers completely; trim its back against the next one.
    while (i < segs.length && seqGeq(end, segs[i]!.end) && seqGeq(segs[i]!.seq, seq)) {
      this.forget(segs[i]!.p);
      segs[i]!.p.release();
      segs.splice(i, 1);
    }
    if (i < segs.length && seqLt(segs[i]!.seq, end)) {
      p.trimBack(seqSub(end, segs[i]!.seq));
      end = segs[i]!.seq;
    }
    if (p.length === 0) {
      p.release();
      return OOO_DUPLICATE;
    }
    if (segs.length >= this.maxSegments || this.bytes + p.length > this.maxBytes) {
      p.release();
      return OOO_FULL;
    }
    segs.splice(i, 0, { seq, end, p });
    this.bytes += p.length;
    this.charge += p.truesize;
    this.mem.charged += p.truesize;
    return OOO_OK;
  }

  /** Takes a held packet's bytes and charge off the books (it leaves the queue). */
  private forget(p: Packet): void {
    this.bytes -= p.length;
    this.charge -= p.truesize;
    this.mem.charged -= p.truesize;
  }

  /**
   * Copies each run of adjacent segments (no gap between them) that waste their frames
   * into one compact segment; returns how many segments were collapsed.
   */
  collapse(): number {
    const segs = this.segs;
    let w = 0;
    let collapsed = 0;
    let freed = 0;
    const run: Packet[] = [];
    for (let i = 0; i < segs.length; ) {
      const s = segs[i]!;
      if (!isWasteful(s.p)) {
        segs[w++] = s;
        i++;
        continue;
      }
      let j = i;
      let len = 0;
      let truesize = 0;
      run.length = 0;
      do {
        run.push(segs[j]!.p);
        len += segs[j]!.p.length;
        truesize += segs[j]!.p.truesize;
        j++;
      } while (j < segs.length && segs[j]!.seq === segs[j - 1]!.end && isWasteful(segs[j]!.p) && len + segs[j]!.p.length <= COLLAPSE_CHUNK);
      if (j === i + 1 && !shrinksAlone(s.p)) {
        segs[w++] = s; // already compact: a copy alone would gain nothing
        i = j;
        continue;
      }
      const c = compactJoin(run, 0, run.length, len);
      freed += truesize - c.truesize;
      segs[w++] = { seq: s.seq, end: segs[j - 1]!.end, p: c };
      collapsed += j - i;
      i = j;
    }
    segs.length = w;
    this.charge -= freed;
    this.mem.charged -= freed;
    return collapsed;
  }

  /**
   * Drops the segment at the far end when it starts after `seq` (new data is not bought
   * with older data: tcp_prune_ofo_queue stops there too); false when there is none.
   */
  pruneLast(seq: number): boolean {
    const last = this.segs[this.segs.length - 1];
    if (last === undefined || !seqGt(last.seq, seq)) return false;
    this.segs.pop();
    this.forget(last.p);
    last.p.release();
    return true;
  }

  /**
   * Moves what has become in order at `rcvNxt` into `into`; returns the new rcvNxt.
   * Segments entirely before rcvNxt are dropped.
   */
  drain(rcvNxt: number, into: InOrderQueue): number {
    const segs = this.segs;
    let k = 0;
    while (k < segs.length && seqLeq(segs[k]!.seq, rcvNxt)) {
      const s = segs[k++]!;
      this.forget(s.p);
      if (seqGt(s.end, rcvNxt)) {
        s.p.trimFront(seqSub(rcvNxt, s.seq));
        rcvNxt = s.end;
        into.push(s.p);
      } else {
        s.p.release();
      }
    }
    if (k > 0) segs.splice(0, k);
    return rcvNxt;
  }

  /** Start and end of the contiguous run of held segments around `seq` (set by `rangeAround`). */
  rangeStart = 0;
  rangeEnd = 0;

  /**
   * Finds the contiguous run of held data that contains `seq` (a SACK block, RFC 2018
   * §4); false when `seq` is not held.
   */
  rangeAround(seq: number): boolean {
    const segs = this.segs;
    let i = 0;
    while (i < segs.length && seqLeq(segs[i]!.end, seq)) i++;
    if (i === segs.length || seqGt(segs[i]!.seq, seq)) return false;
    let a = i;
    while (a > 0 && segs[a - 1]!.end === segs[a]!.seq) a--;
    let b = i;
    while (b + 1 < segs.length && segs[b]!.end === segs[b + 1]!.seq) b++;
    this.rangeStart = segs[a]!.seq;
    this.rangeEnd = segs[b]!.end;
    return true;
  }

  clear(): void {
    for (const s of this.segs) s.p.release();
    this.segs = [];
    this.bytes = 0;
    this.mem.charged -= this.charge;
    this.charge = 0;
    this.finEnd = -1;
  }
}
