/**
 * What one stack's received data costs, and when it must stop keeping frames (DESIGN.md,
 * Memory). Sockets charge what they hold by its truesize (a held frame costs its whole
 * slot); the stack adds it up against `limit`, as Linux's tcp_mem bounds all sockets
 * together. Pressure (Linux's tcp_memory_pressure) is on while a pool the device
 * receives into is down to the reserve its ring needs, or three quarters of the limit
 * are charged: then what is received is copied out of its frame before it is kept, and
 * holdings that waste their frames are collapsed, so the ring always has frames to
 * refill and the stack never goes deaf.
 */
import type { FramePool } from '../packet/pool.js';

/** Default limit: 128 MiB of received data held by one stack's sockets. */
export const DEFAULT_RECEIVE_MEMORY = 128 << 20;

export class ReceiveMemory {
  /** Bytes charged now, by every socket of the stack. */
  charged = 0;
  private readonly pressureAt: number;

  constructor(
    /** The device queue's receive pools (each with its reserve). */
    private readonly pools: readonly FramePool[],
    readonly limit = DEFAULT_RECEIVE_MEMORY,
  ) {
    if (!(Number.isInteger(limit) && limit > 0)) throw new RangeError(`receiveMemory must be a positive number of bytes, got ${limit}`);
    this.pressureAt = limit - (limit >>> 2);
  }

  /** Frames should not be kept: a receive pool is at its reserve, or most of the limit is charged. */
  get pressure(): boolean {
    if (this.charged > this.pressureAt) return true;
    const pools = this.pools;
    for (let i = 0; i < pools.length; i++) if (pools[i]!.low) return true;
    return false;
  }

  /** Charging `n` more bytes would go over the limit. */
  wouldExceed(n: number): boolean {
    return this.charged + n > this.limit;
  }
}
