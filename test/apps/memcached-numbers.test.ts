import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseI32, parseU32, parseU64 } from '../../src/apps/memcached/numbers.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const u64 = (s: string): bigint | null => parseU64(b(s), 0, s.length);
const u32 = (s: string): number | null => parseU32(b(s), 0, s.length);
const i32 = (s: string): number | null => parseI32(b(s), 0, s.length);

test('memcached numbers: strtoull as safe_strtoull takes it', () => {
  assert.equal(u64('0'), 0n);
  assert.equal(u64('18446744073709551615'), 18446744073709551615n);
  assert.equal(u64('18446744073709551616'), null, 'ERANGE');
  assert.equal(u64('99999999999999999999999999'), null);
  assert.equal(u64('+7'), 7n);
  assert.equal(u64('\t 7'), 7n, 'leading white space');
  assert.equal(u64('7\t'), 7n, 'white space after the digits');
  assert.equal(u64('7x'), null);
  assert.equal(u64(''), null);
  assert.equal(u64('+'), null);
  assert.equal(u64('-'), null);
  assert.equal(u64('-1'), null, 'negative as a signed value, with a minus');
  assert.equal(u64('-0'), 0n);
  assert.equal(u64('-18446744073709551615'), 1n, 'C wraps it to 1, which is not negative as signed: accepted');
  assert.equal(parseU64(b('12\0junk'), 0, 7), 12n, 'a NUL ends the number as in C');
  assert.equal(parseU64(b('x123y'), 1, 4), 123n, 'only the token range is read');
});

test('memcached numbers: 32-bit fields keep the low bits of the 64-bit value (C assignment)', () => {
  assert.equal(u32('4294967295'), 4294967295);
  assert.equal(u32('4294967296'), 0);
  assert.equal(u32('4294967297'), 1);
  assert.equal(u32('18446744073709551615'), 4294967295);
  assert.equal(u32('-1'), null);
  assert.equal(u32('-0'), 0);
  assert.equal(i32('2147483647'), 2147483647);
  assert.equal(i32('2147483648'), -2147483648);
  assert.equal(i32('-2147483649'), 2147483647);
  assert.equal(i32('4294967297'), 1);
  assert.equal(i32('-5'), -5);
  assert.equal(i32('9223372036854775807'), -1);
  assert.equal(i32('9223372036854775808'), null, 'past a 64-bit long: ERANGE');
  assert.equal(i32('-9223372036854775808'), 0);
  assert.equal(i32('-9223372036854775809'), null);
  assert.equal(i32('1.5'), null);
});
