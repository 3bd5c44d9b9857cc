import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addSums,
  checksum,
  ChecksumAccumulator,
  finish,
  fold,
  pseudoHeaderSum,
  sum16,
  updateChecksum16,
  updateChecksum32,
} from '../../src/wire/checksum.js';
import { hex, refChecksum, refSum } from './util.js';

test('RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
  const b = hex('0001f203f4f5f6f7');
  assert.equal(sum16(b, 0, 8), 0xddf2);
  assert.equal(checksum(b), 0x220d);
});

test('odd lengths pad with a zero byte', () => {
  assert.equal(sum16(hex('01'), 0, 1), 0x0100);
  assert.equal(sum16(hex('abcdef'), 0, 3), 0x9ace); // abcd + ef00 = 1_9acd -> 9ace
  assert.equal(sum16(new Uint8Array(0), 0, 0), 0);
  assert.equal(checksum(new Uint8Array(0)), 0xffff);
});

test('a real IPv4 header (Linux ICMP echo) checksums to c69d and verifies to zero', () => {
  const h = hex('45000044 5f7f4000 4001c69d 0a4d0001 0a4d0002');
  assert.equal(checksum(h), 0);
  h[10] = 0;
  h[11] = 0;
  assert.equal(checksum(h), 0xc69d);
});

test('sum16 equals the reference on long, unaligned data (fast path)', () => {
  const b = new Uint8Array(70000);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7919 + (i >>> 8)) & 0xff;
  for (const off of [0, 1, 2, 3, 5]) {
    for (const len of [31, 32, 33, 64, 1001, 65535, b.length - off]) {
      assert.equal(sum16(b, off, len), refSum(b, off, len), `off ${off} len ${len}`);
    }
  }
  const allOnes = new Uint8Array(4096).fill(0xff);
  assert.equal(sum16(allOnes, 0, allOnes.length), 0xffff);
});

test('property: sum16 and checksum equal the reference for subarrays at any byteOffset', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(7), (data, pre, inner) => {
      const big = new Uint8Array(pre + data.length + 8);
      big.set(data, pre);
      const view = big.subarray(pre); // byteOffset pre: unaligned
      const o = Math.min(inner, data.length);
      const len = data.length - o;
      assert.equal(sum16(view, o, len), refSum(data, o, len));
      assert.equal(checksum(view, o, len), refChecksum(data, o, len));
    }),
    { numRuns: 500 },
  );
});

test('property: ChecksumAccumulator over any split equals the one-piece checksum', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat(3000), { maxLength: 8 }),
      fc.nat(3),
      fc.nat(0xffff),
      (data, cuts, pre, initial) => {
        const big = new Uint8Array(pre + data.length);
        big.set(data, pre);
        const view = big.subarray(pre);
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const acc = new ChecksumAccumulator(initial);
        let at = 0;
        for (const p of [...points, data.length]) {
          // Each piece as its own subarray (its own byteOffset), as fragments would be.
          acc.add(view.subarray(at, p));
          at = p;
        }
        assert.equal(acc.checksum(), checksum(data, 0, data.length, initial));
        assert.equal(finish(acc.partial()), finish(addSums(initial, refSum(data))));
      },
    ),
    { numRuns: 500 },
  );
});

test('ChecksumAccumulator splits at every position of a 101-byte buffer', () => {
  const data = new Uint8Array(101);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) & 0xff;
  const whole = checksum(data);
  for (let p = 0; p <= data.length; p++) {
    for (const q of [p, Math.min(data.length, p + 1), Math.min(data.length, p + 33)]) {
      const acc = new ChecksumAccumulator().add(data, 0, p).add(data, p, q - p).add(data, q);
      assert.equal(acc.checksum(), whole, `split at ${p}, ${q}`);
    }
  }
});

test('ChecksumAccumulator.addSum adds a pseudo-header at any parity', () => {
  const data = hex('0102030405');
  const ps = pseudoHeaderSum(0x0a000001, 0x0a000002, 17, 5);
  const a = new ChecksumAccumulator().addSum(ps).add(data);
  assert.equal(a.checksum(), checksum(data, 0, 5, ps));
  // Odd position: the pseudo-header's sum lands byte-swapped, as the bytes would.
  const b = new ChecksumAccumulator().add(data, 0, 1).addSum(0x1234).add(data, 1);
  const ref = new Uint8Array([1, 0x12, 0x34, 2, 3, 4, 5]);
  assert.equal(b.checksum(), refChecksum(ref));
});

test('pseudoHeaderSum equals the sum of the 12-byte pseudo-header', () => {
  fc.assert(
    fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(255), fc.nat(0xffff), (src, dst, proto, len) => {
      const ph = new Uint8Array(12);
      const dv = new DataView(ph.buffer);
      dv.setUint32(0, src);
      dv.setUint32(4, dst);
      dv.setUint8(9, proto);
      dv.setUint16(10, len);
      const s = pseudoHeaderSum(src, dst, proto, len);
      // 0 and 0xffff are the same one's-complement number.
      assert.equal(finish(s), finish(refSum(ph)));
    }),
    { numRuns: 1000 },
  );
  // 10.77.0.1 -> 10.77.0.2, TCP, 40 bytes.
  assert.equal(pseudoHeaderSum(0x0a4d0001, 0x0a4d0002, 6, 40), fold(0x0a4d + 0x0001 + 0x0a4d + 0x0002 + 6 + 40));
});

/** 0x0000 and 0xffff are both zero in one's complement; RFC 1624 eqn. 3 may give either for all-zero data. */
const canon = (x: number): number => (x === 0xffff ? 0 : x);

test('property: updateChecksum16/32 equal full recomputation', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 64 }), fc.nat(), fc.nat(0xffffffff), (data, at, v) => {
      const b = data.subarray(0, data.length & ~1);
      const c = checksum(b);
      const w = (at % (b.length >>> 1)) * 2;
      const old16 = (b[w]! << 8) | b[w + 1]!;
      const b16 = b.slice();
      b16[w] = (v >>> 8) & 0xff;
      b16[w + 1] = v & 0xff;
      assert.equal(canon(updateChecksum16(c, old16, v & 0xffff)), canon(checksum(b16)));
      if (b.length >= 4) {
        const w4 = (at % (b.length >>> 2)) * 4;
        const dv = new DataView(b.buffer, b.byteOffset, b.length);
        const old32 = dv.getUint32(w4);
        const b32 = b.slice();
        new DataView(b32.buffer).setUint32(w4, v);
        assert.equal(canon(updateChecksum32(c, old32, v)), canon(checksum(b32)));
      }
    }),
    { numRuns: 1000 },
  );
});

test('updateChecksum16: TTL decrement of a real IPv4 header (RFC 1624 §4 use)', () => {
  const h = hex('45000044 5f7f4000 4001c69d 0a4d0001 0a4d0002');
  const oldWord = (h[8]! << 8) | h[9]!;
  h[8] = h[8]! - 1;
  const newWord = (h[8]! << 8) | h[9]!;
  const c = updateChecksum16(0xc69d, oldWord, newWord);
  h[10] = c >>> 8;
  h[11] = c & 0xff;
  assert.equal(checksum(h), 0);
  assert.equal(c, 0xc79d);
});
