/** Parsing a received segment into one reused object (no allocation per segment). */
import { readU16, readU32 } from '../../wire/addr.js';
import type { Packet } from '../../packet/packet.js';
import { TCPOPT_EOL, TCPOPT_MSS, TCPOPT_NOP, TCPOPT_WSCALE } from '../../wire/tcp-options.js';

export class SegmentInfo {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  headerLength = 0;
  /** Payload bytes. */
  len = 0;
  /** MSS option, or -1. */
  mss = -1;
  /** Window scale option, or -1. */
  wscale = -1;
}

export const PARSE_OK = 0;
export const PARSE_MALFORMED = 1;

/**
 * Reads the header at the start of `p` (made contiguous) into `s`. Options are checked
 * for structure (a bad length is malformed, as Linux does); MSS and window scale are
 * kept, the rest (timestamps, SACK) ignored.
 */
export function parseSegment(p: Packet, s: SegmentInfo): number {
  if (p.length < 20) return PARSE_MALFORMED;
  let at = p.front(20);
  let b = p.bufs[0]!;
  const hl = (b[at + 12]! >>> 4) << 2;
  if (hl < 20 || hl > p.length) return PARSE_MALFORMED;
  if (hl > 20) {
    at = p.front(hl);
    b = p.bufs[0]!;
  }
  s.srcPort = readU16(b, at);
  s.dstPort = readU16(b, at + 2);
  s.seq = readU32(b, at + 4);
  s.ack = readU32(b, at + 8);
  s.flags = ((b[at + 12]! & 1) << 8) | b[at + 13]!;
  s.window = readU16(b, at + 14);
  s.headerLength = hl;
  s.len = p.length - hl;
  s.mss = -1;
  s.wscale = -1;
  let i = at + 20;
  const end = at + hl;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return PARSE_MALFORMED;
    const size = b[i + 1]!;
    if (size < 2 || i + size > end) return PARSE_MALFORMED;
    if (kind === TCPOPT_MSS && size === 4) s.mss = readU16(b, i + 2);
    else if (kind === TCPOPT_WSCALE && size === 3) s.wscale = b[i + 2]!;
    i += size;
  }
  return PARSE_OK;
}
