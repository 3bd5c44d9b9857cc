/**
 * The datagrams UDP has built and IPv4 has not pulled yet, for every socket of the
 * stack: a fixed ring (no allocation after construction), each entry with where it
 * goes, its TTL, and the socket it is charged to (its send buffer, Linux sk_wmem_alloc,
 * is credited when the datagram leaves for IP).
 */

import type { Packet } from '../packet/packet.js';
import type { Ipv4Address } from '../wire/addr.js';

/** What the outbox needs of a sending socket: its send-buffer charge. */
export interface SendCharge {
  sendQueuedBytes: number;
  sendQueuedCount: number;
}

export interface OutboxEntry {
  packet: Packet;
  src: Ipv4Address;
  dst: Ipv4Address;
  /** 0 for the stack's default. */
  ttl: number;
  owner: SendCharge;
  bytes: number;
}

export class UdpOutbox {
  private readonly slots: (OutboxEntry | null)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a UDP send queue holds at least 1 datagram, got ${capacity}`);
    this.slots = new Array<OutboxEntry | null>(capacity).fill(null);
  }

  get size(): number {
    return this.count;
  }

  /** Queues a datagram and charges its owner; false when the ring is full (nothing charged). */
  push(packet: Packet, src: Ipv4Address, dst: Ipv4Address, ttl: number, owner: SendCharge, bytes: number): boolean {
    if (this.count === this.capacity) return false;
    let i = this.head + this.count;
    if (i >= this.capacity) i -= this.capacity;
    this.slots[i] = { packet, src, dst, ttl, owner, bytes };
    this.count++;
    owner.sendQueuedBytes += bytes;
    owner.sendQueuedCount++;
    return true;
  }

  /** The oldest entry, its owner credited; null when empty. */
  shift(): OutboxEntry | null {
    if (this.count === 0) return null;
    const e = this.slots[this.head]!;
    this.slots[this.head] = null;
    if (++this.head === this.capacity) this.head = 0;
    this.count--;
    e.owner.sendQueuedBytes -= e.bytes;
    e.owner.sendQueuedCount--;
    return e;
  }

  /** Releases everything queued (the stack is closing). */
  clear(): void {
    for (let e = this.shift(); e !== null; e = this.shift()) e.packet.release();
  }
}
