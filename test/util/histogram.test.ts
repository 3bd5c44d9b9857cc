import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Histogram } from '../../src/util/histogram.js';
import { Random, seedFromEnv } from '../../src/util/random.js';
import { seedNote } from '../support/require.js';

/** The exact q-th percentile of sorted values, by the same rank rule (the ceil(q·n)-th value). */
function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil((q / 100) * sorted.length)) - 1]!;
}

test('histogram: an empty one answers NaN, and bad input is refused', () => {
  const h = new Histogram();
  assert.equal(h.count, 0);
  assert.ok(Number.isNaN(h.percentile(50)));
  assert.ok(Number.isNaN(h.min) && Number.isNaN(h.max) && Number.isNaN(h.mean));
  for (const v of [-1, NaN, Infinity]) assert.throws(() => h.record(v), RangeError, String(v));
  assert.throws(() => h.record(1, 1.5), RangeError);
  assert.throws(() => h.percentile(101), RangeError);
  assert.throws(() => h.percentile(-0.1), RangeError);
  assert.throws(() => new Histogram({ unit: 0 }), RangeError);
  assert.throws(() => new Histogram({ precisionBits: 0 }), RangeError);
  assert.throws(() => new Histogram({ unit: 1, highest: 0.5 }), RangeError);
  assert.equal(h.count, 0, 'refused values are not counted');
});

test('histogram: below 2^precisionBits units every value has its own bucket (exact)', () => {
  const h = new Histogram({ unit: 1, precisionBits: 8 });
  for (let v = 0; v < 256; v++) h.record(v);
  for (let v = 0; v < 256; v++) {
    const q = (100 * (v + 1)) / 256;
    assert.equal(h.percentile(q), v, `percentile ${q}`);
  }
  assert.equal(h.min, 0);
  assert.equal(h.max, 255);
  assert.equal(h.mean, 127.5);
});

test('histogram: percentiles within 0.4% (and 1 µs) of the exact ones over 6 decades, min/max/mean exact', () => {
  const seed = seedFromEnv();
  const note = seedNote(seed);
  const random = new Random(seed);
  const h = new Histogram({ unit: 0.001, highest: 60_000 });
  const values: number[] = [];
  for (let i = 0; i < 200_000; i++) {
    // Log-uniform from 1 µs to 10 s, as latencies spread.
    const v = 10 ** (-3 + 7 * random.next());
    values.push(v);
    h.record(v);
  }
  values.sort((a, b) => a - b);
  for (const q of [0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100]) {
    const want = exact(values, q);
    const got = h.percentile(q);
    // Half a bucket (1/256 of the value) and one unit (values count in whole µs).
    const tolerance = want / 256 + 0.001;
    assert.ok(Math.abs(got - want) <= tolerance, `p${q}: ${got} against ${want} ${note}`);
  }
  assert.equal(h.min, values[0]);
  assert.equal(h.max, values.at(-1));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(Math.abs(h.mean - mean) <= mean * 1e-9, note);
});

test('histogram: memory is fixed at construction, whatever is recorded', () => {
  const h = new Histogram({ unit: 0.001, highest: 60_000 });
  const buckets = h.bucketCount;
  assert.ok(buckets < 4096, `${buckets} buckets for 1 µs .. 1 min at < 1%`);
  const random = new Random(1);
  for (let i = 0; i < 1_000_000; i++) h.record(random.next() * 100_000);
  assert.equal(h.bucketCount, buckets);
  assert.equal(h.count, 1_000_000);
  // An hour in µs and the default 2^32 units stay small too.
  assert.ok(new Histogram({ unit: 0.001, highest: 3_600_000 }).bucketCount < 4096);
  assert.ok(new Histogram().bucketCount < 4096);
});

test('histogram: values above highest land in the top bucket and are counted as clamped', () => {
  const h = new Histogram({ unit: 1, highest: 1000 });
  h.record(10);
  h.record(5000);
  h.record(1e12);
  assert.equal(h.count, 3);
  assert.equal(h.clamped, 2);
  assert.equal(h.max, 1e12, 'max stays exact');
  assert.ok(h.percentile(100) >= 990 && h.percentile(100) <= 1e12);
  assert.equal(h.percentile(30), 10);
});

test('histogram: record with a count, merge and reset', () => {
  const a = new Histogram({ unit: 0.01 });
  const b = new Histogram({ unit: 0.01 });
  a.record(1, 99);
  b.record(100);
  a.merge(b);
  assert.equal(a.count, 100);
  assert.equal(a.percentile(99), 1);
  assert.ok(Math.abs(a.percentile(100) - 100) < 0.5);
  assert.equal(a.max, 100);
  assert.equal(a.min, 1);
  assert.throws(() => a.merge(new Histogram({ unit: 1 })), RangeError);
  a.reset();
  assert.equal(a.count, 0);
  assert.ok(Number.isNaN(a.percentile(50)));
  a.record(3);
  assert.equal(a.percentile(50), 3);
  assert.equal(a.min, 3);
});

test('histogram (property): percentiles are non-decreasing, within [min, max], within 0.4% (and a unit) of exact', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 1e7, noNaN: true }), { minLength: 1, maxLength: 300 }),
      fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 2, maxLength: 10 }),
      (values, qs) => {
        const h = new Histogram({ unit: 1, highest: 1e7 });
        for (const v of values) h.record(v);
        const sorted = [...values].sort((x, y) => x - y);
        qs.sort((x, y) => x - y);
        let prev = -Infinity;
        for (const q of qs) {
          const p = h.percentile(q);
          assert.ok(p >= prev, `p${q} = ${p} below ${prev}`);
          assert.ok(p >= h.min && p <= h.max);
          const want = exact(sorted, q);
          assert.ok(Math.abs(p - want) <= want / 256 + 1, `p${q}: ${p} against ${want}`);
          prev = p;
        }
      },
    ),
    { numRuns: 300 },
  );
});
