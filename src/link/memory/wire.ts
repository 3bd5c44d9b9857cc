/**
 * A point-to-point cable between two memory devices, each direction with its own
 * faults and its own seeded random stream (derived from `seed`), so the faults one
 * direction sees do not depend on the traffic of the other.
 */

import type { Pollable } from '../device.js';
import { Channel } from './channel.js';
import type { MemoryDevice } from './device.js';
import type { FaultConfig, FaultCounters } from './faults.js';

export interface MemoryWireOptions {
  /** Faults of frames from a to b, and from b to a. */
  aToB?: FaultConfig;
  bToA?: FaultConfig;
  /** Seed of the fault decisions (default 1). */
  seed?: number;
}

/** Seed of stream `k` derived from a user's seed. */
export function deriveSeed(seed: number, k: number): number {
  return (seed ^ Math.imul(k, 0x9e3779b9)) >>> 0;
}

export class MemoryWire implements Pollable {
  readonly aToB: Channel;
  readonly bToA: Channel;

  constructor(
    readonly a: MemoryDevice,
    readonly b: MemoryDevice,
    options: MemoryWireOptions = {},
  ) {
    if (a === b) throw new Error('a wire needs two different devices');
    const seed = options.seed ?? 1;
    this.aToB = new Channel(b, options.aToB, deriveSeed(seed, 1));
    this.bToA = new Channel(a, options.bToA, deriveSeed(seed, 2));
    a.connect(this.aToB);
    try {
      b.connect(this.bToA);
    } catch (e) {
      a.disconnect();
      throw e;
    }
  }

  /** The fault counters of each direction. */
  get counters(): { aToB: FaultCounters; bToA: FaultCounters } {
    return { aToB: this.aToB.counters, bToA: this.bToA.counters };
  }

  poll(now: number): number {
    return this.aToB.poll(now) + this.bToA.poll(now);
  }

  nextEventAt(): number {
    return Math.min(this.aToB.nextEventAt(), this.bToA.nextEventAt());
  }

  /** What an event loop polls for this wire: both devices' queues and the wire itself. */
  pollables(): Pollable[] {
    return [...this.a.queues, ...this.b.queues, this];
  }

  /** Unplugs both ends; frames in flight are dropped. */
  disconnect(): void {
    this.a.disconnect();
    this.b.disconnect();
    this.aToB.close();
    this.bToA.close();
  }
}
