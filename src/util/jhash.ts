/**
 * Bob Jenkins' lookup3 hash of three 32-bit words with a secret initial value: what
 * Linux hashes a TCP 4-tuple with to find its socket (inet_ehashfn → jhash_3words,
 * include/linux/jhash.h). The secret keeps an off-path sender from choosing tuples
 * that all land in one bucket.
 */

const JHASH_INITVAL = 0xdeadbeef | 0;

function rol32(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** jhash_3words(a, b, c, initval) as a signed 32-bit integer. */
export function jhash3(a: number, b: number, c: number, initval: number): number {
  const init = (JHASH_INITVAL + (3 << 2) + initval) | 0;
  a = (a + init) | 0;
  b = (b + init) | 0;
  c = (c + init) | 0;
  // __jhash_final
  c ^= b;
  c = (c - rol32(b, 14)) | 0;
  a ^= c;
  a = (a - rol32(c, 11)) | 0;
  b ^= a;
  b = (b - rol32(a, 25)) | 0;
  c ^= b;
  c = (c - rol32(b, 16)) | 0;
  a ^= c;
  a = (a - rol32(c, 4)) | 0;
  b ^= a;
  b = (b - rol32(a, 14)) | 0;
  c ^= b;
  c = (c - rol32(b, 24)) | 0;
  return c;
}
