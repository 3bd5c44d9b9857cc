/**
 * The established-connection table: chained hash buckets keyed by the 4-tuple, hashed
 * with a per-stack secret (Linux's ehash: jhash of the addresses and ports). A plain
 * array of buckets and an intrusive `hashNext` link: no Map entry, no key object, no
 * allocation per connection. The table doubles when it holds more connections than
 * buckets, so chains stay about one long, and halves when it is mostly empty.
 */

import { jhash3 } from '../../util/jhash.js';

/** What the table needs of a connection. */
export interface TableEntry<T> {
  readonly localAddress: number;
  readonly localPort: number;
  readonly remoteAddress: number;
  readonly remotePort: number;
  hashNext: T | null;
}

const INITIAL_BUCKETS = 256;

export class ConnectionTable<T extends TableEntry<T>> {
  private buckets: (T | null)[] = new Array<T | null>(INITIAL_BUCKETS).fill(null);
  private mask = INITIAL_BUCKETS - 1;
  /** Entries held. */
  size = 0;

  constructor(private readonly secret: number) {}

  private hash(local: number, localPort: number, remote: number, remotePort: number): number {
    return jhash3(local, remote, (localPort << 16) | remotePort, this.secret);
  }

  find(local: number, localPort: number, remote: number, remotePort: number): T | null {
    let c: T | null = this.buckets[this.hash(local, localPort, remote, remotePort) & this.mask]!;
    while (c !== null && !(c.remotePort === remotePort && c.localPort === localPort && c.remoteAddress === remote && c.localAddress === local)) c = c.hashNext;
    return c;
  }

  insert(c: T): void {
    if (this.size >= this.buckets.length) this.resize(this.buckets.length * 2);
    const i = this.hash(c.localAddress, c.localPort, c.remoteAddress, c.remotePort) & this.mask;
    c.hashNext = this.buckets[i]!;
    this.buckets[i] = c;
    this.size++;
  }

  /** Takes `c` out; false when it was not in the table. */
  remove(c: T): boolean {
    const i = this.hash(c.localAddress, c.localPort, c.remoteAddress, c.remotePort) & this.mask;
    let prev: T | null = null;
    for (let e: T | null = this.buckets[i]!; e !== null; prev = e, e = e.hashNext) {
      if (e !== c) continue;
      if (prev === null) this.buckets[i] = c.hashNext;
      else prev.hashNext = c.hashNext;
      c.hashNext = null;
      this.size--;
      if (this.size * 8 < this.buckets.length && this.buckets.length > INITIAL_BUCKETS) this.resize(this.buckets.length >>> 1);
      return true;
    }
    return false;
  }

  /** Every entry (a snapshot: the caller may remove while walking it). */
  all(): T[] {
    const out: T[] = [];
    for (const head of this.buckets) for (let c = head; c !== null; c = c.hashNext) out.push(c);
    return out;
  }

  /** Rehashes into `n` buckets (doubling when full; halving when 1/8 full, so a past peak does not pin memory). */
  private resize(n: number): void {
    const old = this.buckets;
    this.buckets = new Array<T | null>(n).fill(null);
    this.mask = this.buckets.length - 1;
    for (let head of old) {
      while (head !== null) {
        const next: T | null = head.hashNext;
        const i = this.hash(head.localAddress, head.localPort, head.remoteAddress, head.remotePort) & this.mask;
        head.hashNext = this.buckets[i]!;
        this.buckets[i] = head;
        head = next;
      }
    }
  }
}
