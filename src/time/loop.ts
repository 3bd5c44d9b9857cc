/**
 * Drives pollables (queues, stacks) and timers. Nothing polls at a fixed tick: after a
 * pass with no work the loop sleeps until the earliest of the next timer and the next
 * event a pollable announces (`nextEventAt`), or until `wake()` (outside input).
 *
 * With a `VirtualClock`, `runUntil` jumps time straight to that moment, so a simulated
 * minute of TCP takes as long as its packets take to process, and every run with the
 * same seeds is the same run.
 */

import type { Pollable } from './pollable.js';
import { VirtualClock, type Clock } from './clock.js';
import { TimerSet } from './timers.js';

export interface RunOptions {
  /** Stop when virtual time would pass this (ms). */
  until?: number;
  /** Stop as soon as this returns true (checked after every pass). */
  done?: () => boolean;
  /** Stop after this many passes (a guard against livelock in tests). */
  maxPasses?: number;
}

export class EventLoop {
  readonly timers: TimerSet;
  private readonly pollables: Pollable[] = [];
  private running = false;
  private sleeping: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** wake() was called since the last pass began: there may be work no pollable announces. */
  private woken = false;

  constructor(
    readonly clock: Clock,
    timers?: TimerSet,
  ) {
    this.timers = timers ?? new TimerSet();
  }

  add(p: Pollable): void {
    this.pollables.push(p);
  }

  remove(p: Pollable): void {
    const i = this.pollables.indexOf(p);
    if (i >= 0) this.pollables.splice(i, 1);
  }

  /** One pass at the current time: due timers, then every pollable. Returns the work done. */
  runOnce(): number {
    this.woken = false;
    const now = this.clock.now();
    let work = this.timers.runDue(now);
    for (let i = 0; i < this.pollables.length; i++) work += this.pollables[i]!.poll(now);
    return work;
  }

  /** The earliest time anything has work, or Infinity. */
  nextEventAt(): number {
    let t = this.timers.nextDue();
    for (let i = 0; i < this.pollables.length; i++) t = Math.min(t, this.pollables[i]!.nextEventAt());
    return t;
  }

  /**
   * Virtual time: runs passes while there is work, jumping the clock to the next event
   * when idle. Returns when `done()` holds, time would pass `until`, or nothing is left
   * to happen. Returns the number of passes.
   */
  runUntil(options: RunOptions = {}): number {
    const clock = this.clock;
    if (!(clock instanceof VirtualClock)) throw new Error('runUntil needs a VirtualClock; use start() with a real clock');
    const until = options.until ?? Infinity;
    const maxPasses = options.maxPasses ?? Infinity;
    let passes = 0;
    for (;;) {
      if (options.done?.()) return passes;
      if (passes >= maxPasses) return passes;
      passes++;
      if (this.runOnce() > 0) continue;
      if (options.done?.()) return passes;
      // Something was handed work (e.g. by the caller's done()): one more pass at this time.
      if (this.woken) continue;
      const next = this.nextEventAt();
      if (next === Infinity || next > until) {
        if (until !== Infinity && until > clock.now()) clock.advanceTo(until);
        return passes;
      }
      if (next > clock.now()) clock.advanceTo(next);
    }
  }

  /** Real time: runs in the background of Node's event loop until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.wake();
  }

  stop(): void {
    this.running = false;
    if (this.sleeping) clearTimeout(this.sleeping);
    if (this.immediate) clearImmediate(this.immediate);
    this.sleeping = null;
    this.immediate = null;
  }

  /** Outside input arrived (a readable fd, an application call): run a pass soon. */
  wake(): void {
    this.woken = true;
    if (!this.running || this.immediate) return;
    if (this.sleeping) {
      clearTimeout(this.sleeping);
      this.sleeping = null;
    }
    this.immediate = setImmediate(this.tick);
  }

  private readonly tick = (): void => {
    this.immediate = null;
    if (!this.running) return;
    const busy = this.runOnce() > 0;
    // A wake() during the pass may have scheduled the next one already.
    if (this.immediate !== null || !this.running) return;
    if (busy) {
      this.immediate = setImmediate(this.tick);
      return;
    }
    const next = this.nextEventAt();
    if (next === Infinity) return;
    if (this.sleeping) clearTimeout(this.sleeping);
    // setTimeout takes at most 2^31 - 1 ms; a later event is reached in steps.
    const delay = Math.min(MAX_TIMEOUT, Math.max(0, next - this.clock.now()));
    this.sleeping = setTimeout(() => {
      this.sleeping = null;
      this.wake();
    }, delay);
  };
}

const MAX_TIMEOUT = 0x7fff_ffff;
