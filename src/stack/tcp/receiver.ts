/**
 * The receiving half of a connection (RFC 9293 §3.3.1's receive sequence space): RCV.NXT
 * and the right edge of the window we announced, the application's queue and the
 * out-of-order queue, the SACK blocks we report, receive-buffer autotuning, and what the
 * data it holds may cost (`admit`: Linux's tcp_try_rmem_schedule), and the ACKs owed to
 * what arrives outside the window or out of order (at once, or rate-limited). The
 * connection (connection.ts) decides what a segment means; this keeps the books of what
 * came in, and the sender (sender.ts) sends the ACKs it asks for.
 */
import { COMPACT_OVERHEAD, compactCopy, shrinksAlone } from '../../packet/compact.js';
import type { Packet } from '../../packet/packet.js';
import { seqAdd, seqGeq, seqLeq, seqLt, seqSub } from '../../wire/seq.js';
import { TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { CHALLENGE_ACK_INTERVAL_MS, PAWS_IDLE } from './limits.js';
import type { ReceiveMemory } from '../receive-memory.js';
import type { TcpCounters } from './counters.js';
import type { ResolvedTcpOptions } from './options.js';
import { ReceiveBufferTuner } from './rcv-autotune.js';
import { InOrderQueue, OOO_FULL, OutOfOrderQueue } from './recv-queue.js';
import type { SegmentInfo } from './segment.js';
import type { Timer, TimerSet } from '../../time/timers.js';
import { SackReport } from './sack-report.js';

/** RFC 9293 §3.7.1: the MSS to assume when the peer sends none. */
export const DEFAULT_MSS = 536;

/** The window scale that lets a receive buffer of `buffer` bytes be offered (RFC 7323 §2.3, at most 14). */
export function shiftFor(buffer: number): number {
  let s = 0;
  while (s < 14 && buffer >>> s > 65535) s++;
  return s;
}

export class Receiver {
  /** RCV.NXT. */
  rcvNxt = 0;
  /** Right edge of the window we last announced. */
  rcvAdv = 0;
  /** The shift of the windows we announce (0 until both ends agreed on window scaling). */
  rcvScale = 0;
  /** The shift we offer in our SYN or SYN-ACK: the one recvBufferMax needs. */
  readonly ourScale: number;
  /** The receive buffer now (recvBuffer, grown by autotuning up to rcvBufMax): the most the window offers. */
  rcvBuf: number;
  /** What autotuning may grow rcvBuf to (recvBufferMax; 64 KiB without window scaling). */
  rcvBufMax: number;
  readonly rcvTuner: ReceiveBufferTuner;
  /** No RTT sample above this (the RTO's limit). */
  private readonly maxRto: number;
  /** The MSS we announce. */
  readonly advMss: number;
  /** Largest segment seen from the peer (for "full-sized", RFC 1122 §4.2.3.2). */
  rcvMss = DEFAULT_MSS;
  /** Bytes received and not yet acknowledged (delayed ACK, RFC 9293 §3.8.6.3). */
  rcvUnacked = 0;
  /** Duplicate ACKs owed for out-of-order segments of this burst. */
  dupAcksOwed = 0;
  /** Received data in order, waiting for the application, and past a gap. */
  readonly rq: InOrderQueue;
  readonly ooo: OutOfOrderQueue;
  /** The SACK and D-SACK blocks we report (RFC 2018 §4, RFC 2883). */
  readonly sackReport = new SackReport();
  /** RFC 7323 TS.Recent: the timestamp we echo, and when it was set (ms, for the 24-day rule of §5.5). */
  tsRecent = 0;
  tsRecentAt = 0;
  /** RFC 7323 Last.ACK.sent: RCV.NXT in the last ACK we sent. */
  lastAckSent = 0;
  /** An ACK is owed now: the next segment carries it, or one goes alone (sender.ts). */
  ackPending = false;
  /** Or it may wait, up to the delayed-ACK time (RFC 9293 §3.8.6.3). */
  private readonly delackTimer: Timer;
  /** Both ends agreed on SACK: out-of-order data and duplicates are reported in blocks. */
  sackOk = false;
  /** Both ends agreed on timestamps: PAWS applies, TS.Recent is kept. */
  tsOk = false;
  /** When the last challenge ACK or ACK to an out-of-window segment went (one clock for both, as Linux's last_oow_ack_time). */
  lastOowAckAt = -Infinity;

  constructor(
    opts: ResolvedTcpOptions,
    advMss: number,
    private readonly mem: ReceiveMemory,
    private readonly counters: TcpCounters,
    private readonly timers: TimerSet,
    /** There is something to send (an ACK): the connection goes on the ready list (`fromUser`: outside a burst). */
    private readonly ready: (fromUser: boolean) => void,
  ) {
    this.delackTimer = timers.create(() => this.ackNow(true));
    this.rcvBuf = opts.recvBuffer;
    this.rcvBufMax = opts.recvBufferMax;
    this.ourScale = opts.windowScaling ? shiftFor(opts.recvBufferMax) : 0;
    this.advMss = advMss;
    this.rq = new InOrderQueue(mem);
    this.ooo = new OutOfOrderQueue(opts.oooMaxSegments, opts.oooMaxBytes > 0 ? opts.oooMaxBytes : opts.recvBufferMax, mem);
    this.rcvTuner = new ReceiveBufferTuner(advMss, opts.initialWindow * advMss);
    this.maxRto = opts.maxRto;
  }

  /** RCV.WND: from RCV.NXT to the edge we last announced. */
  get window(): number {
    const w = seqSub(this.rcvAdv, this.rcvNxt);
    return w < 0 ? 0 : w;
  }

  /** RFC 9293 §3.10.7.4's first check: does a segment of `segLen` at `seq` fall in the window? */
  acceptable(seq: number, segLen: number): boolean {
    const rcvNxt = this.rcvNxt;
    const wnd = this.window;
    if (segLen === 0) return wnd === 0 ? seq === rcvNxt : seqGeq(seq, rcvNxt) && seqLt(seq, seqAdd(rcvNxt, wnd));
    if (wnd === 0) return false;
    const right = seqAdd(rcvNxt, wnd);
    const end = seqAdd(seq, segLen - 1);
    return (seqGeq(seq, rcvNxt) && seqLt(seq, right)) || (seqGeq(end, rcvNxt) && seqLt(end, right));
  }

  /**
   * PAWS (RFC 7323 §5.3 R1), before the acceptability test: a segment whose TSval is
   * older than TS.Recent is dropped (`p` released; true), and answered: data at once (its
   * ACK may be what the sender waits for, as Linux), the rest at a limited rate.
   */
  pawsRejects(s: SegmentInfo, p: Packet, now: number): boolean {
    if (!this.tsOk || !s.tsPresent || s.flags & TCP_RST || !seqLt(s.tsVal, this.tsRecent)) return false;
    if (now - this.tsRecentAt > PAWS_IDLE) {
      // Idle for more than 24 days: TS.Recent is invalid (RFC 7323 §5.5).
      this.tsRecent = s.tsVal;
      this.tsRecentAt = now;
      return false;
    }
    if (p.length > 0) this.ackNow();
    else this.outOfWindowAck(now);
    p.release();
    this.counters.pawsDrops++;
    return true;
  }

  /**
   * An acceptable segment's timestamps: TS.Recent from one that covers Last.ACK.sent (RFC
   * 7323 §4.3), and for autotuning the receiver's RTT from full-sized data echoing our
   * TSval (`ours`: the sender's clock and the echo of the segment; Linux's
   * tcp_rcv_rtt_measure_ts).
   */
  timestampsArrive(s: SegmentInfo, p: Packet, now: number, ours: { readonly tsEcr: number; tsNow(now: number): number }): void {
    if (this.tsOk && s.tsPresent && seqLeq(s.seq, this.lastAckSent) && seqGeq(s.tsVal, this.tsRecent)) {
      this.tsRecent = s.tsVal;
      this.tsRecentAt = now;
    }
    const ecr = ours.tsEcr;
    if (p.length >= this.rcvMss && ecr > 0 && this.rcvBuf < this.rcvBufMax) this.rcvTuner.sampleRtt((ours.tsNow(now) - ecr) | 0, this.maxRto);
  }

  /**
   * Trims an acceptable segment (`s`, payload `p`) to the window: what lies before
   * RCV.NXT (reported as a D-SACK) and past the right edge. Returns its flags without a
   * SYN or FIN that was trimmed away.
   */
  trimToWindow(s: SegmentInfo, p: Packet): number {
    let flags = s.flags;
    let seq = s.seq;
    const rcvNxt = this.rcvNxt;
    if (seqLt(seq, rcvNxt)) {
      let d = seqSub(rcvNxt, seq);
      if (flags & TCP_SYN) {
        flags &= ~TCP_SYN;
        d--;
      }
      if (d > 0 && p.length > 0) this.duplicate(seqAdd(rcvNxt, -(d < p.length ? d : p.length)), rcvNxt);
      if (d >= p.length) {
        if (d > p.length) flags &= ~TCP_FIN;
        p.trimFront(p.length);
      } else {
        p.trimFront(d);
      }
      seq = rcvNxt;
    }
    const over = seqSub(seqAdd(seq, p.length), seqAdd(rcvNxt, this.window));
    if (over > 0) {
      p.trimBack(over);
      flags &= ~TCP_FIN;
    }
    return flags;
  }

  /** Data we already had, [l, r): with SACK, reported back as a D-SACK (RFC 2883), at once as a duplicate ACK would go. */
  duplicate(l: number, r: number): void {
    if (!this.sackOk) return;
    this.sackReport.noteDuplicate(l, r);
    this.counters.dsacksSent++;
    this.ackNow();
  }

  /**
   * Data `p` past a gap, at `seq`: held (RFC 9293 §3.10.7.4 allows it), reported in SACK
   * blocks, and answered at once: one duplicate ACK per segment, even when a burst brings
   * several (the sender counts them for fast retransmit). Its FIN (`fin`) waits with it.
   */
  outOfOrder(seq: number, p: Packet, fin: number): void {
    const end = seqAdd(seq, p.length);
    const q = this.admit(p, seq);
    const ooo = this.ooo;
    if (q !== null) {
      if (ooo.insert(seq, q) === OOO_FULL) this.counters.drops.oooQueueFull++;
      else if (fin) ooo.finEnd = seqAdd(end, 1);
    }
    if (this.sackOk && ooo.rangeAround(seq)) this.sackReport.noteBlock(ooo.rangeStart, ooo.rangeEnd);
    if (this.dupAcksOwed < 8) this.dupAcksOwed++;
    this.ackNow();
  }

  /**
   * A challenge ACK (RFC 5961 §3-4), at most one per CHALLENGE_ACK_INTERVAL_MS per
   * connection (§7 asks for a limit). A per-connection limit, as Linux has had since
   * CVE-2016-5696: a global counter lets an off-path attacker count challenge ACKs.
   */
  challengeAck(now: number): void {
    if (!this.oowAckMayGo(now)) this.counters.challengeAcksLimited++;
    else this.counters.challengeAcks++;
  }

  /**
   * The ACK owed to a segment outside the window, at most one per 500 ms (Linux's
   * tcp_invalid_ratelimit, on the clock challenge ACKs use): a flood of them must not be
   * answered segment for segment, and two ends that disagree must not trade ACKs forever.
   */
  outOfWindowAck(now: number): void {
    if (!this.oowAckMayGo(now)) this.counters.outOfWindowAcksLimited++;
  }

  /** Both limits on one clock: an ACK goes now (and the clock restarts), or false within the interval. */
  private oowAckMayGo(now: number): boolean {
    if (now - this.lastOowAckAt < CHALLENGE_ACK_INTERVAL_MS) return false;
    this.lastOowAckAt = now;
    this.ackNow();
    return true;
  }

  /** What the data held costs (truesize: frames by their slots), in and out of order. */
  get charge(): number {
    return this.rq.charge + this.ooo.charge;
  }

  /** What it may cost (twice the receive buffer, as Linux doubles SO_RCVBUF); past it, data is collapsed, pruned, dropped. */
  get budget(): number {
    return 2 * this.rcvBuf;
  }

  /**
   * What the window may offer beyond RCV.NXT: the receive buffer less what waits to be
   * read, and no more than the receive budget left (twice the buffer, as Linux doubles
   * SO_RCVBUF for overhead) holds at two bytes of memory for each byte of data (Linux's
   * default scaling ratio). So the window stays what can be held at its real cost; data
   * that costs more than that is collapsed (admit).
   */
  freeSpace(): number {
    const byBuffer = this.rcvBuf - this.rq.length;
    const byMemory = Math.floor((this.budget - this.charge) / 2);
    return byBuffer < byMemory ? byBuffer : byMemory;
  }

  /** The window field for the next segment; moves the announced edge. */
  selectWindow(): number {
    const s = this.rcvScale;
    const cur = seqSub(this.rcvAdv, this.rcvNxt);
    let wnd = this.freeSpace();
    if (wnd < 0) wnd = 0;
    // Receiver SWS avoidance: move the right edge only by a meaningful amount.
    if (wnd > cur && wnd - cur < Math.min(this.rcvBuf >>> 1, this.advMss)) wnd = cur;
    if (wnd < cur) wnd = cur; // never shrink
    const max = 65535 << s; // s ≤ 14: below 2^31
    if (wnd > max) wnd = max;
    let field = wnd >>> s;
    if (field << s < cur) field++;
    if (field > 65535) field = 65535;
    this.rcvAdv = seqAdd(this.rcvNxt, field << s);
    return field;
  }

  /** After a read: the window opened meaningfully (RFC 9293 §3.8.6.2.2), so a window update is worth sending. */
  windowUpdateDue(): boolean {
    const cur = seqSub(this.rcvAdv, this.rcvNxt);
    const threshold = Math.min(this.rcvBuf >>> 1, this.advMss);
    return this.freeSpace() - cur >= threshold && cur <= this.rcvBuf >>> 1;
  }

  /** An ACK must go at once. */
  ackNow(fromUser = false): void {
    this.ackPending = true;
    this.ready(fromUser);
  }

  /** An ACK went (any segment with the ACK flag): it acknowledged everything up to RCV.NXT. */
  ackSent(): void {
    this.lastAckSent = this.rcvNxt;
    this.rcvUnacked = 0;
    this.ackPending = false;
    if (this.delackTimer.armed) this.timers.cancel(this.delackTimer);
  }

  /** The ACK that goes now was delayed and its time ran out (for the delayedAcks count). */
  get delayedAckDue(): boolean {
    return this.rcvUnacked > 0 && !this.delackTimer.armed;
  }

  /** No more ACKs: the connection closes or hands over to TIME_WAIT (which may still send the one owed). */
  stopAcks(): void {
    this.timers.cancel(this.delackTimer);
  }

  /**
   * The next data, `p` (at RCV.NXT; `fin`: its FIN), to the application's queue, and what
   * it makes in order from the out-of-order queue; then an ACK at once when a gap filled,
   * else at least for every second full-sized segment (RFC 9293 §3.8.6.3; `delayedAck`:
   * how long one may wait, 0 for never). Returns the FIN to process now (`fin`, or one
   * held past the gap), or -1 when there was no memory for `p` (dropped: the peer sends
   * it again, and our ACK says where we are).
   */
  inOrder(p: Packet, fin: number, now: number, delayedAck: number): number {
    const n = p.length;
    if (n > this.rcvMss) this.rcvMss = n > this.advMss ? this.advMss : n;
    const q = this.admit(p, this.rcvNxt);
    if (q === null) {
      this.ackNow();
      return -1;
    }
    this.counters.bytesIn += n;
    this.rcvNxt = seqAdd(this.rcvNxt, n);
    this.rq.push(q);
    const ooo = this.ooo;
    if (!ooo.empty) {
      this.rcvNxt = ooo.drain(this.rcvNxt, this.rq);
      if (ooo.finEnd >= 0 && seqAdd(this.rcvNxt, 1) === ooo.finEnd) fin = TCP_FIN;
      if (ooo.empty) ooo.finEnd = -1;
      this.ackNow(); // filled a gap
    } else {
      this.rcvUnacked += n;
      if (delayedAck === 0 || this.rcvUnacked >= 2 * this.rcvMss) this.ackNow();
      else if (!this.ackPending && !this.delackTimer.armed) this.timers.arm(this.delackTimer, now + delayedAck);
    }
    return fin;
  }

  /**
   * How many SACK blocks (and whether the D-SACK block) the next ACK carries, packed as
   * blocks << 1 | dsack: what the 40 bytes of options leave beside `optLen`, and no more
   * than keeps a segment of `seg` payload bytes within the negotiated MSS `mssLimit`.
   */
  sackBlocksFor(optLen: number, seg: number, mssLimit: number): number {
    const report = this.sackReport;
    let sackN = report.prune(this.rcvNxt, this.ooo.empty);
    let ds = report.dsackPending ? 1 : 0;
    const fit = (36 - optLen) >>> 3; // 40 bytes minus the 4 of NOP, NOP, kind, length
    if (sackN + ds > fit) sackN = fit - ds;
    if (seg > 0) {
      // Every segment (of a super-frame too) must stay within the negotiated MSS.
      while (sackN > 0 && optLen + 4 + 8 * (sackN + ds) + seg > mssLimit) sackN--;
      if (ds > 0 && optLen + 12 + seg > mssLimit) ds = 0;
    }
    return (sackN << 1) | ds;
  }

  /** Receive-buffer autotuning (rcv-autotune.ts) after the application read, unless the stack is short of memory. */
  tune(bytesRead: number, now: number, srtt: number): void {
    // No growing while the stack is short of receive memory (as Linux under tcp_memory_pressure).
    if (this.rcvBuf >= this.rcvBufMax || this.mem.pressure) return;
    const grown = this.rcvTuner.adjust(this.rcvBuf, this.rcvBufMax, bytesRead, now, srtt);
    if (grown > this.rcvBuf) {
      this.rcvBuf = grown;
      this.counters.rcvBufGrown++;
    }
  }

  /**
   * Makes room for `p` (payload about to be queued at `seq`) within this connection's
   * receive budget and the stack's limit, as Linux's tcp_try_rmem_schedule and
   * tcp_prune_queue: under memory pressure `p` is copied out of its frame, and held data
   * that wastes its frames is collapsed; over budget, that collapse, then the
   * out-of-order data past `seq` is pruned from its far end, then `p` itself is copied
   * when that makes it smaller; only then is `p` dropped
   * (the peer sends it again). A connection that holds nothing always takes it (or it
   * could never make progress), so no charge exceeds the budget by more than a packet.
   * Returns what to queue (`p` or its compact copy), or null: dropped, released, counted.
   */
  admit(p: Packet, seq: number): Packet | null {
    const mem = this.mem;
    const counters = this.counters;
    const rq = this.rq;
    const ooo = this.ooo;
    if (mem.pressure) {
      if (shrinksAlone(p)) {
        p = compactCopy(p);
        counters.pressureCopies++;
      }
      if (this.charge > 2 * (rq.length + ooo.bytes) + (rq.count + ooo.count) * COMPACT_OVERHEAD) this.collapse();
    }
    const budget = this.budget;
    const size = p.truesize;
    if (this.charge + size <= budget && !mem.wouldExceed(size)) return p;
    this.collapse();
    let pruned = 0;
    while ((this.charge + size > budget || mem.wouldExceed(size)) && ooo.pruneLast(seq)) pruned++;
    if (pruned > 0) {
      counters.oooPruned += pruned;
      // What was SACKed may be gone (reneging, RFC 2018 §8): report nothing until it comes again.
      this.sackReport.forgetBlocks();
    }
    // Still over: `p` itself may be what wastes memory (a few KB in a 64 KB receive frame
    // can cost more than a small buffer's whole budget). Its compact copy may fit.
    if ((this.charge + p.truesize > budget || mem.wouldExceed(p.truesize)) && shrinksAlone(p)) {
      p = compactCopy(p);
      counters.collapsedSegments++;
    }
    const overBudget = this.charge + p.truesize > budget;
    if ((!overBudget && !mem.wouldExceed(p.truesize)) || (rq.count === 0 && ooo.empty)) return p;
    if (overBudget) counters.drops.rcvBufferFull++;
    else counters.drops.memoryLimit++;
    p.release();
    return null;
  }

  /** Collapses what wastes its frames in both queues (counted). */
  private collapse(): void {
    this.counters.collapsedSegments += this.rq.collapse() + this.ooo.collapse();
  }
}
