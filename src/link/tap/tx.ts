/**
 * The transmit side of a TAP queue: a burst of packets becomes one native call, each
 * frame described in the transmit control array by its virtio header and its fragments
 * (index of the buffer in a list handed along, offset, length), so the addon does one
 * writev() per frame without copying. Frames the kernel did not take (EAGAIN) stay,
 * in order, for the next call: that is the back pressure the queue passes on.
 */

import { Packet } from '../../packet/packet.js';
import type { QueueStats } from '../device.js';
import { TX_FLAGS, TX_FRAG_WORDS, TX_FRAGS, TX_FRAME_WORDS, TX_MAX_FRAGS, TX_RESULT } from './layout.js';
import { writeTxHeader } from './vnet-header.js';

/** Fragments one transmit call can describe (the control array is sized for them). */
export const TX_CTRL_FRAGS = 4096;

/** What a TAP queue's transmit side counts beyond QueueStats. */
export interface TapTxCounters {
  /** GSO frames (TSO super-frames) handed to the kernel to segment. */
  txGsoFrames: number;
  /** Frames with too many fragments for one writev, copied into one buffer first. */
  txLinearized: number;
  /** Frames the kernel refused (the last errno in txErrno) or that asked for GSO it cannot do. */
  txRefused: number;
  txMalformed: number;
  txErrno: number;
}

export function newTapTxCounters(): TapTxCounters {
  return { txGsoFrames: 0, txLinearized: 0, txRefused: 0, txMalformed: 0, txErrno: 0 };
}

/** Writes frames described in `ctrl` from `bufs[0, nbufs)`; returns how many are done (the native transmit). */
export type TransmitFn = (frames: number, bufs: (Uint8Array | null)[], nbufs: number) => number;

export class TapTransmitter {
  readonly ctrl: Int32Array;
  /** The frames of the burst being sent: [0, count) in order, those left by EAGAIN first. */
  private readonly frames: (Packet | null)[];
  private count = 0;
  private readonly starts: Int32Array;
  /** The buffers the fragments of the described frames lie in: [0, nbufs) (the array keeps its length; see removeAt). */
  private readonly bufs: (Uint8Array | null)[] = [];
  private nbufs = 0;
  /** The last send stopped short: the kernel said EAGAIN (wait for the fd to be writable). */
  stalled = false;

  constructor(
    readonly burst: number,
    private readonly stats: QueueStats,
    readonly counters: TapTxCounters,
  ) {
    this.ctrl = new Int32Array(burst * TX_FRAME_WORDS + TX_CTRL_FRAGS * TX_FRAG_WORDS);
    this.starts = new Int32Array(burst);
    this.frames = new Array<Packet | null>(burst).fill(null);
  }

  /** Frames waiting to go (left by EAGAIN, or added since). */
  get pending(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.burst;
  }

  /** Takes a packet (the queue owns it from now on). */
  push(p: Packet): void {
    if (this.count >= this.burst) throw new Error('TAP transmit burst is full');
    this.frames[this.count++] = p;
  }

  /**
   * Sends what is pending, as far as the control array reaches, in one call; returns the
   * frames done (sent or refused). Fewer than pending: the kernel said EAGAIN, or the
   * control array was full (the rest goes in the next call).
   */
  send(transmit: TransmitFn): number {
    const described = this.describe();
    this.stalled = false;
    if (described === 0) return 0;
    const done = transmit(described, this.bufs, this.nbufs);
    this.stalled = done < described;
    const ctrl = this.ctrl;
    const s = this.stats;
    const c = this.counters;
    for (let i = 0; i < done; i++) {
      const p = this.frames[i]!;
      const err = ctrl[this.starts[i]! + TX_RESULT]!;
      if (err === 0) {
        s.txFrames++;
        s.txBytes += p.length;
        if (p.gsoSize > 0) c.txGsoFrames++;
      } else {
        s.txDrops++;
        c.txRefused++;
        c.txErrno = err;
      }
      p.release();
    }
    this.shiftOut(done);
    this.forgetBufs();
    return done;
  }

  /** Releases what is pending (the queue is closing). */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.frames[i]!.release();
    this.shiftOut(this.count);
  }

  /**
   * Describes pending frames in the control array, from the first, while they fit;
   * returns how many. A malformed frame (GSO the kernel cannot do from it) is dropped
   * here and counted.
   */
  private describe(): number {
    const ctrl = this.ctrl;
    this.forgetBufs();
    let at = 0;
    let i = 0;
    while (i < this.count) {
      let p = this.frames[i]!;
      let nf = p.fragmentCount;
      if (nf > TX_MAX_FRAGS) {
        p = linearize(p);
        this.frames[i] = p;
        nf = p.fragmentCount;
        this.counters.txLinearized++;
      }
      if (at + TX_FRAME_WORDS + nf * TX_FRAG_WORDS > ctrl.length) break;
      if (!writeTxHeader(p, ctrl, at + TX_FLAGS)) {
        this.counters.txMalformed++;
        this.stats.txDrops++;
        p.release();
        this.removeAt(i);
        continue;
      }
      this.starts[i] = at;
      ctrl[at + TX_FRAGS] = nf;
      ctrl[at + TX_RESULT] = 0;
      let f = at + TX_FRAME_WORDS;
      for (let k = 0; k < nf; k++, f += TX_FRAG_WORDS) {
        ctrl[f] = this.bufferIndex(p.bufs[k]!);
        ctrl[f + 1] = p.offs[k]!;
        ctrl[f + 2] = p.lens[k]!;
      }
      at = f;
      i++;
    }
    return i;
  }

  /**
   * The index of `b` in `bufs`, added when new. Most fragments of a burst lie in a few
   * buffers (the stack's frame pool, send buffer blocks): the last few are looked at,
   * and a buffer listed twice costs the addon only a second lookup.
   */
  private bufferIndex(b: Uint8Array): number {
    const bufs = this.bufs;
    const n = this.nbufs;
    for (let i = n - 1; i >= 0 && i >= n - 8; i--) if (bufs[i] === b) return i;
    for (let i = 0; i < n && i < 4; i++) if (bufs[i] === b) return i;
    if (n < bufs.length) bufs[n] = b;
    else bufs.push(b);
    this.nbufs = n + 1;
    return n;
  }

  /** Lets go of the buffers listed (they may be send-buffer blocks the stack frees). */
  private forgetBufs(): void {
    for (let i = 0; i < this.nbufs; i++) this.bufs[i] = null;
    this.nbufs = 0;
  }

  // The frames array keeps its length (setting an array's length is a runtime call in V8):
  // slots past `count` are cleared to null so that released packets are not held.
  private removeAt(i: number): void {
    const fr = this.frames;
    for (let j = i + 1; j < this.count; j++) fr[j - 1] = fr[j]!;
    fr[--this.count] = null;
  }

  private shiftOut(n: number): void {
    if (n === 0) return;
    const fr = this.frames;
    const count = this.count;
    let j = 0;
    for (let i = n; i < count; i++) fr[j++] = fr[i]!;
    for (; j < count; j++) fr[j] = null;
    this.count -= n;
  }
}

/** A packet of too many fragments for one writev, copied into one buffer (offloads kept). */
function linearize(p: Packet): Packet {
  const bytes = p.toBytes();
  const q = Packet.wrap(bytes);
  q.copyOffloadFrom(p);
  p.release();
  return q;
}
