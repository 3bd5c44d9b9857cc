/**
 * The sending half of a connection (RFC 9293 §3.3.1's send sequence space): SND.UNA,
 * SND.NXT, SND.WND, the send buffer and our FIN; what the peer's ACKs do to them (RTT
 * samples, RFC 6298/7323; the congestion window; duplicate ACKs and recovery through
 * loss-recovery.ts); the retransmission timer, which is the RTO, the persist timer
 * (RFC 9293 §3.8.6.1) or a tail loss probe (RFC 8985 §7) — `rtxKind` says which; and
 * the segments themselves, built when the device pulls (`output`), so each carries the
 * newest ACK and window from the receiver (receiver.ts).
 *
 * The connection (connection.ts) runs the state machine; this reads its state and asks
 * it, through `SenderOwner`, to be put on the ready list, to tell the application it may
 * write again, and what our FIN being acknowledged means.
 */
import { Packet, GSO_TCPV4 } from '../../packet/packet.js';
import type { Owner } from '../../packet/owner.js';
import type { Timer } from '../../time/timers.js';
import { writeU16, writeU32 } from '../../wire/addr.js';
import { seqAdd, seqGeq, seqGt, seqLeq, seqLt, seqSub } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../wire/tcp.js';
import type { StackEnv } from '../env.js';
import { L4_HEADROOM } from '../l4.js';
import type { CongestionControl } from './congestion.js';
import type { TcpCounters } from './counters.js';
import { TLP_MIN_MS, WC_DEL_ACK_MS } from './limits.js';
import { LossRecovery, type SendState } from './loss-recovery.js';
import type { ResolvedTcpOptions } from './options.js';
import { DEFAULT_MSS, type Receiver } from './receiver.js';
import { RttEstimator } from './rtt.js';
import { finishSegmentChecksum, type SegmentInfo } from './segment.js';
import { BLOCK_OVERHEAD, SendBuffer, type BlockPool } from './send-buffer.js';
import { CLOSE_WAIT, CLOSED, CLOSING, ESTABLISHED, FIN_WAIT_1, LAST_ACK, SYN_RECEIVED, SYN_SENT } from './state.js';

/** The smallest MSS we use, whatever the peer or ICMP says (Linux's TCP_MIN_SND_MSS is 48; 88 keeps room for options). */
export const MIN_MSS = 88;

/** Bytes a timestamp option takes in every segment (NOP, NOP, kind 8, length 10). */
export const TS_LEN = 12;

/** What the retransmission timer is armed for. */
export const RTX_RTO = 0;
export const RTX_PERSIST = 1;
export const RTX_PROBE = 2;

/** What the sender asks of the connection it belongs to. */
export interface SenderOwner {
  /** The connection's state (state.ts). */
  readonly state: number;
  readonly localAddress: number;
  readonly localPort: number;
  readonly remoteAddress: number;
  readonly remotePort: number;
  /** There is something to send: onto the host's ready list (`fromUser`: outside a burst, wake the loop). */
  ready(fromUser: boolean): void;
  /** The send buffer has room again for an application that was refused some. */
  writable(): void;
  /** Our FIN was acknowledged: the next state. False when the connection is gone (TIME_WAIT or CLOSED). */
  finAcked(now: number): boolean;
}

export class Sender implements SendState {
  // --- send sequence space ---
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** The highest sequence number sent (+1): what RTO/loss recovery goes back from. */
  sndMax = 0;
  sndWnd = 0;
  maxSndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  /** Payload per segment: the negotiated MSS less the timestamp option. */
  sndMss = DEFAULT_MSS;
  /** The negotiated MSS (payload and per-segment options). */
  mssLimit = DEFAULT_MSS;
  /** The shift we apply to the peer's windows. */
  sndScale = 0;
  /** The peer's SYN offered window scaling (a SYN-ACK answers with ours only then, RFC 7323 §1.3). */
  scaleOk = false;
  /** Both ends offered SACK-permitted. */
  sackOk = false;
  /** Both ends offered timestamps: every segment carries TSval/TSecr. */
  tsOk = false;

  // --- the send buffer and our FIN ---
  readonly sbuf: SendBuffer;
  /** Sequence number of the first byte in the send buffer. */
  bufSeq = 0;
  /** The send buffer limit: sendBuffer, grown with cwnd up to sendBufferMax. */
  sndBuf: number;
  /** The application was refused bytes: tell it when a quarter of the buffer is free. */
  wantWritable = false;
  finQueued = false;
  /** Sequence number of our FIN (valid when finQueued). */
  finSeq = 0;

  // --- timestamps (RFC 7323) ---
  /**
   * Our TSval is the millisecond clock plus this offset, a keyed hash of the address
   * pair (RFC 7323 §5.4; Tcp.tsOffsetFor), so TSvals towards a peer go on rising from one
   * connection to the next. SYN cookies may set it when rebuilding a connection.
   */
  tsOffset: number;
  /** TSecr of the segment being processed (for RTT measurement and undo), or -1. */
  tsEcr = -1;

  // --- RTT, congestion, loss recovery ---
  readonly rtt: RttEstimator;
  cc: CongestionControl;
  readonly rec: LossRecovery;
  /** Karn's timed segment (RFC 6298 §3), without timestamps. */
  private timing = false;
  private rttSeq = 0;
  private rttTime = 0;
  /** Retransmission timeouts in a row (reset by an ACK of new data). */
  private retries = 0;
  /** When data was last sent (for the restart window after idle). */
  private lastSend = 0;

  // --- what output should send ---
  synPending = false;
  /** A zero-window or keepalive probe (one byte below SND.UNA). */
  probePending = false;
  /** The persist timer found the window open: send even a small segment. */
  private forceSend = false;
  /** sendData is sending a loss probe. */
  private probeNew = false;

  /** Nagle's algorithm is off (setNoDelay). */
  noDelay: boolean;

  /** The retransmission timer and what it is armed for (RTX_*). */
  rtxKind = RTX_RTO;
  private persistBackoff = 0;

  constructor(
    private readonly owner: SenderOwner,
    private readonly env: StackEnv,
    private readonly counters: TcpCounters,
    blocks: BlockPool,
    private readonly opts: ResolvedTcpOptions,
    private readonly rx: Receiver,
    private readonly rtxTimer: Timer,
    tsOffset: number,
  ) {
    this.sbuf = new SendBuffer(blocks);
    this.sndBuf = opts.sendBuffer;
    this.rtt = new RttEstimator(opts.minRto, opts.maxRto, opts.initialRto);
    this.tsOffset = tsOffset;
    this.noDelay = opts.noDelay;
    this.cc = opts.congestion(DEFAULT_MSS, this.initialWindow(DEFAULT_MSS));
    this.rec = new LossRecovery(this, counters, env.timers);
  }

  /** RFC 6928: min(IW·MSS, max(2·MSS, 14600)) for IW=10; other IWs scale plainly. */
  initialWindow(mss: number): number {
    const iw = this.opts.initialWindow;
    return iw === 10 ? Math.min(10 * mss, Math.max(2 * mss, 14600)) : iw * mss;
  }

  /** A send sequence space from `iss` (RFC 9293 §3.4.1). */
  init(iss: number): void {
    this.iss = iss;
    this.sndUna = this.sndNxt = this.sndMax = iss;
    this.bufSeq = seqAdd(iss, 1);
    this.rec.init(iss);
  }

  /** Our TSval clock (RFC 7323): milliseconds plus the per-connection offset, modulo 2^32. */
  tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  ready(fromUser: boolean): void {
    this.owner.ready(fromUser);
  }

  /** The end of what the application has written. */
  get bufEnd(): number {
    return seqAdd(this.bufSeq, this.sbuf.length);
  }

  /** Written data not yet sent (past SND.NXT). */
  get hasUnsent(): boolean {
    return this.sbuf.length > seqSub(this.sndNxt, this.bufSeq);
  }

  // ================================================================ the application's data

  /** Copies up to the free send-buffer space from `bytes`; returns how many it took. */
  write(bytes: Uint8Array, offset: number, length: number): number {
    const free = this.sndBuf - this.sbuf.charge;
    const n = length < free ? length : free;
    if (n < length) this.wantWritable = true;
    if (n <= 0) return 0;
    this.sbuf.write(bytes, offset, n);
    return n;
  }

  /** Takes `bytes` as they are (released through `owner` once acknowledged); false when they do not fit now. */
  writeOwned(bytes: Uint8Array, owner: Owner): boolean {
    // A buffer larger than the whole send buffer is taken when the buffer is empty (it
    // could never fit otherwise, and nothing would ever say 'writable').
    if (this.sbuf.length > 0 && bytes.length + BLOCK_OVERHEAD > this.sndBuf - this.sbuf.charge) {
      this.wantWritable = true;
      return false;
    }
    if (bytes.length === 0) owner.release();
    else this.sbuf.writeOwned(bytes, owner);
    return true;
  }

  /** Our FIN goes after what is written. */
  queueFin(): void {
    this.finQueued = true;
    this.finSeq = this.bufEnd;
  }

  /** Timers stopped and the buffer freed: the connection closes or hands over to TIME_WAIT. */
  stop(): void {
    const timers = this.env.timers;
    timers.cancel(this.rtxTimer);
    this.rec.stop();
    this.rtxKind = RTX_RTO;
    this.sbuf.clear();
  }

  // ================================================================ what the peer says

  /** SND.WND and its update marks from the peer's SYN, or the ACK that completes a handshake. */
  takeWindow(wnd: number, seq: number, ack: number): void {
    this.sndWnd = wnd;
    if (wnd > this.maxSndWnd) this.maxSndWnd = wnd;
    this.sndWl1 = seq;
    this.sndWl2 = ack;
  }

  /** SND.WND from a segment newer than the last that set it (RFC 9293 §3.10.7.4, SND.WL1/WL2). */
  updateWindow(s: SegmentInfo): void {
    if (!(seqLt(this.sndWl1, s.seq) || (this.sndWl1 === s.seq && seqLeq(this.sndWl2, s.ack)))) return;
    const wnd = s.window << this.sndScale;
    const opened = wnd > this.sndWnd;
    this.sndWnd = wnd;
    if (wnd > this.maxSndWnd) this.maxSndWnd = wnd;
    this.sndWl1 = s.seq;
    this.sndWl2 = s.ack;
    if (!opened || wnd === 0) return;
    if (this.rtxKind === RTX_PERSIST) {
      this.rtxKind = RTX_RTO;
      this.env.timers.cancel(this.rtxTimer);
    }
    this.owner.ready(false);
  }

  /**
   * Our SYN was acknowledged (by the ACK `takeWindow` took): SND.UNA moves, and the
   * handshake's round trip is an RTT sample unless the SYN went twice (Karn).
   */
  synAcked(now: number): void {
    if (this.timing && this.retries === 0) this.rtt.sample(now - this.rttTime);
    this.timing = false;
    this.retries = 0;
    this.rtt.backoff = 0;
    if (seqGt(this.sndWl2, this.sndUna)) this.sndUna = this.sndWl2;
    if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
    if (this.sndUna === this.sndMax) this.env.timers.cancel(this.rtxTimer);
  }

  /**
   * The fifth check of RFC 9293 §3.10.7.4 in a synchronized state, the ACK field (`len`,
   * `flags`: the segment's payload and flags, trimmed): what it acknowledges, SACK and loss
   * detection, the send window. False when the segment goes no further (dropped, or the
   * connection closed).
   */
  ackArrives(s: SegmentInfo, len: number, flags: number, now: number): boolean {
    const ack = s.ack;
    // RFC 5961 §5: an ACK for data not yet sent, or older than one window before SND.UNA,
    // is answered with an ACK and dropped.
    if (seqGt(ack, this.sndMax) || seqLt(ack, seqAdd(this.sndUna, -this.maxSndWnd - 1))) {
      this.counters.drops.badAck++;
      this.rx.ackNow();
      return false;
    }
    const rec = this.rec;
    if (this.sackOk && (s.sackCount > 0 || s.sackMalformed)) rec.takeSack(s, ack, now);
    if (seqGt(ack, this.sndUna)) {
      this.newAck(ack, now);
      if (this.owner.state === CLOSED) return false;
    } else if (ack === this.sndUna && len === 0 && !(flags & TCP_FIN) && s.window << this.sndScale === this.sndWnd && this.sndMax !== this.sndUna) {
      rec.dupAck(now);
    }
    rec.sackShowsLoss(now);
    this.updateWindow(s);
    return true;
  }

  /** An ACK of new data, up to `ack`: the buffer lets go of it, RTT, the window, the timer; the FIN's meaning to the owner. */
  newAck(ack: number, now: number): void {
    const rec = this.rec;
    if (rec.beforeNewAck(ack, this.tsEcr, now)) this.sndNxt = this.sndMax; // a spurious timeout undone (RFC 4015 §2)
    const acked = seqSub(ack, this.sndUna);
    const flight = seqSub(this.sndNxt, this.sndUna);
    let dataAcked = acked;
    if (this.sndUna === this.iss) dataAcked--; // our SYN
    const finAcked = this.finQueued && seqGt(ack, this.finSeq);
    if (finAcked) dataAcked--;
    if (dataAcked > 0) {
      this.sbuf.consume(dataAcked);
      this.bufSeq = seqAdd(this.bufSeq, dataAcked);
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    this.rttFromAck(ack, now);
    this.retries = 0;
    this.rtt.backoff = 0;
    if (rec.afterNewAck(ack, acked, flight, now)) this.growBuffer();
    if (this.sndUna === this.sndMax) {
      if (this.rtxKind !== RTX_PERSIST) this.env.timers.cancel(this.rtxTimer);
    } else {
      this.armRetransmit(now, true);
    }
    if (this.wantWritable) {
      const free = this.sndBuf - this.sbuf.charge;
      if (free >= this.sndBuf >>> 2 || this.sbuf.length === 0) {
        this.wantWritable = false;
        this.owner.writable();
      }
    }
    if (finAcked && !this.owner.finAcked(now)) return;
    if (this.hasUnsent || rec.rexmitPending || (rec.inRecovery && this.sackOk)) this.owner.ready(false);
  }

  /** An RTT sample from an ACK of new data (RFC 7323 §4 RTTM; else Karn's timed segment, RFC 6298 §3). */
  private rttFromAck(ack: number, now: number): void {
    if (this.tsOk) {
      // Every ACK of new data with a TSecr is a sample, retransmitted or not (the echo
      // names the transmission); 0 is taken as "no echo", as Linux does.
      if (this.tsEcr > 0) {
        const r = (this.tsNow(now) - this.tsEcr) | 0;
        if (r >= 0 && r <= this.opts.maxRto) {
          this.rtt.sample(r);
          this.cc.onRtt?.(r, now);
        }
      }
    } else if (this.timing && seqGeq(ack, this.rttSeq)) {
      this.rtt.sample(now - this.rttTime);
      this.cc.onRtt?.(now - this.rttTime, now);
      this.timing = false;
    }
  }

  /** Linux's tcp_sndbuf_expand: room for twice the window, so the buffer never limits the flight. */
  private growBuffer(): void {
    const want = 2 * this.cc.cwnd;
    const max = this.opts.sendBufferMax;
    if (want > this.sndBuf && this.sndBuf < max) this.sndBuf = want < max ? want : max;
  }

  /** Fragmentation needed (RFC 1191) for data at `seq`: a smaller MSS, and what is in flight goes again in smaller pieces. */
  pathMtuChanged(mtu: number, seq: number): void {
    if (!(seqGeq(seq, this.sndUna) && seqLt(seq, this.sndMax))) return;
    const lim = Math.max(MIN_MSS, mtu - 40);
    if (lim >= this.mssLimit) return;
    this.mssLimit = lim;
    const mss = lim - (this.tsOk ? TS_LEN : 0);
    this.sndMss = mss;
    if (this.cc.cwnd < mss) this.cc.cwnd = mss;
    this.sndNxt = this.sndUna;
    this.timing = false;
    this.owner.ready(false);
  }

  // ================================================================ the retransmission timer

  /**
   * Arms the retransmission timer once new data went out (`restart` false: an RTO
   * already running keeps its deadline) or an ACK moved SND.UNA (`restart`): for a
   * tail loss probe when one may go (RFC 8985 §7.2), else for the RTO.
   */
  private armRetransmit(now: number, restart: boolean): void {
    if (this.rtxKind === RTX_PERSIST) restart = true;
    const st = this.owner.state;
    const rec = this.rec;
    if (this.sackOk && !rec.inRecovery && !rec.tlpOut && this.rtt.samples && (st === ESTABLISHED || st === CLOSE_WAIT)) {
      // PTO = 2·SRTT; with one segment out, room for the peer's delayed ACK; at least
      // 10 ms (as Linux); never past the RTO.
      const srtt = this.rtt.srtt;
      let pto = 2 * srtt;
      if (seqSub(this.sndMax, this.sndUna) <= this.sndMss && pto < 1.5 * srtt + WC_DEL_ACK_MS) pto = 1.5 * srtt + WC_DEL_ACK_MS;
      if (pto < TLP_MIN_MS) pto = TLP_MIN_MS;
      const rto = this.rtt.rto;
      this.rtxKind = RTX_PROBE;
      this.env.timers.arm(this.rtxTimer, now + (pto < rto ? pto : rto));
      return;
    }
    if (restart || this.rtxKind === RTX_PROBE || !this.rtxTimer.armed) this.armRto(now);
  }

  /** The retransmission timer, for the RTO from now. */
  armRto(now: number): void {
    this.rtxKind = RTX_RTO;
    this.env.timers.arm(this.rtxTimer, now + this.rtt.rto);
  }

  /**
   * The RTO fired (RFC 6298 §5): back off and go back to SND.UNA (or send the SYN again,
   * `synState`). False, doing nothing, when `limit` timeouts in a row have passed: give up.
   */
  retransmitTimeout(now: number, limit: number, synState: boolean): boolean {
    this.retries++;
    if (this.retries > limit) return false;
    this.counters.rtoTimeouts++;
    this.rtt.backOff();
    this.timing = false;
    if (synState) {
      this.synPending = true;
    } else {
      this.rec.timedOut(now);
      this.sndNxt = this.sndUna; // go back: resend from the first unacknowledged byte
    }
    this.armRto(now);
    this.owner.ready(true);
    return true;
  }

  /** The persist timer (RFC 9293 §3.8.6.1): probe the zero window, back off, again. */
  persistTimeout(now: number): void {
    this.counters.persistProbes++;
    if (this.sndWnd > 0) this.forceSend = true;
    else this.probePending = true;
    this.persistBackoff++;
    this.env.timers.arm(this.rtxTimer, now + this.persistInterval());
    this.owner.ready(true);
  }

  /**
   * The probe timer (RFC 8985 §7.3): send one segment (new data, or the last one again)
   * to draw an ACK whose SACK blocks show what was lost; the RTO follows.
   */
  probeTimeout(now: number): void {
    this.counters.lossProbes++;
    this.rec.tlpPending = true;
    this.armRto(now);
    this.owner.ready(true);
  }

  private persistInterval(): number {
    const base = Math.max(this.rtt.baseRto, this.opts.minRto);
    const t = base * 2 ** this.persistBackoff;
    return t > this.opts.maxPersist ? this.opts.maxPersist : t;
  }

  // ================================================================ output

  /**
   * Whether output() may have a segment now: data past SND.NXT, a FIN, a pending ACK,
   * SYN, probe or retransmission. Tcp.pull keeps a connection on the ready list only
   * then, so one that just sent its last segment is not asked again for nothing.
   */
  get mayOutput(): boolean {
    return (
      this.rx.ackPending ||
      this.probePending ||
      this.synPending ||
      this.rec.owesRetransmission ||
      this.hasUnsent ||
      (this.finQueued && this.sndNxt !== seqAdd(this.finSeq, 1))
    );
  }

  /**
   * The next segment to send, or null, in this order: our SYN (or SYN-ACK), a
   * retransmission, a loss probe, new data (or the FIN), a window probe, a bare ACK.
   */
  output(now: number): Packet | null {
    const st = this.owner.state;
    if (st === CLOSED) return null;
    if (this.synPending) {
      if (st === SYN_SENT || st === SYN_RECEIVED) return this.sendSyn(st, now);
      this.synPending = false;
    }
    if (st === SYN_SENT) return null;
    const rec = this.rec;
    const sendable = st === ESTABLISHED || st === CLOSE_WAIT || st === FIN_WAIT_1 || st === CLOSING || st === LAST_ACK;
    if (rec.owesRetransmission) {
      const p = rec.retransmit(sendable, now);
      if (p !== null) return p;
    }
    if (sendable) {
      const p = this.sendData(now);
      if (p !== null) return p;
    }
    if (this.probePending) {
      this.probePending = false;
      return this.build(seqAdd(this.sndUna, -1), TCP_ACK, 0, 0, false);
    }
    return this.rx.ackPending ? this.sendAck() : null;
  }

  /** Our SYN (SYN_SENT) or SYN-ACK, the first time or again. */
  private sendSyn(st: number, now: number): Packet | null {
    const p = this.build(this.iss, st === SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK, 0, 0, true);
    if (p === null) return null;
    this.synPending = false;
    if (this.sndMax !== this.iss) {
      this.counters.retransmittedSegments++;
      this.counters.synRetransmits++;
    } else {
      this.timing = true;
      this.rttSeq = seqAdd(this.iss, 1);
      this.rttTime = now;
    }
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    if (!this.rtxTimer.armed) this.armRto(now);
    return p;
  }

  /** A bare ACK; while out-of-order data arrived in this burst, one per such segment (duplicate ACKs the peer counts). */
  private sendAck(): Packet | null {
    const rx = this.rx;
    if (rx.delayedAckDue) this.counters.delayedAcks++;
    // sndMax, not sndNxt: after a timeout sndNxt goes back, and an ACK below the peer's rcvNxt would be unacceptable there.
    const p = this.build(this.sndMax, TCP_ACK, 0, 0, false);
    if (p !== null && rx.dupAcksOwed > 1 && !rx.ooo.empty) {
      rx.dupAcksOwed--;
      rx.ackNow();
    } else {
      rx.dupAcksOwed = 0;
    }
    return p;
  }

  /** Data [seq, ..) goes again: a round trip timed from it would be ambiguous (Karn, RFC 6298 §3). */
  retransmitting(seq: number): void {
    if (this.timing && seqLt(seq, this.rttSeq)) this.timing = false;
  }

  /** Whether the retransmission timer runs. */
  get rtoArmed(): boolean {
    return this.rtxTimer.armed;
  }

  /** A loss probe's new data: one segment the peer's window takes, whatever cwnd says (RFC 8985 §7.3). */
  sendProbeData(now: number): Packet | null {
    this.probeNew = true;
    const p = this.sendData(now);
    this.probeNew = false;
    return p;
  }

  /** New data (or data again after a timeout) as the windows, Nagle and SWS avoidance allow; else the FIN; else perhaps the persist timer. */
  private sendData(now: number): Packet | null {
    // Going back after a timeout: what the peer SACKed since is not sent again.
    this.sndNxt = this.rec.skipSacked(this.sndNxt);
    const bufEnd = this.bufEnd;
    const unsent = seqSub(bufEnd, this.sndNxt);
    const mss = this.segMss();
    if (unsent > 0) {
      const flight = seqSub(this.sndNxt, this.sndUna);
      if (flight === 0 && now - this.lastSend > this.rtt.rto) {
        // Restart after idle (RFC 5681 §4.1): no old window's worth of data in one burst.
        const rw = this.initialWindow(mss);
        if (this.cc.cwnd > rw) this.cc.cwnd = rw;
      }
      const avail = this.sendable(flight, mss);
      let len = unsent;
      if (len > avail) len = avail;
      const maxSeg = this.probeNew ? mss : this.maxSegment(mss);
      if (len > maxSeg) len = maxSeg;
      if (seqLt(this.sndNxt, this.sndMax) && len > 0) len = seqSub(this.rec.unsackedEnd(this.sndNxt, seqAdd(this.sndNxt, len)), this.sndNxt);
      let ok = false;
      if (len > 0) {
        if (len >= mss || this.forceSend || this.probeNew) ok = true;
        else if (len === unsent && (this.noDelay || flight === 0 || this.finQueued)) ok = true; // Nagle (RFC 896)
        else if (len >= this.maxSndWnd >>> 1 && flight === 0) ok = true; // sender SWS (iii)
      }
      if (ok) {
        this.forceSend = false;
        const seq = this.sndNxt;
        const end = seqAdd(seq, len);
        const last = end === bufEnd;
        const fin = last && this.finQueued ? TCP_FIN : 0;
        const p = this.build(seq, TCP_ACK | fin | (last ? TCP_PSH : 0), seqSub(seq, this.bufSeq), len, false, mss);
        if (p === null) return null;
        this.dataSent(seq, len, seqAdd(end, fin ? 1 : 0), now);
        // Still more the window allows? Stay on the ready list.
        if (!last) this.owner.ready(false);
        return p;
      }
      // Nothing in flight and the window is the obstacle: the persist timer (RFC 9293 §3.8.6.1).
      if (flight === 0 && this.sndMax === this.sndUna && avail < Math.min(unsent, mss) && this.rtxKind !== RTX_PERSIST) {
        this.rtxKind = RTX_PERSIST;
        this.persistBackoff = 0;
        this.env.timers.arm(this.rtxTimer, now + this.persistInterval());
      }
      return null;
    }
    if (unsent === 0 && this.finQueued && this.sndNxt === this.finSeq) {
      const p = this.build(this.sndNxt, TCP_ACK | TCP_FIN, 0, 0, false);
      if (p === null) return null;
      if (seqLt(this.sndNxt, this.sndMax)) this.counters.retransmittedSegments++;
      this.sndNxt = seqAdd(this.finSeq, 1);
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      if (!this.rtxTimer.armed || this.rtxKind === RTX_PERSIST) this.armRto(now);
      return p;
    }
    return null;
  }

  /**
   * How many bytes may go now: the peer's window less what is in flight, and cwnd less
   * what is in flight (pipe in SACK recovery, RFC 6675; two segments more on the first
   * duplicate ACKs, RFC 3042 limited transmit); a loss probe sends one segment, cwnd or not.
   */
  private sendable(flight: number, mss: number): number {
    const wnd = this.sndWnd - flight;
    if (this.probeNew) return wnd < mss ? wnd : mss;
    const room = this.rec.sendWindow(mss) - this.rec.inFlight(flight);
    return room < wnd ? room : wnd;
  }

  /** Bookkeeping for data [seq, seq + len) just built (`after`: its end, past a FIN): RACK, retransmission counts, RTT timing, SND.NXT/MAX, the timer. */
  private dataSent(seq: number, len: number, after: number, now: number): void {
    const end = seqAdd(seq, len);
    this.rec.sent(seq, after, now);
    if (seqLt(seq, this.sndMax)) {
      const c = this.counters;
      c.retransmittedSegments++;
      c.retransmittedBytes += seqLt(end, this.sndMax) ? len : seqSub(this.sndMax, seq);
      if (this.timing && seqLt(seq, this.rttSeq)) this.timing = false;
    } else if (!this.timing && !this.tsOk) {
      this.timing = true;
      this.rttSeq = end;
      this.rttTime = now;
    }
    this.sndNxt = after;
    this.lastSend = now;
    if (seqGt(after, this.sndMax)) {
      this.sndMax = after;
      this.armRetransmit(now, false);
    } else if (!this.rtxTimer.armed || this.rtxKind === RTX_PERSIST) {
      this.armRto(now);
    }
  }

  /** Payload per segment now: sndMss, less the room SACK blocks take while we have some to send. */
  segMss(): number {
    const n = this.rx.sackReport.count;
    if (n === 0) return this.sndMss;
    const max = this.tsOk ? 3 : 4;
    const mss = this.sndMss - 4 - 8 * (n < max ? n : max);
    return mss > 64 ? mss : 64;
  }

  /**
   * The largest segment to hand the device: one MSS, or with TSO up to a 64 KB IP
   * packet, sized as Linux's tcp_tso_autosize does: about a millisecond at the
   * connection's rate (2·cwnd/SRTT in slow start, 1.2·cwnd/SRTT after), plus 64 KB >>
   * (min RTT / 512 µs) — so a short path gets whole 64 KB frames and a long, slow one
   * small frames (a frame lost on the way then takes few segments with it) — and at
   * least two segments.
   */
  private maxSegment(mss: number): number {
    const f = this.env.features;
    if (!f.tso) return mss;
    // Room for the header with options in the 64 KB IP packet.
    const gso = Math.min(f.maxTsoSize, 65535) - 80;
    let cap = gso;
    const rtt = this.rtt;
    if (rtt.srtt > 0) {
      const cc = this.cc;
      let bytes = ((cc.cwnd < cc.ssthresh ? 2 : 1.2) * cc.cwnd) / rtt.srtt;
      const shift = Math.floor((rtt.minRtt * 1000) / 512);
      if (shift < 31) bytes += gso >>> shift;
      if (bytes < 2 * mss) bytes = 2 * mss;
      if (bytes < cap) cap = bytes;
    }
    const n = Math.floor(cap / mss);
    return n > 1 ? n * mss : mss;
  }

  /**
   * Builds one segment: header in a new pool frame, payload as views of the send
   * buffer (`dataOff` from its first byte), checksum or checksum offload. A segment
   * with an ACK carries the receiver's RCV.NXT and window, and is the ACK owed.
   */
  build(seq: number, flags: number, dataOff: number, len: number, synOpts: boolean, segSize = this.sndMss): Packet | null {
    const env = this.env;
    const p = Packet.alloc(env.pool, L4_HEADROOM);
    if (p === null) {
      this.counters.drops.noBuffer++;
      return null;
    }
    const rx = this.rx;
    const owner = this.owner;
    const hasAck = (flags & TCP_ACK) !== 0;
    const synSent = owner.state === SYN_SENT;
    const wscale = synOpts && this.opts.windowScaling && (synSent || this.scaleOk);
    const ts = synOpts ? this.opts.timestamps && (synSent || this.tsOk) : this.tsOk;
    const sackPerm = synOpts && this.opts.sack && (synSent || this.sackOk);
    let optLen = synOpts ? 4 + (ts ? TS_LEN : sackPerm ? 4 : 0) + (wscale ? 4 : 0) : ts ? TS_LEN : 0;
    const report = rx.sackReport;
    const blocks = !synOpts && hasAck && !report.empty ? rx.sackBlocksFor(optLen, len < segSize ? len : segSize, this.mssLimit) : 0;
    const sackN = blocks >>> 1;
    const ds = blocks & 1;
    if (sackN + ds > 0) optLen += 4 + 8 * (sackN + ds);
    const hl = 20 + optLen;
    const at = p.append(hl);
    const b = p.bufs[0]!;
    writeU16(b, at, owner.localPort);
    writeU16(b, at + 2, owner.remotePort);
    writeU32(b, at + 4, seq);
    writeU32(b, at + 8, hasAck ? rx.rcvNxt : 0);
    b[at + 12] = (hl >>> 2) << 4;
    b[at + 13] = flags & 0xff;
    writeU16(b, at + 14, synOpts ? Math.min(rx.rcvBuf, 65535) : rx.selectWindow());
    b[at + 16] = 0;
    b[at + 17] = 0;
    b[at + 18] = 0;
    b[at + 19] = 0;
    // Options in Linux's layout (tcp_options_write; wire/tcp-options.ts emitTcpOptions).
    const o = this.writeOptions(b, at + 20, synOpts, ts, sackPerm, wscale);
    if (sackN + ds > 0) report.write(b, o, sackN, ds > 0);
    if (len > 0) {
      rx.dupAcksOwed = 0; // a segment with data is no duplicate ACK
      this.sbuf.appendTo(p, dataOff, len);
      if (len > segSize) {
        p.gsoSize = segSize;
        p.gsoType = GSO_TCPV4;
      }
    }
    finishSegmentChecksum(p, at, owner.localAddress, owner.remoteAddress, env.features.txCsumL4);
    const c = this.counters;
    c.segmentsOut++;
    c.bytesOut += len;
    if (hasAck) rx.ackSent();
    return p;
  }

  /** Writes the MSS, timestamps, SACK-permitted and window-scale options at `o` (those asked for); returns where the next goes. */
  private writeOptions(b: Uint8Array, o: number, synOpts: boolean, ts: boolean, sackPerm: boolean, wscale: boolean): number {
    const rx = this.rx;
    const synSent = this.owner.state === SYN_SENT;
    if (synOpts) {
      b[o] = 2;
      b[o + 1] = 4;
      writeU16(b, o + 2, rx.advMss);
      o += 4;
      rx.rcvAdv = seqAdd(rx.rcvNxt, Math.min(rx.rcvBuf, 65535));
    }
    if (ts) {
      b[o] = sackPerm ? 4 : 1;
      b[o + 1] = sackPerm ? 2 : 1;
      b[o + 2] = 8;
      b[o + 3] = 10;
      writeU32(b, o + 4, this.tsNow(this.env.clock.now()));
      writeU32(b, o + 8, synSent ? 0 : rx.tsRecent);
      o += TS_LEN;
    } else if (sackPerm) {
      b[o] = 1;
      b[o + 1] = 1;
      b[o + 2] = 4;
      b[o + 3] = 2;
      o += 4;
    }
    if (wscale) {
      b[o] = 1;
      b[o + 1] = 3;
      b[o + 2] = 3;
      b[o + 3] = rx.ourScale;
      o += 4;
    }
    return o;
  }
}
