/**
 * One direction of a medium towards one device: the faults of that direction and the
 * frames in flight. A frame in flight is a descriptor (the sender's frame, which
 * segment, where to corrupt, when it lands); the bytes are copied only when it lands,
 * into the receiver's pool.
 *
 * A direction without faults or delay hands frames over at once, in the sender's
 * poll. Otherwise frames wait in a FIFO ordered by landing time, and the channel is a
 * Pollable that delivers them when the loop's time reaches it.
 *
 * The order of faults per frame: MTU clamp, loss, duplication (the copy goes through
 * the rest on its own), in-flight limit, rate (serialization and tail drop),
 * corruption, delay and jitter (never reordering), reorder (hold back k positions).
 */

import type { Pollable } from '../device.js';
import { Random } from '../../util/random.js';
import type { MemoryDevice } from './device.js';
import { hasPerFrameFaults, newFaultCounters, normalizeFaults, type FaultConfig, type FaultCounters, type Faults } from './faults.js';
import { Fifo } from '../../util/fifo.js';
import type { Frame } from './frame.js';

class Flight {
  f: Frame | null = null;
  seg = -1;
  corruptAt = -1;
  mask = 0;
  /** When it lands. */
  at = 0;
  /** Reorder: frames still to let pass, and when to give up waiting for them. */
  left = 0;
  until = 0;
  passed = false;
}

export class Channel implements Pollable {
  readonly counters: FaultCounters = newFaultCounters();
  faults: Faults;
  /** Some fault acts on single frames: super-frames are segmented first, offloads do not pass through. */
  perFrame: boolean;
  private ideal: boolean;
  private readonly rng: Random;
  private readonly fifo = new Fifo<Flight>();
  private readonly held: Flight[] = [];
  private readonly spare: Flight[] = [];
  private lastAt = -Infinity;
  /** Rate limiter: when the line is free, and the frames still queued or serializing. */
  private busyUntil = -Infinity;
  private readonly queuedUntil = new Fifo<number>();
  private readonly queuedLen = new Fifo<number>();
  private queuedBytes = 0;

  constructor(
    readonly to: MemoryDevice,
    faults: FaultConfig = {},
    seed = 0,
  ) {
    this.faults = normalizeFaults(faults);
    this.perFrame = hasPerFrameFaults(this.faults);
    this.ideal = !this.perFrame && this.faults.delay === 0 && this.faults.jitter === 0;
    this.rng = new Random(seed);
  }

  /** Changes the faults from now on (frames already in flight keep their fate). */
  setFaults(faults: FaultConfig): void {
    this.faults = normalizeFaults(faults);
    this.perFrame = hasPerFrameFaults(this.faults);
    this.ideal = !this.perFrame && this.faults.delay === 0 && this.faults.jitter === 0;
  }

  /** Frames in flight (queued, delayed or held back). */
  get inFlight(): number {
    return this.fifo.size + this.held.length;
  }

  /** What `f` costs the receiver, in frames: its segments when it cannot arrive whole. */
  cost(f: Frame): number {
    return f.superFrame && (this.perFrame || !this.to.takesSuperFrames) ? f.segments : 1;
  }

  /** Takes one reference of `f`; returns its cost in frames. */
  send(f: Frame, now: number): number {
    const cost = this.cost(f);
    if (this.ideal) {
      this.counters.frames++;
      this.counters.delivered++;
      this.to.receive(f, -1, -1, 0, true);
    } else if (f.superFrame && this.perFrame) {
      // Faults act on wire frames: cut the super-frame first (TSO at the sender).
      f.tx.tsoFrames++;
      f.tx.tsoSegments += f.segments;
      for (let i = 0; i < f.segments; i++) this.admit(f, i, now);
    } else {
      this.admit(f, -1, now);
    }
    f.release();
    return cost;
  }

  /**
   * Delivers the frames due by `now`, at most what the receiver's queues take in one
   * poll (its `intake`); the rest land in the next pass, at the same time. So frames
   * that land together are spread over receive polls rather than overflowing a ring
   * at once (a fast wire, not an infinitely fast one).
   */
  poll(now: number): number {
    if (this.held.length > 0) this.expireHeld(now);
    let work = 0;
    let budget = this.to.intake;
    const fifo = this.fifo;
    for (let e = fifo.peek(); e !== undefined && e.at <= now && budget > 0; e = fifo.peek()) {
      fifo.shift();
      const f = e.f!;
      budget -= e.seg < 0 ? this.cost(f) : 1;
      this.counters.delivered++;
      this.to.receive(f, e.seg, e.corruptAt, e.mask, !this.perFrame);
      f.release();
      e.f = null;
      this.spare.push(e);
      work++;
    }
    return work;
  }

  nextEventAt(): number {
    let t = this.fifo.peek()?.at ?? Infinity;
    for (let i = 0; i < this.held.length; i++) t = Math.min(t, this.held[i]!.until);
    return t;
  }

  /** Drops everything in flight (the medium is being taken apart). */
  close(): void {
    for (let e = this.fifo.shift(); e !== undefined; e = this.fifo.shift()) e.f!.release();
    for (const e of this.held) e.f!.release();
    this.held.length = 0;
  }

  private admit(f: Frame, seg: number, now: number): void {
    const c = this.counters;
    const x = this.faults;
    c.frames++;
    const len = seg < 0 ? f.length : f.segmentLength(seg);
    if (x.mtuClamp > 0 && len - f.ethLen > x.mtuClamp) {
      c.mtuDrops++;
      return;
    }
    if (this.rng.chance(x.loss)) {
      c.dropped++;
      return;
    }
    const dup = this.rng.chance(x.duplicate);
    this.enqueue(f, seg, len, now);
    if (dup) {
      c.duplicated++;
      this.enqueue(f, seg, len, now);
    }
  }

  private enqueue(f: Frame, seg: number, len: number, now: number): void {
    const c = this.counters;
    const x = this.faults;
    const rng = this.rng;
    if (this.fifo.size + this.held.length >= x.limit) {
      c.limitDrops++;
      return;
    }
    let at = now;
    if (x.rate > 0) {
      // A bottleneck queue: frames leave one after another at the line rate.
      while (this.queuedUntil.size > 0 && this.queuedUntil.peek()! <= now) {
        this.queuedUntil.shift();
        this.queuedBytes -= this.queuedLen.shift()!;
      }
      if ((x.queueFrames > 0 && this.queuedUntil.size >= x.queueFrames) || (x.queueBytes > 0 && this.queuedBytes + len > x.queueBytes)) {
        c.rateDrops++;
        return;
      }
      at = Math.max(now, this.busyUntil) + (len * 8000) / x.rate;
      this.busyUntil = at;
      this.queuedUntil.push(at);
      this.queuedLen.push(len);
      this.queuedBytes += len;
    }
    let corruptAt = -1;
    let mask = 0;
    if (rng.chance(x.corrupt)) {
      corruptAt = rng.int(len);
      mask = 1 + rng.int(255);
      c.corrupted++;
    }
    if (x.delay > 0 || x.jitter > 0) {
      at += x.delay + (x.jitter > 0 ? rng.next() * x.jitter : 0);
      c.delayed++;
    }
    // FIFO: a frame never lands before one sent earlier (jitter does not reorder).
    if (at < this.lastAt) at = this.lastAt;
    this.lastAt = at;

    const e = this.spare.pop() ?? new Flight();
    e.f = f;
    e.seg = seg;
    e.corruptAt = corruptAt;
    e.mask = mask;
    e.at = at;
    f.refs++;
    if (rng.chance(x.reorder)) {
      e.left = x.reorderDistance;
      e.until = at + x.reorderTimeout;
      e.passed = false;
      this.held.push(e);
      return;
    }
    this.fifo.push(e);
    // This frame overtakes the held ones; those it was the k-th for land right after it.
    const held = this.held;
    for (let i = 0; i < held.length; ) {
      const h = held[i]!;
      h.passed = true;
      if (--h.left === 0) {
        held.splice(i, 1);
        h.at = at;
        this.fifo.push(h);
        c.reordered++;
      } else {
        i++;
      }
    }
  }

  /** Held frames that fewer than k frames overtook in time go now, behind what was sent before. */
  private expireHeld(now: number): void {
    const held = this.held;
    for (let i = 0; i < held.length; ) {
      const h = held[i]!;
      if (h.until <= now) {
        held.splice(i, 1);
        if (h.at < this.lastAt) h.at = this.lastAt;
        this.lastAt = h.at;
        this.fifo.push(h);
        if (h.passed) this.counters.reordered++;
      } else {
        i++;
      }
    }
  }
}
