/**
 * A UDP socket's receive queue, bounded in bytes as Linux bounds it by SO_RCVBUF: each
 * datagram is charged its payload plus a fixed overhead (Linux charges the buffer's
 * truesize), so a flood of empty datagrams is bounded too. A datagram is taken while
 * the queue is empty, or when it fits under the limit; otherwise it is dropped and
 * counted. (Linux takes one while the bytes held are at most the limit, so it may go
 * one datagram over; here the queue holds at most its limit, except that one datagram
 * larger than the limit is taken into an empty queue, or it could never be received.)
 */

import type { Ipv4Address } from '../wire/addr.js';

/** A received datagram: its payload (a copy the application keeps) and where it came from. */
export interface Datagram {
  data: Uint8Array;
  address: Ipv4Address;
  port: number;
}

/** What a queued datagram costs besides its payload (its object and view; Linux: sk_buff truesize). */
export const DATAGRAM_OVERHEAD = 64;

export class DatagramQueue {
  private items: (Datagram | undefined)[] = [];
  private head = 0;
  private bytesHeld = 0;
  /** Datagrams refused because the queue was full. */
  drops = 0;

  constructor(public limit: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Bytes charged for what is queued (payload plus overhead per datagram). */
  get bytes(): number {
    return this.bytesHeld;
  }

  /** Queues `d`; false (and counted) when it does not fit. */
  push(d: Datagram): boolean {
    const charge = d.data.length + DATAGRAM_OVERHEAD;
    if (this.length > 0 && this.bytesHeld + charge > this.limit) {
      this.drops++;
      return false;
    }
    this.items.push(d);
    this.bytesHeld += charge;
    return true;
  }

  shift(): Datagram | null {
    if (this.head === this.items.length) return null;
    const d = this.items[this.head]!;
    this.items[this.head++] = undefined;
    this.bytesHeld -= d.data.length + DATAGRAM_OVERHEAD;
    // Taken slots are dropped once they are half the list, so the list stays at most twice what is held.
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return d;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytesHeld = 0;
  }
}
