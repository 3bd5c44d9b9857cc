/**
 * Connections in TIME_WAIT, kept as compact records (Linux's inet_timewait_sock): once
 * a connection reaches TIME_WAIT it has nothing left to send or deliver, so the full
 * TcpConnection (buffers, timers, congestion state) is let go and only what 2·MSL of
 * answering old segments needs stays: the 4-tuple, both sequence numbers, the window
 * and the timestamp state. The records live in typed arrays with a free list, a
 * chained hash of their own (keyed like the connection table) and a min-heap of expiry
 * times driven by one timer, so 100,000 TIME_WAITs are a few megabytes and no objects.
 *
 * What a record does with a segment is RFC 9293 §3.10.7.4 for TIME-WAIT, with RFC 5961
 * (challenge ACKs, limited per record as per connection) and RFC 7323 (PAWS); as Linux,
 * a retransmitted FIN is acked again and restarts the 2·MSL timer.
 */

import type { Timer, TimerSet } from '../../time/timers.js';
import { jhash3 } from '../../util/jhash.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { seqAdd, seqGeq, seqGt, seqLeq, seqLt, seqSub } from '../../wire/seq.js';
import type { TcpCounters } from './counters.js';
import type { Receiver } from './receiver.js';
import type { SegmentInfo } from './segment.js';
import type { Sender } from './sender.js';
import { TIME_WAIT } from './state.js';
import { CHALLENGE_ACK_INTERVAL_MS, PAWS_IDLE } from './limits.js';


const INITIAL_CAPACITY = 256;

/** What a connection hands over as it enters TIME_WAIT. */
export interface TimeWaitState {
  localAddress: number;
  localPort: number;
  remoteAddress: number;
  remotePort: number;
  /** SND.NXT (= SND.UNA: our FIN is acknowledged). */
  sndNxt: number;
  rcvNxt: number;
  /** Receive window we last offered (bytes) and the window field that says it. */
  rcvWnd: number;
  windowField: number;
  /** The peer's largest window (for RFC 5961 §5's ACK check). */
  maxSndWnd: number;
  /** Timestamps in use: TS.Recent, when it was set, our TSval offset. */
  tsOk: boolean;
  tsRecent: number;
  tsRecentAt: number;
  tsOffset: number;
  lastChallengeAt: number;
  /** 2·MSL of this connection (ms): how long the record lives, and again after a retransmitted FIN. */
  duration: number;
}

/** The connection's 4-tuple. */
export interface FourTuple {
  readonly localAddress: number;
  readonly localPort: number;
  readonly remoteAddress: number;
  readonly remotePort: number;
}

/** What a connection (`id`, its sender and receiver) hands over as it enters TIME_WAIT, lasting `duration` ms. */
export function timeWaitStateOf(id: FourTuple, snd: Sender, rx: Receiver, duration: number): TimeWaitState {
  let wnd = seqSub(rx.rcvAdv, rx.rcvNxt);
  if (wnd < 0) wnd = 0;
  return {
    localAddress: id.localAddress,
    localPort: id.localPort,
    remoteAddress: id.remoteAddress,
    remotePort: id.remotePort,
    sndNxt: snd.sndMax,
    rcvNxt: rx.rcvNxt,
    rcvWnd: wnd,
    windowField: Math.min(65535, wnd >>> rx.rcvScale),
    maxSndWnd: snd.maxSndWnd,
    tsOk: snd.tsOk,
    tsRecent: rx.tsRecent,
    tsRecentAt: rx.tsRecentAt,
    tsOffset: snd.tsOffset,
    lastChallengeAt: rx.lastOowAckAt,
    duration,
  };
}

/** Sends a segment without a connection (the Tcp's bare-segment queue). tsVal < 0: no timestamps option. */
export type BareSender = (local: number, remote: number, localPort: number, remotePort: number, seq: number, ack: number, flags: number, window: number, tsVal: number, tsEcr: number) => void;

export class TimeWaitTable {
  private capacity = 0;
  private local = new Uint32Array(0);
  private remote = new Uint32Array(0);
  private ports = new Uint32Array(0);
  private sndNxt = new Uint32Array(0);
  private rcvNxt = new Uint32Array(0);
  private rcvWnd = new Uint32Array(0);
  private wndField = new Uint32Array(0);
  private maxSndWnd = new Uint32Array(0);
  private tsRecent = new Uint32Array(0);
  private tsOffset = new Uint32Array(0);
  /** Bit 0: timestamps in use. */
  private flags = new Uint8Array(0);
  private gen = new Uint32Array(0);
  private tsRecentAt = new Float64Array(0);
  private lastChallenge = new Float64Array(0);
  private expires = new Float64Array(0);
  private duration = new Float64Array(0);
  /** Hash chain (next slot or -1), and position in the expiry heap (-1: free slot). */
  private next = new Int32Array(0);
  private heapPos = new Int32Array(0);
  private heap = new Int32Array(0);
  private free = new Int32Array(0);
  private freeCount = 0;
  private buckets = new Int32Array(INITIAL_CAPACITY).fill(-1);
  private heapLength = 0;
  private readonly timer: Timer;
  /** Records held. */
  size = 0;

  constructor(
    private readonly timers: TimerSet,
    private readonly secret: number,
    /** At most this many records (Linux tcp_max_tw_buckets); past it a connection closes without TIME_WAIT. */
    readonly maxRecords: number,
    private readonly counters: TcpCounters,
    private readonly stateCounts: Int32Array,
    private readonly send: BareSender,
    /** Called as a record goes (its local port is free again). */
    private readonly onRemove: (localPort: number) => void,
  ) {
    this.timer = timers.create((now) => this.expire(now));
  }

  /** A record for `s` from `now` on; its slot, or -1 when the table is full. */
  add(s: TimeWaitState, now: number): number {
    if (this.size >= this.maxRecords) return -1;
    if (this.freeCount === 0) this.grow();
    const i = this.free[--this.freeCount]!;
    this.local[i] = s.localAddress;
    this.remote[i] = s.remoteAddress;
    this.ports[i] = ((s.localPort << 16) | s.remotePort) >>> 0;
    this.sndNxt[i] = s.sndNxt;
    this.rcvNxt[i] = s.rcvNxt;
    this.rcvWnd[i] = s.rcvWnd;
    this.wndField[i] = s.windowField;
    this.maxSndWnd[i] = s.maxSndWnd;
    this.tsRecent[i] = s.tsRecent;
    this.tsOffset[i] = s.tsOffset;
    this.flags[i] = s.tsOk ? 1 : 0;
    this.tsRecentAt[i] = s.tsRecentAt;
    this.lastChallenge[i] = s.lastChallengeAt;
    this.gen[i] = (this.gen[i]! + 1) >>> 0;
    const b = this.bucketOf(s.localAddress, s.localPort, s.remoteAddress, s.remotePort);
    this.next[i] = this.buckets[b]!;
    this.buckets[b] = i;
    this.size++;
    this.duration[i] = s.duration;
    this.expires[i] = now + s.duration;
    this.heapPush(i);
    return i;
  }

  /** The generation of slot `i`: a handle is (slot, generation), so a reused slot is not mistaken for an old record. */
  generation(i: number): number {
    return this.gen[i]!;
  }

  /** Slot `i` still holds the record of generation `g`. */
  holds(i: number, g: number): boolean {
    return i >= 0 && i < this.capacity && this.heapPos[i]! >= 0 && this.gen[i] === g;
  }

  find(local: number, localPort: number, remote: number, remotePort: number): number {
    const ports = ((localPort << 16) | remotePort) >>> 0;
    let i = this.buckets[this.bucketOf(local, localPort, remote, remotePort)]!;
    while (i >= 0 && !(this.ports[i] === ports && this.remote[i] === remote && this.local[i] === local)) i = this.next[i]!;
    return i;
  }

  /**
   * A SYN may start a new incarnation of record `i`'s 4-tuple (RFC 6191, Linux's
   * tcp_timewait_state_process): PAWS does not reject it, and its sequence number is
   * past RCV.NXT or (with timestamps) its TSval past TS.Recent.
   */
  synMayReuse(i: number, s: SegmentInfo, now: number): boolean {
    const ts = (this.flags[i]! & 1) !== 0 && s.tsPresent;
    if (ts && seqLt(s.tsVal, this.tsRecent[i]!) && now - this.tsRecentAt[i]! <= PAWS_IDLE) return false;
    return seqGt(s.seq, this.rcvNxt[i]!) || (ts && seqGt(s.tsVal, this.tsRecent[i]!));
  }

  /** Ends record `i` (expired, reset, reused, or the stack goes). */
  remove(i: number): void {
    const ports = this.ports[i]!;
    const b = this.bucketOf(this.local[i]!, ports >>> 16, this.remote[i]!, ports & 0xffff);
    if (this.buckets[b] === i) {
      this.buckets[b] = this.next[i]!;
    } else {
      let j = this.buckets[b]!;
      while (this.next[j] !== i) j = this.next[j]!;
      this.next[j] = this.next[i]!;
    }
    this.heapRemove(i);
    this.free[this.freeCount++] = i;
    this.size--;
    this.stateCounts[TIME_WAIT]--;
    this.onRemove(ports >>> 16);
  }

  /** Ends every record. */
  clear(): void {
    while (this.size > 0) this.remove(this.heap[0]!);
  }

  /**
   * A segment for record `i` (`len` payload bytes, which are never taken): RFC 9293
   * §3.10.7.4 in TIME-WAIT. Returns nothing; answers go through `send`.
   */
  arrives(i: number, s: SegmentInfo, len: number, now: number): void {
    const c = this.counters;
    const flags = s.flags;
    const ts = (this.flags[i]! & 1) !== 0;
    // PAWS (RFC 7323 §5.3 R1).
    if (ts && s.tsPresent && !(flags & TCP_RST) && seqLt(s.tsVal, this.tsRecent[i]!)) {
      if (now - this.tsRecentAt[i]! > PAWS_IDLE) {
        this.tsRecent[i] = s.tsVal;
        this.tsRecentAt[i] = now;
      } else {
        c.pawsDrops++;
        this.limitedAck(i, now);
        return;
      }
    }
    const rcvNxt = this.rcvNxt[i]!;
    const wnd = this.rcvWnd[i]!;
    const segLen = len + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    const seq = s.seq;
    const inWindow = (x: number): boolean => seqGeq(x, rcvNxt) && seqLt(x, seqAdd(rcvNxt, wnd));
    const ok = segLen === 0 ? (wnd === 0 ? seq === rcvNxt : inWindow(seq)) : wnd > 0 && (inWindow(seq) || inWindow(seqAdd(seq, segLen - 1)));
    if (!ok) {
      if (flags & TCP_RST) return;
      // A retransmitted FIN: our ACK was lost; ack again and wait 2·MSL more (as Linux).
      if (!(segLen <= 1 && seq === seqAdd(rcvNxt, -1))) c.drops.outOfWindow++;
      if (flags & TCP_FIN) {
        this.restart(i, now + this.duration[i]!);
        this.ack(i, now);
      } else {
        this.limitedAck(i, now);
      }
      return;
    }
    // RFC 7323 §4.3: TS.Recent from an acceptable segment (Last.ACK.sent is RCV.NXT here).
    if (ts && s.tsPresent && seqLeq(seq, rcvNxt) && seqGeq(s.tsVal, this.tsRecent[i]!)) {
      this.tsRecent[i] = s.tsVal;
      this.tsRecentAt[i] = now;
    }
    if (flags & TCP_RST) {
      // RFC 5961 §3: only an exact match resets; any other in-window RST gets a challenge ACK.
      if (seq !== rcvNxt) this.limitedAck(i, now, true);
      else {
        c.resetsReceived++;
        this.remove(i);
      }
      return;
    }
    if (flags & TCP_SYN) {
      // RFC 5961 §4 (a SYN that may start a new incarnation was taken before this).
      this.limitedAck(i, now, true);
      return;
    }
    if (!(flags & TCP_ACK)) return;
    // RFC 5961 §5: an ACK for data never sent, or too old, is answered with an ACK.
    const snd = this.sndNxt[i]!;
    if (seqGt(s.ack, snd) || seqLt(s.ack, seqSub(snd, this.maxSndWnd[i]! + 1))) {
      c.drops.badAck++;
      this.limitedAck(i, now);
      return;
    }
    // A FIN again (RFC 9293: "Acknowledge it, and restart the 2 MSL timeout").
    if (flags & TCP_FIN) {
      this.restart(i, now + this.duration[i]!);
      this.ack(i, now);
    }
  }

  /**
   * An ACK to an invalid segment (a challenge ACK, RFC 5961; or out of window, PAWS, a
   * bad ACK): at most one per CHALLENGE_ACK_INTERVAL_MS per record, as Linux limits
   * them (tcp_timewait_check_oow_rate_limit), so a flood gets few answers.
   */
  private limitedAck(i: number, now: number, challenge = false): void {
    if (now - this.lastChallenge[i]! < CHALLENGE_ACK_INTERVAL_MS) {
      this.counters.challengeAcksLimited++;
      return;
    }
    this.lastChallenge[i] = now;
    if (challenge) this.counters.challengeAcks++;
    this.ack(i, now);
  }

  private ack(i: number, now: number): void {
    const ports = this.ports[i]!;
    const ts = (this.flags[i]! & 1) !== 0;
    const tsVal = ts ? (Math.floor(now) + this.tsOffset[i]!) >>> 0 : -1;
    this.send(this.local[i]!, this.remote[i]!, ports >>> 16, ports & 0xffff, this.sndNxt[i]!, this.rcvNxt[i]!, TCP_ACK, this.wndField[i]!, tsVal, this.tsRecent[i]!);
  }

  private restart(i: number, expires: number): void {
    this.expires[i] = expires;
    this.heapRemove(i);
    this.heapPush(i);
  }

  private expire(now: number): void {
    while (this.size > 0 && this.expires[this.heap[0]!]! <= now) this.remove(this.heap[0]!);
  }

  private bucketOf(local: number, localPort: number, remote: number, remotePort: number): number {
    return jhash3(local, remote, (localPort << 16) | remotePort, this.secret) & (this.buckets.length - 1);
  }

  // --- storage ---

  private grow(): void {
    const old = this.capacity;
    const cap = old === 0 ? INITIAL_CAPACITY : old * 2;
    const u32 = (a: Uint32Array): Uint32Array<ArrayBuffer> => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.local = u32(this.local);
    this.remote = u32(this.remote);
    this.ports = u32(this.ports);
    this.sndNxt = u32(this.sndNxt);
    this.rcvNxt = u32(this.rcvNxt);
    this.rcvWnd = u32(this.rcvWnd);
    this.wndField = u32(this.wndField);
    this.maxSndWnd = u32(this.maxSndWnd);
    this.tsRecent = u32(this.tsRecent);
    this.tsOffset = u32(this.tsOffset);
    this.gen = u32(this.gen);
    const flags = new Uint8Array(cap);
    flags.set(this.flags);
    this.flags = flags;
    this.tsRecentAt = f64(this.tsRecentAt);
    this.lastChallenge = f64(this.lastChallenge);
    this.expires = f64(this.expires);
    this.duration = f64(this.duration);
    this.next = i32(this.next);
    this.heapPos = i32(this.heapPos);
    this.heapPos.fill(-1, old);
    this.heap = i32(this.heap);
    this.free = i32(this.free);
    // New slots go on the free list, lowest first out.
    for (let s = cap - 1; s >= old; s--) this.free[this.freeCount++] = s;
    this.capacity = cap;
    // One bucket per record: rehash what is held.
    const buckets = new Int32Array(cap).fill(-1);
    for (let h = 0; h < this.size; h++) {
      const i = this.heap[h]!;
      const ports = this.ports[i]!;
      const b = jhash3(this.local[i]!, this.remote[i]!, ports | 0, this.secret) & (cap - 1);
      this.next[i] = buckets[b]!;
      buckets[b] = i;
    }
    this.buckets = buckets;
  }

  // --- expiry heap (min by `expires`, ties by slot for determinism) ---

  private less(a: number, b: number): boolean {
    const ea = this.expires[a]!;
    const eb = this.expires[b]!;
    return ea < eb || (ea === eb && a < b);
  }

  private heapPush(i: number): void {
    const k = this.heapLength++;
    this.heap[k] = i;
    this.heapPos[i] = k;
    this.siftUp(k);
    this.rearm();
  }

  private heapRemove(i: number): void {
    const heap = this.heap;
    const k = this.heapPos[i]!;
    this.heapPos[i] = -1;
    const lastIndex = --this.heapLength;
    if (k !== lastIndex) {
      const last = heap[lastIndex]!;
      heap[k] = last;
      this.heapPos[last] = k;
      this.siftDown(k, lastIndex);
      this.siftUp(this.heapPos[last]!);
    }
    this.rearm();
  }

  private siftUp(k: number): void {
    const heap = this.heap;
    const x = heap[k]!;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      const p = heap[parent]!;
      if (!this.less(x, p)) break;
      heap[k] = p;
      this.heapPos[p] = k;
      k = parent;
    }
    heap[k] = x;
    this.heapPos[x] = k;
  }

  /** Sifts the entry at `k` down within the first `n` entries. */
  private siftDown(k: number, n: number): void {
    const heap = this.heap;
    const x = heap[k]!;
    for (;;) {
      let child = 2 * k + 1;
      if (child >= n) break;
      if (child + 1 < n && this.less(heap[child + 1]!, heap[child]!)) child++;
      const c = heap[child]!;
      if (!this.less(c, x)) break;
      heap[k] = c;
      this.heapPos[c] = k;
      k = child;
    }
    heap[k] = x;
    this.heapPos[x] = k;
  }

  private rearm(): void {
    if (this.heapLength === 0) {
      if (this.timer.armed) this.timers.cancel(this.timer);
      return;
    }
    const due = this.expires[this.heap[0]!]!;
    if (!this.timer.armed || this.timer.due !== due) this.timers.arm(this.timer, due);
  }
}
