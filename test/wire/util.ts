/** Helpers for the wire tests: hex, field picking, reference checksum, truncation and over-read checks. */
import fc from 'fast-check';
import assert from 'node:assert/strict';

export function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  const b = new Uint8Array(t.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return b;
}

export function pick<T extends object>(o: T, keys: readonly string[]): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const k of keys) r[k] = (o as Record<string, unknown>)[k];
  return r;
}

/** The obvious RFC 1071 sum, as a reference: 16-bit big-endian words, end-around carry. */
export function refSum(b: Uint8Array, off = 0, len = b.length - off): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += i & 1 ? b[off + i]! : b[off + i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export function refChecksum(b: Uint8Array, off = 0, len = b.length - off): number {
  return ~refSum(b, off, len) & 0xffff;
}

/** Copies `b` into a larger buffer at `off` with `fill` around it. */
export function embed(b: Uint8Array, off: number, after: number, fill: number): Uint8Array {
  const big = new Uint8Array(off + b.length + after).fill(fill);
  big.set(b, off);
  return big;
}

/** Asserts that `parse` gives an error string (never throws) for every proper prefix of `b`. */
export function assertTruncationsFail(
  name: string,
  b: Uint8Array,
  parse: (b: Uint8Array, off: number, len: number) => unknown,
  upTo = b.length,
): void {
  for (let len = 0; len < upTo; len++) {
    // Place the prefix at an odd offset with garbage after it: the parser must not look past len.
    const big = embed(b.subarray(0, len), 3, 64, 0xa5);
    const r = parse(big, 3, len);
    assert.equal(typeof r, 'string', `${name}: prefix of ${len} bytes parsed as ${JSON.stringify(r)}`);
  }
}

/**
 * Asserts that parsing does not depend on bytes outside [off, off+len): the same bytes
 * surrounded by two different fills give the same result (offsets made relative).
 */
export function assertNoOverread(b: Uint8Array, parse: (b: Uint8Array, off: number, len: number) => unknown): void {
  const r1 = relative(parse(embed(b, 5, 70, 0x00), 5, b.length), 5);
  const r2 = relative(parse(embed(b, 9, 70, 0xff), 9, b.length), 9);
  assert.deepEqual(r1, r2);
}

function relative(r: unknown, off: number): unknown {
  if (typeof r !== 'object' || r === null) return r;
  const o: Record<string, unknown> = { ...(r as Record<string, unknown>) };
  for (const k of Object.keys(o)) if (k.endsWith('Offset') && k !== 'fragmentOffset') o[k] = (o[k] as number) - off;
  return o;
}

/** fc.record with plain objects (fast-check's default null prototype fails deepStrictEqual). */
export function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }, requiredKeys?: (keyof T)[]): fc.Arbitrary<T> {
  return (requiredKeys
    ? fc.record(model, { noNullPrototype: true, requiredKeys })
    : fc.record(model, { noNullPrototype: true })) as unknown as fc.Arbitrary<T>;
}
