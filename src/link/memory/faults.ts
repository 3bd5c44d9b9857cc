/**
 * Fault injection for one direction of a medium, in the spirit of Linux netem (loss,
 * duplicate, corrupt, reorder, delay/jitter, rate with a bounded queue) plus an MTU
 * clamp (a hop with a smaller MTU that drops what does not fit). Every random choice
 * comes from a seeded `Random`, so a seed names an outcome.
 */

export interface FaultConfig {
  /** Probability a frame is lost. */
  loss?: number;
  /** Probability a frame is delivered twice (the copy right after it). */
  duplicate?: number;
  /** Probability a frame is held back by `reorderDistance` positions (delivered after the next k frames). */
  reorder?: number;
  /** k for `reorder` (default 3). */
  reorderDistance?: number;
  /** A held frame that fewer than k frames overtake is let go after this many ms (default 1). */
  reorderTimeout?: number;
  /** Probability one random byte of the frame is flipped (in the receiver's copy). */
  corrupt?: number;
  /** Fixed one-way delay (ms). */
  delay?: number;
  /** Uniform extra delay in [0, jitter) ms; frames stay in order (jitter never reorders). */
  jitter?: number;
  /** Line rate in bits/s (0: unlimited). A frame takes length × 8 / rate to serialize (Ethernet header included, no FCS or preamble). */
  rate?: number;
  /** Bound of the rate limiter's queue, in frames (default 1000, netem's limit) and/or bytes; beyond it, tail drop. */
  queueFrames?: number;
  queueBytes?: number;
  /** Frames whose IP packet (frame minus Ethernet header) is larger are dropped (0: no clamp). */
  mtuClamp?: number;
  /** Most frames in flight on this direction (default 100000); beyond it, dropped. */
  limit?: number;
}

export interface FaultCounters {
  /** Frames that entered (a super-frame cut into segments counts each segment). */
  frames: number;
  /** Frames handed to the receiving device (duplicates included). */
  delivered: number;
  /** Lost (the `loss` fault). */
  dropped: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  /** Frames that waited for `delay`/`jitter`. */
  delayed: number;
  /** Tail drops at the rate limiter's queue. */
  rateDrops: number;
  /** Dropped by the MTU clamp. */
  mtuDrops: number;
  /** Dropped because `limit` frames were in flight. */
  limitDrops: number;
}

export function newFaultCounters(): FaultCounters {
  return { frames: 0, delivered: 0, dropped: 0, duplicated: 0, reordered: 0, corrupted: 0, delayed: 0, rateDrops: 0, mtuDrops: 0, limitDrops: 0 };
}

/** A checked config with every field present. */
export type Faults = Required<FaultConfig>;

export function normalizeFaults(c: FaultConfig = {}): Faults {
  const f: Faults = {
    loss: c.loss ?? 0,
    duplicate: c.duplicate ?? 0,
    reorder: c.reorder ?? 0,
    reorderDistance: c.reorderDistance ?? 3,
    reorderTimeout: c.reorderTimeout ?? 1,
    corrupt: c.corrupt ?? 0,
    delay: c.delay ?? 0,
    jitter: c.jitter ?? 0,
    rate: c.rate ?? 0,
    queueFrames: c.queueFrames ?? (c.queueBytes !== undefined ? 0 : 1000),
    queueBytes: c.queueBytes ?? 0,
    mtuClamp: c.mtuClamp ?? 0,
    limit: c.limit ?? 100_000,
  };
  for (const k of ['loss', 'duplicate', 'reorder', 'corrupt'] as const) {
    if (!(f[k] >= 0 && f[k] <= 1)) throw new RangeError(`fault ${k} is a probability in [0, 1], got ${f[k]}`);
  }
  for (const k of ['delay', 'jitter', 'rate', 'queueFrames', 'queueBytes', 'mtuClamp', 'reorderTimeout'] as const) {
    if (!(f[k] >= 0 && Number.isFinite(f[k]))) throw new RangeError(`fault ${k} must be a finite number ≥ 0, got ${f[k]}`);
  }
  if (!(Number.isInteger(f.reorderDistance) && f.reorderDistance >= 1)) throw new RangeError(`reorderDistance must be an integer ≥ 1, got ${f.reorderDistance}`);
  if (!(Number.isInteger(f.limit) && f.limit >= 1)) throw new RangeError(`limit must be an integer ≥ 1, got ${f.limit}`);
  return f;
}

/** Faults that act on single frames: with any of them, super-frames are cut into wire frames first. */
export function hasPerFrameFaults(f: Faults): boolean {
  return f.loss > 0 || f.duplicate > 0 || f.reorder > 0 || f.corrupt > 0 || f.rate > 0 || f.mtuClamp > 0;
}
