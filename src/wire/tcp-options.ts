/**
 * TCP options (RFC 9293 §3.2): End of Option List, No-Operation, Maximum Segment
 * Size; Window Scale and Timestamps (RFC 7323); SACK-Permitted and SACK (RFC 2018).
 */
import { readU16, readU32, writeU16, writeU32 } from './addr.js';

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

/** Option space: the data offset allows 60 bytes of header, 40 of them options. */
export const TCP_MAX_OPTIONS_LENGTH = 40;
/** RFC 7323 §2.3: a larger shift is used as 14 (the stack clamps; the codec keeps what it read). */
export const TCP_MAX_WSCALE = 14;

export interface TcpOptions {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  /** SACK blocks, flat: [left0, right0, left1, right1, ...], 1 to 4 blocks. */
  sack?: number[];
  tsVal?: number;
  tsEcr?: number;
}

export type TcpOptionsError = 'bad-option';

/** Most SACK blocks one option can carry (40 bytes of option space: (40 - 2) / 8). */
export const TCP_MAX_SACK_BLOCKS = 4;

/**
 * A reused parse target (no allocation per segment): `parseTcpOptionsInto` resets and
 * fills it. Absent values are -1 (mss, wscale) or false (sackPermitted, tsPresent).
 */
export class TcpOptionsTarget {
  mss = -1;
  wscale = -1;
  sackPermitted = false;
  tsPresent = false;
  tsVal = 0;
  tsEcr = 0;
  /** SACK blocks read (0..4), flat in `sackBlocks`: [left0, right0, left1, right1, ...]. */
  sackCount = 0;
  readonly sackBlocks = new Uint32Array(2 * TCP_MAX_SACK_BLOCKS);
  /** A SACK option with a bad length was seen (skipped, as Linux does). */
  sackMalformed = false;
}

export const OPTIONS_OK = 0;
export const OPTIONS_BAD = 1;

/**
 * Parses the options in b[off, off+len) into `t` without allocating. Unknown kinds are
 * skipped by their length; a known kind with the wrong length is skipped too, as Linux
 * does (tcp_parse_options). A length below 2 or past the end is OPTIONS_BAD. EOL stops.
 */
export function parseTcpOptionsInto(b: Uint8Array, off: number, len: number, t: TcpOptionsTarget): number {
  t.mss = -1;
  t.wscale = -1;
  t.sackPermitted = false;
  t.tsPresent = false;
  t.tsVal = 0;
  t.tsEcr = 0;
  t.sackCount = 0;
  t.sackMalformed = false;
  const end = off + len;
  let i = off;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return OPTIONS_BAD;
    const size = b[i + 1]!;
    if (size < 2 || i + size > end) return OPTIONS_BAD;
    switch (kind) {
      case TCPOPT_MSS:
        if (size === 4) t.mss = readU16(b, i + 2);
        break;
      case TCPOPT_WSCALE:
        if (size === 3) t.wscale = b[i + 2]!;
        break;
      case TCPOPT_SACK_PERMITTED:
        if (size === 2) t.sackPermitted = true;
        break;
      case TCPOPT_SACK:
        if (size >= 10 && (size - 2) % 8 === 0) {
          let n = 0;
          const sb = t.sackBlocks;
          for (let p = i + 2; p < i + size && n < 2 * TCP_MAX_SACK_BLOCKS; p += 4) sb[n++] = readU32(b, p);
          t.sackCount = n >>> 1;
        } else {
          t.sackMalformed = true;
        }
        break;
      case TCPOPT_TIMESTAMP:
        if (size === 10) {
          t.tsPresent = true;
          t.tsVal = readU32(b, i + 2);
          t.tsEcr = readU32(b, i + 6);
        }
        break;
    }
    i += size;
  }
  return OPTIONS_OK;
}

const scratch = new TcpOptionsTarget();

/**
 * Parses the options in b[off, off+len) into a fresh object (tests, tools; the stack
 * uses `parseTcpOptionsInto`). Same rules: 'bad-option' for a length below 2 or past
 * the end.
 */
export function parseTcpOptions(b: Uint8Array, off: number, len: number): TcpOptions | TcpOptionsError {
  const t = scratch;
  if (parseTcpOptionsInto(b, off, len, t) !== OPTIONS_OK) return 'bad-option';
  const o: TcpOptions = {};
  if (t.mss >= 0) o.mss = t.mss;
  if (t.wscale >= 0) o.wscale = t.wscale;
  if (t.sackPermitted) o.sackPermitted = true;
  if (t.sackCount > 0) o.sack = Array.from(t.sackBlocks.subarray(0, 2 * t.sackCount));
  if (t.tsPresent) {
    o.tsVal = t.tsVal;
    o.tsEcr = t.tsEcr;
  }
  return o;
}

/** The number of SACK blocks that fit next to the other options (at most 4). */
function sackBlocks(o: TcpOptions, fixed: number): number {
  const s = o.sack;
  if (!s || s.length < 2) return 0;
  const room = Math.floor((TCP_MAX_OPTIONS_LENGTH - fixed - 4) / 8);
  return Math.max(0, Math.min(s.length >>> 1, 4, room));
}

function fixedLength(o: TcpOptions): number {
  let n = 0;
  if (o.mss !== undefined) n += 4;
  if (o.tsVal !== undefined) n += 12; // SACK-permitted rides in the timestamp's padding
  else if (o.sackPermitted) n += 4;
  if (o.wscale !== undefined) n += 4;
  return n;
}

/** The length `emitTcpOptions` writes: a multiple of 4, at most 40. */
export function tcpOptionsLength(o: TcpOptions | undefined): number {
  if (!o) return 0;
  const fixed = fixedLength(o);
  const n = sackBlocks(o, fixed);
  return fixed + (n ? 4 + 8 * n : 0);
}

/**
 * Writes the options in the order and padding Linux uses (tcp_options_write):
 * MSS; SACK-permitted + timestamps as `4,2,8,10` (or `NOP,NOP,8,10`); `NOP,NOP,4,2`
 * without timestamps; `NOP,3,3,ws`; `NOP,NOP,5,len` + SACK blocks (as many as fit
 * in 40 bytes). A timestamp without `tsEcr` sends 0. Returns the length written.
 */
export function emitTcpOptions(o: TcpOptions, b: Uint8Array, off: number): number {
  let i = off;
  if (o.mss !== undefined) {
    b[i] = TCPOPT_MSS;
    b[i + 1] = 4;
    writeU16(b, i + 2, o.mss);
    i += 4;
  }
  if (o.tsVal !== undefined) {
    if (o.sackPermitted) {
      b[i] = TCPOPT_SACK_PERMITTED;
      b[i + 1] = 2;
    } else {
      b[i] = TCPOPT_NOP;
      b[i + 1] = TCPOPT_NOP;
    }
    b[i + 2] = TCPOPT_TIMESTAMP;
    b[i + 3] = 10;
    writeU32(b, i + 4, o.tsVal);
    writeU32(b, i + 8, o.tsEcr ?? 0);
    i += 12;
  } else if (o.sackPermitted) {
    b[i] = TCPOPT_NOP;
    b[i + 1] = TCPOPT_NOP;
    b[i + 2] = TCPOPT_SACK_PERMITTED;
    b[i + 3] = 2;
    i += 4;
  }
  if (o.wscale !== undefined) {
    b[i] = TCPOPT_NOP;
    b[i + 1] = TCPOPT_WSCALE;
    b[i + 2] = 3;
    b[i + 3] = o.wscale;
    i += 4;
  }
  const n = sackBlocks(o, i - off);
  if (n) {
    const s = o.sack!;
    b[i] = TCPOPT_NOP;
    b[i + 1] = TCPOPT_NOP;
    b[i + 2] = TCPOPT_SACK;
    b[i + 3] = 2 + 8 * n;
    i += 4;
    for (let k = 0; k < 2 * n; k++, i += 4) writeU32(b, i, s[k]!);
  }
  return i - off;
}
