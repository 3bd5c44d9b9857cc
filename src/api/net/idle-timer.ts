/**
 * A socket's idle timeout (`socket.setTimeout`) on the stack's timers and clock, not
 * Node's: it runs in the same time as the connection (a virtual clock in simulations).
 * Activity only records the time; the timer, when it fires early, moves itself to the
 * new deadline, so a busy socket does not re-arm a timer per chunk. As Node's, it
 * fires once and is re-armed by the next activity (Node refresh()es its Timeout).
 */
import type { StackEnv } from '../../stack/env.js';
import type { Timer } from '../../time/timers.js';

export class IdleTimer {
  private readonly timer: Timer;
  private ms = 0;
  private lastActive = 0;

  constructor(
    private readonly env: StackEnv,
    private readonly onIdle: () => void,
  ) {
    this.timer = env.timers.create((now) => this.fire(now));
  }

  /** The idle time in ms, 0 for none. */
  get timeout(): number {
    return this.ms;
  }

  /** Starts over with `ms` (0 stops it). */
  set(ms: number): void {
    this.env.timers.cancel(this.timer);
    this.ms = ms;
    if (ms > 0) {
      this.lastActive = this.env.clock.now();
      this.arm(this.lastActive + ms);
    }
  }

  /** Something happened on the socket: the idle time starts again. */
  touch(): void {
    if (this.ms === 0) return;
    this.lastActive = this.env.clock.now();
    if (!this.timer.armed) this.arm(this.lastActive + this.ms);
  }

  stop(): void {
    this.ms = 0;
    this.env.timers.cancel(this.timer);
  }

  private arm(due: number): void {
    this.env.timers.arm(this.timer, due);
    // The loop may be asleep until a later timer: let it see this one.
    this.env.wake();
  }

  private fire(now: number): void {
    if (this.ms === 0) return;
    const due = this.lastActive + this.ms;
    if (now < due) {
      this.env.timers.arm(this.timer, due);
      return;
    }
    try {
      this.onIdle();
    } catch (e) {
      // A throwing 'timeout' listener must not cut the loop's timer pass short for every
      // host on it: report it as Node does an emitter's.
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}
