/** Parsing a received segment into one reused object (no allocation per segment). */
import { readU16, readU32, writeU16 } from '../../wire/addr.js';
import { pseudoHeaderSum } from '../../wire/checksum.js';
import { IPPROTO_TCP } from '../../wire/ipv4.js';
import { TCP_CHECKSUM_OFFSET } from '../../wire/tcp.js';
import { packetChecksum } from '../../packet/checksum.js';
import type { Packet } from '../../packet/packet.js';
import { OPTIONS_OK, parseTcpOptionsInto, TcpOptionsTarget } from '../../wire/tcp-options.js';

/**
 * The fields of one received segment. Options (from TcpOptionsTarget, preallocated):
 * `mss`, `wscale` (-1 when absent), `sackPermitted`, `tsPresent` + `tsVal`/`tsEcr`,
 * `sackCount` blocks in `sackBlocks`, `sackMalformed`.
 */
export class SegmentInfo extends TcpOptionsTarget {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  headerLength = 0;
  /** Payload bytes. */
  len = 0;
}

export const PARSE_OK = 0;
export const PARSE_MALFORMED = 1;

/**
 * Reads the header at the start of `p` (made contiguous) into `s`. Options are checked
 * for structure (a bad length is malformed, as Linux does) and read by the wire codec's
 * allocation-free `parseTcpOptionsInto`.
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
  if (hl === 32 && readU32(b, at + 20) === NOP_NOP_TIMESTAMPS) {
    // The layout of nearly every segment between stacks that use timestamps (RFC 7323
    // Appendix A; Linux's tcp_fast_parse_options): read it without the option loop.
    s.mss = -1;
    s.wscale = -1;
    s.sackPermitted = false;
    s.tsPresent = true;
    s.tsVal = readU32(b, at + 24);
    s.tsEcr = readU32(b, at + 28);
    s.sackCount = 0;
    s.sackMalformed = false;
    return PARSE_OK;
  }
  return parseTcpOptionsInto(b, at + 20, hl - 20, s) === OPTIONS_OK ? PARSE_OK : PARSE_MALFORMED;
}

/** NOP, NOP, kind 8, length 10. */
const NOP_NOP_TIMESTAMPS = 0x0101_080a;

/**
 * Fills in the checksum of a segment we built (TCP header at the front of `p`, at `at`
 * in `p.bufs[0]`): left to the device when it offloads (the field holds the
 * pseudo-header sum, virtio NEEDS_CSUM), else computed over every fragment.
 */
export function finishSegmentChecksum(p: Packet, at: number, src: number, dst: number, offload: boolean): void {
  const b = p.bufs[0]!;
  const ps = pseudoHeaderSum(src, dst, IPPROTO_TCP, p.length);
  if (offload) {
    p.csumStart = 0;
    p.csumOffset = TCP_CHECKSUM_OFFSET;
    writeU16(b, at + TCP_CHECKSUM_OFFSET, ps);
  } else {
    writeU16(b, at + TCP_CHECKSUM_OFFSET, 0);
    writeU16(b, at + TCP_CHECKSUM_OFFSET, packetChecksum(p, 0, ps));
  }
}
