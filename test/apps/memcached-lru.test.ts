import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { newCache, stat } from './memcached-harness.js';
import { ItemStore, itemSize } from '../../src/apps/memcached/store.js';

// Key "kN" (2 bytes), flags 0, 100-byte value: 56 + 2 + 1 + 100 + 2 = 161 bytes; six fit in 1000.
const SIZE = itemSize(2, 0, 100);
const v100 = 'v'.repeat(100);

test('memcached LRU: at the memory limit the least recently used item is evicted and counted', () => {
  assert.equal(SIZE, 161);
  const { client: c, cache } = newCache({ memoryLimit: 1000, maxItemSize: 1000 });
  for (let i = 0; i < 6; i++) assert.equal(c.send(`set k${i} 0 0 100\r\n${v100}\r\n`), 'STORED\r\n');
  assert.equal(cache.store.bytes, 6 * SIZE);
  c.send('get k0\r\n'); // k0 is now the most recently used: k1 goes first
  c.send(`set k6 0 0 100\r\n${v100}\r\n`);
  assert.equal(c.send('get k1\r\n'), 'END\r\n');
  assert.match(c.send('get k0\r\n'), /^VALUE k0 /);
  c.send('add k2 0 0 1\r\nx\r\n'); // a failed add promotes the existing item too (memcached)
  c.send(`set k7 0 0 100\r\n${v100}\r\n`);
  assert.equal(c.send('get k3\r\n'), 'END\r\n');
  assert.match(c.send('get k2\r\n'), /^VALUE k2 /);
  const s = c.send('stats\r\n');
  assert.equal(stat(s, 'evictions'), '2');
  assert.equal(stat(s, 'curr_items'), '6');
  assert.equal(stat(s, 'bytes'), String(6 * SIZE));
  assert.equal(stat(s, 'evicted_unfetched'), '2', 'k1 and k3 were never fetched');
});

test('memcached LRU: an expired item at the tail is reclaimed, not counted as an eviction', () => {
  const { client: c, clock, cache } = newCache({ memoryLimit: 1000, maxItemSize: 1000 });
  c.send(`set k0 0 1 100\r\n${v100}\r\n`);
  for (let i = 1; i < 6; i++) c.send(`set k${i} 0 0 100\r\n${v100}\r\n`);
  clock.advanceBy(1000);
  c.send(`set k6 0 0 100\r\n${v100}\r\n`);
  assert.deepEqual([cache.store.evictions, cache.store.reclaimed, cache.store.expiredUnfetched], [0, 1, 1]);
  assert.equal(cache.store.count, 6);
});

test('memcached LRU: a big item evicts as many as it needs; replacing a key frees its old size first', () => {
  const { client: c, cache } = newCache({ memoryLimit: 1000, maxItemSize: 1000 });
  for (let i = 0; i < 6; i++) c.send(`set k${i} 0 0 100\r\n${v100}\r\n`);
  c.send(`set k5 0 0 100\r\n${v100}\r\n`);
  assert.equal(cache.store.evictions, 0, 'a same-size replace needs no room');
  c.send(`set big 0 0 600\r\n${'b'.repeat(600)}\r\n`); // 663 bytes: leaves room for 2 of the others
  assert.equal(cache.store.evictions, 4);
  assert.equal(c.send('get k0 k1 k2 k3\r\n'), 'END\r\n');
  assert.ok(cache.store.bytes <= 1000);
});

/** The obvious LRU, as a reference: keys in recency order, most recent last. */
class ModelLru {
  order: string[] = [];
  sizes = new Map<string, number>();
  bytes = 0;
  evictions = 0;
  constructor(readonly limit: number) {}
  set(key: string, size: number): void {
    this.remove(key);
    while (this.bytes + size > this.limit && this.order.length > 0) {
      this.remove(this.order[0]!);
      this.evictions++;
    }
    this.order.push(key);
    this.sizes.set(key, size);
    this.bytes += size;
  }
  get(key: string): boolean {
    const i = this.order.indexOf(key);
    if (i < 0) return false;
    this.order.splice(i, 1);
    this.order.push(key);
    return true;
  }
  remove(key: string): boolean {
    const i = this.order.indexOf(key);
    if (i < 0) return false;
    this.order.splice(i, 1);
    this.bytes -= this.sizes.get(key)!;
    this.sizes.delete(key);
    return true;
  }
}

test('memcached LRU: random sets, gets and deletes agree with a reference LRU; bytes never pass the limit (property)', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 12 }), length: fc.integer({ min: 0, max: 400 }) }),
    fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 12 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const limit = 2000;
      const store = new ItemStore({ memoryLimit: limit, maxItemSize: 1000, now: () => 0 });
      const model = new ModelLru(limit);
      for (const o of ops) {
        const key = `key${o.key}`;
        if (o.kind === 'set') {
          store.store('set', key, 0, 0, Buffer.alloc(o.length), null);
          model.set(key, itemSize(key.length, 0, o.length));
        } else if (o.kind === 'get') {
          assert.equal(store.get(key) !== undefined, model.get(key));
        } else {
          assert.equal(store.delete(key), model.remove(key));
        }
        assert.ok(store.bytes <= limit);
        assert.equal(store.bytes, model.bytes);
        assert.equal(store.count, model.order.length);
        assert.equal(store.evictions, model.evictions);
      }
    }),
  );
});
