/**
 * A bounded FIFO of packets in a fixed array, as a NIC's descriptor ring: push fails
 * when full (the caller counts the drop), shift takes the oldest. No allocation after
 * construction.
 */

import type { Packet } from './packet.js';

export class PacketRing {
  private readonly slots: (Packet | null)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a ring holds at least 1 packet, got ${capacity}`);
    this.slots = new Array<Packet | null>(capacity).fill(null);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Adds at the tail; false when the ring is full (the packet stays the caller's). */
  push(p: Packet): boolean {
    if (this.count === this.capacity) return false;
    let i = this.head + this.count;
    if (i >= this.capacity) i -= this.capacity;
    this.slots[i] = p;
    this.count++;
    return true;
  }

  /** Takes the oldest packet, or null when empty. */
  shift(): Packet | null {
    if (this.count === 0) return null;
    const p = this.slots[this.head]!;
    this.slots[this.head] = null;
    if (++this.head === this.capacity) this.head = 0;
    this.count--;
    return p;
  }

  /** Releases everything still queued; returns how many. */
  clear(): number {
    let n = 0;
    for (let p = this.shift(); p !== null; p = this.shift()) {
      p.release();
      n++;
    }
    return n;
  }
}
