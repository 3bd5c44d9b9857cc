import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FramePool } from '../../src/packet/pool.js';

test('pool: slots are handed out once, come back, and the counters tell', () => {
  const pool = new FramePool({ slotSize: 256, slots: 4 });
  const got = [pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()];
  assert.deepEqual([...got].sort(), [0, 1, 2, 3]);
  assert.equal(pool.alloc(), -1, 'an empty pool refuses');
  assert.equal(pool.counters().exhausted, 1);
  assert.equal(pool.inUse, 4);
  for (const s of got) assert.equal(pool.release(s), true);
  assert.equal(pool.inUse, 0);
  assert.deepEqual(pool.counters(), { slots: 4, inUse: 0, allocs: 4, releases: 4, exhausted: 1, doubleReleases: 0 });
});

test('pool: a double release is refused and counted, and the free list stays sound', () => {
  const pool = new FramePool({ slotSize: 64, slots: 2 });
  const a = pool.alloc();
  assert.equal(pool.release(a), true);
  assert.equal(pool.release(a), false);
  assert.equal(pool.release(99), false, 'a slot that does not exist');
  assert.equal(pool.counters().doubleReleases, 2);
  const x = pool.alloc();
  const y = pool.alloc();
  assert.notEqual(x, y, 'no slot is handed out twice');
  assert.equal(pool.alloc(), -1);
});

test('pool: slots do not overlap, and a shared pool is backed by a SharedArrayBuffer', () => {
  const pool = new FramePool({ slotSize: 128, slots: 8, shared: true });
  assert.ok(pool.buffer instanceof SharedArrayBuffer);
  const slots = Array.from({ length: 8 }, () => pool.alloc());
  for (const s of slots) pool.bytes.fill(s + 1, pool.offsetOf(s), pool.offsetOf(s) + pool.slotSize);
  for (const s of slots) assert.ok(pool.bytes.subarray(pool.offsetOf(s), pool.offsetOf(s) + 128).every((b) => b === s + 1));
});

test('pool: bad sizes are refused with a clear error', () => {
  assert.throws(() => new FramePool({ slotSize: 30 }), /slotSize/);
  assert.throws(() => new FramePool({ slots: 0 }), /slots/);
});

test('pool: low once no more than the reserve is free', () => {
  const pool = new FramePool({ slotSize: 64, slots: 8 });
  pool.reserve = 2;
  const taken: number[] = [];
  while (!pool.low) taken.push(pool.alloc());
  assert.equal(taken.length, 6);
  assert.equal(pool.available, 2, 'the reserve is still there to take');
  pool.release(taken.pop()!);
  assert.equal(pool.low, false);
});
