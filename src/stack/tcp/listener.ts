/**
 * A listening socket (RFC 9293 LISTEN), and what happens to a SYN: `segmentArrives`
 * takes every segment for its port that no connection has (§3.10.7.2), and
 * `takesOverTimeWait` decides whether a SYN may start a new incarnation of a 4-tuple
 * still in TIME_WAIT. A SYN queue of connections in SYN_RECEIVED and an accept queue of
 * established ones nobody has taken yet, both bounded; what does not fit is dropped and
 * counted. When the SYN queue is full (and the accept queue is not), SYNs are answered
 * with SYN cookies (syn-cookie.ts, as Linux's tcp_syncookies=1); the listener remembers
 * when that last happened, as ACKs are checked as cookies only for a while after it.
 */
import type { Packet } from '../../packet/packet.js';
import { seqAdd } from '../../wire/seq.js';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { EV_CONNECTION, type EventTarget } from './events.js';
import { TcpConnection } from './connection.js';
import { shiftFor } from './receiver.js';
import { SegmentInfo } from './segment.js';
import { COOKIE_VALID, cookieTsOptions, cookieTsVal } from './syn-cookie.js';
import type { ResolvedTcpOptions } from './options.js';
import type { Acceptor, ListenerHost } from './host.js';

export class TcpListener implements EventTarget, Acceptor<TcpConnection> {
  events = 0;
  inEventQueue = false;
  private synQueue = 0;
  private readonly acceptQueue: TcpConnection[] = [];
  private readonly embryos = new Set<TcpConnection>();
  private closed = false;
  /** When the SYN queue last overflowed (ms), -Infinity: never. */
  private overflowAt = -Infinity;
  private connectionCb: ((c: TcpConnection) => void) | null = null;
  /** Called when accept() has something (when no onConnection callback is set). */
  onAcceptable: (() => void) | null = null;

  constructor(
    private readonly tcp: ListenerHost<TcpConnection>,
    readonly port: number,
    /** 0 for any local address. */
    readonly address: number,
    readonly backlog: number,
    readonly synBacklog: number,
    readonly opts: ResolvedTcpOptions,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Connections waiting in accept(). */
  get pending(): number {
    return this.acceptQueue.length;
  }

  /** Connections still in the handshake. */
  get handshaking(): number {
    return this.synQueue;
  }

  /** Every new established connection is handed to `cb` (instead of accept()). */
  onConnection(cb: (c: TcpConnection) => void): void {
    this.connectionCb = cb;
    if (this.acceptQueue.length > 0) this.tcp.queueEvent(this, EV_CONNECTION);
  }

  accept(): TcpConnection | null {
    const c = this.acceptQueue.shift();
    if (c === undefined) return null;
    c.listener = null;
    c.inAcceptQueue = false;
    // What happened while it waited (data, the peer's FIN) is dispatched now, to whoever took it.
    if (c.events !== 0) this.tcp.queueEvent(c, 0);
    return c;
  }

  /** Room for a new SYN? */
  canTakeSyn(): boolean {
    return !this.closed && this.synQueue < this.synBacklog && this.acceptQueue.length < this.backlog;
  }

  /** The SYN queue is full but the accept queue is not: the case for a SYN cookie. */
  synQueueFull(): boolean {
    return !this.closed && this.synQueue >= this.synBacklog && this.acceptQueue.length < this.backlog;
  }

  /** Room in the accept queue (for a connection made from a cookie). */
  canAccept(): boolean {
    return !this.closed && this.acceptQueue.length < this.backlog;
  }

  noteOverflow(now: number): void {
    this.overflowAt = now;
  }

  /** The SYN queue overflowed within `window` ms (Linux tcp_synq_no_recent_overflow). */
  overflowedWithin(now: number, window: number): boolean {
    return now - this.overflowAt <= window;
  }

  /** A connection made from a SYN cookie: this listener's, outside the SYN queue, until it is established. */
  adopt(c: TcpConnection): void {
    c.listener = this;
  }

  addEmbryo(c: TcpConnection): void {
    this.synQueue++;
    this.embryos.add(c);
    c.listener = this;
  }

  /** The handshake of `c` completed: into the accept queue, or false when it is full. */
  established(c: TcpConnection): boolean {
    if (this.embryos.delete(c)) this.synQueue--;
    if (this.acceptQueue.length >= this.backlog) {
      this.tcp.counters.drops.backlogFull++;
      c.listener = null;
      return false;
    }
    this.tcp.counters.passiveOpens++;
    this.acceptQueue.push(c);
    c.inAcceptQueue = true;
    this.tcp.queueEvent(this, EV_CONNECTION);
    return true;
  }

  /** `c` is gone (reset, timed out) before anyone took it. */
  forget(c: TcpConnection): void {
    if (this.embryos.delete(c)) this.synQueue--;
    if (c.inAcceptQueue) {
      const i = this.acceptQueue.indexOf(c);
      if (i >= 0) this.acceptQueue.splice(i, 1);
      c.inAcceptQueue = false;
    }
    c.listener = null;
  }

  /**
   * RFC 9293 §3.10.7.2, LISTEN: a segment on this listener's port that no connection or
   * TIME_WAIT record took (`p` is its payload, owned from here on). A RST is ignored; an
   * ACK is a SYN cookie coming back (while cookies are in use) or else answered with a
   * RST; a SYN makes a connection in SYN_RECEIVED in the SYN queue, or, the queue full,
   * is answered with a cookie and no state (syn-cookie.ts).
   */
  segmentArrives(s: SegmentInfo, p: Packet, src: number, dst: number, now: number): void {
    const f = s.flags;
    if ((f & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_ACK && this.opts.synCookies && this.overflowedWithin(now, COOKIE_VALID) && this.cookieAck(s, p, src, dst, now)) return;
    p.release();
    if (f & TCP_RST) return;
    if (f & TCP_ACK) {
      this.tcp.queueReset(dst, src, s.dstPort, s.srcPort, s.ack, 0, TCP_RST);
      return;
    }
    if (!(f & TCP_SYN)) return;
    if (!this.canTakeSyn()) {
      if (this.synQueueFull()) {
        this.noteOverflow(now);
        if (this.opts.synCookies && this.sendCookie(s, src, dst, now)) return;
      }
      this.tcp.counters.drops.backlogFull++;
      return;
    }
    const c = new TcpConnection(this.tcp, dst, s.dstPort, src, s.srcPort, this.opts, true);
    this.tcp.insert(c);
    this.addEmbryo(c);
    c.openPassive(s, now);
  }

  /** A SYN for a listener whose SYN queue is full: a SYN-ACK carrying a cookie, no state kept. False when it cannot be queued. */
  private sendCookie(s: SegmentInfo, src: number, dst: number, now: number): boolean {
    const env = this.tcp.env;
    const cookie = this.tcp.cookies.make(dst, s.dstPort, src, s.srcPort, s.seq, s.mss, now);
    const mtu = Math.min(env.features.mtu, env.pathMtu(src));
    const advMss = Math.max(88, Math.min(mtu - 40, this.opts.mss));
    const window = Math.min(this.opts.recvBuffer, 65535);
    // With timestamps the client's window scale and SACK-permitted ride in our TSval.
    const o = this.opts;
    const ts = o.timestamps && s.tsPresent;
    const sack = ts && o.sack && s.sackPermitted;
    const scale = ts && o.windowScaling && s.wscale >= 0;
    // The option bits replace the low six bits of a clock 64 ms behind ours towards this
    // peer, so the connection the cookie makes never runs ahead of that clock (the next
    // connection to the peer goes on from it, and must not look older to its PAWS).
    const tsVal = ts ? cookieTsVal(Math.floor(now) + this.tcp.tsOffsetFor(dst, src) - 64, scale ? s.wscale : -1, sack) : 0;
    if (!this.tcp.cookies.queueSynAck(dst, src, s.dstPort, s.srcPort, cookie, seqAdd(s.seq, 1), advMss, window, ts, tsVal, s.tsVal, sack, scale ? shiftFor(o.recvBufferMax) : -1)) return false;
    this.tcp.counters.syncookiesSent++;
    if (!this.tcp.receiving) env.wake();
    return true;
  }

  /**
   * An ACK for a listener (no connection) while cookies are in use: a valid cookie in
   * ack − 1 makes the connection, ESTABLISHED by this very segment, if the accept queue
   * has room (else the ACK is dropped, as Linux: the client will retransmit). True when
   * `p` was consumed; false (counted) when it is no cookie of ours: the caller resets.
   */
  private cookieAck(s: SegmentInfo, p: Packet, src: number, dst: number, now: number): boolean {
    const clientIsn = seqAdd(s.seq, -1);
    const iss = seqAdd(s.ack, -1);
    const mss = this.tcp.cookies.check(dst, s.dstPort, src, s.srcPort, clientIsn, iss, now);
    if (mss === 0) {
      this.tcp.counters.syncookiesFailed++;
      return false;
    }
    if (!this.canAccept()) {
      this.tcp.counters.drops.backlogFull++;
      p.release();
      return true;
    }
    this.tcp.counters.syncookiesRecv++;
    const syn = new SegmentInfo();
    syn.srcPort = s.srcPort;
    syn.dstPort = s.dstPort;
    syn.seq = clientIsn;
    syn.flags = TCP_SYN;
    syn.window = s.window;
    syn.mss = mss;
    syn.wscale = -1;
    if (this.opts.timestamps && s.tsPresent) {
      // The options the client sent in its SYN, back from our TSval's low bits (echoed in TSecr).
      const back = cookieTsOptions(s.tsEcr);
      syn.wscale = back.wscale;
      syn.sackPermitted = back.sack;
      syn.tsPresent = true;
      syn.tsVal = s.tsVal;
    }
    const c = new TcpConnection(this.tcp, dst, s.dstPort, src, s.srcPort, this.opts, true);
    this.tcp.insert(c);
    this.adopt(c);
    c.openFromCookie(syn, iss, now);
    // Our timestamps go on from the SYN-ACK's (the peer's PAWS wants them not to go back).
    if (syn.tsPresent) c.snd.tsOffset = (((s.tsEcr | 0x3f) + 1 - Math.floor(now)) >>> 0);
    c.segmentArrives(s, p, now);
    if (c.listener === this && !c.inAcceptQueue) this.forget(c);
    return true;
  }

  /**
   * A SYN for a 4-tuple still in TIME_WAIT: whether it may start a new incarnation here
   * (RFC 6191, as Linux's tcp_timewait_state_process: its sequence number above the old
   * RCV.NXT, or its timestamp newer than the old TS.Recent, and not refused by PAWS).
   * The record goes only when this listener will take the SYN.
   */
  takesOverTimeWait(tw: number, s: SegmentInfo, now: number): boolean {
    return !this.closed && this.tcp.timeWait.synMayReuse(tw, s, now);
  }

  /** Stops listening; connections not yet accepted are reset. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tcp.removeListener(this);
    for (const c of [...this.embryos, ...this.acceptQueue]) c.abort();
    this.embryos.clear();
    this.acceptQueue.length = 0;
    this.synQueue = 0;
  }

  dispatchEvents(): void {
    this.events = 0;
    if (this.closed) return;
    if (this.connectionCb !== null) {
      while (this.acceptQueue.length > 0 && this.connectionCb !== null && !this.closed) this.connectionCb(this.accept()!);
    } else if (this.acceptQueue.length > 0) {
      this.onAcceptable?.();
    }
  }
}
