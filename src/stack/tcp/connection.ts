/**
 * One TCP connection: the RFC 9293 state machine (§3.10), reliability (RFC 6298 RTO,
 * RFC 5681 fast retransmit, RFC 6582 NewReno recovery, RFC 3042 limited transmit),
 * flow control (RFC 7323 window scaling, sender and receiver SWS avoidance, persist
 * timer), delayed ACKs, Nagle, keepalive, the FIN_WAIT_2 timeout; TIME_WAIT is handed
 * to a compact record (time-wait.ts).
 *
 * Receive (`segmentArrives`, RFC 9293 §3.10.7.4 step by step) only updates state and
 * marks what must be sent (an ACK, data the window now allows); transmit (`output`) is
 * pulled by the Tcp, one segment at a time, built at that moment so it carries the
 * newest ACK and window. The books of what came in (RCV.NXT, the window, the queues,
 * receive memory) are the Receiver's (receiver.ts); what a connection asks of the TCP
 * that hosts it, and when callbacks run, is in host.ts; LISTEN is in listener.ts.
 */
import { Packet, GSO_TCPV4 } from '../../packet/packet.js';
import type { Owner } from '../../packet/owner.js';
import { CHALLENGE_ACK_INTERVAL_MS, PAWS_IDLE, TLP_MIN_MS, WC_DEL_ACK_MS } from './limits.js';
import { writeU16, writeU32 } from '../../wire/addr.js';
import { seqAdd, seqGeq, seqGt, seqLeq, seqLt, seqSub } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { L4_HEADROOM } from '../l4.js';
import type { CongestionControl } from './congestion.js';
import { EV_CLOSE, EV_CONNECT, EV_END, EV_READABLE, EV_WRITABLE, tcpError, type EventTarget, type TcpError, type TcpErrorCode } from './events.js';
import type { ResolvedTcpOptions } from './options.js';
import { OOO_FULL } from './recv-queue.js';
import { DEFAULT_MSS, Receiver } from './receiver.js';
import { RttEstimator } from './rtt.js';
import { SACK_BLOCK_BAD, SACK_BLOCK_OK, SackScoreboard } from './sack.js';
import { finishSegmentChecksum, type SegmentInfo } from './segment.js';
import { BLOCK_OVERHEAD, SendBuffer } from './send-buffer.js';
import { Rack } from './rack.js';
import { EPISODE_NONE, EPISODE_RECOVERY, EPISODE_TIMEOUT, INITIAL_REORDERING, LossUndo, reorderingDegree } from './undo.js';
import {
  CLOSE_WAIT, CLOSED, CLOSING, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, STATE_NAMES, SYN_RECEIVED, SYN_SENT, TIME_WAIT,
  type TcpStateName,
} from './state.js';
import type { Timer } from '../../time/timers.js';
import type { Acceptor, ConnectionHost } from './host.js';

const MIN_MSS = 88;

/** Bytes a timestamp option takes in every segment (NOP, NOP, kind 8, length 10). */
const TS_LEN = 12;

/**
 * What the retransmission timer is armed for: the RTO (the SYN's, in the SYN states), the
 * persist timer against a zero window (RFC 9293 §3.8.6.1), or a tail loss probe (RFC 8985 §7).
 */
const RTX_RTO = 0;
const RTX_PERSIST = 1;
const RTX_PROBE = 2;
/** What the idle timer is armed for: nothing, keepalive (RFC 1122 §4.2.3.6), or the FIN_WAIT_2 timeout. */
const IDLE_NONE = 0;
const IDLE_KEEPALIVE = 1;
const IDLE_FIN_WAIT_2 = 2;


export class TcpConnection implements EventTarget {
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

  // --- send sequence space ---
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** The highest sequence number sent (+1): what RTO/loss recovery goes back from. */
  sndMax = 0;
  sndWnd = 0;
  private maxSndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  sndMss = DEFAULT_MSS;
  private sndScale = 0;
  /** Sequence number of the first byte in the send buffer. */
  private bufSeq = 0;
  private finQueued = false;
  /** Sequence number of our FIN (valid when finQueued). */
  private finSeq = 0;

  // --- receive sequence space ---
  irs = 0;
  /** RCV.NXT, the window, the queues of received data, SACK reports, autotuning, receive memory. */
  readonly rx: Receiver;
  /** The peer's SYN offered window scaling (a SYN-ACK answers with ours only then, RFC 7323 §1.3). */
  private scaleOk = false;
  /** The send buffer limit: sendBuffer, grown with cwnd up to sendBufferMax. */
  private sndBuf: number;
  private peerFin = false;

  // --- SACK (RFC 2018, RFC 6675) and timestamps (RFC 7323) ---
  /** Both ends offered SACK-permitted. */
  sackOk = false;
  /** Both ends offered timestamps: every segment carries TSval/TSecr, sndMss is 12 less. */
  tsOk = false;
  /** The negotiated MSS (payload and per-segment options); `sndMss` is the payload part. */
  private mssLimit = DEFAULT_MSS;
  /** What the peer SACKed (sender side). */
  private readonly sb = new SackScoreboard();
  /** When the last challenge ACK or ACK to an out-of-window segment went (one clock for both, as Linux's last_oow_ack_time). */
  private lastOowAckAt = -Infinity;
  /** RFC 6675 HighRxt: the end of what was retransmitted in this recovery. */
  private highRxt = 0;
  /** Spurious retransmissions found and undone (undo.ts). */
  private readonly undo = new LossUndo();
  /** How far (segments) the path has been seen to reorder: the duplicate threshold (Linux's tp->reordering). */
  reordering = INITIAL_REORDERING;
  /** Loss detection by time (RFC 8985), for connections with SACK; its timer is made when first needed. */
  private readonly rack = new Rack();
  private reoTimer: Timer | null = null;
  /** A probe is due (output sends it), or out and not yet answered (up to `tlpEnd`). */
  private tlpPending = false;
  private tlpOut = false;
  private tlpEnd = 0;
  /**
   * Our TSval is the millisecond clock plus this offset, a keyed hash of the address
   * pair (RFC 7323 §5.4; Tcp.tsOffsetFor), so TSvals towards a peer go on rising from one
   * connection to the next. Public for SYN cookies, which may set it when rebuilding a
   * connection.
   */
  tsOffset: number;
  /**
   * When >= 0: the TSval our SYN-ACK carries instead of the clock (SYN cookies encode
   * options in its low bits, as Linux does; the completing ACK echoes it in its TSecr,
   * which `SegmentInfo.tsEcr` holds).
   */
  synAckTsVal = -1;
  private tsRecent = 0;
  /** When TS.Recent was last set (ms), for the 24-day rule. */
  private tsRecentAt = 0;
  /** RFC 7323 Last.ACK.sent. */
  private lastAckSent = 0;
  /** TSecr of the segment being processed (for RTTM), or -1. */
  private rxTsEcr = -1;

  // --- buffers ---
  private readonly sbuf: SendBuffer;

  // --- what output should send ---
  private synPending = false;
  private ackPending = false;
  private rexmitPending = false;
  private probePending = false;
  private forceSend = false;
  /** sendData is sending a loss probe. */
  private probeNew = false;

  // --- reliability ---
  private readonly rtt: RttEstimator;
  cc: CongestionControl;
  private timing = false;
  private rttSeq = 0;
  private rttTime = 0;
  private retries = 0;
  private dupAcks = 0;
  private inRecovery = false;
  private recover = 0;
  private persistBackoff = 0;

  // --- timers (one object each, re-armed) ---
  /** The retransmission timer, and what it is armed for (RTX_*). */
  private readonly rtxTimer: Timer;
  private rtxKind = RTX_RTO;
  private readonly delackTimer: Timer;
  /** The idle timer (keepalive or the FIN_WAIT_2 timeout), and which (IDLE_*). */
  private readonly idleTimer: Timer;
  private idleKind = IDLE_NONE;
  /** The TIME_WAIT record that took over (slot and generation in tcp.timeWait), or -1. */
  private twSlot = -1;
  private twGen = 0;

  // --- user-facing flags ---
  noDelay: boolean;
  private keepAlive: boolean;
  private kaIdle: number;
  private kaInterval: number;
  private kaCount: number;
  private kaProbes = 0;
  private lastRecv = 0;
  /** When data was last sent (for the restart window after idle). */
  private lastSend = 0;
  private userClosed = false;
  private wantWritable = false;
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
    this.sbuf = new SendBuffer(tcp.blocks);
    this.sndBuf = opts.sendBuffer;
    const mtu = Math.min(env.features.mtu, remoteAddress ? env.pathMtu(remoteAddress) : env.features.mtu);
    this.rx = new Receiver(opts, Math.max(MIN_MSS, Math.min(mtu - 40, opts.mss)), env.rxMemory, tcp.counters);
    this.rtt = new RttEstimator(opts.minRto, opts.maxRto, opts.initialRto);
    this.tsOffset = tcp.tsOffsetFor(localAddress, remoteAddress);
    this.cc = opts.congestion(DEFAULT_MSS, this.initialWindow(DEFAULT_MSS));
    this.noDelay = opts.noDelay;
    this.keepAlive = opts.keepAlive;
    this.kaIdle = opts.keepAliveIdle;
    this.kaInterval = opts.keepAliveInterval;
    this.kaCount = opts.keepAliveCount;
    const timers = env.timers;
    this.rtxTimer = timers.create((now) => this.onRtxTimer(now));
    this.delackTimer = timers.create(() => this.onDelackTimer());
    this.idleTimer = timers.create((now) => this.onIdleTimer(now));
  }

  private initialWindow(mss: number): number {
    // RFC 6928: min(IW·MSS, max(2·MSS, 14600)) for IW=10; other IWs scale plainly.
    const iw = this.opts.initialWindow;
    return iw === 10 ? Math.min(10 * mss, Math.max(2 * mss, 14600)) : iw * mss;
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
    return this.sbuf.length;
  }

  /** Bytes acknowledged by the peer. */
  get bytesSent(): number {
    return this.bytesWritten - this.sbuf.length;
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
    return this.rtt.rto;
  }

  get srtt(): number {
    return this.rtt.srtt;
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
    return this.sndBuf;
  }

  /** In fast retransmit / SACK loss recovery. */
  get recovering(): boolean {
    return this.inRecovery;
  }

  get cwnd(): number {
    return this.cc.cwnd;
  }

  /** Our TSval clock (RFC 7323): milliseconds plus the per-connection offset, modulo 2^32. */
  tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  /** Bytes the peer has SACKed above SND.UNA (the scoreboard; for tests and stats). */
  get sackedBytes(): number {
    return this.sb.bytes;
  }

  /** The send shift we apply to the peer's windows and the one we apply to ours. */
  get windowScales(): { send: number; receive: number } {
    return { send: this.sndScale, receive: this.rx.rcvScale };
  }

  /** Whether the connection still takes data to send (not shut down for writing, reset or closed). */
  get acceptsWrites(): boolean {
    const st = this.state;
    return !this.finQueued && (st === ESTABLISHED || st === CLOSE_WAIT || st === SYN_SENT || st === SYN_RECEIVED);
  }

  /**
   * Copies up to free send-buffer space from `bytes` into the send buffer; returns how
   * many bytes it took (0 when full: back pressure, `onWritable` follows; 0 also once
   * the connection is shut down for writing or closed).
   */
  write(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
    if (!this.acceptsWrites) return 0;
    const st = this.state;
    const free = this.sndBuf - this.sbuf.charge;
    const n = length < free ? length : free;
    if (n < length) this.wantWritable = true;
    if (n <= 0) return 0;
    this.sbuf.write(bytes, offset, n);
    this.bytesWritten += n;
    if (st === ESTABLISHED || st === CLOSE_WAIT) this.tcp.markReady(this, true);
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
    if (!this.acceptsWrites) return false;
    const st = this.state;
    // A buffer larger than the whole send buffer is taken when the buffer is empty (it
    // could never fit otherwise, and nothing would ever say 'writable').
    if (this.sbuf.length > 0 && bytes.length + BLOCK_OVERHEAD > this.sndBuf - this.sbuf.charge) {
      this.wantWritable = true;
      return false;
    }
    if (bytes.length === 0) {
      owner.release();
      return true;
    }
    this.sbuf.writeOwned(bytes, owner);
    this.bytesWritten += bytes.length;
    if (st === ESTABLISHED || st === CLOSE_WAIT) this.tcp.markReady(this, true);
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

  /** Releases received data nobody read (the stack is torn down). */
  dropUnread(): void {
    this.rx.rq.clear();
  }

  private afterRead(): void {
    if (this.twSlot >= 0 && this.rx.rq.length === 0) this.tcp.holdUnread(this, false);
    if (this.rx.rq.length === 0 && this.peerFin && !this.endDelivered) this.tcp.queueEvent(this, EV_END);
    if (this.rx.rq.length === 0 && this.closePending) {
      this.closePending = false;
      this.tcp.queueEvent(this, EV_CLOSE);
    }
    this.rx.tune(this.bytesRead, this.tcp.env.clock.now(), this.rtt.srtt);
    this.maybeWindowUpdate();
  }

  /** Copies up to `length` received bytes into `dst` at `offset`; returns how many (0 when none are queued). */
  readInto(dst: Uint8Array, offset = 0, length = dst.length - offset): number {
    const n = this.rx.rq.readInto(dst, offset, length);
    if (n === 0) return 0;
    this.bytesRead += n;
    this.afterRead();
    return n;
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
      this.rx.rq.clear();
      if (this.closePending) {
        this.closePending = false;
        this.tcp.queueEvent(this, EV_CLOSE);
      }
      return;
    }
    if (this.rx.rq.length > 0 || (this.state === SYN_SENT && this.sbuf.length === 0)) {
      this.abort();
      return;
    }
    this.queueFin();
    if (this.state === FIN_WAIT_2) this.armIdle(IDLE_FIN_WAIT_2, this.tcp.env.clock.now() + this.opts.finWait2Timeout);
  }

  /** Abortive close: RST (in a synchronized state) and all state dropped; onClose() without error. */
  abort(): void {
    this.userClosed = true;
    const st = this.state;
    if (st === CLOSED) {
      this.rx.rq.clear();
      if (this.closePending) {
        this.closePending = false;
        this.tcp.queueEvent(this, EV_CLOSE);
      }
      return;
    }
    if (st === SYN_RECEIVED || st === ESTABLISHED || st === FIN_WAIT_1 || st === FIN_WAIT_2 || st === CLOSE_WAIT) {
      this.tcp.queueReset(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, this.sndNxt, this.rx.rcvNxt, TCP_RST | TCP_ACK);
    }
    this.destroy(null);
    this.rx.rq.clear();
  }

  setNoDelay(on = true): void {
    this.noDelay = on;
    if (on) this.tcp.markReady(this, true);
  }

  setKeepAlive(on: boolean, idle?: number, interval?: number, count?: number): void {
    this.keepAlive = on;
    if (idle !== undefined) this.kaIdle = idle;
    if (interval !== undefined) this.kaInterval = interval;
    if (count !== undefined) this.kaCount = count;
    if (on) {
      if (this.state === ESTABLISHED || this.state === CLOSE_WAIT) {
        this.lastRecv = this.tcp.env.clock.now();
        this.armIdle(IDLE_KEEPALIVE, this.lastRecv + this.kaIdle);
      }
    } else if (this.idleKind === IDLE_KEEPALIVE) {
      this.cancelIdle();
    }
  }

  // ================================================================ opening (called by Tcp)

  /** Active open: SYN_SENT, SYN queued. */
  openActive(now: number): void {
    this.iss = this.tcp.isnFor(this, now);
    this.initSend();
    this.setState(SYN_SENT);
    this.synPending = true;
    this.tcp.markReady(this, true);
  }

  /** Passive open from a SYN the listener accepted: SYN_RECEIVED, SYN-ACK queued. */
  openPassive(s: SegmentInfo, now: number): void {
    this.iss = this.tcp.isnFor(this, now);
    this.initSend();
    this.irs = s.seq;
    this.rx.rcvNxt = seqAdd(s.seq, 1);
    this.rx.rcvAdv = this.rx.rcvNxt;
    this.lastAckSent = this.rx.rcvNxt;
    this.negotiate(s);
    this.sndWnd = s.window; // never scaled in a SYN
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = s.seq;
    this.sndWl2 = this.iss;
    this.lastRecv = now;
    this.setState(SYN_RECEIVED);
    this.synPending = true;
    this.tcp.markReady(this, false);
  }

  /**
   * Passive open from a SYN cookie (syn-cookie.ts): `syn` is the SYN rebuilt from the
   * cookie, already answered statelessly with ISS `iss`; the segment that brought the
   * cookie back follows (segmentArrives) and establishes the connection.
   */
  openFromCookie(syn: SegmentInfo, iss: number, now: number): void {
    this.openPassive(syn, now);
    this.synPending = false;
    this.iss = iss;
    this.initSend();
    this.sndNxt = this.sndMax = seqAdd(iss, 1);
    this.sndWl2 = iss;
    this.rx.rcvAdv = seqAdd(this.rx.rcvNxt, Math.min(this.rx.rcvBuf, 65535)); // what the SYN-ACK offered
  }

  private initSend(): void {
    this.sndUna = this.sndNxt = this.sndMax = this.iss;
    this.bufSeq = seqAdd(this.iss, 1);
    this.recover = this.iss;
    this.highRxt = this.iss;
  }

  private negotiate(s: SegmentInfo): void {
    const peerMss = s.mss > 0 ? s.mss : DEFAULT_MSS;
    if (this.opts.windowScaling && s.wscale >= 0) {
      this.sndScale = s.wscale > 14 ? 14 : s.wscale;
      this.rx.rcvScale = this.rx.ourScale;
      this.scaleOk = true;
    } else {
      this.sndScale = 0;
      this.rx.rcvScale = 0;
      if (this.rx.rcvBuf > 65535) this.rx.rcvBuf = 65535;
      if (this.rx.rcvBufMax > 65535) this.rx.rcvBufMax = 65535;
    }
    const env = this.tcp.env;
    this.sackOk = this.opts.sack && s.sackPermitted;
    this.tsOk = this.opts.timestamps && s.tsPresent;
    if (this.tsOk) {
      this.tsRecent = s.tsVal;
      this.tsRecentAt = env.clock.now();
    }
    const pmtu = env.pathMtu(this.remoteAddress);
    this.mssLimit = Math.max(MIN_MSS, Math.min(peerMss, pmtu - 40, this.opts.mss));
    // As Linux: the timestamp option comes out of every segment's payload.
    this.sndMss = this.mssLimit - (this.tsOk ? TS_LEN : 0);
    this.rx.rcvMss = Math.min(this.rx.advMss, DEFAULT_MSS);
    this.cc = this.opts.congestion(this.sndMss, this.initialWindow(this.sndMss));
  }

  /** Fragmentation needed (RFC 1191): a smaller MSS, and what is in flight goes again in smaller pieces. */
  pathMtuChanged(mtu: number, seq: number): void {
    if (this.state === CLOSED || this.state === TIME_WAIT) return;
    if (!(seqGeq(seq, this.sndUna) && seqLt(seq, this.sndMax))) return;
    const lim = Math.max(MIN_MSS, mtu - 40);
    if (lim >= this.mssLimit) return;
    this.mssLimit = lim;
    const mss = lim - (this.tsOk ? TS_LEN : 0);
    this.sndMss = mss;
    if (this.cc.cwnd < mss) this.cc.cwnd = mss;
    this.sndNxt = this.sndUna;
    this.timing = false;
    this.tcp.markReady(this, false);
  }

  /** A hard ICMP error for a connection attempt (RFC 1122 §4.2.3.9: abort only while opening). */
  icmpUnreachable(code: TcpErrorCode, seq: number): void {
    if (this.state !== SYN_SENT) return;
    if (!(seqGeq(seq, this.sndUna) && seqLeq(seq, this.sndMax))) return;
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
    this.lastRecv = now;
    this.kaProbes = 0;
    if (this.pawsRejects(s, p, now)) return;
    const segLen = p.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
    // First: sequence number (acceptability).
    if (!this.rx.acceptable(s.seq, segLen)) {
      this.unacceptable(s, p, segLen, now);
      return;
    }
    this.noteTimestamps(s, p, now);
    const flags = this.trimToWindow(s, p);
    const seq = seqLt(s.seq, this.rx.rcvNxt) ? this.rx.rcvNxt : s.seq;
    // Second: RST. Fourth: SYN (the third, security, has nothing to check here).
    if (flags & (TCP_RST | TCP_SYN)) {
      p.release();
      if (flags & TCP_RST) this.rstArrives(s, now);
      else this.challengeAck(now); // RFC 5961 §4
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

  /** PAWS (RFC 7323 §5.3 R1), before the acceptability test: true when `p` was dropped as old. */
  private pawsRejects(s: SegmentInfo, p: Packet, now: number): boolean {
    this.rxTsEcr = -1;
    if (!this.tsOk || !s.tsPresent) return false;
    if (!(s.flags & TCP_RST) && seqLt(s.tsVal, this.tsRecent)) {
      if (now - this.tsRecentAt > PAWS_IDLE) {
        // Idle for more than 24 days: TS.Recent is invalid (RFC 7323 §5.5).
        this.tsRecent = s.tsVal;
        this.tsRecentAt = now;
      } else {
        // Data is answered at once (its ACK may be what the sender waits for, as Linux); the rest at a limited rate.
        if (p.length > 0) this.ackNow();
        else this.outOfWindowAck(now);
        p.release();
        this.tcp.counters.pawsDrops++;
        return true;
      }
    }
    this.rxTsEcr = s.tsEcr;
    return false;
  }

  /**
   * A segment outside the window: dropped, and answered with an ACK (unless it is a RST),
   * with the allowances RFC 9293 makes: a lost SYN-ACK, valid ACKs on old segments.
   */
  private unacceptable(s: SegmentInfo, p: Packet, segLen: number, now: number): void {
    const flags = s.flags;
    const seq = s.seq;
    const old = p.length > 0 && seqLeq(seqAdd(seq, p.length), this.rx.rcvNxt);
    // RFC 2883: data we already had is reported back (a D-SACK), so the sender can tell a needless retransmission.
    if (old && this.sackOk) this.noteDsack(seq, seqAdd(seq, p.length));
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
    if (flags & TCP_ACK && !(flags & TCP_SYN) && this.state !== SYN_RECEIVED && seqLeq(seq, this.rx.rcvNxt) && seqGeq(s.ack, this.sndUna) && seqLeq(s.ack, this.sndMax)) {
      if (seqGt(s.ack, this.sndUna)) {
        this.newAck(s.ack, now);
        if (this.state === CLOSED) return;
      }
      if (seq === this.rx.rcvNxt) this.updateSendWindow(s);
    }
    // Zero-window and keepalive probes (one below rcvNxt, or at it against a zero
    // window) are expected; they, old data (with its D-SACK) and data at RCV.NXT against
    // a zero window are answered at once: the sender waits for those ACKs. Anything else
    // is counted, and answered at a limited rate (the one rate limit Linux does not have
    // for data: a flood past the window gets no ACK for each segment).
    const probe = segLen <= 1 && (seq === seqAdd(this.rx.rcvNxt, -1) || (this.rx.window === 0 && seq === this.rx.rcvNxt));
    if (!probe) this.tcp.counters.drops.outOfWindow++;
    if (probe || old || seq === this.rx.rcvNxt) this.ackNow();
    else this.outOfWindowAck(now);
  }

  /** In SYN_RECEIVED, the peer's SYN again: our SYN-ACK was lost, or a simultaneous open (its SYN-ACK). */
  private synAgain(s: SegmentInfo, now: number): void {
    if (s.flags & TCP_ACK && seqGt(s.ack, this.sndUna) && seqLeq(s.ack, this.sndMax)) {
      this.sndUna = s.ack;
      if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
      this.sndWnd = s.window;
      this.sndWl1 = s.seq;
      this.sndWl2 = s.ack;
      this.establish(now);
      this.ackNow();
    } else {
      this.synPending = true;
      this.sndNxt = this.iss;
      this.tcp.markReady(this, false);
    }
  }

  /** An acceptable segment's timestamp: TS.Recent (RFC 7323 §4.3), and the receiver's RTT for autotuning. */
  private noteTimestamps(s: SegmentInfo, p: Packet, now: number): void {
    // TS.Recent from an acceptable segment that covers Last.ACK.sent.
    if (this.tsOk && s.tsPresent && seqLeq(s.seq, this.lastAckSent) && seqGeq(s.tsVal, this.tsRecent)) {
      this.tsRecent = s.tsVal;
      this.tsRecentAt = now;
    }
    // Linux's tcp_rcv_rtt_measure_ts: full-sized data echoing our TSval.
    if (p.length >= this.rx.rcvMss && this.rxTsEcr > 0 && this.rx.rcvBuf < this.rx.rcvBufMax) this.rx.rcvTuner.sampleRtt((this.tsNow(now) - this.rxTsEcr) | 0, this.opts.maxRto);
  }

  /**
   * Trims an acceptable segment to the window: what lies before RCV.NXT (reported as a
   * D-SACK) and past the right edge. Returns its flags without a SYN or FIN that was
   * trimmed away.
   */
  private trimToWindow(s: SegmentInfo, p: Packet): number {
    let flags = s.flags;
    let seq = s.seq;
    if (seqLt(seq, this.rx.rcvNxt)) {
      let d = seqSub(this.rx.rcvNxt, seq);
      if (flags & TCP_SYN) {
        flags &= ~TCP_SYN;
        d--;
      }
      if (d > 0 && p.length > 0 && this.sackOk) this.noteDsack(seqAdd(this.rx.rcvNxt, -(d < p.length ? d : p.length)), this.rx.rcvNxt);
      if (d >= p.length) {
        if (d > p.length) flags &= ~TCP_FIN;
        p.trimFront(p.length);
      } else {
        p.trimFront(d);
      }
      seq = this.rx.rcvNxt;
    }
    const over = seqSub(seqAdd(seq, p.length), seqAdd(this.rx.rcvNxt, this.rx.window));
    if (over > 0) {
      p.trimBack(over);
      flags &= ~TCP_FIN;
    }
    return flags;
  }

  /** A RST in the window (RFC 5961 §3): an exact match resets, any other gets a challenge ACK. */
  private rstArrives(s: SegmentInfo, now: number): void {
    if (s.seq !== this.rx.rcvNxt) {
      this.challengeAck(now);
      return;
    }
    this.tcp.counters.resetsReceived++;
    const st = this.state;
    if (st === SYN_RECEIVED) this.destroy(this.passive ? null : tcpError('ECONNREFUSED'));
    else if (st === ESTABLISHED || st === FIN_WAIT_1 || st === FIN_WAIT_2 || st === CLOSE_WAIT) this.destroy(tcpError('ECONNRESET'));
    else this.destroy(null);
  }

  /**
   * The fifth check, the ACK field (`flags`: the segment's, trimmed): the handshake's
   * last step in SYN_RECEIVED, then what it acknowledges, SACK and loss detection, the
   * send window. False when the segment goes no further (dropped, or the connection closed).
   */
  private ackArrives(s: SegmentInfo, len: number, flags: number, now: number): boolean {
    const ack = s.ack;
    const counters = this.tcp.counters;
    const st = this.state;
    if (st === SYN_RECEIVED) {
      if (!(seqGt(ack, this.sndUna) && seqLeq(ack, this.sndMax))) {
        counters.drops.badAck++;
        this.tcp.queueReset(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, ack, 0, TCP_RST);
        return false;
      }
      this.sndWnd = s.window << this.sndScale;
      this.sndWl1 = s.seq;
      this.sndWl2 = ack;
      this.establish(now);
      if (this.state !== ESTABLISHED) return false;
    }
    // RFC 5961 §5: an ACK for data not yet sent, or older than one window before SND.UNA,
    // is answered with an ACK and dropped.
    if (seqGt(ack, this.sndMax) || seqLt(ack, seqAdd(this.sndUna, -this.maxSndWnd - 1))) {
      counters.drops.badAck++;
      this.ackNow();
      return false;
    }
    if (this.sackOk && (s.sackCount > 0 || s.sackMalformed)) this.takeSack(s, ack);
    if (seqGt(ack, this.sndUna)) {
      this.newAck(ack, now);
      if (this.state === CLOSED) return false;
    } else if (ack === this.sndUna && len === 0 && !(flags & TCP_FIN) && s.window << this.sndScale === this.sndWnd && this.sndMax !== this.sndUna) {
      this.dupAck();
    }
    // RFC 6675 §5: SACK information alone can show SND.UNA lost (ACKs that carry data or
    // a window update are no duplicate ACKs, but their SACK blocks count); so can time (RACK).
    if (this.sackOk && this.sb.count > 0 && this.sndMax !== this.sndUna) {
      this.rackDetect(now);
      if (!this.inRecovery && seqGeq(this.sndUna, this.recover) && seqGt(this.sb.lostBoundary(this.sndUna, this.sndMss), this.sndUna)) this.enterSackRecovery(now);
    }
    this.updateSendWindow(s);
    return true;
  }

  /** SND.WND from a segment newer than the last that set it (RFC 9293 §3.10.7.4, SND.WL1/WL2). */
  private updateSendWindow(s: SegmentInfo): void {
    if (!(seqLt(this.sndWl1, s.seq) || (this.sndWl1 === s.seq && seqLeq(this.sndWl2, s.ack)))) return;
    const wnd = s.window << this.sndScale;
    const opened = wnd > this.sndWnd;
    this.sndWnd = wnd;
    if (wnd > this.maxSndWnd) this.maxSndWnd = wnd;
    this.sndWl1 = s.seq;
    this.sndWl2 = s.ack;
    if (opened) this.windowOpened();
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
        this.ackNow();
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
      this.tcp.queueReset(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, s.ack, 0, TCP_RST);
      this.destroy(null);
      return 0;
    }
    if (!receiving) {
      p.release();
      return fin;
    }
    return seq === this.rx.rcvNxt ? this.inOrder(p, fin, now) : this.outOfOrder(seq, p, fin);
  }

  /** The next data: to the application's queue (and what it makes in order from the out-of-order queue). */
  private inOrder(p: Packet, fin: number, now: number): number {
    const n = p.length;
    if (n > this.rx.rcvMss) this.rx.rcvMss = n > this.rx.advMss ? this.rx.advMss : n;
    const q = this.rx.admit(p, this.rx.rcvNxt);
    if (q === null) {
      // No memory for it: the peer sends it again; our ACK says where we are.
      this.ackNow();
      return 0;
    }
    this.tcp.counters.bytesIn += n;
    this.rx.rcvNxt = seqAdd(this.rx.rcvNxt, n);
    this.rx.rq.push(q);
    if (!this.rx.ooo.empty) {
      this.rx.rcvNxt = this.rx.ooo.drain(this.rx.rcvNxt, this.rx.rq);
      if (this.rx.ooo.finEnd >= 0 && seqAdd(this.rx.rcvNxt, 1) === this.rx.ooo.finEnd) fin = TCP_FIN;
      if (this.rx.ooo.empty) this.rx.ooo.finEnd = -1;
      this.ackNow(); // filled a gap
    } else {
      this.rx.rcvUnacked += n;
      if (this.opts.delayedAck === 0 || this.rx.rcvUnacked >= 2 * this.rx.rcvMss) this.ackNow();
      else if (!this.ackPending && !this.delackTimer.armed) this.tcp.env.timers.arm(this.delackTimer, now + this.opts.delayedAck);
    }
    this.tcp.queueEvent(this, EV_READABLE);
    return fin;
  }

  /**
   * Data past a gap: held (RFC 9293 §3.10.7.4 allows it), reported in SACK blocks, and
   * answered at once: one duplicate ACK per segment, even when a burst brings several
   * (the sender counts them for fast retransmit). Its FIN waits with it.
   */
  private outOfOrder(seq: number, p: Packet, fin: number): number {
    const end = seqAdd(seq, p.length);
    const q = this.rx.admit(p, seq);
    if (q !== null) {
      if (this.rx.ooo.insert(seq, q) === OOO_FULL) this.tcp.counters.drops.oooQueueFull++;
      else if (fin) this.rx.ooo.finEnd = seqAdd(end, 1);
    }
    if (this.sackOk && this.rx.ooo.rangeAround(seq)) this.rx.sackReport.noteBlock(this.rx.ooo.rangeStart, this.rx.ooo.rangeEnd);
    if (this.rx.dupAcksOwed < 8) this.rx.dupAcksOwed++;
    this.ackNow();
    return 0;
  }

  private synSentArrives(s: SegmentInfo, now: number): void {
    const flags = s.flags;
    const hasAck = (flags & TCP_ACK) !== 0;
    if (hasAck && (seqLeq(s.ack, this.iss) || seqGt(s.ack, this.sndMax))) {
      if (!(flags & TCP_RST)) {
        this.tcp.counters.drops.badAck++;
        this.tcp.queueReset(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, s.ack, 0, TCP_RST);
      }
      return;
    }
    if (flags & TCP_RST) {
      if (hasAck) {
        this.tcp.counters.resetsReceived++;
        this.tcp.counters.connectFailures++;
        this.destroy(tcpError('ECONNREFUSED'));
      }
      return;
    }
    if (!(flags & TCP_SYN)) return;
    this.irs = s.seq;
    this.rx.rcvNxt = seqAdd(s.seq, 1);
    this.rx.rcvAdv = seqAdd(this.rx.rcvNxt, Math.min(this.rx.rcvBuf, 65535)); // what our SYN offered
    this.negotiate(s);
    this.lastRecv = now;
    if (hasAck) {
      if (this.timing && this.retries === 0) this.rtt.sample(now - this.rttTime);
      this.timing = false;
      this.retries = 0;
      this.rtt.backoff = 0;
      this.sndUna = s.ack;
      if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
      this.sndWnd = s.window; // not scaled in a SYN
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = s.seq;
      this.sndWl2 = s.ack;
      this.tcp.env.timers.cancel(this.rtxTimer);
      this.setState(this.finQueued ? FIN_WAIT_1 : ESTABLISHED);
      this.afterEstablished(now);
      this.tcp.queueEvent(this, EV_CONNECT);
      this.ackNow();
      if (this.sbuf.length > 0 || this.finQueued) this.tcp.markReady(this, false);
    } else {
      // Simultaneous open (RFC 9293 §3.5, figure 7).
      this.sndWnd = s.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = s.seq;
      this.sndWl2 = this.iss;
      this.setState(SYN_RECEIVED);
      this.synPending = true;
      this.sndNxt = this.iss;
      this.tcp.markReady(this, false);
    }
  }

  private establish(now: number): void {
    this.sndUna = seqGt(this.sndWl2, this.sndUna) ? this.sndWl2 : this.sndUna;
    if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
    if (this.timing && this.retries === 0) this.rtt.sample(now - this.rttTime);
    this.timing = false;
    this.retries = 0;
    this.rtt.backoff = 0;
    if (this.sndUna === this.sndMax) this.tcp.env.timers.cancel(this.rtxTimer);
    if (this.sndWnd > this.maxSndWnd) this.maxSndWnd = this.sndWnd;
    this.setState(ESTABLISHED);
    if (this.finQueued) this.setState(FIN_WAIT_1); // close() while in SYN_RECEIVED
    this.afterEstablished(now);
    if (this.passive) {
      if (this.listener !== null && !this.listener.established(this)) {
        // Accept queue full: give up on this one (counted by the listener).
        this.tcp.queueReset(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, this.sndNxt, this.rx.rcvNxt, TCP_RST | TCP_ACK);
        this.destroy(null);
        return;
      }
    } else {
      this.tcp.queueEvent(this, EV_CONNECT);
    }
    if (this.sbuf.length > 0 || this.finQueued) this.tcp.markReady(this, false);
  }

  private afterEstablished(now: number): void {
    if (this.keepAlive) this.armIdle(IDLE_KEEPALIVE, now + this.kaIdle);
  }

  private newAck(ack: number, now: number): void {
    if (this.sackOk) this.rackAck(ack, now);
    if (this.undo.episode !== EPISODE_NONE) this.decideUndo(ack);
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
    if (this.sackOk) this.sb.advance(ack);
    this.rttFromAck(ack, now);
    this.retries = 0;
    this.rtt.backoff = 0;
    this.congestionOnAck(ack, acked, flight, now);
    if (this.tlpOut && seqGeq(ack, this.tlpEnd)) this.tlpOut = false;
    if (this.sndUna === this.sndMax) {
      if (this.rtxKind !== RTX_PERSIST) this.tcp.env.timers.cancel(this.rtxTimer);
    } else {
      this.armRetransmit(now, true);
    }
    if (this.wantWritable) {
      const free = this.sndBuf - this.sbuf.charge;
      if (free >= this.sndBuf >>> 2 || this.sbuf.length === 0) {
        this.wantWritable = false;
        this.tcp.queueEvent(this, EV_WRITABLE);
      }
    }
    if (finAcked && !this.finAcked(now)) return;
    if (this.sbuf.length > seqSub(this.sndNxt, this.bufSeq) || this.rexmitPending || (this.inRecovery && this.sackOk)) this.tcp.markReady(this, false);
  }

  /** An RTT sample from an ACK of new data (RFC 7323 §4 RTTM; else Karn's timed segment, RFC 6298 §3). */
  private rttFromAck(ack: number, now: number): void {
    if (this.tsOk) {
      // Every ACK of new data with a TSecr is a sample, retransmitted or not (the echo
      // names the transmission); 0 is taken as "no echo", as Linux does.
      if (this.rxTsEcr > 0) {
        const r = (this.tsNow(now) - this.rxTsEcr) | 0;
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

  /** What `acked` new bytes (of `flight` in flight) do to the window: recovery ends or goes on (RFC 6582, 6675), or cwnd grows. */
  private congestionOnAck(ack: number, acked: number, flight: number, now: number): void {
    const mss = this.sndMss;
    if (this.inRecovery) {
      if (seqGeq(ack, this.recover)) {
        this.inRecovery = false;
        this.dupAcks = 0;
        this.rack.recoveryEnded();
        this.cc.onRecoveryEnd(seqSub(this.sndNxt, this.sndUna), mss, now);
      } else if (this.sackOk) {
        // RFC 6675: a partial ACK needs no deflation; pipe and NextSeg do the rest.
        if (seqLt(this.highRxt, ack)) this.highRxt = ack;
      } else {
        // Partial ACK (RFC 6582 §3.2 step 5): retransmit the next hole, deflate.
        this.rexmitPending = true;
        let cw = this.cc.cwnd - acked;
        if (acked >= mss) cw += mss;
        this.cc.cwnd = cw > mss ? cw : mss;
      }
      return;
    }
    this.dupAcks = 0;
    this.cc.onAck(acked, flight, mss, now);
    // Linux's tcp_sndbuf_expand: room for twice the window, so the buffer never limits the flight.
    const want = 2 * this.cc.cwnd;
    if (want > this.sndBuf && this.sndBuf < this.opts.sendBufferMax) this.sndBuf = want < this.opts.sendBufferMax ? want : this.opts.sendBufferMax;
  }

  /** Our FIN was acknowledged (RFC 9293 §3.10.7.4): the next state. False when the connection is gone (TIME_WAIT or CLOSED). */
  private finAcked(now: number): boolean {
    const st = this.state;
    if (st === FIN_WAIT_1) {
      this.setState(FIN_WAIT_2);
      if (this.userClosed) this.armIdle(IDLE_FIN_WAIT_2, now + this.opts.finWait2Timeout);
    } else if (st === CLOSING) {
      this.enterTimeWait(now);
      return false;
    } else if (st === LAST_ACK) {
      this.destroy(null);
      return false;
    }
    return true;
  }

  /**
   * The first ACK to move SND.UNA after a fast retransmit or a timeout: was the
   * retransmission needed (undo.ts)? If not, the window comes back; a recovery ends and
   * the reordering it showed raises the duplicate threshold; after a timeout, sending
   * resumes where it was (RFC 4015 §2, SND.NXT = SND.MAX).
   */
  private decideUndo(ack: number): void {
    const u = this.undo;
    if (this.rxTsEcr <= 0) {
      u.clear();
      return;
    }
    const episode = u.episode;
    const high = this.sb.count > 0 ? this.sb.highSacked : this.sndUna;
    if (!u.decide(this.rxTsEcr, this.cc)) return;
    const c = this.tcp.counters;
    if (episode === EPISODE_RECOVERY) {
      c.spuriousRecoveries++;
      this.rack.spurious();
      const degree = reorderingDegree(this.sndUna, high, this.sndMss);
      if (degree > this.reordering) this.setReordering(degree);
      this.inRecovery = false;
      this.rexmitPending = false;
      this.dupAcks = 0;
      this.recover = ack;
      this.highRxt = ack;
    } else {
      c.spuriousRtos++;
      this.sndNxt = this.sndMax;
    }
  }

  /**
   * RACK's part of an ACK that moves SND.UNA to `ack`: a hole at SND.UNA filled by its
   * first transmission while data above it was SACKed shows reordering (RFC 8985
   * RACK.reordering_seen; Linux also raises tp->reordering by how far); the bytes acked
   * count as delivered; their records go.
   */
  private rackAck(ack: number, now: number): void {
    const rack = this.rack;
    const una = this.sndUna;
    const original = seqGeq(una, this.highRxt) && rack.holds(una);
    if (original && this.sb.count > 0 && seqGt(this.sb.highSacked, una)) {
      rack.reorderingSeen = true;
      const degree = reorderingDegree(una, this.sb.highSacked, this.sndMss);
      if (degree > this.reordering) this.setReordering(degree);
    }
    const last = seqAdd(ack, -1);
    if (seqGeq(last, this.highRxt)) rack.delivered(last, ack, now);
    rack.acked(ack);
  }

  /**
   * RACK loss detection (RFC 8985 §6.2 step 5) after an ACK or when its timer fires:
   * marks in the scoreboard what time shows lost, and sets the timer for what may be
   * lost next.
   */
  private rackDetect(now: number): void {
    const rack = this.rack;
    const plain = this.inRecovery || this.sb.bytes >= INITIAL_REORDERING * this.sndMss;
    const reoWnd = rack.reoWnd(this.rtt.minRtt, this.rtt.srtt, plain);
    this.sb.setTimeLost(rack.detect(this.sndUna, now, reoWnd), this.sndUna);
    if (rack.deadline >= 0) {
      if (this.reoTimer === null) this.reoTimer = this.tcp.env.timers.create((t) => this.onReoTimer(t));
      this.tcp.env.timers.arm(this.reoTimer, rack.deadline);
    }
  }

  private onReoTimer(now: number): void {
    const st = this.state;
    if (st === CLOSED || st === TIME_WAIT || !this.sackOk || this.sb.count === 0 || this.sndUna === this.sndMax) return;
    this.rackDetect(now);
    this.lossCheck(now);
  }

  /** RFC 6675 §5 (and RACK): start a recovery when the scoreboard shows SND.UNA lost; in one, send what is newly lost. */
  private lossCheck(now: number): void {
    if (this.inRecovery) {
      this.tcp.markReady(this, false);
      return;
    }
    if (seqGeq(this.sndUna, this.recover) && seqGt(this.sb.lostBoundary(this.sndUna, this.sndMss), this.sndUna)) {
      this.enterSackRecovery(now);
      this.tcp.markReady(this, true);
    }
  }

  private setReordering(segments: number): void {
    this.reordering = segments;
    this.sb.dupThresh = segments;
  }

  /** Received SACK blocks into the scoreboard (validated there; bad ones counted). */
  private takeSack(s: SegmentInfo, ack: number): void {
    const c = this.tcp.counters;
    if (s.sackMalformed) c.sackBlocksIgnored++;
    const una = seqGt(ack, this.sndUna) && seqLeq(ack, this.sndMax) ? ack : this.sndUna;
    const b = s.sackBlocks;
    const before = this.sb.bytes;
    const now = this.tcp.env.clock.now();
    for (let k = 0; k < s.sackCount; k++) {
      const r = b[2 * k + 1]!;
      const added = this.sb.add(b[2 * k]!, r, una, this.sndMax);
      if (added === SACK_BLOCK_BAD) c.sackBlocksIgnored++;
      else if (added === SACK_BLOCK_OK && seqGeq(seqAdd(r, -1), this.highRxt)) this.rack.delivered(b[2 * k]!, r, now);
    }
    if (this.inRecovery && this.sb.bytes !== before) this.tcp.markReady(this, false);
  }

  /** RFC 6675 §5 steps 4.1-4.3: enter loss recovery, retransmit the first segment. */
  private enterSackRecovery(now: number): void {
    const flight = seqSub(this.sndMax, this.sndUna);
    if (this.tsOk) this.undo.start(EPISODE_RECOVERY, this.cc, this.tsNow(now));
    this.cc.onCongestion(flight, this.sndMss, now);
    this.recover = this.sndMax;
    this.inRecovery = true;
    this.highRxt = this.sndUna;
    this.rexmitPending = true;
    const c = this.tcp.counters;
    c.fastRetransmits++;
    c.sackRecoveries++;
    this.tcp.markReady(this, false);
  }

  private noteDsack(l: number, r: number): void {
    this.rx.sackReport.noteDuplicate(l, r);
    this.tcp.counters.dsacksSent++;
    this.ackNow(); // at once, as a duplicate ACK would go
  }

  /** Payload per segment now: sndMss, less the room SACK blocks take while we have some to send. */
  private segMss(): number {
    const n = this.rx.sackReport.count;
    if (n === 0) return this.sndMss;
    const max = this.tsOk ? 3 : 4;
    const mss = this.sndMss - 4 - 8 * (n < max ? n : max);
    return mss > 64 ? mss : 64;
  }

  private windowOpened(): void {
    if (this.sndWnd === 0) return;
    if (this.rtxKind === RTX_PERSIST) {
      this.rtxKind = RTX_RTO;
      this.tcp.env.timers.cancel(this.rtxTimer);
    }
    this.tcp.markReady(this, false);
  }

  private dupAck(): void {
    this.dupAcks++;
    const mss = this.sndMss;
    // Early retransmit (RFC 5827): with fewer than four segments outstanding and no new
    // data to send, three duplicate ACKs cannot come; oseg - 1 of them are enough.
    let thresh = this.reordering;
    const outstanding = seqSub(this.sndMax, this.sndUna);
    if (outstanding < 4 * mss && seqSub(seqAdd(this.bufSeq, this.sbuf.length), this.sndMax) <= 0) {
      const oseg = Math.ceil(outstanding / mss);
      const early = oseg - 1 > 1 ? oseg - 1 : 1;
      if (early < thresh) thresh = early;
    }
    if (this.sackOk) {
      // RFC 6675: no window inflation; DupThresh duplicate ACKs (or IsLost) start recovery.
      if (this.inRecovery) this.tcp.markReady(this, false);
      else if (this.dupAcks >= thresh && seqGeq(this.sndUna, this.recover)) this.enterSackRecovery(this.tcp.env.clock.now());
      else if (this.dupAcks < thresh) this.tcp.markReady(this, false);
      return;
    }
    if (this.inRecovery) {
      this.cc.cwnd += mss;
      this.tcp.markReady(this, false);
    } else if (this.dupAcks === thresh) {
      // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover`.
      // (`recover` is SND.MAX then, one past RFC 6582's "highest sequence number transmitted".)
      if (seqGeq(this.sndUna, this.recover)) {
        const flight = seqSub(this.sndMax, this.sndUna);
        const now = this.tcp.env.clock.now();
        if (this.tsOk) this.undo.start(EPISODE_RECOVERY, this.cc, this.tsNow(now));
        this.cc.onCongestion(flight, mss, now);
        this.cc.cwnd = this.cc.ssthresh + 3 * mss;
        this.recover = this.sndMax;
        this.inRecovery = true;
        this.rexmitPending = true;
        this.tcp.counters.fastRetransmits++;
        this.tcp.markReady(this, false);
      }
    } else if (this.dupAcks < thresh) {
      this.tcp.markReady(this, false); // limited transmit (RFC 3042)
    }
  }

  private finArrives(now: number): void {
    this.rx.rcvNxt = seqAdd(this.rx.rcvNxt, 1);
    this.peerFin = true;
    this.ackNow();
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

  /**
   * TIME_WAIT: what is left to do (answer old segments for 2·MSL) goes to a compact
   * record in the Tcp's TIME_WAIT table, and this object lets go of its buffers and
   * timers; it only still sends the ACK it may owe for the peer's FIN.
   */
  private enterTimeWait(now: number): void {
    const tcp = this.tcp;
    const timers = tcp.env.timers;
    this.setState(TIME_WAIT);
    timers.cancel(this.rtxTimer);
    timers.cancel(this.delackTimer);
    if (this.reoTimer !== null) timers.cancel(this.reoTimer);
    this.cancelIdle();
    this.rtxKind = RTX_RTO;
    this.sbuf.clear();
    this.rx.ooo.clear();
    if (!this.closeDelivered) tcp.queueEvent(this, EV_CLOSE);
    let wnd = seqSub(this.rx.rcvAdv, this.rx.rcvNxt);
    if (wnd < 0) wnd = 0;
    const windowField = Math.min(65535, wnd >>> this.rx.rcvScale);
    const slot = tcp.adoptTimeWait(
      this,
      {
        localAddress: this.localAddress,
        localPort: this.localPort,
        remoteAddress: this.remoteAddress,
        remotePort: this.remotePort,
        sndNxt: this.sndMax,
        rcvNxt: this.rx.rcvNxt,
        rcvWnd: wnd,
        windowField,
        maxSndWnd: this.maxSndWnd,
        tsOk: this.tsOk,
        tsRecent: this.tsRecent,
        tsRecentAt: this.tsRecentAt,
        tsOffset: this.tsOffset,
        lastChallengeAt: this.lastOowAckAt,
        duration: 2 * this.opts.msl,
      },
      now,
    );
    if (slot >= 0) {
      this.twSlot = slot;
      this.twGen = tcp.timeWait.generation(slot);
      // Out of the table now: the Tcp remembers it while it holds unread data (a teardown frees it).
      if (this.rx.rq.length > 0) tcp.holdUnread(this, true);
      return;
    }
    // The TIME_WAIT table is full: close now (as Linux past tcp_max_tw_buckets), ACKing the FIN first.
    if (this.ackPending) tcp.queueBare(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, this.sndMax, this.rx.rcvNxt, TCP_ACK, windowField, this.tsOk ? this.tsNow(now) : -1, this.tsRecent);
    this.destroy(null);
  }

  /** Handed to the TIME_WAIT table, whose record has ended since: this connection is CLOSED. */
  private timeWaitOver(): boolean {
    if (this.twSlot < 0 || this.tcp.timeWait.holds(this.twSlot, this.twGen)) return false;
    this.twSlot = -1;
    this.state = CLOSED;
    return true;
  }

  // ================================================================ helpers for the window

  private ackNow(): void {
    this.ackPending = true;
    this.tcp.markReady(this, false);
  }

  /** After a read: announce a window that opened meaningfully (RFC 9293 §3.8.6.2.2). */
  private maybeWindowUpdate(): void {
    const st = this.state;
    if (!(st === ESTABLISHED || st === FIN_WAIT_1 || st === FIN_WAIT_2)) return;
    if (this.rx.windowUpdateDue()) {
      this.ackPending = true;
      this.tcp.markReady(this, true);
    }
  }

  // ================================================================ transmit

  /**
   * Whether output() may have a segment now: data past SND.NXT, a FIN, a pending ACK,
   * SYN, probe or retransmission. Tcp.pull keeps a connection on the ready list only
   * then, so one that just sent its last segment is not asked again for nothing.
   */
  get mayOutput(): boolean {
    return (
      this.ackPending ||
      this.rexmitPending ||
      this.probePending ||
      this.tlpPending ||
      this.synPending ||
      (this.inRecovery && this.sackOk) ||
      this.sbuf.length > seqSub(this.sndNxt, this.bufSeq) ||
      (this.finQueued && this.sndNxt !== seqAdd(this.finSeq, 1))
    );
  }

  /** The next segment this connection wants to send, or null. */
  output(now: number): Packet | null {
    const st = this.state;
    if (st === CLOSED) return null;
    if (this.synPending) {
      if (st !== SYN_SENT && st !== SYN_RECEIVED) {
        this.synPending = false;
      } else {
        const p = this.build(this.iss, st === SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK, 0, 0, true);
        if (p === null) return null;
        this.synPending = false;
        if (this.sndMax !== this.iss) {
          this.tcp.counters.retransmittedSegments++;
          this.tcp.counters.synRetransmits++;
        }
        else {
          this.timing = true;
          this.rttSeq = seqAdd(this.iss, 1);
          this.rttTime = now;
        }
        this.sndNxt = seqAdd(this.iss, 1);
        this.sndMax = this.sndNxt;
        if (!this.rtxTimer.armed) this.armRto(now);
        return p;
      }
    }
    if (st === SYN_SENT) return null;
    const sendable = st === ESTABLISHED || st === CLOSE_WAIT || st === FIN_WAIT_1 || st === CLOSING || st === LAST_ACK;
    if (sendable && this.rexmitPending) {
      this.rexmitPending = false;
      const p = this.retransmitFirst(now);
      if (p !== null) return p;
    }
    if (sendable && this.inRecovery && this.sackOk) {
      const p = this.sackNextSeg(now);
      if (p !== null) return p;
    }
    if (this.tlpPending) {
      this.tlpPending = false;
      const p = sendable ? this.lossProbe(now) : null;
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
    if (this.ackPending && st !== SYN_SENT) {
      if (this.rx.rcvUnacked > 0 && !this.delackTimer.armed) this.tcp.counters.delayedAcks++;
      // sndMax, not sndNxt: after a timeout sndNxt goes back, and an ACK below the peer's rcvNxt would be unacceptable there.
      const p = this.build(this.sndMax, TCP_ACK, 0, 0, false);
      if (p !== null && this.rx.dupAcksOwed > 1 && !this.rx.ooo.empty) {
        this.rx.dupAcksOwed--;
        this.ackPending = true;
        this.tcp.markReady(this, false);
      } else {
        this.rx.dupAcksOwed = 0;
      }
      return p;
    }
    return null;
  }

  /** Fast retransmit / NewReno partial ACK: one segment from sndUna, whatever cwnd says. */
  private retransmitFirst(now: number): Packet | null {
    const outstanding = seqSub(this.sndMax, this.sndUna);
    if (outstanding <= 0) return null;
    const dataOff = seqSub(this.sndUna, this.bufSeq);
    const mss = this.segMss();
    let len = this.sbuf.length - dataOff;
    if (len > mss) len = mss;
    if (len > outstanding) len = outstanding;
    if (len < 0) len = 0;
    if (this.sackOk && this.sb.count > 0) len = seqSub(this.sb.nextSackedFrom(this.sndUna, seqAdd(this.sndUna, len)), this.sndUna);
    const end = seqAdd(this.sndUna, len);
    const fin = this.finQueued && end === this.finSeq && seqGt(this.sndMax, this.finSeq) ? TCP_FIN : 0;
    if (len === 0 && !fin) return null;
    const p = this.build(this.sndUna, TCP_ACK | fin | (end === seqAdd(this.bufSeq, this.sbuf.length) ? TCP_PSH : 0), dataOff, len, false, mss);
    if (p === null) {
      this.rexmitPending = true;
      return null;
    }
    const c = this.tcp.counters;
    c.retransmittedSegments++;
    c.retransmittedBytes += len;
    if (this.timing && seqLt(this.sndUna, this.rttSeq)) this.timing = false;
    const after = seqAdd(end, fin ? 1 : 0);
    if (this.inRecovery && this.sackOk) {
      c.sackRetransmittedBytes += len;
      if (seqLt(this.highRxt, after)) this.highRxt = after;
    }
    if (seqLt(this.sndNxt, after)) this.sndNxt = after;
    this.armRto(now);
    return p;
  }

  /**
   * RFC 6675 §5 step (C) with NextSeg rule 1: while cwnd − pipe allows a segment, the
   * first lost, unSACKed hole above HighRxt goes again (only what is lost). Rule 2 (new
   * data) is sendData's, with pipe in place of the flight; rules 3 and 4 are not used.
   */
  private sackNextSeg(now: number): Packet | null {
    const una = this.sndUna;
    if (this.sb.count === 0 || una === this.sndMax) return null;
    const mss = this.segMss();
    if (this.cc.cwnd - this.sb.pipe(una, this.sndMax, this.highRxt, this.sndMss) < mss) return null;
    const s = this.sb.nextLost(this.highRxt, una, this.sndMss);
    if (s < 0) return null;
    const dataOff = seqSub(s, this.bufSeq);
    let len = seqSub(this.sb.holeEnd, s);
    if (len > mss) len = mss;
    const inBuf = this.sbuf.length - dataOff;
    if (len > inBuf) len = inBuf;
    if (len < 0) len = 0;
    const end = seqAdd(s, len);
    const fin = this.finQueued && end === this.finSeq && seqGt(this.sndMax, this.finSeq) ? TCP_FIN : 0;
    if (len === 0 && !fin) {
      this.highRxt = this.sb.holeEnd; // nothing left there to send (cannot happen with a sane peer)
      return null;
    }
    const p = this.build(s, TCP_ACK | fin, dataOff, len, false, mss);
    if (p === null) return null;
    const c = this.tcp.counters;
    c.retransmittedSegments++;
    c.retransmittedBytes += len;
    c.sackRetransmittedBytes += len;
    this.highRxt = seqAdd(end, fin ? 1 : 0);
    if (this.timing && seqLt(s, this.rttSeq)) this.timing = false;
    if (!this.rtxTimer.armed) this.armRto(now);
    return p;
  }

  private sendData(now: number): Packet | null {
    if (this.sackOk && this.sb.count > 0) {
      // Going back after a timeout: what the peer SACKed since is not sent again.
      while (seqLt(this.sndNxt, this.sndMax) && this.sb.isSacked(this.sndNxt)) this.sndNxt = this.sb.rangeEnd;
    }
    const bufEnd = seqAdd(this.bufSeq, this.sbuf.length);
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
      if (this.sackOk && this.sb.count > 0 && seqLt(this.sndNxt, this.sndMax) && len > 0) {
        len = seqSub(this.sb.nextSackedFrom(this.sndNxt, seqAdd(this.sndNxt, len)), this.sndNxt);
      }
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
        if (!last) this.tcp.markReady(this, false);
        return p;
      }
      // Nothing in flight and the window is the obstacle: the persist timer (RFC 9293 §3.8.6.1).
      if (flight === 0 && this.sndMax === this.sndUna && avail < Math.min(unsent, mss) && this.rtxKind !== RTX_PERSIST) {
        this.rtxKind = RTX_PERSIST;
        this.persistBackoff = 0;
        this.tcp.env.timers.arm(this.rtxTimer, now + this.persistInterval());
      }
      return null;
    }
    if (unsent === 0 && this.finQueued && this.sndNxt === this.finSeq) {
      const p = this.build(this.sndNxt, TCP_ACK | TCP_FIN, 0, 0, false);
      if (p === null) return null;
      if (seqLt(this.sndNxt, this.sndMax)) this.tcp.counters.retransmittedSegments++;
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
    let cw = this.cc.cwnd;
    if (!this.inRecovery && this.dupAcks > 0) cw += (this.dupAcks < 2 ? this.dupAcks : 2) * mss;
    const cwFlight = this.inRecovery && this.sackOk ? this.sb.pipe(this.sndUna, this.sndMax, this.highRxt, this.sndMss) : flight;
    return cw - cwFlight < wnd ? cw - cwFlight : wnd;
  }

  /** Bookkeeping for data [seq, seq + len) just built (`after`: its end, past a FIN): RACK, retransmission counts, RTT timing, SND.NXT/MAX, the timer. */
  private dataSent(seq: number, len: number, after: number, now: number): void {
    const end = seqAdd(seq, len);
    if (this.sackOk && seqGt(after, this.sndMax)) this.rack.record(seqLt(seq, this.sndMax) ? this.sndMax : seq, after, now);
    if (seqLt(seq, this.sndMax)) {
      const c = this.tcp.counters;
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

  /**
   * Arms the retransmission timer once new data went out (`restart` false: an RTO
   * already running keeps its deadline) or an ACK moved SND.UNA (`restart`): for a
   * tail loss probe when one may go (RFC 8985 §7.2), else for the RTO.
   */
  private armRetransmit(now: number, restart: boolean): void {
    const timers = this.tcp.env.timers;
    if (this.rtxKind === RTX_PERSIST) restart = true;
    const st = this.state;
    if (this.sackOk && !this.inRecovery && !this.tlpOut && this.rtt.samples && (st === ESTABLISHED || st === CLOSE_WAIT)) {
      // PTO = 2·SRTT; with one segment out, room for the peer's delayed ACK; at least
      // 10 ms (as Linux); never past the RTO.
      const srtt = this.rtt.srtt;
      let pto = 2 * srtt;
      if (seqSub(this.sndMax, this.sndUna) <= this.sndMss && pto < 1.5 * srtt + WC_DEL_ACK_MS) pto = 1.5 * srtt + WC_DEL_ACK_MS;
      if (pto < TLP_MIN_MS) pto = TLP_MIN_MS;
      const rto = this.rtt.rto;
      this.rtxKind = RTX_PROBE;
      timers.arm(this.rtxTimer, now + (pto < rto ? pto : rto));
      return;
    }
    if (restart || this.rtxKind === RTX_PROBE || !this.rtxTimer.armed) this.armRto(now);
  }

  /** The retransmission timer, for the RTO from now. */
  private armRto(now: number): void {
    this.rtxKind = RTX_RTO;
    this.tcp.env.timers.arm(this.rtxTimer, now + this.rtt.rto);
  }

  /**
   * The tail loss probe (RFC 8985 §7.3): one MSS of new data when there is some and the
   * peer's window takes it (whatever cwnd says), else the last segment sent, again.
   */
  private lossProbe(now: number): Packet | null {
    const mss = this.segMss();
    const flight = seqSub(this.sndNxt, this.sndUna);
    const bufEnd = seqAdd(this.bufSeq, this.sbuf.length);
    let p: Packet | null = null;
    this.tlpOut = true; // before sendData, which would arm another probe
    if (this.sndNxt === this.sndMax && seqGt(bufEnd, this.sndNxt) && this.sndWnd - flight > 0) {
      this.probeNew = true;
      p = this.sendData(now);
      this.probeNew = false;
    }
    if (p === null) {
      const dataEnd = this.finQueued && seqGt(this.sndMax, this.finSeq) ? this.finSeq : this.sndMax;
      let start = seqAdd(dataEnd, -mss);
      if (seqLt(start, this.sndUna)) start = this.sndUna;
      const len = seqSub(dataEnd, start);
      const fin = dataEnd !== this.sndMax ? TCP_FIN : 0;
      if (len > 0 || fin) p = this.build(start, TCP_ACK | TCP_PSH | fin, seqSub(start, this.bufSeq), len > 0 ? len : 0, false, mss);
      if (p === null) {
        this.tlpOut = false;
        return null;
      }
      const c = this.tcp.counters;
      c.retransmittedSegments++;
      c.retransmittedBytes += len > 0 ? len : 0;
      if (this.timing && seqLt(start, this.rttSeq)) this.timing = false;
    }
    this.tlpEnd = this.sndMax;
    return p;
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
    const f = this.tcp.env.features;
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

  private persistInterval(): number {
    const base = Math.max(this.rtt.baseRto, this.opts.minRto);
    const t = base * 2 ** this.persistBackoff;
    return t > this.opts.maxPersist ? this.opts.maxPersist : t;
  }

  /**
   * A challenge ACK (RFC 5961 §3-4), at most one per CHALLENGE_ACK_INTERVAL_MS per
   * connection (§7 asks for a limit). A per-connection limit, as Linux has had since
   * CVE-2016-5696: a global counter lets an off-path attacker count challenge ACKs.
   */
  private challengeAck(now: number): void {
    if (now - this.lastOowAckAt < CHALLENGE_ACK_INTERVAL_MS) {
      this.tcp.counters.challengeAcksLimited++;
      return;
    }
    this.lastOowAckAt = now;
    this.tcp.counters.challengeAcks++;
    this.ackNow();
  }

  /**
   * The ACK owed to a segment outside the window, at most one per 500 ms (Linux's
   * tcp_invalid_ratelimit, on the clock challenge ACKs use): a flood of them must not be
   * answered segment for segment, and two ends that disagree must not trade ACKs forever.
   */
  private outOfWindowAck(now: number): void {
    if (now - this.lastOowAckAt < CHALLENGE_ACK_INTERVAL_MS) {
      this.tcp.counters.outOfWindowAcksLimited++;
      return;
    }
    this.lastOowAckAt = now;
    this.ackNow();
  }

  /**
   * Builds one segment: header in a new pool frame, payload as views of the send
   * buffer (`dataOff` from its first byte), checksum or checksum offload.
   */
  private build(seq: number, flags: number, dataOff: number, len: number, synOpts: boolean, segSize = this.sndMss): Packet | null {
    const tcp = this.tcp;
    const env = tcp.env;
    const p = Packet.alloc(env.pool, L4_HEADROOM);
    if (p === null) {
      tcp.counters.drops.noBuffer++;
      return null;
    }
    const hasAck = (flags & TCP_ACK) !== 0;
    const synSent = this.state === SYN_SENT;
    const wscale = synOpts && this.opts.windowScaling && (synSent || this.scaleOk);
    const ts = synOpts ? this.opts.timestamps && (synSent || this.tsOk) : this.tsOk;
    const sackPerm = synOpts && this.opts.sack && (synSent || this.sackOk);
    let optLen = synOpts ? 4 + (ts ? TS_LEN : sackPerm ? 4 : 0) + (wscale ? 4 : 0) : ts ? TS_LEN : 0;
    const report = this.rx.sackReport;
    const blocks = !synOpts && hasAck && !report.empty ? this.sackBlocksFor(optLen, len < segSize ? len : segSize) : 0;
    const sackN = blocks >>> 1;
    const ds = blocks & 1;
    if (sackN + ds > 0) optLen += 4 + 8 * (sackN + ds);
    const hl = 20 + optLen;
    const at = p.append(hl);
    const b = p.bufs[0]!;
    writeU16(b, at, this.localPort);
    writeU16(b, at + 2, this.remotePort);
    writeU32(b, at + 4, seq);
    writeU32(b, at + 8, hasAck ? this.rx.rcvNxt : 0);
    b[at + 12] = (hl >>> 2) << 4;
    b[at + 13] = flags & 0xff;
    writeU16(b, at + 14, synOpts ? Math.min(this.rx.rcvBuf, 65535) : this.rx.selectWindow());
    b[at + 16] = 0;
    b[at + 17] = 0;
    b[at + 18] = 0;
    b[at + 19] = 0;
    // Options in Linux's layout (tcp_options_write; wire/tcp-options.ts emitTcpOptions).
    const o = this.writeOptions(b, at + 20, synOpts, ts, sackPerm, wscale);
    if (sackN + ds > 0) report.write(b, o, sackN, ds > 0);
    if (len > 0) {
      this.rx.dupAcksOwed = 0; // a segment with data is no duplicate ACK
      this.sbuf.appendTo(p, dataOff, len);
      if (len > segSize) {
        p.gsoSize = segSize;
        p.gsoType = GSO_TCPV4;
      }
    }
    finishSegmentChecksum(p, at, this.localAddress, this.remoteAddress, env.features.txCsumL4);
    const c = tcp.counters;
    c.segmentsOut++;
    c.bytesOut += len;
    if (hasAck) {
      this.lastAckSent = this.rx.rcvNxt;
      this.ackPending = false;
      this.rx.rcvUnacked = 0;
      if (this.delackTimer.armed) env.timers.cancel(this.delackTimer);
    }
    return p;
  }

  /**
   * How many SACK blocks (and whether the D-SACK block) the next ACK carries, packed as
   * blocks << 1 | dsack: what the 40 bytes of options leave beside `optLen`, and no more
   * than keeps a segment of `seg` payload bytes within the negotiated MSS.
   */
  private sackBlocksFor(optLen: number, seg: number): number {
    const report = this.rx.sackReport;
    let sackN = report.prune(this.rx.rcvNxt, this.rx.ooo.empty);
    let ds = report.dsackPending ? 1 : 0;
    const fit = (36 - optLen) >>> 3; // 40 bytes minus the 4 of NOP, NOP, kind, length
    if (sackN + ds > fit) sackN = fit - ds;
    if (seg > 0) {
      // Every segment (of a super-frame too) must stay within the negotiated MSS.
      while (sackN > 0 && optLen + 4 + 8 * (sackN + ds) + seg > this.mssLimit) sackN--;
      if (ds > 0 && optLen + 12 + seg > this.mssLimit) ds = 0;
    }
    return (sackN << 1) | ds;
  }

  /** Writes the MSS, timestamps, SACK-permitted and window-scale options at `o` (those asked for); returns where the next goes. */
  private writeOptions(b: Uint8Array, o: number, synOpts: boolean, ts: boolean, sackPerm: boolean, wscale: boolean): number {
    const synSent = this.state === SYN_SENT;
    if (synOpts) {
      b[o] = 2;
      b[o + 1] = 4;
      writeU16(b, o + 2, this.rx.advMss);
      o += 4;
      this.rx.rcvAdv = seqAdd(this.rx.rcvNxt, Math.min(this.rx.rcvBuf, 65535));
    }
    if (ts) {
      b[o] = sackPerm ? 4 : 1;
      b[o + 1] = sackPerm ? 2 : 1;
      b[o + 2] = 8;
      b[o + 3] = 10;
      writeU32(b, o + 4, synOpts && !synSent && this.synAckTsVal >= 0 ? this.synAckTsVal : this.tsNow(this.tcp.env.clock.now()));
      writeU32(b, o + 8, synSent ? 0 : this.tsRecent);
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
      b[o + 3] = this.rx.ourScale;
      o += 4;
    }
    return o;
  }

  // ================================================================ closing

  private queueFin(): void {
    const st = this.state;
    if (this.finQueued) return;
    if (!(st === SYN_SENT || st === SYN_RECEIVED || st === ESTABLISHED || st === CLOSE_WAIT)) return;
    this.finQueued = true;
    this.finSeq = seqAdd(this.bufSeq, this.sbuf.length);
    if (st === ESTABLISHED) this.setState(FIN_WAIT_1);
    else if (st === CLOSE_WAIT) this.setState(LAST_ACK);
    // SYN_SENT, SYN_RECEIVED: FIN_WAIT_1 once established (data and FIN follow the handshake).
    this.tcp.markReady(this, true);
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
    const timers = this.tcp.env.timers;
    timers.cancel(this.rtxTimer);
    timers.cancel(this.delackTimer);
    if (this.reoTimer !== null) timers.cancel(this.reoTimer);
    timers.cancel(this.idleTimer);
    this.idleKind = IDLE_NONE;
    this.rtxKind = RTX_RTO;
    this.synPending = this.ackPending = this.rexmitPending = this.probePending = false;
    this.setState(CLOSED);
    this.sbuf.clear();
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

  private armIdle(kind: number, due: number): void {
    this.idleKind = kind;
    this.tcp.env.timers.arm(this.idleTimer, due);
  }

  private cancelIdle(): void {
    this.idleKind = IDLE_NONE;
    this.tcp.env.timers.cancel(this.idleTimer);
  }

  private onRtxTimer(now: number): void {
    const st = this.state;
    if (st === CLOSED || st === TIME_WAIT) return;
    if (this.rtxKind === RTX_PERSIST) this.onPersistTimer(now);
    else if (this.sndUna === this.sndMax && !this.synPending) return;
    else if (this.rtxKind === RTX_PROBE) this.onProbeTimer(now);
    else this.onRetransmitTimeout(now);
  }

  /** The persist timer (RFC 9293 §3.8.6.1): probe the zero window, back off, again. */
  private onPersistTimer(now: number): void {
    const tcp = this.tcp;
    tcp.counters.persistProbes++;
    if (this.sndWnd > 0) this.forceSend = true;
    else this.probePending = true;
    this.persistBackoff++;
    tcp.env.timers.arm(this.rtxTimer, now + this.persistInterval());
    tcp.markReady(this, true);
    tcp.flush();
  }

  /**
   * The probe timer (RFC 8985 §7.3): send one segment (new data, or the last one again)
   * to draw an ACK whose SACK blocks show what was lost; the RTO follows.
   */
  private onProbeTimer(now: number): void {
    this.tcp.counters.lossProbes++;
    this.tlpPending = true;
    this.armRto(now);
    this.tcp.markReady(this, true);
  }

  /** The RTO (RFC 6298 §5): back off, go back to SND.UNA (or send the SYN again), or give up. */
  private onRetransmitTimeout(now: number): void {
    const st = this.state;
    const tcp = this.tcp;
    this.retries++;
    const limit = st === SYN_SENT || st === SYN_RECEIVED ? this.opts.synRetries : this.opts.maxRetries;
    if (this.retries > limit) {
      tcp.counters.timeouts++;
      if (st === SYN_SENT) tcp.counters.connectFailures++;
      this.destroy(st === SYN_RECEIVED && this.passive ? null : tcpError('ETIMEDOUT'));
      tcp.flush();
      return;
    }
    tcp.counters.rtoTimeouts++;
    this.rtt.backOff();
    this.timing = false;
    if (st === SYN_SENT || st === SYN_RECEIVED) {
      this.synPending = true;
    } else {
      // Linux (tcp_enter_loss): a timeout while many segments sat SACKed without a
      // recovery says the reordering estimate is too high.
      if (!this.inRecovery && this.sb.bytes >= INITIAL_REORDERING * this.sndMss) this.setReordering(INITIAL_REORDERING);
      if (this.tsOk) this.undo.start(EPISODE_TIMEOUT, this.cc, this.tsNow(now));
      this.cc.onRto(seqSub(this.sndMax, this.sndUna), this.sndMss, now);
      this.inRecovery = false;
      this.dupAcks = 0;
      this.recover = this.sndMax;
      this.rexmitPending = false;
      this.sndNxt = this.sndUna; // go back: resend from the first unacknowledged byte
      // RFC 2018 §8 / RFC 6675 §5.1: the peer may have reneged; SACK state is not trusted.
      this.sb.clear();
      this.rack.reset();
      this.tlpOut = this.tlpPending = false;
      this.highRxt = this.sndUna;
    }
    this.armRto(now);
    tcp.markReady(this, true);
  }

  private onDelackTimer(): void {
    if (this.state === CLOSED) return;
    this.ackPending = true;
    this.tcp.markReady(this, true);
  }

  private onIdleTimer(now: number): void {
    const kind = this.idleKind;
    this.idleKind = IDLE_NONE;
    if (kind === IDLE_FIN_WAIT_2) this.onFinWait2Timeout();
    else if (kind === IDLE_KEEPALIVE && this.keepAlive) this.onKeepaliveTimer(now);
  }

  /** A closed connection waited too long in FIN_WAIT_2 for the peer's FIN (Linux tcp_fin_timeout): gone. */
  private onFinWait2Timeout(): void {
    this.tcp.counters.timeouts++;
    this.destroy(null);
    this.tcp.flush();
  }

  /** Keepalive (RFC 1122 §4.2.3.6): after the idle time, a probe every interval; no answer to `count` of them ends it. */
  private onKeepaliveTimer(now: number): void {
    const tcp = this.tcp;
    const st = this.state;
    if (!(st === ESTABLISHED || st === CLOSE_WAIT)) return;
    if (this.kaProbes === 0 && now - this.lastRecv < this.kaIdle) {
      this.armIdle(IDLE_KEEPALIVE, this.lastRecv + this.kaIdle);
      return;
    }
    if (this.kaProbes >= this.kaCount) {
      tcp.counters.timeouts++;
      tcp.queueReset(this.localAddress, this.remoteAddress, this.localPort, this.remotePort, this.sndNxt, this.rx.rcvNxt, TCP_RST | TCP_ACK);
      this.destroy(tcpError('ETIMEDOUT'));
      tcp.flush();
      return;
    }
    this.kaProbes++;
    tcp.counters.keepaliveProbes++;
    this.probePending = true;
    this.armIdle(IDLE_KEEPALIVE, now + this.kaInterval);
    tcp.markReady(this, true);
  }

  // ================================================================ events

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
