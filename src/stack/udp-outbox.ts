/**
 * The datagrams UDP has built and IPv4 has not pulled yet, for every socket of the
 * stack: a fixed ring in parallel arrays (no allocation after construction), each
 * entry with where it goes, its TTL, and the socket it is charged to (its send buffer,
 * Linux sk_wmem_alloc, is credited when the datagram leaves for IP).
 */

import type { Packet } from '../packet/packet.js';
import type { Ipv4Address } from '../wire/addr.js';
import type { L4Out } from './l4.js';

/** What the outbox needs of a sending socket: its send-buffer charge. */
export interface SendCharge {
  sendQueuedBytes: number;
  sendQueuedCount: number;
}

export class UdpOutbox {
  private readonly packets: (Packet | null)[];
  private readonly owners: (SendCharge | null)[];
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly ttl: Uint8Array;
  private readonly bytes: Uint32Array;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a UDP send queue holds at least 1 datagram, got ${capacity}`);
    this.packets = new Array<Packet | null>(capacity).fill(null);
    this.owners = new Array<SendCharge | null>(capacity).fill(null);
    this.src = new Uint32Array(capacity);
    this.dst = new Uint32Array(capacity);
    this.ttl = new Uint8Array(capacity);
    this.bytes = new Uint32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Queues a datagram of `bytes` payload and charges its owner; false when the ring is full (nothing charged). */
  push(packet: Packet, src: Ipv4Address, dst: Ipv4Address, ttl: number, owner: SendCharge, bytes: number): boolean {
    if (this.count === this.capacity) return false;
    let i = this.head + this.count;
    if (i >= this.capacity) i -= this.capacity;
    this.packets[i] = packet;
    this.owners[i] = owner;
    this.src[i] = src;
    this.dst[i] = dst;
    this.ttl[i] = ttl;
    this.bytes[i] = bytes;
    this.count++;
    owner.sendQueuedBytes += bytes;
    owner.sendQueuedCount++;
    return true;
  }

  /** The oldest datagram, its owner credited and its addresses and TTL written into `out`; null when empty. */
  shift(out: L4Out): Packet | null {
    if (this.count === 0) return null;
    const i = this.head;
    const p = this.packets[i]!;
    const owner = this.owners[i]!;
    this.packets[i] = null;
    this.owners[i] = null;
    if (++this.head === this.capacity) this.head = 0;
    this.count--;
    owner.sendQueuedBytes -= this.bytes[i]!;
    owner.sendQueuedCount--;
    out.src = this.src[i]!;
    out.dst = this.dst[i]!;
    out.ttl = this.ttl[i]!;
    return p;
  }

  /** Releases everything queued (the stack is closing). */
  clear(): void {
    const out: L4Out = { src: 0, dst: 0, df: false, tos: 0, ttl: 0 };
    for (let p = this.shift(out); p !== null; p = this.shift(out)) p.release();
  }
}
