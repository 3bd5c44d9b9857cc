import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seqAdd, seqGeq, seqGt, seqLeq, seqLt, seqMax, seqMin, seqSub } from '../../src/wire/seq.js';

test('comparisons wrap at 2^32 (RFC 9293 §3.4)', () => {
  assert.equal(seqLt(0xffffffff, 0), true);
  assert.equal(seqGt(0, 0xffffffff), true);
  assert.equal(seqLeq(5, 5), true);
  assert.equal(seqGeq(5, 5), true);
  assert.equal(seqLt(5, 5), false);
  assert.equal(seqLt(1, 2), true);
  assert.equal(seqLt(0x7fffffff, 0x80000000), true);
  assert.equal(seqAdd(0xffffffff, 1), 0);
  assert.equal(seqAdd(0, -1), 0xffffffff);
  assert.equal(seqSub(0, 0xffffffff), 1);
  assert.equal(seqSub(0xffffffff, 0), -1);
  assert.equal(seqMax(0xfffffff0, 0x10), 0x10);
  assert.equal(seqMin(0xfffffff0, 0x10), 0xfffffff0);
});

test('property: a + d compares as d does, for |d| < 2^31', () => {
  fc.assert(
    fc.property(fc.nat(0xffffffff), fc.integer({ min: -0x7fffffff, max: 0x7fffffff }), (a, d) => {
      const b = seqAdd(a, d);
      assert.ok(b >= 0 && b <= 0xffffffff && Number.isInteger(b));
      assert.equal(seqSub(b, a), d);
      assert.equal(seqLt(a, b), d > 0);
      assert.equal(seqLeq(a, b), d >= 0);
      assert.equal(seqGt(a, b), d < 0);
      assert.equal(seqGeq(a, b), d <= 0);
      assert.equal(seqMax(a, b), d >= 0 ? b : a);
      assert.equal(seqMin(a, b), d >= 0 ? a : b);
    }),
    { numRuns: 2000 },
  );
});
