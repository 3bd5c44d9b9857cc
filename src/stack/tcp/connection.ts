/**
 * One TCP connection: the RFC 9293 state machine (§3.10) and what the application sees
 * of it (write, read, shutdown, close, abort, keepalive, its callbacks). Its two halves
 * keep their own books: the sender (sender.ts: SND.*, the send buffer, the
 * retransmission timer, segments built when the device pulls; loss recovery in
 * loss-recovery.ts) and the receiver (receiver.ts: RCV.*, the window, the queues of what
 * came in, receive memory). The handshake's rules are in handshake.ts; a SYN in LISTEN
 * (SYN cookies, a SYN meeting TIME_WAIT) in listener.ts; TIME_WAIT itself is a compact
 * record (time-wait.ts). What a connection asks of the TCP that hosts it, and when
 * callbacks run and segments leave, is in host.ts.
 *
 * Receive (`segmentArrives`, RFC 9293 §3.10.7.4 step by step) only updates state and
 * marks what must be sent; transmit (`output`) is pulled by the Tcp, one segment at a time.
 */
import type { Owner } from '../../packet/owner.js';
import type { Packet } from '../../packet/packet.js';
import type { Timer } from '../../time/timers.js';
import { seqAdd, seqGeq, seqGt, seqLeq, seqLt } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { EV_CLOSE, EV_CONNECT, EV_END, EV_READABLE, EV_WRITABLE, tcpError, type EventTarget, type TcpError, type TcpErrorCode } from './events.js';
import { negotiate, SYN_SENT_BAD_ACK, SYN_SENT_REFUSED, SYN_SENT_SYN, SYN_SENT_SYN_ACK, synSentVerdict } from './handshake.js';
import type { Acceptor, ConnectionHost } from './host.js';
import type { ResolvedTcpOptions } from './options.js';
import { Receiver } from './receiver.js';
import type { SegmentInfo } from './segment.js';
import { IdleTimer, type IdleOwner } from './idle-timer.js';
import { timeWaitStateOf } from './time-wait.js';
import { MIN_MSS, RTX_PERSIST, RTX_PROBE, Sender, type SenderOwner } from './sender.js';
import {
  CLOSE_WAIT, CLOSED, CLOSING, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, STATE_NAMES, SYN_RECEIVED, SYN_SENT, TIME_WAIT,
  type TcpStateName,
} from './state.js';

export class TcpConnection implements EventTarget, SenderOwner, IdleOwner {
  // --- identity and bookkeeping (owned by Tcp) ---
  hashNext: TcpConnection | null = null;
  inReady = false;
  events = 0;
  inEventQueue = false;
  /** The listener while in its SYN queue or accept queue. */
  listener: Acceptor<TcpConnection> | null = null;
  inAcceptQueue = false;
  readonly passive: boolean;

  // --- callbacks ---
  onConnect: (() => void) | null = null;
  onReadable: (() => void) | null = null;
  onWritable: (() => void) | null = null;
  onEnd: (() => void) | null = null;
  onClose: ((error?: TcpError) => void) | null = null;

  /** Numeric state (state.ts); `stateName` for people. */
  state = CLOSED;
  /** The peer's ISN. */
  irs = 0;
  /** SND.*, the send buffer, retransmission and loss recovery, the segments we build. */
  readonly snd: Sender;
  /** RCV.NXT, the window, the queues of received data, SACK reports, autotuning, receive memory. */
  readonly rx: Receiver;
  private peerFin = false;
  /** The TIME_WAIT record that took over (slot and generation in tcp.timeWait), or -1. */
  private twSlot = -1;
  private twGen = 0;

  // --- timers: retransmission (the sender's: RTO, persist or probe) and idle (keepalive or FIN_WAIT_2); the delayed ACK's is the receiver's ---
  private readonly rtxTimer: Timer;
  private readonly idle: IdleTimer;

  // --- the application's side ---
  private userClosed = false;
  private endDelivered = false;
  private closeDelivered = false;
  private closeError: TcpError | null = null;
  private closePending = false;
  /** Bytes the application wrote / read. */
  bytesWritten = 0;
  bytesRead = 0;

  constructor(
    private readonly tcp: ConnectionHost<TcpConnection>,
    readonly localAddress: number,
    readonly localPort: number,
    readonly remoteAddress: number,
    readonly remotePort: number,
    readonly opts: ResolvedTcpOptions,
    passive: boolean,
  ) {
    this.passive = passive;
    const env = tcp.env;
    const mtu = Math.min(env.features.mtu, remoteAddress ? env.pathMtu(remoteAddress) : env.features.mtu);
    this.rx = new Receiver(opts, Math.max(MIN_MSS, Math.min(mtu - 40, opts.mss)), env.rxMemory, tcp.counters, env.timers, (fromUser) => this.ready(fromUser));
    const timers = env.timers;
    this.rtxTimer = timers.create((now) => this.onRtxTimer(now));
    this.idle = new IdleTimer(this, timers, opts);
    const tsOffset = tcp.tsOffsetFor(localAddress, remoteAddress);
    this.snd = new Sender(this, env, tcp.counters, tcp.blocks, opts, this.rx, this.rtxTimer, tsOffset);
  }

  // ================================================================ what the sender asks (SenderOwner)

  ready(fromUser: boolean): void {
    this.tcp.markReady(this, fromUser);
  }

  writable(): void {
    this.tcp.queueEvent(this, EV_WRITABLE);
  }

  /** Our FIN was acknowledged (RFC 9293 §3.10.7.4): the next state. False when the connection is gone (TIME_WAIT or CLOSED). */
  finAcked(now: number): boolean {
    const st = this.state;
    if (st === FIN_WAIT_1) {
      this.setState(FIN_WAIT_2);
      if (this.userClosed) this.idle.finWait2(now + this.opts.finWait2Timeout);
    } else if (st === CLOSING) {
      this.enterTimeWait(now);
      return false;
    } else if (st === LAST_ACK) {
      this.destroy(null);
      return false;
    }
    return true;
  }

  // ================================================================ public API

  get stateName(): TcpStateName {
    if (this.twSlot >= 0) this.timeWaitOver();
    return STATE_NAMES[this.state]!;
  }

  /** Bytes waiting to be read. */
  get readableLength(): number {
    return this.rx.rq.length;
  }

  /** Bytes written and not yet acknowledged. */
  get writableLength(): number {
    return this.snd.sbuf.length;
  }

  /** Bytes acknowledged by the peer. */
  get bytesSent(): number {
    return this.bytesWritten - this.snd.sbuf.length;
  }

  get bytesReceived(): number {
    return this.bytesRead + this.rx.rq.length;
  }

  /** The peer has sent FIN (no more data will arrive after what is queued). */
  get ended(): boolean {
    return this.peerFin;
  }

  /** The RTO now (ms), SRTT (ms), and the congestion window (bytes): for tests and stats. */
  get rto(): number {
    return this.snd.rtt.rto;
  }

  get srtt(): number {
    return this.snd.rtt.srtt;
  }

  get cwnd(): number {
    return this.snd.cc.cwnd;
  }

  /** The payload per segment we send (the negotiated MSS less the timestamp option). */
  get sndMss(): number {
    return this.snd.sndMss;
  }

  /** The receive buffer now (recvBuffer, grown by autotuning up to recvBufferMax): the most the window offers. */
  get receiveBufferSize(): number {
    return this.rx.rcvBuf;
  }

  /** What the received data this connection holds costs (truesize: frames by their slots), in and out of order. */
  get receiveCharge(): number {
    return this.rx.charge;
  }

  /** What it may cost (twice the receive buffer, as Linux doubles SO_RCVBUF); past it, data is collapsed, pruned, dropped. */
  get receiveBudget(): number {
    return this.rx.budget;
  }

  /** RCV.NXT: the next sequence number we expect. */
  get rcvNxt(): number {
    return this.rx.rcvNxt;
  }

  /** The MSS we announce. */
  get advMss(): number {
    return this.rx.advMss;
  }

  /** The send buffer limit now (sendBuffer, grown with cwnd up to sendBufferMax). */
  get sendBufferSize(): number {
    return this.snd.sndBuf;
  }

  /** In fast retransmit / SACK loss recovery. */
  get recovering(): boolean {
    return this.snd.rec.inRecovery;
  }

  /** Bytes the peer has SACKed above SND.UNA (the scoreboard; for tests and stats). */
  get sackedBytes(): number {
    return this.snd.rec.sackedBytes;
  }

  /** The send shift we apply to the peer's windows and the one we apply to ours. */
  get windowScales(): { send: number; receive: number } {
    return { send: this.snd.sndScale, receive: this.rx.rcvScale };
  }

  /** Whether the connection still takes data to send (not shut down for writing, reset or closed). */
  get acceptsWrites(): boolean {
    const st = this.state;
    return !this.snd.finQueued && (st === ESTABLISHED || st === CLOSE_WAIT || st === SYN_SENT || st === SYN_RECEIVED);
  }

  /**
   * Copies up to free send-buffer space from `bytes` into the send buffer; returns how
   * many bytes it took (0 when full: back pressure, `onWritable` follows; 0 also once
   * the connection is shut down for writing or closed).
   */
  write(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
    if (!this.acceptsWrites) return 0;
    const n = this.snd.write(bytes, offset, length);
    if (n <= 0) return 0;
    this.bytesWritten += n;
    if (this.state === ESTABLISHED || this.state === CLOSE_WAIT) this.tcp.markReady(this, true);
    return n;
  }

  /**
   * Zero-copy send: `bytes` join the send buffer as they are, without a copy. They must
   * not change until `owner` is released (when they are acknowledged and no segment
   * holds them, or the connection is gone). Returns false, taking nothing, when they do
   * not fit in the free send-buffer space (onWritable follows) or the connection no
   * longer sends.
   */
  writeOwned(bytes: Uint8Array, owner: Owner): boolean {
    if (!this.acceptsWrites || !this.snd.writeOwned(bytes, owner)) return false;
    this.bytesWritten += bytes.length;
    if (bytes.length > 0 && (this.state === ESTABLISHED || this.state === CLOSE_WAIT)) this.tcp.markReady(this, true);
    return true;
  }

  /**
   * Zero-copy receive: the oldest received data as the packet it came in (a view of
   * receive frames, payload only), or null. The caller owns it and must release it.
   */
  readPacket(): Packet | null {
    const p = this.rx.rq.take();
    if (p === null) return null;
    this.bytesRead += p.length;
    this.afterRead();
    return p;
  }

  /** Received bytes (a copy, up to `max`), or null when none are queued. */
  read(max = Infinity): Uint8Array | null {
    if (this.rx.rq.length === 0) return null;
    const out = this.rx.rq.read(max);
    if (out === null) return null;
    this.bytesRead += out.length;
    this.afterRead();
    return out;
  }

  /** Copies up to `length` received bytes into `dst` at `offset`; returns how many (0 when none are queued). */
  readInto(dst: Uint8Array, offset = 0, length = dst.length - offset): number {
    const n = this.rx.rq.readInto(dst, offset, length);
    if (n === 0) return 0;
    this.bytesRead += n;
    this.afterRead();
    return n;
  }

  /** Releases received data nobody read (the stack is torn down). */
  dropUnread(): void {
    this.rx.rq.clear();
  }

  private afterRead(): void {
    const rx = this.rx;
    if (this.twSlot >= 0 && rx.rq.length === 0) this.tcp.holdUnread(this, false);
    if (rx.rq.length === 0 && this.peerFin && !this.endDelivered) this.tcp.queueEvent(this, EV_END);
    if (rx.rq.length === 0 && this.closePending) {
      this.closePending = false;
      this.tcp.queueEvent(this, EV_CLOSE);
    }
    rx.tune(this.bytesRead, this.tcp.env.clock.now(), this.snd.rtt.srtt);
    // Announce a window that opened meaningfully (RFC 9293 §3.8.6.2.2).
    const st = this.state;
    if ((st === ESTABLISHED || st === FIN_WAIT_1 || st === FIN_WAIT_2) && rx.windowUpdateDue()) rx.ackNow(true);
  }

  /** Sends FIN after the queued data (half-close: reading goes on). */
  shutdown(): void {
    this.queueFin();
  }

  /** Graceful close: FIN after the queued data. RST if unread data is left, or if data arrives later (RFC 1122 §4.2.2.13, RFC 2525). */
  close(): void {
    if (this.userClosed) return;
    this.userClosed = true;
    if (this.state === CLOSED) {
      this.closedAgain();
      return;
    }
    if (this.rx.rq.length > 0 || (this.state === SYN_SENT && this.snd.sbuf.length === 0)) {
      this.abort();
      return;
    }
    this.queueFin();
    if (this.state === FIN_WAIT_2) this.idle.finWait2(this.tcp.env.clock.now() + this.opts.finWait2Timeout);
  }

  /** Abortive close: RST (in a synchronized state) and all state dropped; onClose() without error. */
  abort(): void {
    this.userClosed = true;
    const st = this.state;
    if (st === CLOSED) {
      this.closedAgain();
      return;
    }
    if (st === SYN_RECEIVED || st === ESTABLISHED || st === FIN_WAIT_1 || st === FIN_WAIT_2 || st === CLOSE_WAIT) this.resetAcking();
    this.destroy(null);
    this.rx.rq.clear();
  }

  /** close() or abort() on a connection already CLOSED: what it held unread goes, and the 'close' it kept back. */
  private closedAgain(): void {
    this.rx.rq.clear();
    if (this.closePending) {
      this.closePending = false;
      this.tcp.queueEvent(this, EV_CLOSE);
    }
  }

  setNoDelay(on = true): void {
    this.snd.noDelay = on;
    if (on) this.tcp.markReady(this, true);
  }

  setKeepAlive(on: boolean, idle?: number, interval?: number, count?: number): void {
    this.idle.configure(on, idle, interval, count, this.tcp.env.clock.now());
  }

  /** The next segment this connection wants to send, or null (the sender's; Tcp.pull asks). */
  output(now: number): Packet | null {
    return this.snd.output(now);
  }

  /** Whether output() may have a segment now. */
  get mayOutput(): boolean {
    return this.snd.mayOutput;
  }

  // ================================================================ opening (called by Tcp and the listener)

  /** Active open: SYN_SENT, SYN queued. */
  openActive(now: number): void {
    this.snd.init(this.tcp.isnFor(this, now));
    this.setState(SYN_SENT);
    this.snd.synPending = true;
    this.tcp.markReady(this, true);
  }

  /** Passive open from a SYN the listener accepted: SYN_RECEIVED, SYN-ACK queued. */
  openPassive(s: SegmentInfo, now: number): void {
    const snd = this.snd;
    snd.init(this.tcp.isnFor(this, now));
    this.synArrived(s);
    snd.takeWindow(s.window, s.seq, snd.iss); // never scaled in a SYN
    this.setState(SYN_RECEIVED);
    snd.synPending = true;
    this.tcp.markReady(this, false);
  }

  /**
   * Passive open from a SYN cookie (syn-cookie.ts): `syn` is the SYN rebuilt from the
   * cookie, already answered statelessly with ISS `iss`; the segment that brought the
   * cookie back follows (segmentArrives) and establishes the connection.
   */
  openFromCookie(syn: SegmentInfo, iss: number, now: number): void {
    const snd = this.snd;
    this.openPassive(syn, now);
    snd.synPending = false;
    snd.init(iss);
    snd.sndNxt = snd.sndMax = seqAdd(iss, 1);
    snd.takeWindow(syn.window, syn.seq, iss);
    this.rx.rcvAdv = seqAdd(this.rx.rcvNxt, Math.min(this.rx.rcvBuf, 65535)); // what the SYN-ACK offered
  }

  /** The peer's SYN `s`: its ISN, RCV.NXT past it, and the options both ends use (handshake.ts). */
  private synArrived(s: SegmentInfo): void {
    const rx = this.rx;
    this.irs = s.seq;
    rx.rcvNxt = seqAdd(s.seq, 1);
    rx.rcvAdv = rx.rcvNxt;
    rx.lastAckSent = rx.rcvNxt;
    negotiate(s, this.opts, this.snd, rx, this.tcp.env.pathMtu(this.remoteAddress), this.tcp.env.clock.now());
  }

  /** RFC 9293 §3.10.7.3: a segment in SYN_SENT (handshake.ts says what it is). */
  private synSentArrives(s: SegmentInfo, now: number): void {
    const snd = this.snd;
    const counters = this.tcp.counters;
    switch (synSentVerdict(s, snd.iss, snd.sndMax)) {
      case SYN_SENT_BAD_ACK:
        counters.drops.badAck++;
        this.resetTo(s.ack);
        return;
      case SYN_SENT_REFUSED:
        counters.resetsReceived++;
        counters.connectFailures++;
        this.destroy(tcpError('ECONNREFUSED'));
        return;
      case SYN_SENT_SYN_ACK:
        this.synArrived(s);
        this.rx.rcvAdv = seqAdd(this.rx.rcvNxt, Math.min(this.rx.rcvBuf, 65535)); // what our SYN offered
        snd.takeWindow(s.window, s.seq, s.ack); // not scaled in a SYN
        snd.synAcked(now);
        this.setState(snd.finQueued ? FIN_WAIT_1 : ESTABLISHED);
        this.idle.opened(now);
        this.tcp.queueEvent(this, EV_CONNECT);
        this.rx.ackNow();
        if (snd.sbuf.length > 0 || snd.finQueued) this.tcp.markReady(this, false);
        return;
      case SYN_SENT_SYN:
        // Simultaneous open (RFC 9293 §3.5, figure 7): our SYN goes again as a SYN-ACK.
        this.synArrived(s);
        this.rx.rcvAdv = seqAdd(this.rx.rcvNxt, Math.min(this.rx.rcvBuf, 65535));
        snd.takeWindow(s.window, s.seq, snd.iss);
        this.setState(SYN_RECEIVED);
        snd.synPending = true;
        snd.sndNxt = snd.iss;
        this.tcp.markReady(this, false);
        return;
    }
  }

  /** In SYN_RECEIVED, the ACK of our SYN-ACK (`ack`, checked by the caller): the handshake is done. */
  private establish(now: number): void {
    const snd = this.snd;
    snd.synAcked(now);
    this.setState(ESTABLISHED);
    if (snd.finQueued) this.setState(FIN_WAIT_1); // close() while in SYN_RECEIVED
    this.idle.opened(now);
    if (this.passive) {
      if (this.listener !== null && !this.listener.established(this)) {
        // Accept queue full: give up on this one (counted by the listener).
        this.resetAcking();
        this.destroy(null);
        return;
      }
    } else {
      this.tcp.queueEvent(this, EV_CONNECT);
    }
    if (snd.sbuf.length > 0 || snd.finQueued) this.tcp.markReady(this, false);
  }

  /** In SYN_RECEIVED, the peer's SYN again: our SYN-ACK was lost, or a simultaneous open (its SYN-ACK). */
  private synAgain(s: SegmentInfo, now: number): void {
    const snd = this.snd;
    if (s.flags & TCP_ACK && seqGt(s.ack, snd.sndUna) && seqLeq(s.ack, snd.sndMax)) {
      snd.takeWindow(s.window, s.seq, s.ack);
      this.establish(now);
      this.rx.ackNow();
    } else {
      snd.synPending = true;
      snd.sndNxt = snd.iss;
      this.tcp.markReady(this, false);
    }
  }

  /** Fragmentation needed (RFC 1191): a smaller MSS, and what is in flight goes again in smaller pieces. */
  pathMtuChanged(mtu: number, seq: number): void {
    if (this.state === CLOSED || this.state === TIME_WAIT) return;
    this.snd.pathMtuChanged(mtu, seq);
  }

  /** A hard ICMP error for a connection attempt (RFC 1122 §4.2.3.9: abort only while opening). */
  icmpUnreachable(code: TcpErrorCode, seq: number): void {
    if (this.state !== SYN_SENT) return;
    if (!(seqGeq(seq, this.snd.sndUna) && seqLeq(seq, this.snd.sndMax))) return;
    this.tcp.counters.connectFailures++;
    this.destroy(tcpError(code));
  }

  /** Fails before any segment was sent (no route, no free port). */
  failNow(code: TcpErrorCode): void {
    this.tcp.counters.connectFailures++;
    this.closeError = tcpError(code);
    this.tcp.queueEvent(this, EV_CLOSE);
  }

  // ================================================================ receive

  /**
   * A segment for this connection; `p` is its payload (header trimmed), owned from here
   * on. RFC 9293 §3.10.7.4 for the synchronized states, in its order, each step a call
   * (SYN_SENT: §3.10.7.3, synSentArrives).
   */
  segmentArrives(s: SegmentInfo, p: Packet, now: number): void {
    const st = this.state;
    if (st === SYN_SENT) {
      p.release();
      this.synSentArrives(s, now);
      return;
    }
    if (st === CLOSED) {
      p.release();
      return;
    }
    this.idle.heard(now);
    const rx = this.rx;
    const snd = this.snd;
    snd.tsEcr = -1;
    if (rx.pawsRejects(s, p, now)) return;
    snd.tsEcr = rx.tsOk && s.tsPresent ? s.tsEcr : -1;
    const segLen = p.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
    // First: sequence number (acceptability).
    if (!rx.acceptable(s.seq, segLen)) {
      this.unacceptable(s, p, segLen, now);
      return;
    }
    rx.timestampsArrive(s, p, now, snd);
    const flags = rx.trimToWindow(s, p);
    const seq = seqLt(s.seq, rx.rcvNxt) ? rx.rcvNxt : s.seq;
    // Second: RST. Fourth: SYN (the third, security, has nothing to check here).
    if (flags & (TCP_RST | TCP_SYN)) {
      p.release();
      if (flags & TCP_RST) this.rstArrives(s, now);
      else rx.challengeAck(now); // RFC 5961 §4
      return;
    }
    // Fifth: ACK (a segment without one is dropped).
    if (!(flags & TCP_ACK) || !this.ackArrives(s, p.length, flags, now)) {
      p.release();
      return;
    }
    // Sixth (URG: not supported, as RFC 9293 allows) and seventh: the text.
    const fin = this.dataArrives(s, seq, p, flags & TCP_FIN, now);
    // Eighth: FIN.
    if (fin && this.state !== CLOSED) this.finArrives(now);
  }

  /**
   * A segment outside the window: dropped, and answered with an ACK (unless it is a RST),
   * with the allowances RFC 9293 makes: a lost SYN-ACK, valid ACKs on old segments.
   */
  private unacceptable(s: SegmentInfo, p: Packet, segLen: number, now: number): void {
    const flags = s.flags;
    const seq = s.seq;
    const rx = this.rx;
    const snd = this.snd;
    const old = p.length > 0 && seqLeq(seqAdd(seq, p.length), rx.rcvNxt);
    // RFC 2883: data we already had is reported back (a D-SACK), so the sender can tell a needless retransmission.
    if (old) rx.duplicate(seq, seqAdd(seq, p.length));
    p.release();
    if (flags & TCP_RST) return;
    if (this.state === SYN_RECEIVED && flags & TCP_SYN && seq === this.irs) {
      this.synAgain(s, now);
      return;
    }
    // An unacceptable segment that does not start past rcvNxt (an old duplicate, or data
    // against our zero window) may still carry news in its ACK field (RFC 9293 §3.10.7.4:
    // "special allowance should be made to accept valid ACKs"): after a timeout both ends
    // resend old data, and ignoring those ACKs would stall both.
    if (flags & TCP_ACK && !(flags & TCP_SYN) && this.state !== SYN_RECEIVED && seqLeq(seq, rx.rcvNxt) && seqGeq(s.ack, snd.sndUna) && seqLeq(s.ack, snd.sndMax)) {
      if (seqGt(s.ack, snd.sndUna)) {
        snd.newAck(s.ack, now);
        if (this.state === CLOSED) return;
      }
      if (seq === rx.rcvNxt) snd.updateWindow(s);
    }
    // Zero-window and keepalive probes (one below rcvNxt, or at it against a zero
    // window) are expected; they, old data (with its D-SACK) and data at RCV.NXT against
    // a zero window are answered at once: the sender waits for those ACKs. Anything else
    // is counted, and answered at a limited rate (the one rate limit Linux does not have
    // for data: a flood past the window gets no ACK for each segment).
    const probe = segLen <= 1 && (seq === seqAdd(rx.rcvNxt, -1) || (rx.window === 0 && seq === rx.rcvNxt));
    if (!probe) this.tcp.counters.drops.outOfWindow++;
    if (probe || old || seq === rx.rcvNxt) rx.ackNow();
    else this.rx.outOfWindowAck(now);
  }

  /** A RST in the window (RFC 5961 §3): an exact match resets, any other gets a challenge ACK. */
  private rstArrives(s: SegmentInfo, now: number): void {
    if (s.seq !== this.rx.rcvNxt) {
      this.rx.challengeAck(now);
      return;
    }
    this.tcp.counters.resetsReceived++;
    const st = this.state;
    if (st === SYN_RECEIVED) this.destroy(this.passive ? null : tcpError('ECONNREFUSED'));
    else if (st === ESTABLISHED || st === FIN_WAIT_1 || st === FIN_WAIT_2 || st === CLOSE_WAIT) this.destroy(tcpError('ECONNRESET'));
    else this.destroy(null);
  }

  /**
   * The fifth check, the ACK field: in SYN_RECEIVED, the handshake's last step; then the
   * sender's (what it acknowledges, SACK and loss detection, the send window). False when
   * the segment goes no further (dropped, or the connection closed).
   */
  private ackArrives(s: SegmentInfo, len: number, flags: number, now: number): boolean {
    const snd = this.snd;
    const st = this.state;
    if (st === SYN_RECEIVED) {
      const ack = s.ack;
      if (!(seqGt(ack, snd.sndUna) && seqLeq(ack, snd.sndMax))) {
        this.tcp.counters.drops.badAck++;
        this.resetTo(ack);
        return false;
      }
      snd.takeWindow(s.window << snd.sndScale, s.seq, ack);
      this.establish(now);
      if (this.state !== ESTABLISHED) return false;
    }
    return snd.ackArrives(s, len, flags, now);
  }

  /**
   * The seventh check, the text: data at `seq` (trimmed to the window) goes to the
   * application's queue when it is next, or is held out of order (and answered with a
   * duplicate ACK at once). Returns the FIN to process now: `fin`, or one that was held
   * past a gap just filled, or 0.
   */
  private dataArrives(s: SegmentInfo, seq: number, p: Packet, fin: number, now: number): number {
    const st = this.state;
    const receiving = st === ESTABLISHED || st === FIN_WAIT_1 || st === FIN_WAIT_2;
    if (p.length === 0) {
      p.release();
      if (fin && seq !== this.rx.rcvNxt) {
        // A bare FIN past a gap: remember it.
        if (receiving) this.rx.ooo.finEnd = seqAdd(seq, 1);
        this.rx.ackNow();
        return 0;
      }
      return fin;
    }
    if (this.userClosed && (st === FIN_WAIT_1 || st === FIN_WAIT_2)) {
      // New data after close(): nobody will read it. RFC 1122 §4.2.2.13: send a RST to
      // show that data was lost (Linux: TCPAbortOnData). Its seq is the segment's ACK
      // (at most SND.MAX): what the peer expects, as Linux's tcp_v4_send_reset does.
      p.release();
      this.tcp.counters.abortOnData++;
      this.resetTo(s.ack);
      this.destroy(null);
      return 0;
    }
    if (!receiving) {
      p.release();
      return fin;
    }
    if (seq !== this.rx.rcvNxt) {
      this.rx.outOfOrder(seq, p, fin);
      return 0;
    }
    const f = this.rx.inOrder(p, fin, now, this.opts.delayedAck);
    if (f < 0) return 0;
    this.tcp.queueEvent(this, EV_READABLE);
    return f;
  }

  /** The eighth check: the peer's FIN, in order. */
  private finArrives(now: number): void {
    this.rx.rcvNxt = seqAdd(this.rx.rcvNxt, 1);
    this.peerFin = true;
    this.rx.ackNow();
    if (this.rx.rq.length === 0 && !this.endDelivered) this.tcp.queueEvent(this, EV_END);
    switch (this.state) {
      case SYN_RECEIVED:
      case ESTABLISHED:
        this.setState(CLOSE_WAIT);
        break;
      case FIN_WAIT_1:
        this.setState(CLOSING);
        break;
      case FIN_WAIT_2:
        this.enterTimeWait(now);
        break;
    }
  }

  /** A RST for a segment that acknowledged `ack` (its sequence number is what the peer expects). */
  private resetTo(ack: number): void {
    this.tcp.queueReset(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, ack, 0, TCP_RST);
  }

  /** A RST in the connection's own sequence space (abort, a full accept queue, keepalive giving up). */
  private resetAcking(): void {
    this.tcp.queueReset(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, this.snd.sndNxt, this.rx.rcvNxt, TCP_RST | TCP_ACK);
  }

  // ================================================================ closing

  private queueFin(): void {
    const st = this.state;
    if (this.snd.finQueued) return;
    if (!(st === SYN_SENT || st === SYN_RECEIVED || st === ESTABLISHED || st === CLOSE_WAIT)) return;
    this.snd.queueFin();
    if (st === ESTABLISHED) this.setState(FIN_WAIT_1);
    else if (st === CLOSE_WAIT) this.setState(LAST_ACK);
    // SYN_SENT, SYN_RECEIVED: FIN_WAIT_1 once established (data and FIN follow the handshake).
    this.tcp.markReady(this, true);
  }

  /**
   * TIME_WAIT: what is left to do (answer old segments for 2·MSL) goes to a compact
   * record in the Tcp's TIME_WAIT table, and this object lets go of its buffers and
   * timers; it only still sends the ACK it may owe for the peer's FIN.
   */
  private enterTimeWait(now: number): void {
    const tcp = this.tcp;
    const snd = this.snd;
    const rx = this.rx;
    this.setState(TIME_WAIT);
    snd.stop();
    rx.stopAcks();
    this.idle.cancel();
    rx.ooo.clear();
    if (!this.closeDelivered) tcp.queueEvent(this, EV_CLOSE);
    const record = timeWaitStateOf(this, snd, rx, 2 * this.opts.msl);
    const slot = tcp.adoptTimeWait(this, record, now);
    if (slot >= 0) {
      this.twSlot = slot;
      this.twGen = tcp.timeWait.generation(slot);
      // Out of the table now: the Tcp remembers it while it holds unread data (a teardown frees it).
      if (rx.rq.length > 0) tcp.holdUnread(this, true);
      return;
    }
    // The TIME_WAIT table is full: close now (as Linux past tcp_max_tw_buckets), ACKing the FIN first.
    if (rx.ackPending) tcp.queueBare(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, snd.sndMax, rx.rcvNxt, TCP_ACK, record.windowField, snd.tsOk ? snd.tsNow(now) : -1, rx.tsRecent);
    this.destroy(null);
  }

  /** Handed to the TIME_WAIT table, whose record has ended since: this connection is CLOSED. */
  private timeWaitOver(): boolean {
    if (this.twSlot < 0 || this.tcp.timeWait.holds(this.twSlot, this.twGen)) return false;
    this.twSlot = -1;
    this.state = CLOSED;
    return true;
  }

  /** Everything goes: timers, buffers, the table entry. `error` for onClose (null: none). */
  destroy(error: TcpError | null): void {
    if (this.state === CLOSED) return;
    if (this.twSlot >= 0) {
      // In the TIME_WAIT table: end its record (which does the counting), if it is still there.
      if (!this.timeWaitOver()) {
        this.tcp.timeWait.remove(this.twSlot);
        this.twSlot = -1;
        this.state = CLOSED;
      }
      return;
    }
    const snd = this.snd;
    snd.stop();
    this.rx.stopAcks();
    this.idle.cancel();
    snd.synPending = this.rx.ackPending = snd.rec.rexmitPending = snd.probePending = false;
    this.setState(CLOSED);
    this.rx.ooo.clear();
    if (this.userClosed || error !== null) this.rx.rq.clear();
    if (this.listener !== null) this.listener.forget(this);
    this.tcp.removeConnection(this);
    if (!this.closeDelivered) {
      this.closeError = error;
      this.tcp.queueEvent(this, EV_CLOSE);
    }
  }

  private setState(s: number): void {
    // Counts of connections in each state: a CLOSED one is in none (it is not counted).
    const c = this.tcp.stateCounts;
    if (this.state !== CLOSED) c[this.state]--;
    if (s !== CLOSED) c[s]++;
    this.state = s;
  }

  // ================================================================ timers

  /** The retransmission timer: the sender's, for what it is armed for (RTO, persist, probe). */
  private onRtxTimer(now: number): void {
    const st = this.state;
    const snd = this.snd;
    if (st === CLOSED || st === TIME_WAIT) return;
    if (snd.rtxKind === RTX_PERSIST) {
      snd.persistTimeout(now);
      this.tcp.flush();
    } else if (snd.sndUna === snd.sndMax && !snd.synPending) {
      return;
    } else if (snd.rtxKind === RTX_PROBE) {
      snd.probeTimeout(now);
    } else {
      this.onRetransmitTimeout(now);
    }
  }

  /** The RTO (RFC 6298 §5): the sender backs off and goes back, or, after too many in a row, the connection gives up. */
  private onRetransmitTimeout(now: number): void {
    const st = this.state;
    const tcp = this.tcp;
    const opening = st === SYN_SENT || st === SYN_RECEIVED;
    if (this.snd.retransmitTimeout(now, opening ? this.opts.synRetries : this.opts.maxRetries, opening)) return;
    tcp.counters.timeouts++;
    if (st === SYN_SENT) tcp.counters.connectFailures++;
    this.destroy(st === SYN_RECEIVED && this.passive ? null : tcpError('ETIMEDOUT'));
    tcp.flush();
  }

  // --- the idle timer's (IdleOwner) ---

  get open(): boolean {
    return this.state === ESTABLISHED || this.state === CLOSE_WAIT;
  }

  keepaliveProbe(): void {
    this.tcp.counters.keepaliveProbes++;
    this.snd.probePending = true;
    this.tcp.markReady(this, true);
  }

  keepaliveFailed(): void {
    this.tcp.counters.timeouts++;
    this.resetAcking();
    this.destroy(tcpError('ETIMEDOUT'));
    this.tcp.flush();
  }

  /** A closed connection waited too long in FIN_WAIT_2 for the peer's FIN (Linux tcp_fin_timeout): gone. */
  finWait2Expired(): void {
    this.tcp.counters.timeouts++;
    this.destroy(null);
    this.tcp.flush();
  }

  // ================================================================ events

  /** The callbacks owed (event bits from queueEvent), at a safe point (host.ts). */
  dispatchEvents(): void {
    // Nobody has it yet (accept queue): its events wait for accept(), which queues them again.
    if (this.inAcceptQueue) return;
    const ev = this.events;
    this.events = 0;
    if (this.closeDelivered) return;
    if (ev & EV_CONNECT) this.onConnect?.();
    if (ev & EV_READABLE && this.rx.rq.length > 0) this.onReadable?.();
    if (ev & EV_WRITABLE) this.onWritable?.();
    if ((ev & EV_END || (ev & EV_CLOSE && this.peerFin)) && !this.endDelivered && this.rx.rq.length === 0 && this.peerFin) {
      this.endDelivered = true;
      this.onEnd?.();
    }
    if (ev & EV_CLOSE && !this.closeDelivered && this.closeError === null && this.rx.rq.length > 0 && !this.userClosed) {
      // Closed cleanly with data still unread: onClose waits until it is read (after onEnd), as Node's 'close' does.
      this.closePending = true;
    } else if (ev & EV_CLOSE && !this.closeDelivered) {
      this.closeDelivered = true;
      const e = this.closeError;
      if (e) this.onClose?.(e);
      else this.onClose?.();
    }
  }
}
