/**
 * Numbers as memcached reads them (util.c: safe_strtoul, safe_strtol, safe_strtoull, which
 * wrap C's strtoul family): leading white space and one sign are accepted; the digits must
 * be followed by the end of the token, white space or NUL; values past 64 bits are errors;
 * a '-' in front of a value that is negative as a signed 64-bit number is refused; narrower
 * fields keep the low bits of the 64-bit result, as the C assignments do (so memcached 1.6
 * stores flags 4294967296 as 0 and reads exptime 2147483648 as -2147483648). Emulated here
 * so that edge cases answer as the real server does.
 */

const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;
/** Up to 15 decimal digits are exact in a double; longer numbers go through BigInt. */
const SMALL_DIGITS = 15;

/** C isspace() in the "C" locale: space, \t, \n, \v, \f, \r. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

// The last scan's result (numbers are parsed one at a time, synchronously: no object per number).
let negative = false;
let small = 0;
let big: bigint | null = null;

/** Scans bytes[start, end) as C does; false when there are no digits or junk follows them. */
function scan(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && isSpace(bytes[i]!)) i++;
  negative = false;
  if (i < end && (bytes[i] === 0x2b || bytes[i] === 0x2d)) negative = bytes[i++] === 0x2d;
  const digitsStart = i;
  small = 0;
  big = null;
  while (i < end && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) {
    if (i - digitsStart < SMALL_DIGITS) {
      small = small * 10 + (bytes[i]! - 0x30);
    } else {
      big = (big ?? BigInt(small)) * 10n + BigInt(bytes[i]! - 0x30);
      if (big > U64_MAX + 1n) big = U64_MAX + 1n; // out of range whatever follows
    }
    i++;
  }
  if (i === digitsStart) return false;
  return i === end || isSpace(bytes[i]!) || bytes[i] === 0;
}

/** safe_strtoull: an unsigned 64-bit value (delta of incr/decr, cas unique), or null. */
export function parseU64(bytes: Uint8Array, start: number, end: number): bigint | null {
  if (!scan(bytes, start, end)) return null;
  const magnitude = big ?? BigInt(small);
  if (magnitude > U64_MAX) return null;
  const value = negative ? -magnitude & U64_MAX : magnitude;
  if (negative && value > I64_MAX) return null;
  return value;
}

/** safe_strtoul into a 32-bit field (client flags, verbosity): the low 32 bits, or null. */
export function parseU32(bytes: Uint8Array, start: number, end: number): number | null {
  if (!scan(bytes, start, end)) return null;
  if (big === null) {
    if (negative && small !== 0) return null; // 2^64 - small is negative as a signed long
    return small >>> 0;
  }
  const v = parseU64(bytes, start, end);
  return v === null ? null : Number(v & 0xffff_ffffn);
}

/** safe_strtol into an int32_t (exptime, data length): a 64-bit long cut to 32 bits, or null. */
export function parseI32(bytes: Uint8Array, start: number, end: number): number | null {
  if (!scan(bytes, start, end)) return null;
  if (big === null) return (negative ? -small : small) | 0;
  if (negative ? big > I64_MAX + 1n : big > I64_MAX) return null;
  return Number(BigInt.asIntN(32, negative ? -big : big));
}
