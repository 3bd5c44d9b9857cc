/**
 * Time for protocol code, which never reads the system clock itself (DESIGN.md):
 * `now()` is in milliseconds (fractional) since the clock's origin, and
 * `epochMs` is the wall-clock time of that origin (for pcap timestamps).
 */

import { performance } from 'node:perf_hooks';

export interface Clock {
  now(): number;
  readonly epochMs: number;
}

/** The process's monotonic clock. */
export class RealClock implements Clock {
  readonly epochMs = performance.timeOrigin;

  now(): number {
    return performance.now();
  }
}

/** Time that moves only when told to: deterministic tests and simulations. */
export class VirtualClock implements Clock {
  private t: number;

  /** `epochMs` defaults to 2026-01-01T00:00:00Z so captures are reproducible. */
  constructor(
    start = 0,
    readonly epochMs = Date.UTC(2026, 0, 1),
  ) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  advanceTo(t: number): void {
    if (!(t >= this.t)) throw new RangeError(`virtual time moves forward only: ${t} < ${this.t}`);
    this.t = t;
  }

  advanceBy(dt: number): void {
    this.advanceTo(this.t + dt);
  }
}
