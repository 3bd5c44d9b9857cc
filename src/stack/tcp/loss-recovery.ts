/**
 * Loss recovery: what the sender believes about the segments it has in flight, and what
 * it does about them (gVisor keeps the same behind its `recovery` interface).
 * - Duplicate ACKs (RFC 5681 §3.2 fast retransmit, RFC 5827 early retransmit, RFC 3042
 *   limited transmit) and, without SACK, NewReno's recovery (RFC 6582);
 * - with SACK, the scoreboard (sack.ts) and RFC 6675's recovery (pipe, NextSeg rule 1),
 *   RACK's loss detection by time (RFC 8985, rack.ts) and its tail loss probe;
 * - undoing what a spurious retransmission did to the window (undo.ts, RFC 4015), and
 *   the reordering the path has shown (the duplicate threshold).
 * It builds its retransmissions with the sender's `build` (sender.ts), which asks it
 * first whenever it owes one; new data, and what cwnd allows of it, stay the sender's.
 */
import type { Packet } from '../../packet/packet.js';
import { seqAdd, seqGeq, seqGt, seqLeq, seqLt, seqSub } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_PSH } from '../../wire/tcp.js';
import type { Timer, TimerSet } from '../../time/timers.js';
import type { CongestionControl } from './congestion.js';
import type { TcpCounters } from './counters.js';
import { Rack } from './rack.js';
import type { RttEstimator } from './rtt.js';
import { SACK_BLOCK_BAD, SACK_BLOCK_OK, SackScoreboard } from './sack.js';
import type { SegmentInfo } from './segment.js';
import { EPISODE_NONE, EPISODE_RECOVERY, EPISODE_TIMEOUT, INITIAL_REORDERING, LossUndo, reorderingDegree } from './undo.js';

/** The sender as loss recovery sees it (sender.ts): its sequence space, window, clocks, and how it builds segments. */
export interface SendState {
  readonly sndUna: number;
  sndNxt: number;
  readonly sndMax: number;
  readonly sndWnd: number;
  /** Sequence number of the first byte in the send buffer. */
  readonly bufSeq: number;
  readonly finQueued: boolean;
  readonly finSeq: number;
  /** Payload per segment (the negotiated MSS less the timestamp option). */
  readonly sndMss: number;
  /** The end of what the application has written (past it, nothing new to send). */
  readonly bufEnd: number;
  readonly sackOk: boolean;
  readonly tsOk: boolean;
  readonly cc: CongestionControl;
  readonly rtt: RttEstimator;
  /** Our TSval clock (RFC 7323). */
  tsNow(now: number): number;
  /** There is something to send: onto the host's ready list (`fromUser`: outside a burst, wake the loop). */
  ready(fromUser: boolean): void;
  /** Payload per segment now (less what SACK blocks take). */
  segMss(): number;
  /** One segment: `len` bytes from `dataOff` in the send buffer at `seq`, split at `segSize`; null when no frame is free. */
  build(seq: number, flags: number, dataOff: number, len: number, synOpts: boolean, segSize: number): Packet | null;
  /** New data as a loss probe: one segment the peer's window takes, whatever cwnd says. */
  sendProbeData(now: number): Packet | null;
  /** Data from `seq` goes again (no RTT sample from it, Karn). */
  retransmitting(seq: number): void;
  readonly rtoArmed: boolean;
  armRto(now: number): void;
}

export class LossRecovery {
  /** What the peer SACKed (RFC 2018, RFC 6675's scoreboard). */
  readonly sb = new SackScoreboard();
  /** RFC 6675 HighRxt: the end of what was retransmitted in this recovery. */
  highRxt = 0;
  /** How far (segments) the path has been seen to reorder: the duplicate threshold (Linux's tp->reordering). */
  reordering = INITIAL_REORDERING;
  dupAcks = 0;
  /** In fast retransmit / SACK recovery, until SND.UNA passes `recover` (RFC 6582 §3.2). */
  inRecovery = false;
  recover = 0;
  /** One segment from SND.UNA is due: a fast retransmission or NewReno's partial ACK. */
  rexmitPending = false;
  /** A tail loss probe is due (the sender sends it), or out and not yet answered (up to `tlpEnd`). */
  tlpPending = false;
  tlpOut = false;
  tlpEnd = 0;
  /** Spurious retransmissions found and undone. */
  private readonly undo = new LossUndo();
  /** Loss detection by time (RFC 8985), for connections with SACK; its timer is made when first needed. */
  private readonly rack = new Rack();
  private reoTimer: Timer | null = null;

  constructor(
    private readonly snd: SendState,
    private readonly counters: TcpCounters,
    private readonly timers: TimerSet,
  ) {}

  /** A new send sequence space from ISS (nothing to recover below it). */
  init(iss: number): void {
    this.recover = iss;
    this.highRxt = iss;
  }

  /** Bytes the peer has SACKed above SND.UNA. */
  get sackedBytes(): number {
    return this.sb.bytes;
  }

  /** Retransmissions are owed right now (output asks before new data). */
  get owesRetransmission(): boolean {
    return this.rexmitPending || this.tlpPending || (this.inRecovery && this.snd.sackOk);
  }

  /** Stops the RACK timer (the connection is closing). */
  stop(): void {
    if (this.reoTimer !== null) this.timers.cancel(this.reoTimer);
  }

  // ---------------------------------------------------------------- ACKs

  /** Received SACK blocks into the scoreboard (validated there; bad ones counted). */
  takeSack(s: SegmentInfo, ack: number, now: number): void {
    const snd = this.snd;
    const c = this.counters;
    if (s.sackMalformed) c.sackBlocksIgnored++;
    const una = seqGt(ack, snd.sndUna) && seqLeq(ack, snd.sndMax) ? ack : snd.sndUna;
    const b = s.sackBlocks;
    const before = this.sb.bytes;
    for (let k = 0; k < s.sackCount; k++) {
      const r = b[2 * k + 1]!;
      const added = this.sb.add(b[2 * k]!, r, una, snd.sndMax);
      if (added === SACK_BLOCK_BAD) c.sackBlocksIgnored++;
      else if (added === SACK_BLOCK_OK && seqGeq(seqAdd(r, -1), this.highRxt)) this.rack.delivered(b[2 * k]!, r, now);
    }
    if (this.inRecovery && this.sb.bytes !== before) snd.ready(false);
  }

  /**
   * Before an ACK moves SND.UNA to `ack` (`tsEcr`: its echo, or -1): RACK's part, and
   * whether the last retransmission was needed. True when a spurious timeout was undone:
   * sending resumes where it was (RFC 4015 §2, SND.NXT = SND.MAX).
   */
  beforeNewAck(ack: number, tsEcr: number, now: number): boolean {
    if (this.snd.sackOk) this.rackAck(ack, now);
    return this.undo.episode !== EPISODE_NONE && this.decideUndo(ack, tsEcr);
  }

  /**
   * After SND.UNA moved to `ack` (`acked` new bytes, of `flight` in flight): the scoreboard
   * moves up, recovery ends or goes on (RFC 6582, 6675), or cwnd grows. True when cwnd grew
   * (outside recovery), so the send buffer may grow with it.
   */
  afterNewAck(ack: number, acked: number, flight: number, now: number): boolean {
    const snd = this.snd;
    const mss = snd.sndMss;
    const cc = snd.cc;
    if (snd.sackOk) this.sb.advance(ack);
    if (this.tlpOut && seqGeq(ack, this.tlpEnd)) this.tlpOut = false;
    if (!this.inRecovery) {
      this.dupAcks = 0;
      cc.onAck(acked, flight, mss, now);
      return true;
    }
    if (seqGeq(ack, this.recover)) {
      this.inRecovery = false;
      this.dupAcks = 0;
      this.rack.recoveryEnded();
      cc.onRecoveryEnd(seqSub(snd.sndNxt, snd.sndUna), mss, now);
    } else if (snd.sackOk) {
      // RFC 6675: a partial ACK needs no deflation; pipe and NextSeg do the rest.
      if (seqLt(this.highRxt, ack)) this.highRxt = ack;
    } else {
      // Partial ACK (RFC 6582 §3.2 step 5): retransmit the next hole, deflate.
      this.rexmitPending = true;
      let cw = cc.cwnd - acked;
      if (acked >= mss) cw += mss;
      cc.cwnd = cw > mss ? cw : mss;
    }
    return false;
  }

  /**
   * The first ACK to move SND.UNA after a fast retransmit or a timeout: was the
   * retransmission needed (undo.ts)? If not, the window comes back, and a recovery ends
   * and the reordering it showed raises the duplicate threshold. True for an undone timeout.
   */
  private decideUndo(ack: number, tsEcr: number): boolean {
    const u = this.undo;
    if (tsEcr <= 0) {
      u.clear();
      return false;
    }
    const snd = this.snd;
    const episode = u.episode;
    const high = this.sb.count > 0 ? this.sb.highSacked : snd.sndUna;
    if (!u.decide(tsEcr, snd.cc)) return false;
    if (episode !== EPISODE_RECOVERY) {
      this.counters.spuriousRtos++;
      return true;
    }
    this.counters.spuriousRecoveries++;
    this.rack.spurious();
    const degree = reorderingDegree(snd.sndUna, high, snd.sndMss);
    if (degree > this.reordering) this.setReordering(degree);
    this.inRecovery = false;
    this.rexmitPending = false;
    this.dupAcks = 0;
    this.recover = ack;
    this.highRxt = ack;
    return false;
  }

  /**
   * RACK's part of an ACK that moves SND.UNA to `ack`: a hole at SND.UNA filled by its
   * first transmission while data above it was SACKed shows reordering (RFC 8985
   * RACK.reordering_seen; Linux also raises tp->reordering by how far); the bytes acked
   * count as delivered; their records go.
   */
  private rackAck(ack: number, now: number): void {
    const rack = this.rack;
    const una = this.snd.sndUna;
    const original = seqGeq(una, this.highRxt) && rack.holds(una);
    if (original && this.sb.count > 0 && seqGt(this.sb.highSacked, una)) {
      rack.reorderingSeen = true;
      const degree = reorderingDegree(una, this.sb.highSacked, this.snd.sndMss);
      if (degree > this.reordering) this.setReordering(degree);
    }
    const last = seqAdd(ack, -1);
    if (seqGeq(last, this.highRxt)) rack.delivered(last, ack, now);
    rack.acked(ack);
  }

  /**
   * A duplicate ACK (RFC 5681 §2): with SACK, DupThresh of them (or IsLost) start RFC
   * 6675's recovery; without, NewReno's (RFC 6582 §3.2), whose window inflates by one
   * segment each; below the threshold, limited transmit (RFC 3042).
   */
  dupAck(now: number): void {
    const snd = this.snd;
    this.dupAcks++;
    const mss = snd.sndMss;
    // Early retransmit (RFC 5827): with fewer than four segments outstanding and no new
    // data to send, three duplicate ACKs cannot come; oseg - 1 of them are enough.
    let thresh = this.reordering;
    const outstanding = seqSub(snd.sndMax, snd.sndUna);
    if (outstanding < 4 * mss && seqSub(snd.bufEnd, snd.sndMax) <= 0) {
      const oseg = Math.ceil(outstanding / mss);
      const early = oseg - 1 > 1 ? oseg - 1 : 1;
      if (early < thresh) thresh = early;
    }
    if (snd.sackOk) {
      if (this.inRecovery) snd.ready(false);
      else if (this.dupAcks >= thresh && seqGeq(snd.sndUna, this.recover)) this.enterSackRecovery(now);
      else if (this.dupAcks < thresh) snd.ready(false);
      return;
    }
    if (this.inRecovery) {
      snd.cc.cwnd += mss;
      snd.ready(false);
    } else if (this.dupAcks === thresh) {
      // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover`.
      // (`recover` is SND.MAX then, one past RFC 6582's "highest sequence number transmitted".)
      if (seqGeq(snd.sndUna, this.recover)) {
        const cc = snd.cc;
        if (snd.tsOk) this.undo.start(EPISODE_RECOVERY, cc, snd.tsNow(now));
        cc.onCongestion(outstanding, mss, now);
        cc.cwnd = cc.ssthresh + 3 * mss;
        this.recover = snd.sndMax;
        this.inRecovery = true;
        this.rexmitPending = true;
        this.counters.fastRetransmits++;
        snd.ready(false);
      }
    } else if (this.dupAcks < thresh) {
      snd.ready(false); // limited transmit (RFC 3042)
    }
  }

  /**
   * RFC 6675 §5: SACK information alone can show SND.UNA lost (ACKs that carry data or a
   * window update are no duplicate ACKs, but their SACK blocks count); so can time (RACK).
   */
  sackShowsLoss(now: number): void {
    const snd = this.snd;
    if (!snd.sackOk || this.sb.count === 0 || snd.sndMax === snd.sndUna) return;
    this.rackDetect(now);
    if (!this.inRecovery && seqGeq(snd.sndUna, this.recover) && seqGt(this.sb.lostBoundary(snd.sndUna, snd.sndMss), snd.sndUna)) this.enterSackRecovery(now);
  }

  /**
   * RACK loss detection (RFC 8985 §6.2 step 5) after an ACK or when its timer fires:
   * marks in the scoreboard what time shows lost, and sets the timer for what may be
   * lost next.
   */
  private rackDetect(now: number): void {
    const rack = this.rack;
    const snd = this.snd;
    const plain = this.inRecovery || this.sb.bytes >= INITIAL_REORDERING * snd.sndMss;
    const reoWnd = rack.reoWnd(snd.rtt.minRtt, snd.rtt.srtt, plain);
    this.sb.setTimeLost(rack.detect(snd.sndUna, now, reoWnd), snd.sndUna);
    if (rack.deadline >= 0) {
      if (this.reoTimer === null) this.reoTimer = this.timers.create((t) => this.onReoTimer(t));
      this.timers.arm(this.reoTimer, rack.deadline);
    }
  }

  private onReoTimer(now: number): void {
    const snd = this.snd;
    if (!snd.sackOk || this.sb.count === 0 || snd.sndUna === snd.sndMax) return;
    this.rackDetect(now);
    if (this.inRecovery) {
      snd.ready(false);
      return;
    }
    // RFC 6675 §5 (and RACK): start a recovery when the scoreboard shows SND.UNA lost.
    if (seqGeq(snd.sndUna, this.recover) && seqGt(this.sb.lostBoundary(snd.sndUna, snd.sndMss), snd.sndUna)) {
      this.enterSackRecovery(now);
      snd.ready(true);
    }
  }

  /** RFC 6675 §5 steps 4.1-4.3: enter loss recovery, retransmit the first segment. */
  private enterSackRecovery(now: number): void {
    const snd = this.snd;
    const flight = seqSub(snd.sndMax, snd.sndUna);
    if (snd.tsOk) this.undo.start(EPISODE_RECOVERY, snd.cc, snd.tsNow(now));
    snd.cc.onCongestion(flight, snd.sndMss, now);
    this.recover = snd.sndMax;
    this.inRecovery = true;
    this.highRxt = snd.sndUna;
    this.rexmitPending = true;
    const c = this.counters;
    c.fastRetransmits++;
    c.sackRecoveries++;
    snd.ready(false);
  }

  private setReordering(segments: number): void {
    this.reordering = segments;
    this.sb.dupThresh = segments;
  }

  // ---------------------------------------------------------------- what the sender sends

  /** Data [seq, end) went out for the first time or again: RACK's record of it. */
  sent(seq: number, end: number, now: number): void {
    if (this.snd.sackOk && seqGt(end, this.snd.sndMax)) this.rack.record(seqLt(seq, this.snd.sndMax) ? this.snd.sndMax : seq, end, now);
  }

  /** RFC 6675's pipe: the bytes the scoreboard believes are still in the network. */
  pipe(): number {
    const snd = this.snd;
    return this.sb.pipe(snd.sndUna, snd.sndMax, this.highRxt, snd.sndMss);
  }

  /** What is in flight for cwnd: the pipe in SACK recovery, else `flight`. */
  inFlight(flight: number): number {
    return this.inRecovery && this.snd.sackOk ? this.pipe() : flight;
  }

  /** cwnd, plus up to two segments on the first duplicate ACKs (RFC 3042 limited transmit). */
  sendWindow(mss: number): number {
    const cw = this.snd.cc.cwnd;
    return !this.inRecovery && this.dupAcks > 0 ? cw + (this.dupAcks < 2 ? this.dupAcks : 2) * mss : cw;
  }

  /** The end of what may go from `seq` up to `limit` before data the peer already SACKed. */
  unsackedEnd(seq: number, limit: number): number {
    return this.snd.sackOk && this.sb.count > 0 ? this.sb.nextSackedFrom(seq, limit) : limit;
  }

  /** Going back after a timeout: where sending resumes from `nxt`, past what the peer SACKed since. */
  skipSacked(nxt: number): number {
    if (!this.snd.sackOk || this.sb.count === 0) return nxt;
    while (seqLt(nxt, this.snd.sndMax) && this.sb.isSacked(nxt)) nxt = this.sb.rangeEnd;
    return nxt;
  }

  /**
   * The retransmission owed now, if any (`sendable`: the state lets data go): one
   * segment from SND.UNA (fast retransmit, a partial ACK), a lost hole in SACK recovery,
   * a tail loss probe.
   */
  retransmit(sendable: boolean, now: number): Packet | null {
    if (sendable && this.rexmitPending) {
      this.rexmitPending = false;
      const p = this.retransmitFirst(now);
      if (p !== null) return p;
    }
    if (sendable && this.inRecovery && this.snd.sackOk) {
      const p = this.sackNextSeg(now);
      if (p !== null) return p;
    }
    if (this.tlpPending) {
      this.tlpPending = false;
      const p = sendable ? this.lossProbe(now) : null;
      if (p !== null) return p;
    }
    return null;
  }

  /** Fast retransmit / NewReno partial ACK: one segment from SND.UNA, whatever cwnd says. */
  private retransmitFirst(now: number): Packet | null {
    const snd = this.snd;
    const una = snd.sndUna;
    const outstanding = seqSub(snd.sndMax, una);
    if (outstanding <= 0) return null;
    const dataOff = seqSub(una, snd.bufSeq);
    const mss = snd.segMss();
    let len = seqSub(snd.bufEnd, una);
    if (len > mss) len = mss;
    if (len > outstanding) len = outstanding;
    if (len < 0) len = 0;
    len = seqSub(this.unsackedEnd(una, seqAdd(una, len)), una);
    const end = seqAdd(una, len);
    const fin = snd.finQueued && end === snd.finSeq && seqGt(snd.sndMax, snd.finSeq) ? TCP_FIN : 0;
    if (len === 0 && !fin) return null;
    const p = snd.build(una, TCP_ACK | fin | (end === snd.bufEnd ? TCP_PSH : 0), dataOff, len, false, mss);
    if (p === null) {
      this.rexmitPending = true;
      return null;
    }
    const c = this.counters;
    c.retransmittedSegments++;
    c.retransmittedBytes += len;
    snd.retransmitting(una);
    const after = seqAdd(end, fin ? 1 : 0);
    if (this.inRecovery && snd.sackOk) {
      c.sackRetransmittedBytes += len;
      if (seqLt(this.highRxt, after)) this.highRxt = after;
    }
    if (seqLt(snd.sndNxt, after)) snd.sndNxt = after;
    snd.armRto(now);
    return p;
  }

  /**
   * RFC 6675 §5 step (C) with NextSeg rule 1: while cwnd − pipe allows a segment, the
   * first lost, unSACKed hole above HighRxt goes again (only what is lost). Rule 2 (new
   * data) is the sender's, with pipe in place of the flight; rules 3 and 4 are not used.
   */
  private sackNextSeg(now: number): Packet | null {
    const snd = this.snd;
    const sb = this.sb;
    if (sb.count === 0 || snd.sndUna === snd.sndMax) return null;
    const mss = snd.segMss();
    if (snd.cc.cwnd - this.pipe() < mss) return null;
    const s = sb.nextLost(this.highRxt, snd.sndUna, snd.sndMss);
    if (s < 0) return null;
    const dataOff = seqSub(s, snd.bufSeq);
    let len = seqSub(sb.holeEnd, s);
    if (len > mss) len = mss;
    const inBuf = seqSub(snd.bufEnd, s);
    if (len > inBuf) len = inBuf;
    if (len < 0) len = 0;
    const end = seqAdd(s, len);
    const fin = snd.finQueued && end === snd.finSeq && seqGt(snd.sndMax, snd.finSeq) ? TCP_FIN : 0;
    if (len === 0 && !fin) {
      this.highRxt = sb.holeEnd; // nothing left there to send (cannot happen with a sane peer)
      return null;
    }
    const p = snd.build(s, TCP_ACK | fin, dataOff, len, false, mss);
    if (p === null) return null;
    const c = this.counters;
    c.retransmittedSegments++;
    c.retransmittedBytes += len;
    c.sackRetransmittedBytes += len;
    this.highRxt = seqAdd(end, fin ? 1 : 0);
    snd.retransmitting(s);
    if (!snd.rtoArmed) snd.armRto(now);
    return p;
  }

  /**
   * The tail loss probe (RFC 8985 §7.3): one MSS of new data when there is some and the
   * peer's window takes it (whatever cwnd says), else the last segment sent, again.
   */
  private lossProbe(now: number): Packet | null {
    const snd = this.snd;
    const mss = snd.segMss();
    const flight = seqSub(snd.sndNxt, snd.sndUna);
    let p: Packet | null = null;
    this.tlpOut = true; // before sendProbeData, which would arm another probe
    if (snd.sndNxt === snd.sndMax && seqGt(snd.bufEnd, snd.sndNxt) && snd.sndWnd - flight > 0) p = snd.sendProbeData(now);
    if (p === null) {
      const dataEnd = snd.finQueued && seqGt(snd.sndMax, snd.finSeq) ? snd.finSeq : snd.sndMax;
      let start = seqAdd(dataEnd, -mss);
      if (seqLt(start, snd.sndUna)) start = snd.sndUna;
      const len = seqSub(dataEnd, start);
      const fin = dataEnd !== snd.sndMax ? TCP_FIN : 0;
      if (len > 0 || fin) p = snd.build(start, TCP_ACK | TCP_PSH | fin, seqSub(start, snd.bufSeq), len > 0 ? len : 0, false, mss);
      if (p === null) {
        this.tlpOut = false;
        return null;
      }
      const c = this.counters;
      c.retransmittedSegments++;
      c.retransmittedBytes += len > 0 ? len : 0;
      snd.retransmitting(start);
    }
    this.tlpEnd = snd.sndMax;
    return p;
  }

  // ---------------------------------------------------------------- the timeout

  /**
   * The RTO fired (RFC 6298 §5.5-5.7, RFC 5681 §3.1): the window collapses, a recovery in
   * progress ends, and nothing the scoreboard holds is trusted (the peer may have
   * reneged, RFC 2018 §8, RFC 6675 §5.1).
   */
  timedOut(now: number): void {
    const snd = this.snd;
    // Linux (tcp_enter_loss): a timeout while many segments sat SACKed without a
    // recovery says the reordering estimate is too high.
    if (!this.inRecovery && this.sb.bytes >= INITIAL_REORDERING * snd.sndMss) this.setReordering(INITIAL_REORDERING);
    if (snd.tsOk) this.undo.start(EPISODE_TIMEOUT, snd.cc, snd.tsNow(now));
    snd.cc.onRto(seqSub(snd.sndMax, snd.sndUna), snd.sndMss, now);
    this.inRecovery = false;
    this.dupAcks = 0;
    this.recover = snd.sndMax;
    this.rexmitPending = false;
    this.sb.clear();
    this.rack.reset();
    this.tlpOut = this.tlpPending = false;
    this.highRxt = snd.sndUna;
  }
}
