/**
 * The item store: a hash map and one LRU list under a memory limit in bytes. An item costs
 * what it costs memcached 1.6 on a 64-bit host (see itemSize), so the item size limit
 * answers at the same value length as the real server. Expired items are dropped when
 * they are looked up, or reclaimed first when they reach the tail of the LRU; live items
 * at the tail are evicted (and counted) to make room. Values are Buffers that are never
 * changed once stored: a reply may still be sending one after the item is replaced.
 */

import { parseU64 } from './numbers.js';
import { isExpired } from './exptime.js';

/** memcached's item header on a 64-bit host (48 bytes) plus the 8-byte CAS. */
const ITEM_HEADER_BYTES = 56;
const U64_MAX = (1n << 64n) - 1n;

/**
 * Bytes an item takes, as memcached counts it (items.c item_make_header + ITEM_ntotal):
 * header and CAS, the key and its NUL, 4 bytes of flags when they are not 0, the value
 * and its "\r\n". With the 1 MB default, key "k" and flags 0 a value of 1,048,516 bytes fits
 * and one more does not, as with memcached 1.6.
 */
export function itemSize(keyLength: number, flags: number, valueLength: number): number {
  return ITEM_HEADER_BYTES + keyLength + 1 + (flags === 0 ? 0 : 4) + valueLength + 2;
}

export class Item {
  prev: Item | null = null;
  next: Item | null = null;
  /** Whether a get has returned it (for expired_unfetched / evicted_unfetched). */
  fetched = false;

  constructor(
    readonly key: string,
    public value: Buffer,
    readonly flags: number,
    public expiresAt: number,
    public cas: number,
    /** "VALUE <key> <flags> <bytes>\r\n" + value + "\r\n", when the value lies in such a reply (value-reply.ts); null once the value changes. */
    public reply: Buffer | null = null,
  ) {}

  get size(): number {
    return itemSize(this.key.length, this.flags, this.value.length);
  }
}

export type StoreMode = 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas';
/** The storage command's answer (protocol.txt, "Storage commands"). */
export type StoreOutcome = 'STORED' | 'NOT_STORED' | 'EXISTS' | 'NOT_FOUND';
export type DeltaOutcome = bigint | 'NOT_FOUND' | 'NON_NUMERIC';

export interface ItemStoreOptions {
  /** Bytes all items may take together (memcached -m; limit_maxbytes). */
  memoryLimit: number;
  /** Bytes one item may take (memcached -I). */
  maxItemSize: number;
  /** The current Unix time in milliseconds. */
  now: () => number;
  /** Shards sharing a server: this store hands out cas uniques index, index + count, … (unique over all). */
  casSpace?: { index: number; count: number };
}

export class ItemStore {
  readonly memoryLimit: number;
  readonly maxItemSize: number;
  /** Bytes the items take (the `bytes` stat). */
  bytes = 0;
  totalItems = 0;
  evictions = 0;
  reclaimed = 0;
  expiredUnfetched = 0;
  evictedUnfetched = 0;
  /** Whether the last lookup that missed found an expired item. */
  lastMissExpired = false;

  private readonly items = new Map<string, Item>();
  private readonly clock: () => number;
  /** Most and least recently used. */
  private head: Item | null = null;
  private tail: Item | null = null;
  private lastCas = 0;
  /** A delayed flush_all: the Unix ms at which every item stored before it goes (0: none). */
  private flushAt = 0;

  constructor(options: ItemStoreOptions) {
    if (options.maxItemSize > options.memoryLimit) throw new RangeError(`maxItemSize (${options.maxItemSize}) exceeds memoryLimit (${options.memoryLimit})`);
    this.memoryLimit = options.memoryLimit;
    this.maxItemSize = options.maxItemSize;
    this.clock = options.now;
    this.casIndex = options.casSpace?.index ?? 0;
    this.casStep = options.casSpace?.count ?? 1;
  }

  private readonly casIndex: number;
  private readonly casStep: number;

  get count(): number {
    return this.items.size;
  }

  /** The current Unix ms; carries out a delayed flush_all whose time has come. */
  now(): number {
    const t = this.clock();
    if (this.flushAt !== 0 && t >= this.flushAt) {
      this.flushAt = 0;
      this.clear();
    }
    return t;
  }

  /** Whether an item of this shape is over the item size limit (which is at most the memory limit). */
  tooLarge(keyLength: number, flags: number, valueLength: number): boolean {
    return itemSize(keyLength, flags, valueLength) > this.maxItemSize;
  }

  /** The live item under `key`, made most recently used; undefined when missing or expired. */
  get(key: string): Item | undefined {
    const item = this.find(key, this.now());
    if (item !== undefined) {
      item.fetched = true;
      this.toFront(item);
    }
    return item;
  }

  /** Carries out a storage command whose data block has arrived; `reply` is the get reply `value` lies in, if any. */
  store(mode: StoreMode, key: string, flags: number, expiresAt: number, value: Buffer, cas: bigint | null, reply: Buffer | null = null): StoreOutcome {
    const old = this.find(key, this.now());
    switch (mode) {
      case 'set':
        this.put(old, new Item(key, value, flags, expiresAt, this.nextCas(), reply));
        return 'STORED';
      case 'add':
        if (old !== undefined) {
          this.toFront(old); // memcached promotes the existing item
          return 'NOT_STORED';
        }
        this.put(undefined, new Item(key, value, flags, expiresAt, this.nextCas(), reply));
        return 'STORED';
      case 'replace':
        if (old === undefined) return 'NOT_STORED';
        this.put(old, new Item(key, value, flags, expiresAt, this.nextCas(), reply));
        return 'STORED';
      case 'append':
      case 'prepend': {
        // "ignore new flag and exptime settings" (protocol.txt): the old ones stay.
        if (old === undefined) return 'NOT_STORED';
        const joined = mode === 'append' ? Buffer.concat([old.value, value]) : Buffer.concat([value, old.value]);
        if (this.tooLarge(key.length, old.flags, joined.length)) return 'NOT_STORED';
        this.put(old, new Item(key, joined, old.flags, old.expiresAt, this.nextCas()));
        return 'STORED';
      }
      case 'cas':
        if (old === undefined) return 'NOT_FOUND';
        if (cas === null || Number(cas) !== old.cas) return 'EXISTS';
        this.put(old, new Item(key, value, flags, expiresAt, this.nextCas(), reply));
        return 'STORED';
    }
  }

  /** Removes the item; false when there was none. */
  delete(key: string): boolean {
    const item = this.find(key, this.now());
    if (item === undefined) return false;
    this.unlink(item);
    return true;
  }

  /** Gives the item a new expiry (touch, gat); undefined when there is none. */
  touch(key: string, expiresAt: number): Item | undefined {
    const item = this.get(key);
    if (item !== undefined) item.expiresAt = expiresAt;
    return item;
  }

  /**
   * incr/decr (protocol.txt, "Increment/Decrement"): the value is read as a decimal 64-bit
   * unsigned integer; incr wraps at 2^64, decr stops at 0. As memcached does, a result no
   * longer than the old value is padded with spaces to the old length ("The number MAY be
   * space-padded at the end"); a longer one makes a new item with the same flags and expiry.
   */
  delta(key: string, incr: boolean, delta: bigint): DeltaOutcome {
    const item = this.get(key);
    if (item === undefined) return 'NOT_FOUND';
    const old = item.value;
    const current = old.length === 0 ? null : parseU64(old, 0, old.length);
    if (current === null) return 'NON_NUMERIC';
    const next = incr ? (current + delta) & U64_MAX : delta > current ? 0n : current - delta;
    const digits = next.toString();
    if (digits.length <= old.length) {
      // In place, as memcached does: same size, a new CAS, not a new item.
      const value = Buffer.alloc(old.length, 0x20);
      value.write(digits, 0, 'latin1');
      item.value = value;
      item.reply = null;
      item.cas = this.nextCas();
    } else {
      this.put(item, new Item(key, Buffer.from(digits, 'latin1'), item.flags, item.expiresAt, this.nextCas()));
    }
    return next;
  }

  /** flush_all: every item goes at Unix ms `at` (now or earlier: at once). */
  flushAll(at: number): void {
    if (at <= this.now()) {
      this.flushAt = 0;
      this.clear();
    } else {
      this.flushAt = at;
    }
  }

  /** For `stats reset`. */
  resetCounters(): void {
    this.totalItems = this.evictions = this.reclaimed = this.expiredUnfetched = this.evictedUnfetched = 0;
  }

  private nextCas(): number {
    return ++this.lastCas * this.casStep + this.casIndex;
  }

  /** The live item, dropping it first when it has expired. */
  private find(key: string, now: number): Item | undefined {
    const item = this.items.get(key);
    this.lastMissExpired = false;
    if (item === undefined) return undefined;
    if (isExpired(item.expiresAt, now)) {
      if (!item.fetched) this.expiredUnfetched++;
      this.unlink(item);
      this.lastMissExpired = true;
      return undefined;
    }
    return item;
  }

  /** Puts `item` in place of `old` (if any), making room at the LRU tail. */
  private put(old: Item | undefined, item: Item): void {
    if (old !== undefined) this.unlink(old);
    const size = item.size;
    const now = this.clock();
    while (this.bytes + size > this.memoryLimit && this.tail !== null) {
      const victim = this.tail;
      if (isExpired(victim.expiresAt, now)) {
        this.reclaimed++;
        if (!victim.fetched) this.expiredUnfetched++;
      } else {
        this.evictions++;
        if (!victim.fetched) this.evictedUnfetched++;
      }
      this.unlink(victim);
    }
    this.items.set(item.key, item);
    this.bytes += size;
    this.totalItems++;
    item.next = this.head;
    if (this.head !== null) this.head.prev = item;
    this.head = item;
    if (this.tail === null) this.tail = item;
  }

  private unlink(item: Item): void {
    this.items.delete(item.key);
    this.bytes -= item.size;
    if (item.prev !== null) item.prev.next = item.next;
    else this.head = item.next;
    if (item.next !== null) item.next.prev = item.prev;
    else this.tail = item.prev;
    item.prev = item.next = null;
  }

  private toFront(item: Item): void {
    if (this.head === item) return;
    // Detach (item is not the head, so it has a prev) and push at the head.
    item.prev!.next = item.next;
    if (item.next !== null) item.next.prev = item.prev;
    else this.tail = item.prev;
    item.prev = null;
    item.next = this.head;
    this.head!.prev = item;
    this.head = item;
  }

  private clear(): void {
    this.items.clear();
    this.head = this.tail = null;
    this.bytes = 0;
  }
}
