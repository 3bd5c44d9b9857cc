/**
 * Drives pollables (queues, stacks) and timers. Nothing polls at a fixed tick: after a
 * pass the loop sleeps until the earliest of the next timer and the next event a
 * pollable announces (`nextEventAt`; a pollable with more work to do now says now), or
 * until `wake()` (outside input).
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
  /** When the sleep timer (if set) ends. */
  private sleepingUntil = Infinity;
  private immediate: NodeJS.Immediate | null = null;
  /** A tick is running passes. */
  private passing = false;
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
    // During a pass the tick itself looks at `woken` when the pass ends.
    if (!this.running || this.immediate !== null || this.passing) return;
    this.immediate = setImmediate(this.tick);
  }

  /**
   * Outside input arrived in a callback of its own (a TAP fd's uv_poll): run a pass in
   * it, now, rather than one step of Node's loop later (setImmediate): a request is
   * answered in the same callback that read it. Inside a pass, the same as wake().
   */
  runNow(): void {
    if (!this.running || this.passing) {
      this.wake();
      return;
    }
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    this.tick();
  }

  private readonly tick = (): void => {
    this.immediate = null;
    if (!this.running) return;
    this.passing = true;
    let finished = false;
    try {
      this.runOnce();
      finished = true;
    } finally {
      this.passing = false;
      // An exception out of a pass (an application's callback threw) goes to Node; the
      // loop goes on at the next step.
      if (!finished && this.running && this.immediate === null) this.immediate = setImmediate(this.tick);
    }
    if (!this.running) return;
    // Woken during the pass (an application answering what it delivered): another pass,
    // after Node has run the callbacks the pass queued (process.nextTick, promises), as
    // between two I/O callbacks. A pollable with more to do now says so in nextEventAt.
    const next = this.woken ? 0 : this.nextEventAt();
    if (next <= this.clock.now()) {
      this.immediate = setImmediate(this.tick);
      return;
    }
    if (next === Infinity) return;
    // A sleep already set to end no later stays: re-arming a Node timer per pass costs
    // more than the idle pass an early end costs (a TCP timer moved later, say).
    if (this.sleeping !== null && this.sleepingUntil <= next) return;
    if (this.sleeping !== null) clearTimeout(this.sleeping);
    // setTimeout takes at most 2^31 - 1 ms; a later event is reached in steps.
    const delay = Math.min(MAX_TIMEOUT, Math.max(0, next - this.clock.now()));
    this.sleepingUntil = next;
    this.sleeping = setTimeout(this.sleepEnded, delay);
  };

  private readonly sleepEnded = (): void => {
    this.sleeping = null;
    this.wake();
  };
}
const MAX_TIMEOUT = 0x7fff_ffff;
