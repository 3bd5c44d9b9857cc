/**
 * What every protocol of one shard's stack is given: time, timers, memory, the
 * device's features, routes, and a seeded random source. Protocol code reaches the
 * outside world only through this (DESIGN.md: sans-IO, time as an argument).
 */

import type { Clock } from '../time/clock.js';
import type { TimerSet } from '../time/timers.js';
import type { FramePool } from '../packet/pool.js';
import type { DeviceFeatures } from '../link/device.js';
import type { Ipv4Address } from '../wire/addr.js';
import type { Random } from '../util/random.js';
import type { ReceiveMemory } from './receive-memory.js';
import type { EphemeralPorts } from './ports.js';

export interface StackEnv {
  readonly clock: Clock;
  readonly timers: TimerSet;
  /** Frames for packets the stack builds (headers, small replies). */
  readonly pool: FramePool;
  readonly features: DeviceFeatures;
  /** What received data held by the stack costs, and whether frames may be kept (receive-memory.ts). */
  readonly rxMemory: ReceiveMemory;
  /** Seeded: keys (ISN, cookies, ports), IP IDs — the same seed, the same run. */
  readonly random: Random;
  /** The ephemeral port chooser TCP and UDP share (RFC 6056, ports.ts). */
  readonly ephemeralPorts: EphemeralPorts;
  /** Our address for talking to `dst`, or null when there is no route to it. */
  sourceFor(dst: Ipv4Address): Ipv4Address | null;
  /** True when `a` is one of our addresses. */
  isLocal(a: Ipv4Address): boolean;
  /** The path MTU towards `dst` (the link MTU, lowered by ICMP fragmentation-needed). */
  pathMtu(dst: Ipv4Address): number;
  /** Something became ready to send outside a receive burst: the event loop should run. */
  wake(): void;
}
